// Strided block copies for slicing, splitting, padding and concatenation: contiguous runs of floats,
// one per index of the outer axes, memcpy'd in parallel (TypedArray.set per run costs a subarray object
// and a call each, which dominated DenseNet's concatenations and their gradients).
#include <omp.h>

#include <cstring>

#include "onednn-context.h"

namespace lossline {

namespace {

/** Below this many floats copied a call runs on one thread. */
constexpr int64_t kParallelMin = 1 << 18;

/**
 * copyRuns(source, target, layout Int32Array [run, sourceBase, targetBase, rank, outer x rank,
 * sourceStrides x rank, targetStrides x rank]): for every index i of the outer axes, copies `run` floats
 * from source[sourceBase + i . sourceStrides] to target[targetBase + i . targetStrides]. The JavaScript
 * side has checked every run lies inside both arrays.
 */
Napi::Value CopyRuns(const Napi::CallbackInfo& info) {
  const float* source = floats(info, 0);
  float* target = floats(info, 1);
  auto layout = ints(info, 2);
  int64_t run = layout[0], sourceBase = layout[1], targetBase = layout[2];
  size_t rank = static_cast<size_t>(layout[3]);
  if (layout.size() != 4 + 3 * rank) throw Napi::RangeError::New(info.Env(), "copyRuns: layout length does not match its rank");
  const int64_t* outer = layout.data() + 4;
  const int64_t* sourceStrides = outer + rank;
  const int64_t* targetStrides = sourceStrides + rank;
  int64_t count = 1;
  for (size_t axis = 0; axis < rank; axis++) count *= outer[axis];
  size_t bytes = static_cast<size_t>(run) * sizeof(float);
#pragma omp parallel for schedule(static) if (count * run >= kParallelMin)
  for (int64_t index = 0; index < count; index++) {
    int64_t rest = index, from = sourceBase, to = targetBase;
    for (size_t axis = rank; axis-- > 0;) {
      int64_t coordinate = rest % outer[axis];
      rest /= outer[axis];
      from += coordinate * sourceStrides[axis];
      to += coordinate * targetStrides[axis];
    }
    std::memcpy(target + to, source + from, bytes);
  }
  return info.Env().Undefined();
}

}  // namespace

void registerCopy(Napi::Env env, Napi::Object exports) { exports.Set("copyRuns", Napi::Function::New(env, CopyRuns)); }

}  // namespace lossline
