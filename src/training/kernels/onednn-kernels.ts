import type { OneDnnAddon } from "./onednn-addon.js";
import { conv2d, conv2dBackpropFilter, conv2dBackpropInput, matMul, pool, poolGrad } from "./onednn-conv-kernels.js";
import { batchNorm, BINARY_OPS, binary, REDUCE_OPS, reduce, UNARY_OPS, unary } from "./onednn-elementwise-kernels.js";
import type { NativeKernel } from "./onednn-host.js";
import { blockRepeatTile, concat, pad, slice, splitV } from "./copy-kernels.js";

/**
 * The cpu backend's kernels that run natively through the oneDNN addon, by kernel name: convolutions
 * (oneDNN), matrix products (oneDNN matmul), pooling (oneDNN) and the elementwise ops and reductions
 * a training step spends its time in (OpenMP loops), and the copies of zero padding, concatenation and
 * tiling (Slice, SplitV, PadV2, Concat: contiguous runs copied natively; Tile: TypedArray.copyWithin). Each declines (the stock kernel runs) on inputs
 * it does not handle: another dtype, NCHW, prelu, broadcasts other than those of onednn-elementwise-kernels.ts.
 */
export function oneDnnKernels(addon: OneDnnAddon): Record<string, NativeKernel> {
  return {
    Conv2D: conv2d(addon),
    FusedConv2D: conv2d(addon),
    Conv2DBackpropInput: conv2dBackpropInput(addon),
    Conv2DBackpropFilter: conv2dBackpropFilter(addon),
    BatchMatMul: matMul(addon),
    _FusedMatMul: matMul(addon),
    MaxPool: pool(addon, true),
    MaxPoolGrad: poolGrad(addon, true),
    AvgPool: pool(addon, false),
    AvgPoolGrad: poolGrad(addon, false),
    ...Object.fromEntries(Object.entries(BINARY_OPS).map(([name, op]) => [name, binary(addon, op)])),
    ...Object.fromEntries(Object.entries(UNARY_OPS).map(([name, op]) => [name, unary(addon, op)])),
    ...Object.fromEntries(Object.entries(REDUCE_OPS).map(([name, op]) => [name, reduce(addon, op)])),
    FusedBatchNorm: batchNorm(addon),
    Slice: slice(addon),
    SplitV: splitV(addon),
    PadV2: pad(addon),
    Concat: concat(addon),
    Tile: blockRepeatTile(),
  };
}
