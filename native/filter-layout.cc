// Filter copies between HWIO and oneDNN's blocked f32 layouts (see filter-layout.h).
#include "filter-layout.h"

#include <omp.h>

#include <cstring>

namespace lossline {

namespace {

/** Below this many floats a copy runs on one thread. */
constexpr int64_t kParallelMin = 1 << 16;

}  // namespace

FilterLayout::FilterLayout(const memory::desc& primitive, const memory::desc& user, bool toUser) : user_(user) {
  if (primitive == user) return;
  auto& ctx = context();
  auto dims = primitive.dims();
  o_ = dims[0], i_ = dims[1], h_ = dims[2], w_ = dims[3];
  scratch_ = memory(primitive, ctx.engine);
  auto is = [&](tag layout) { return primitive == memory::desc(dims, dt::f32, layout); };
  if (!toUser) {
    for (auto [layout, block] : {std::pair{tag::Acdb16a, 16}, std::pair{tag::Acdb32a, 32}, std::pair{tag::Acdb64a, 64}}) {
      if (o_ % block == 0 && is(layout)) kind_ = kOutputBlocks, block_ = block;
    }
    if (o_ % 16 == 0 && i_ % 16 == 0 && is(tag::ABcd16a16b)) kind_ = kOutIn16;
  } else if (o_ % 16 == 0 && i_ % 16 == 0 && is(tag::ABcd16b16a)) {
    kind_ = kInOut16;
  }
  if (kind_ != kPlain) return;
  kind_ = kReorder;
  memory hwio(user, ctx.engine, DNNL_MEMORY_NONE);
  reorder_ = toUser ? dnnl::reorder(scratch_, hwio) : dnnl::reorder(hwio, scratch_);
}

void FilterLayout::fromUser(float* hwio) {
  auto* target = static_cast<float*>(scratch_.get_data_handle());
  const int64_t rows = h_ * w_ * i_;  // HWIO rows of O floats
  if (kind_ == kOutputBlocks) {
    // Acdb{B}a: [O/B][H][W][I][B], each B-run a slice of an HWIO row.
    const int64_t blocks = o_ / block_;
#pragma omp parallel for schedule(static) if (o_ * rows >= kParallelMin)
    for (int64_t index = 0; index < blocks * rows; index++) {
      int64_t block = index / rows, row = index % rows;
      std::memcpy(target + index * block_, hwio + row * o_ + block * block_, static_cast<size_t>(block_) * sizeof(float));
    }
  } else if (kind_ == kOutIn16) {
    // ABcd16a16b: [O/16][I/16][H][W][16 o][16 i], a 16x16 tile transposed from HWIO's [i][o].
    const int64_t tiles = (o_ / 16) * (i_ / 16) * h_ * w_;
#pragma omp parallel for schedule(static) if (o_ * rows >= kParallelMin)
    for (int64_t tile = 0; tile < tiles; tile++) {
      int64_t x = tile % w_, y = (tile / w_) % h_, inBlock = (tile / (w_ * h_)) % (i_ / 16), outBlock = tile / (w_ * h_ * (i_ / 16));
      const float* source = hwio + ((y * w_ + x) * i_ + inBlock * 16) * o_ + outBlock * 16;
      float* out = target + tile * 256;
      for (int64_t in = 0; in < 16; in++) {
        for (int64_t o = 0; o < 16; o++) out[o * 16 + in] = source[in * o_ + o];
      }
    }
  } else if (kind_ == kReorder) {
    auto& ctx = context();
    memory user(user_, ctx.engine, hwio);
    reorder_.execute(ctx.stream, user, scratch_);
    ctx.stream.wait();
  }
}

void FilterLayout::toUser(float* hwio) {
  const auto* source = static_cast<const float*>(scratch_.get_data_handle());
  if (kind_ == kInOut16) {
    // ABcd16b16a: [O/16][I/16][H][W][16 i][16 o], each 16-run a slice of an HWIO row.
    const int64_t tiles = (o_ / 16) * (i_ / 16) * h_ * w_;
#pragma omp parallel for schedule(static) if (o_ * i_ * h_ * w_ >= kParallelMin)
    for (int64_t tile = 0; tile < tiles; tile++) {
      int64_t x = tile % w_, y = (tile / w_) % h_, inBlock = (tile / (w_ * h_)) % (i_ / 16), outBlock = tile / (w_ * h_ * (i_ / 16));
      float* target = hwio + ((y * w_ + x) * i_ + inBlock * 16) * o_ + outBlock * 16;
      for (int64_t in = 0; in < 16; in++) std::memcpy(target + in * o_, source + tile * 256 + in * 16, 16 * sizeof(float));
    }
  } else if (kind_ == kReorder) {
    auto& ctx = context();
    memory user(user_, ctx.engine, hwio);
    reorder_.execute(ctx.stream, scratch_, user);
    ctx.stream.wait();
  }
}

}  // namespace lossline
