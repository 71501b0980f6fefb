import type * as tf from "@tensorflow/tfjs";
import { convGeometry, isPointwise, type ConvAttrs } from "./conv-geometry.js";
import { col2im } from "./im2col.js";
import type { KernelHost } from "./kernel-host.js";

/**
 * Gradient of a 2-D convolution with respect to its input, as one matrix product + col2im:
 * dy [batch, outHeight, outWidth, outChannels], filter [filterHeight, filterWidth, inChannels, outChannels]
 * -> dx [batch, inHeight, inWidth, inChannels] (= attrs.inputShape).
 *
 * cols [m, k] = dy [m, outChannels] x W^T [outChannels, k] holds, for every output pixel, what it sends
 * back to each tap of its receptive field; col2im adds those onto dx. W^T is the small transposed
 * filter, so the product is a plain one. A 1x1, stride-1, unpadded convolution needs no col2im.
 */
export function conv2dBackpropInput(
  host: KernelHost,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: ConvAttrs & { inputShape: number[] },
): tf.TensorInfo {
  const info = convGeometry(attrs.inputShape, filter.shape, attrs);
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const depth = info.filterHeight * info.filterWidth * info.inChannels;
  const dy2d = host.reshape(dy, [rows, info.outChannels]);
  const filter2d = host.reshape(filter, [depth, info.outChannels]);
  const filterT = host.transpose2d(filter2d);
  const cols = host.matMul(dy2d, filterT);
  for (const intermediate of [dy2d, filter2d, filterT]) host.dispose(intermediate);
  if (isPointwise(info)) {
    const dx = host.reshape(cols, attrs.inputShape);
    host.dispose(cols);
    return dx;
  }
  const dx = host.alloc(attrs.inputShape);
  const dxValues = host.view(dx);
  dxValues.fill(0);
  col2im(host.view(cols), info, dxValues);
  host.dispose(cols);
  return dx;
}
