import * as tf from "@tensorflow/tfjs";
import type { ConvAttrs } from "./conv-geometry.js";
import type { OneDnnAddon } from "./onednn-addon.js";
import { activationCode, cpuOutput, cpuValues, type NativeKernel, product, uninitialized } from "./onednn-host.js";

type Shape4 = [number, number, number, number];
type Conv2DInfo = tf.backend_util.Conv2DInfo;


/** The addon's convolution geometry (see OneDnnAddon.conv2dForward) from tfjs's conv info. */
function addonGeometry(info: Conv2DInfo): Int32Array {
  const { top, left, bottom, right } = info.padInfo;
  return Int32Array.of(
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    top, left, bottom, right,
  );
}

function convInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs): Conv2DInfo | undefined {
  if (attrs.dataFormat === "NCHW" || xShape.length !== 4 || filterShape.length !== 4) return undefined;
  const info = tf.backend_util.computeConv2DInfo(xShape as Shape4, filterShape as Shape4, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode);
  return product(xShape) > 0 && info.outHeight > 0 && info.outWidth > 0 ? info : undefined;
}

/**
 * Conv2D and FusedConv2D (bias [outC], activations but prelu): x [n, h, w, inC], filter [kH, kW, inC, outC]
 * -> [n, outH, outW, outC].
 */
export function conv2d(addon: OneDnnAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { x, filter, bias } = inputs;
    const activation = activationCode(attrs.activation);
    const xValues = cpuValues(backend, x);
    const filterValues = cpuValues(backend, filter);
    const biasValues = bias ? cpuValues(backend, bias) : null;
    if (!xValues || !filterValues || biasValues === undefined || activation === undefined || inputs.preluActivationWeights) return undefined;
    const info = convInfo(x!.shape, filter!.shape, attrs as unknown as ConvAttrs);
    if (!info || (biasValues && biasValues.length !== info.outChannels)) return undefined;
    const y = uninitialized(product(info.outShape));
    addon.conv2dForward(xValues, filterValues, biasValues, y, addonGeometry(info), activation, Number(attrs.leakyreluAlpha ?? 0.2));
    return cpuOutput(backend, info.outShape, y);
  };
}

/** Conv2DBackpropInput: dy [n, outH, outW, outC], filter -> dx of attrs.inputShape. */
export function conv2dBackpropInput(addon: OneDnnAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const dyValues = cpuValues(backend, inputs.dy);
    const filterValues = cpuValues(backend, inputs.filter);
    const inputShape = attrs.inputShape as number[];
    const info = convInfo(inputShape, inputs.filter!.shape, attrs as unknown as ConvAttrs);
    if (!dyValues || !filterValues || !info) return undefined;
    const dx = uninitialized(product(inputShape));
    addon.conv2dBackwardData(dyValues, filterValues, dx, addonGeometry(info));
    return cpuOutput(backend, inputShape, dx);
  };
}

/** Conv2DBackpropFilter: x, dy -> dFilter of attrs.filterShape [kH, kW, inC, outC]. */
export function conv2dBackpropFilter(addon: OneDnnAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const xValues = cpuValues(backend, inputs.x);
    const dyValues = cpuValues(backend, inputs.dy);
    const filterShape = attrs.filterShape as number[];
    const info = convInfo(inputs.x!.shape, filterShape, attrs as unknown as ConvAttrs);
    if (!xValues || !dyValues || !info) return undefined;
    const dFilter = uninitialized(product(filterShape));
    addon.conv2dBackwardWeights(xValues, dyValues, dFilter, addonGeometry(info));
    return cpuOutput(backend, filterShape, dFilter);
  };
}

/**
 * BatchMatMul and _FusedMatMul (bias [n], activations but prelu): a [...batch, m, k], b [...batch, k, n]
 * (either transposed by attrs) -> [...batch, m, n], where the batches are equal or one of them is 1.
 */
export function matMul(addon: OneDnnAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { a, b, bias } = inputs;
    const activation = activationCode(attrs.activation);
    const aValues = cpuValues(backend, a);
    const bValues = cpuValues(backend, b);
    const biasValues = bias ? cpuValues(backend, bias) : null;
    if (!aValues || !bValues || biasValues === undefined || activation === undefined || inputs.preluActivationWeights) return undefined;
    if (a!.shape.length < 2 || b!.shape.length < 2) return undefined;
    const transposeA = attrs.transposeA === true;
    const transposeB = attrs.transposeB === true;
    const [aRows, aCols] = a!.shape.slice(-2) as [number, number];
    const [bRows, bCols] = b!.shape.slice(-2) as [number, number];
    const [m, k] = transposeA ? [aCols, aRows] : [aRows, aCols];
    const n = transposeB ? bRows : bCols;
    if ((transposeB ? bCols : bRows) !== k || (biasValues && biasValues.length !== n)) return undefined;
    const outerA = a!.shape.slice(0, -2);
    const outerB = b!.shape.slice(0, -2);
    const batchA = product(outerA);
    const batchB = product(outerB);
    if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
    if (m * n * k === 0) return undefined;
    const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
    const c = uninitialized(Math.max(batchA, batchB) * m * n);
    addon.matmul(aValues, bValues, biasValues, c, Int32Array.of(batchA, batchB, m, n, k, +transposeA, +transposeB), activation, Number(attrs.leakyreluAlpha ?? 0.2));
    return cpuOutput(backend, [...outer, m, n], c);
  };
}

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: "same" | "valid" | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/** The addon's pooling kinds: average over in-bounds pixels, max, average over the whole window (padding as 0). */
const enum PoolKind {
  Average = 0,
  Max = 1,
  AverageWholeWindow = 2,
}

function poolGeometry(xShape: number[], attrs: PoolAttrs, kind: PoolKind): { geometry: Int32Array; outShape: number[] } | undefined {
  if (xShape.length !== 4 || product(xShape) === 0) return undefined;
  const info = tf.backend_util.computePool2DInfo(xShape as Shape4, attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { top, left, bottom, right } = info.padInfo;
  const geometry = Int32Array.of(
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, top, left, bottom, right, kind,
  );
  return info.outHeight > 0 && info.outWidth > 0 ? { geometry, outShape: info.outShape } : undefined;
}

/** MaxPool / AvgPool: x [n, h, w, c] -> [n, outH, outW, c] (average over the window's in-bounds pixels). */
export function pool(addon: OneDnnAddon, max: boolean): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const xValues = cpuValues(backend, inputs.x);
    const pooled = poolGeometry(inputs.x!.shape, attrs as unknown as PoolAttrs, max ? PoolKind.Max : PoolKind.Average);
    if (!xValues || !pooled) return undefined;
    const y = uninitialized(product(pooled.outShape));
    addon.pool(xValues, y, pooled.geometry);
    return cpuOutput(backend, pooled.outShape, y);
  };
}

/**
 * MaxPoolGrad (dy, input, output) / AvgPoolGrad (dy, input): dx of input's shape. The average's gradient
 * divides by the whole window, padding included, as the stock cpu kernel does (its forward leaves padding
 * out; the two differ only at padded borders, where our networks pool with "valid" padding anyway).
 */
export function poolGrad(addon: OneDnnAddon, max: boolean): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const dyValues = cpuValues(backend, inputs.dy);
    const xValues = cpuValues(backend, inputs.input);
    const pooled = poolGeometry(inputs.input!.shape, attrs as unknown as PoolAttrs, max ? PoolKind.Max : PoolKind.AverageWholeWindow);
    if (!dyValues || !xValues || !pooled) return undefined;
    const dx = uninitialized(xValues.length);
    addon.poolBackward(dyValues, xValues, dx, pooled.geometry);
    return cpuOutput(backend, inputs.input!.shape, dx);
  };
}
