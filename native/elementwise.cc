// Elementwise binary ops with the broadcasts of a training step, unary activations and reductions over
// leading or trailing axes, parallel over OpenMP threads. The JavaScript side reduces every shape to
// rows x rowLength and says, per operand, how it is indexed (see onednn-kernels.ts).
#include <omp.h>

#include <cmath>

#include "onednn-context.h"

namespace lossline {

namespace {

/** Below this many elements a loop runs on one thread: a memory-bound loop gains little from a second
 * thread, and waking it costs more than the loop when the machine is busy. */
constexpr int64_t kParallelMin = 1 << 22;

/** How an operand of a binary op is indexed at (row, j): full (row * rowLength + j), row vector (j), column (row), scalar. */
enum Mode { kFull = 0, kRowVector = 1, kColumn = 2, kScalar = 3 };

/**
 * Activation gradients as tfjs computes them: kReluGrad a * step(b) (ReLU's dy * step(x), NaN where x is
 * NaN), kSigmoidGrad a * (b * (1 - b)) (sigmoid's dy * (y * (1 - y))).
 */
enum BinaryOp { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kSquaredDifference = 4, kMaximum = 5, kMinimum = 6, kReluGrad = 7, kSigmoidGrad = 8 };

template <int Op>
inline float apply(float a, float b) {
  if constexpr (Op == kAdd) return a + b;
  if constexpr (Op == kSub) return a - b;
  if constexpr (Op == kMul) return a * b;
  if constexpr (Op == kDiv) return a / b;
  if constexpr (Op == kSquaredDifference) return (a - b) * (a - b);
  if constexpr (Op == kMaximum) return a > b ? a : b;
  if constexpr (Op == kMinimum) return a < b ? a : b;
  if constexpr (Op == kReluGrad) {
    // step(b), NaN for NaN, written as two selects: GCC vectorises this form (not one with std::isnan).
    float step = b > 0.f ? 1.f : 0.f;
    step = b == b ? step : b;
    return a * step;
  }
  if constexpr (Op == kSigmoidGrad) return a * (b * (1.f - b));
  return 0.f;
}

/** out[j] = op(a[j * SA], b[j * SB]) for j < length; SA, SB are 0 (broadcast) or 1. */
template <int Op, int SA, int SB>
inline void span(const float* a, const float* b, float* out, int64_t length) {
  for (int64_t j = 0; j < length; j++) out[j] = apply<Op>(a[j * SA], b[j * SB]);
}

template <int Op>
void spanDispatch(const float* a, int sa, const float* b, int sb, float* out, int64_t length) {
  if (sa && sb) span<Op, 1, 1>(a, b, out, length);
  else if (sa) span<Op, 1, 0>(a, b, out, length);
  else if (sb) span<Op, 0, 1>(a, b, out, length);
  else span<Op, 0, 0>(a, b, out, length);
}

inline const float* operandRow(const float* base, int mode, int64_t row, int64_t rowLength) {
  switch (mode) {
    case kFull: return base + row * rowLength;
    case kColumn: return base + row;
    default: return base;
  }
}

template <int Op>
void binaryRows(const float* a, int modeA, const float* b, int modeB, float* out, int64_t rows, int64_t rowLength) {
  int sa = modeA == kFull || modeA == kRowVector, sb = modeB == kFull || modeB == kRowVector;
  int64_t total = rows * rowLength;
  if (rows >= 4 * omp_get_max_threads() || total < kParallelMin) {
#pragma omp parallel for schedule(static) if (total >= kParallelMin)
    for (int64_t row = 0; row < rows; row++) {
      spanDispatch<Op>(operandRow(a, modeA, row, rowLength), sa, operandRow(b, modeB, row, rowLength), sb, out + row * rowLength, rowLength);
    }
    return;
  }
  // Few long rows: split each row into chunks instead.
  constexpr int64_t kChunk = 1 << 13;
  int64_t chunks = (rowLength + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
  for (int64_t index = 0; index < rows * chunks; index++) {
    int64_t row = index / chunks, start = (index % chunks) * kChunk, length = std::min(kChunk, rowLength - start);
    spanDispatch<Op>(operandRow(a, modeA, row, rowLength) + start * sa, sa, operandRow(b, modeB, row, rowLength) + start * sb, sb,
                     out + row * rowLength + start, length);
  }
}

/** binary(op, a, b, out, layout Int32Array [rows, rowLength, modeA, modeB]) */
Napi::Value Binary(const Napi::CallbackInfo& info) {
  int op = info[0].As<Napi::Number>().Int32Value();
  const float* a = floats(info, 1);
  const float* b = floats(info, 2);
  float* out = floats(info, 3);
  auto layout = ints(info, 4);
  int64_t rows = layout[0], rowLength = layout[1];
  int modeA = static_cast<int>(layout[2]), modeB = static_cast<int>(layout[3]);
  switch (op) {
    case kAdd: binaryRows<kAdd>(a, modeA, b, modeB, out, rows, rowLength); break;
    case kSub: binaryRows<kSub>(a, modeA, b, modeB, out, rows, rowLength); break;
    case kMul: binaryRows<kMul>(a, modeA, b, modeB, out, rows, rowLength); break;
    case kDiv: binaryRows<kDiv>(a, modeA, b, modeB, out, rows, rowLength); break;
    case kSquaredDifference: binaryRows<kSquaredDifference>(a, modeA, b, modeB, out, rows, rowLength); break;
    case kMaximum: binaryRows<kMaximum>(a, modeA, b, modeB, out, rows, rowLength); break;
    case kMinimum: binaryRows<kMinimum>(a, modeA, b, modeB, out, rows, rowLength); break;
    case kReluGrad: binaryRows<kReluGrad>(a, modeA, b, modeB, out, rows, rowLength); break;
    case kSigmoidGrad: binaryRows<kSigmoidGrad>(a, modeA, b, modeB, out, rows, rowLength); break;
    default: throw Napi::RangeError::New(info.Env(), "binary: unknown op " + std::to_string(op));
  }
  return info.Env().Undefined();
}

enum UnaryOp { kSigmoid = 0, kRelu = 1, kStep = 2, kSquare = 3, kSqrt = 4, kExp = 5, kNeg = 6 };

template <int Op>
void unaryLoop(const float* x, float* out, int64_t length) {
#pragma omp parallel for schedule(static) if (length >= kParallelMin)
  for (int64_t i = 0; i < length; i++) {
    float v = x[i];
    if constexpr (Op == kSigmoid) out[i] = 1.f / (1.f + std::exp(-v));
    if constexpr (Op == kRelu) out[i] = v < 0.f ? 0.f : v;  // NaN passes through, as in TensorFlow.js
    if constexpr (Op == kStep) out[i] = std::isnan(v) ? NAN : (v > 0.f ? 1.f : 0.f);
    if constexpr (Op == kSquare) out[i] = v * v;
    if constexpr (Op == kSqrt) out[i] = std::sqrt(v);
    if constexpr (Op == kExp) out[i] = std::exp(v);
    if constexpr (Op == kNeg) out[i] = -v;
  }
}

/** unary(op, x, out) */
Napi::Value Unary(const Napi::CallbackInfo& info) {
  int op = info[0].As<Napi::Number>().Int32Value();
  size_t length = 0;
  const float* x = floats(info, 1, &length);
  float* out = floats(info, 2);
  switch (op) {
    case kSigmoid: unaryLoop<kSigmoid>(x, out, length); break;
    case kRelu: unaryLoop<kRelu>(x, out, length); break;
    case kStep: unaryLoop<kStep>(x, out, length); break;
    case kSquare: unaryLoop<kSquare>(x, out, length); break;
    case kSqrt: unaryLoop<kSqrt>(x, out, length); break;
    case kExp: unaryLoop<kExp>(x, out, length); break;
    case kNeg: unaryLoop<kNeg>(x, out, length); break;
    default: throw Napi::RangeError::New(info.Env(), "unary: unknown op " + std::to_string(op));
  }
  return info.Env().Undefined();
}

enum ReduceOp { kSum = 0, kMean = 1, kMax = 2 };

/** x [outer, inner] -> out [inner]: sums (in double) over the leading axis, one partial per thread. */
void reduceLeading(int op, const float* x, float* out, int64_t outer, int64_t inner) {
  int threads = outer * inner >= kParallelMin ? omp_get_max_threads() : 1;
  std::vector<double> partial(static_cast<size_t>(threads) * inner, op == kMax ? -INFINITY : 0.0);
#pragma omp parallel num_threads(threads)
  {
    int thread = omp_get_thread_num(), count = omp_get_num_threads();
    double* mine = partial.data() + thread * inner;
    int64_t begin = outer * thread / count, end = outer * (thread + 1) / count;
    for (int64_t row = begin; row < end; row++) {
      const float* values = x + row * inner;
      if (op == kMax) {
        for (int64_t j = 0; j < inner; j++) mine[j] = values[j] > mine[j] || std::isnan(values[j]) ? values[j] : mine[j];
      } else {
        for (int64_t j = 0; j < inner; j++) mine[j] += values[j];
      }
    }
  }
  for (int64_t j = 0; j < inner; j++) {
    double value = partial[j];
    for (int thread = 1; thread < threads; thread++) {
      double other = partial[thread * inner + j];
      value = op == kMax ? (other > value || std::isnan(other) ? other : value) : value + other;
    }
    out[j] = static_cast<float>(op == kMean ? value / static_cast<double>(outer) : value);
  }
}

/** x [outer, inner] -> out [outer]: reduces each row. */
void reduceTrailing(int op, const float* x, float* out, int64_t outer, int64_t inner) {
#pragma omp parallel for schedule(static) if (outer * inner >= kParallelMin)
  for (int64_t row = 0; row < outer; row++) {
    const float* values = x + row * inner;
    double value = op == kMax ? -INFINITY : 0.0;
    for (int64_t j = 0; j < inner; j++) {
      if (op == kMax) value = values[j] > value || std::isnan(values[j]) ? values[j] : value;
      else value += values[j];
    }
    out[row] = static_cast<float>(op == kMean ? value / static_cast<double>(inner) : value);
  }
}

/** reduce(op, x, out, layout Int32Array [outer, inner, leading?1:0]) */
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  int op = info[0].As<Napi::Number>().Int32Value();
  const float* x = floats(info, 1);
  float* out = floats(info, 2);
  auto layout = ints(info, 3);
  if (layout[2]) reduceLeading(op, x, out, layout[0], layout[1]);
  else reduceTrailing(op, x, out, layout[0], layout[1]);
  return info.Env().Undefined();
}

/**
 * batchNorm(x, mean, variance, scale|null, offset|null, out, channels, epsilon): TensorFlow.js's
 * FusedBatchNorm over x's last axis, out = offset + (x - mean) * scale / sqrt(variance + epsilon), each
 * statistic of length `channels` or 1; the per-channel factor in double, as the stock kernel computes.
 */
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  size_t length = 0, meanLength = 0, varianceLength = 0;
  const float* x = floats(info, 0, &length);
  const float* mean = floats(info, 1, &meanLength);
  const float* variance = floats(info, 2, &varianceLength);
  const float* scale = optionalFloats(info, 3);
  const float* offset = optionalFloats(info, 4);
  float* out = floats(info, 5);
  int64_t channels = info[6].As<Napi::Number>().Int64Value();
  double epsilon = info[7].As<Napi::Number>().DoubleValue();
  size_t scaleLength = scale ? info[3].As<Napi::Float32Array>().ElementLength() : 1;
  size_t offsetLength = offset ? info[4].As<Napi::Float32Array>().ElementLength() : 1;
  std::vector<double> factor(channels), shift(channels), centre(channels);
  for (int64_t c = 0; c < channels; c++) {
    double s = scale ? scale[scaleLength == 1 ? 0 : c] : 1.0;
    factor[c] = s / std::sqrt(static_cast<double>(variance[varianceLength == 1 ? 0 : c]) + epsilon);
    shift[c] = offset ? offset[offsetLength == 1 ? 0 : c] : 0.0;
    centre[c] = mean[meanLength == 1 ? 0 : c];
  }
  int64_t rows = static_cast<int64_t>(length) / channels;
#pragma omp parallel for schedule(static) if (static_cast<int64_t>(length) >= kParallelMin)
  for (int64_t row = 0; row < rows; row++) {
    const float* in = x + row * channels;
    float* target = out + row * channels;
    for (int64_t c = 0; c < channels; c++) target[c] = static_cast<float>(shift[c] + (in[c] - centre[c]) * factor[c]);
  }
  return info.Env().Undefined();
}

}  // namespace

void registerElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("batchNorm", Napi::Function::New(env, BatchNorm));
}

}  // namespace lossline
