// Batch norm in training over the last axis of NHWC (or [n, features]) tensors, as one forward kernel
// (the batch's statistics and the normalised output) and one backward kernel (the gradient through the
// output and through the statistics), instead of the dozen elementwise passes TensorFlow.js composes.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "onednn-context.h"

namespace lossline {

namespace {

/** Below this many elements a pass runs on one thread: lower than elementwise.cc's 1 << 22, as a batch-norm pass does several operations per element. */
constexpr int64_t kParallelMin = 1 << 18;

/** Rows summed in float before each block's sums join the thread's double sums. */
constexpr int64_t kBlockRows = 16;

/**
 * Per-channel sums over the rows of p and q [rows, channels], in double, one partial per thread:
 * first[c] = sum_r (p[r, c] - pCentre[c]), second[c] = sum_r (p[r, c] - pCentre[c]) * (q[r, c] - qCentre[c]).
 * Each block of kBlockRows rows is summed in float, contiguous over the channels so that the compiler
 * vectorises it, and then added to the thread's double sums: a few float roundings per block, none across
 * the batch.
 */
void channelSums(const float* p, const float* pCentre, const float* q, const float* qCentre, int64_t rows, int64_t channels,
                 std::vector<double>& first, std::vector<double>& second) {
  int threads = rows * channels >= kParallelMin ? omp_get_max_threads() : 1;
  std::vector<double> partial(static_cast<size_t>(threads) * channels * 2, 0.0);
#pragma omp parallel num_threads(threads)
  {
    int thread = omp_get_thread_num(), count = omp_get_num_threads();
    double* mineFirst = partial.data() + static_cast<size_t>(thread) * channels * 2;
    double* mineSecond = mineFirst + channels;
    std::vector<float> blockFirst(channels), blockSecond(channels);
    float* __restrict bf = blockFirst.data();
    float* __restrict bs = blockSecond.data();
    int64_t begin = rows * thread / count, end = rows * (thread + 1) / count;
    for (int64_t blockBegin = begin; blockBegin < end; blockBegin += kBlockRows) {
      int64_t blockEnd = std::min(end, blockBegin + kBlockRows);
      std::fill(bf, bf + channels, 0.0f);
      std::fill(bs, bs + channels, 0.0f);
      for (int64_t row = blockBegin; row < blockEnd; row++) {
        const float* __restrict pRow = p + row * channels;
        const float* __restrict qRow = q + row * channels;
        for (int64_t c = 0; c < channels; c++) {
          float d = pRow[c] - pCentre[c];
          bf[c] += d;
          bs[c] += d * (qRow[c] - qCentre[c]);
        }
      }
      for (int64_t c = 0; c < channels; c++) {
        mineFirst[c] += bf[c];
        mineSecond[c] += bs[c];
      }
    }
  }
  first.assign(channels, 0.0);
  second.assign(channels, 0.0);
  for (int thread = 0; thread < threads; thread++) {
    for (int64_t c = 0; c < channels; c++) {
      first[c] += partial[(static_cast<size_t>(thread) * 2) * channels + c];
      second[c] += partial[(static_cast<size_t>(thread) * 2 + 1) * channels + c];
    }
  }
}

/** out[r, c] = a[c] * p[r, c] + b[c] * (q[r, c] - centre[c]) + shift[c], over rows x channels, in float. */
void affineRows(const float* p, const float* q, const std::vector<double>& a, const std::vector<double>& b, const std::vector<double>& centre,
                const std::vector<double>& shift, float* out, int64_t rows, int64_t channels) {
  std::vector<float> af(a.begin(), a.end()), bf(b.begin(), b.end()), centref(centre.begin(), centre.end()), shiftf(shift.begin(), shift.end());
  const float* __restrict aa = af.data();
  const float* __restrict bb = bf.data();
  const float* __restrict cc = centref.data();
  const float* __restrict ss = shiftf.data();
#pragma omp parallel for schedule(static) if (rows * channels >= kParallelMin)
  for (int64_t row = 0; row < rows; row++) {
    const float* __restrict pRow = p + row * channels;
    const float* __restrict qRow = q + row * channels;
    float* __restrict target = out + row * channels;
    for (int64_t c = 0; c < channels; c++) target[c] = aa[c] * pRow[c] + bb[c] * (qRow[c] - cc[c]) + ss[c];
  }
}

/**
 * batchNormTraining(x, scale|null, offset|null, y, mean, variance, channels, epsilon): over x [rows, channels],
 * mean and variance (biased, divided by rows) of each channel, then y = offset + (x - mean) * scale /
 * sqrt(variance + epsilon). The sums are taken about each channel's first value (channelSums: float within blocks of rows, double across them; so a large
 * mean costs no precision); mean and variance are rounded to float32 before y uses them, as tfjs's
 * moments hands float32 statistics to its batchNorm.
 */
Napi::Value BatchNormTraining(const Napi::CallbackInfo& info) {
  size_t length = 0;
  const float* x = floats(info, 0, &length);
  const float* scale = optionalFloats(info, 1);
  const float* offset = optionalFloats(info, 2);
  float* y = floats(info, 3);
  float* mean = floats(info, 4);
  float* variance = floats(info, 5);
  int64_t channels = info[6].As<Napi::Number>().Int64Value();
  double epsilon = info[7].As<Napi::Number>().DoubleValue();
  int64_t rows = static_cast<int64_t>(length) / channels;
  std::vector<double> sum, sumSquares;
  channelSums(x, x, x, x, rows, channels, sum, sumSquares);
  std::vector<double> factor(channels), zero(channels, 0.0), centre(channels), shift(channels);
  for (int64_t c = 0; c < channels; c++) {
    double shifted = sum[c] / static_cast<double>(rows);
    mean[c] = static_cast<float>(x[c] + shifted);
    variance[c] = static_cast<float>(std::max(0.0, sumSquares[c] / static_cast<double>(rows) - shifted * shifted));
    factor[c] = (scale ? scale[c] : 1.0) / std::sqrt(static_cast<double>(variance[c]) + epsilon);
    centre[c] = mean[c];
    shift[c] = offset ? offset[c] : 0.0;
  }
  affineRows(x, x, zero, factor, centre, shift, y, rows, channels);
  return info.Env().Undefined();
}

/**
 * batchNormTrainingGrad(x, dy, mean, variance, scale|null, dMean, dVariance, dx, dScale, dOffset, channels, epsilon):
 * the gradient of batchNormTraining's three outputs (dy of y, dMean of mean, dVariance of variance, the
 * statistics' own gradients usually zero) with respect to x, scale and offset. With r = 1 / sqrt(variance + eps),
 * xc = x - mean, N = rows and sums over the rows:
 *   dx = scale r dy - scale r sum(dy) / N - scale r^3 sum(dy xc) xc / N + dMean / N + 2 dVariance xc / N,
 *   dScale = r sum(dy xc), dOffset = sum(dy).
 */
Napi::Value BatchNormTrainingGrad(const Napi::CallbackInfo& info) {
  size_t length = 0;
  const float* x = floats(info, 0, &length);
  const float* dy = floats(info, 1);
  const float* mean = floats(info, 2);
  const float* variance = floats(info, 3);
  const float* scale = optionalFloats(info, 4);
  const float* dMean = floats(info, 5);
  const float* dVariance = floats(info, 6);
  float* dx = floats(info, 7);
  float* dScale = floats(info, 8);
  float* dOffset = floats(info, 9);
  int64_t channels = info[10].As<Napi::Number>().Int64Value();
  double epsilon = info[11].As<Napi::Number>().DoubleValue();
  int64_t rows = static_cast<int64_t>(length) / channels;
  std::vector<double> sumDy, sumDyCentred;
  std::vector<float> zero(channels, 0.0f);
  channelSums(dy, zero.data(), x, mean, rows, channels, sumDy, sumDyCentred);
  std::vector<double> a(channels), b(channels), centre(channels), shift(channels);
  double n = static_cast<double>(rows);
  for (int64_t c = 0; c < channels; c++) {
    double r = 1.0 / std::sqrt(static_cast<double>(variance[c]) + epsilon);
    double scaleR = (scale ? scale[c] : 1.0) * r;
    a[c] = scaleR;
    b[c] = -scaleR * r * r * sumDyCentred[c] / n + 2.0 * dVariance[c] / n;
    centre[c] = mean[c];
    shift[c] = -scaleR * sumDy[c] / n + dMean[c] / n;
    dScale[c] = static_cast<float>(r * sumDyCentred[c]);
    dOffset[c] = static_cast<float>(sumDy[c]);
  }
  affineRows(dy, x, a, b, centre, shift, dx, rows, channels);
  return info.Env().Undefined();
}

}  // namespace

void registerBatchNormTraining(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNormTraining", Napi::Function::New(env, BatchNormTraining));
  exports.Set("batchNormTrainingGrad", Napi::Function::New(env, BatchNormTrainingGrad));
}

}  // namespace lossline
