// Moving a convolution filter between TensorFlow.js's HWIO and the layout a oneDNN primitive chose.
#pragma once

#include "onednn-context.h"

namespace lossline {

/**
 * The filter of one cached convolution primitive: HWIO as is, or a scratch memory in the primitive's
 * layout filled from HWIO (forward, backward data) or copied back to HWIO (backward weights). For the
 * blocked layouts oneDNN picks for f32 on AVX-512 (Acdb16a/32a/64a forward, ABcd16a16b backward data,
 * ABcd16b16a backward weights), with whole blocks, the move is a copy of our own: contiguous runs or
 * 16x16 tiles in one parallel pass (oneDNN's generic reorders took ~30 ms of a ~650 ms ResNet-18 step
 * on a quiet 2-core machine, 200 ms and more when other processes shared the cores). Any other layout
 * goes through oneDNN's reorder.
 */
class FilterLayout {
 public:
  FilterLayout() = default;
  /** `primitive`: the primitive's filter desc, dims {O, I, H, W}; `toUser`: the primitive writes the filter. */
  FilterLayout(const memory::desc& primitive, const memory::desc& user, bool toUser);

  /** True when the primitive reads or writes HWIO itself. */
  bool plain() const { return kind_ == kPlain; }
  /** The filter in the primitive's layout (valid unless plain()). */
  const memory& scratch() const { return scratch_; }
  /** Fills scratch() from the HWIO filter `hwio`. */
  void fromUser(float* hwio);
  /** Writes scratch() into the HWIO filter `hwio`. */
  void toUser(float* hwio);

 private:
  enum Kind { kPlain, kReorder, kOutputBlocks, kOutIn16, kInOut16 };
  Kind kind_ = kPlain;
  int64_t o_ = 0, i_ = 0, h_ = 0, w_ = 0, block_ = 0;
  memory::desc user_;
  memory scratch_;
  dnnl::reorder reorder_;
};

}  // namespace lossline
