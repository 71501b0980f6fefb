import type * as tf from "@tensorflow/tfjs";

/**
 * col2im: the adjoint of an untransposed im2col (row m = (b, oy, ox), column k = (ky, kx, c)). Adds
 * every entry of cols [batch * outHeight * outWidth, filterHeight * filterWidth * inChannels] back onto the pixel of dx [batch, inHeight, inWidth, inChannels] it was read
 * from; taps in the padding are dropped. dx must start zeroed.
 */
export function col2im(cols: Float32Array, info: tf.backend_util.Conv2DInfo, dx: Float32Array): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const rowLength = filterHeight * filterWidth * inChannels;
  let row = 0;
  for (let b = 0; b < batchSize; b++) {
    const imageStart = b * inHeight * inWidth * inChannels;
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++, row++) {
        const x0 = ox * strideWidth - left;
        const kxFirst = Math.max(0, -x0);
        const kxEnd = Math.min(filterWidth, inWidth - x0);
        const runLength = (kxEnd - kxFirst) * inChannels;
        for (let ky = 0; ky < filterHeight; ky++) {
          const iy = oy * strideHeight - top + ky;
          if (iy < 0 || iy >= inHeight || runLength <= 0) continue;
          const source = row * rowLength + (ky * filterWidth + kxFirst) * inChannels;
          const target = imageStart + (iy * inWidth + x0 + kxFirst) * inChannels;
          for (let i = 0; i < runLength; i++) dx[target + i] = dx[target + i]! + cols[source + i]!;
        }
      }
    }
  }
}

/**
 * im2col, laid out transposed: every receptive field of x [batch, inHeight, inWidth, inChannels] becomes
 * one column of colsT [k, m], k = (ky, kx, c) = filterHeight * filterWidth * inChannels (the order of a
 * filter reshaped to [k, outChannels]), m = (b, oy, ox) = batch * outHeight * outWidth. Taps in the
 * padding read 0. Transposed because the product that uses it, colsT [k, m] x dy [m, outChannels], then
 * has the big operand on the left, which XNNPACK does not repack on every call. Per filter tap x is read
 * in order and each channel's row of colsT is written in order (inChannels write streams).
 */
export function im2colTransposed(x: Float32Array, info: tf.backend_util.Conv2DInfo, colsT: Float32Array): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const rows = batchSize * outHeight * outWidth;
  for (let ky = 0; ky < filterHeight; ky++) {
    for (let kx = 0; kx < filterWidth; kx++) {
      const tapStart = (ky * filterWidth + kx) * inChannels * rows;
      let m = 0;
      for (let b = 0; b < batchSize; b++) {
        const imageStart = b * inHeight * inWidth * inChannels;
        for (let oy = 0; oy < outHeight; oy++) {
          const iy = oy * strideHeight - top + ky;
          for (let ox = 0; ox < outWidth; ox++, m++) {
            const ix = ox * strideWidth - left + kx;
            const inside = iy >= 0 && iy < inHeight && ix >= 0 && ix < inWidth;
            const source = imageStart + (iy * inWidth + ix) * inChannels;
            for (let c = 0, target = tapStart + m; c < inChannels; c++, target += rows) colsT[target] = inside ? x[source + c]! : 0;
          }
        }
      }
    }
  }
}
