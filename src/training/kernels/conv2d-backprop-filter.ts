import type * as tf from "@tensorflow/tfjs";
import { convGeometry, isPointwise, type ConvAttrs } from "./conv-geometry.js";
import { im2colTransposed } from "./im2col.js";
import type { KernelHost } from "./kernel-host.js";

/**
 * Gradient of a 2-D convolution with respect to its filter, as im2col + one matrix product:
 * x [batch, inHeight, inWidth, inChannels], dy [batch, outHeight, outWidth, outChannels]
 * -> dW [filterHeight, filterWidth, inChannels, outChannels].
 *
 * dW [k, outChannels] = colsT [k, m] x dy [m, outChannels], colsT = im2col(x) written transposed,
 * m = batch * outHeight * outWidth, k = filterHeight * filterWidth * inChannels. A plain product (wasm's
 * XNNPACK path takes no transposed operand) with the big colsT on the left: XNNPACK repacks the right
 * operand on every call, and dy is 9-25x smaller than colsT for 3x3 and 5x5 filters.
 */
export function conv2dBackpropFilter(
  host: KernelHost,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  attrs: ConvAttrs & { filterShape: number[] },
): tf.TensorInfo {
  const info = convGeometry(x.shape, attrs.filterShape, attrs);
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const depth = info.filterHeight * info.filterWidth * info.inChannels;
  let colsT: tf.TensorInfo;
  if (isPointwise(info)) {
    const x2d = host.reshape(x, [rows, depth]);
    colsT = host.transpose2d(x2d);
    host.dispose(x2d);
  } else {
    colsT = host.alloc([depth, rows]);
    im2colTransposed(host.view(x), info, host.view(colsT));
  }
  const dy2d = host.reshape(dy, [rows, info.outChannels]);
  const dW2d = host.matMul(colsT, dy2d);
  const dW = host.reshape(dW2d, info.filterShape);
  for (const intermediate of [colsT, dy2d, dW2d]) host.dispose(intermediate);
  return dW;
}
