import * as tf from "@tensorflow/tfjs";

/** Attributes shared by Conv2DBackpropFilter and Conv2DBackpropInput. */
export interface ConvAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat?: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  dilations?: number | [number, number];
}

/**
 * Geometry of an NHWC 2-D convolution: x [batch, inHeight, inWidth, inChannels], filter
 * [filterHeight, filterWidth, inChannels, outChannels], y [batch, outHeight, outWidth, outChannels].
 * Throws for NCHW and for dilation > 1, which our kernels do not implement (tfjs' conv2d gradient
 * rejects dilated convolutions itself, so training never asks for them).
 */
export function convGeometry(xShape: number[], filterShape: number[], attrs: ConvAttrs): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat === "NCHW") throw new Error("lossline conv kernels support NHWC only, got dataFormat NCHW");
  const dilations = attrs.dilations ?? 1;
  const [dilationHeight, dilationWidth] = typeof dilations === "number" ? [dilations, dilations] : dilations;
  if (dilationHeight !== 1 || dilationWidth !== 1) {
    throw new Error(`lossline conv kernels support dilation 1 only, got dilations ${String(dilations)}`);
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast",
  );
}

/** True when im2col would only copy x: a 1x1 filter, stride 1, no padding. */
export function isPointwise(info: tf.backend_util.Conv2DInfo): boolean {
  return (
    info.filterHeight === 1 &&
    info.filterWidth === 1 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0
  );
}
