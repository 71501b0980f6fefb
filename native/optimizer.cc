// Fused optimizer updates: one pass over a parameter, its gradient and its state instead of one
// allocating elementwise kernel per term of the formula.
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "onednn-context.h"

namespace lossline {

namespace {

/** Parameters below this many elements are updated on one thread (waking the others costs more). */
constexpr int64_t kParallelMin = 1 << 16;

struct AdamConstants {
  float beta1, oneMinusBeta1, beta2, oneMinusBeta2, correction1, correction2, lr, epsilon;
};

/**
 * One thread's span of the update. The outputs never alias the inputs (the caller allocates them):
 * restrict lets GCC vectorise the loop, which its alias checks between seven arrays otherwise prevent
 * (scalar divss and sqrtss, 3x slower). A function of its own, as OpenMP's outlined body drops restrict.
 */
void adamSpan(const float* __restrict param, const float* __restrict grad, const float* __restrict v, const float* __restrict s,
              float* __restrict paramOut, float* __restrict vOut, float* __restrict sOut, int64_t count, const AdamConstants c) {
  for (int64_t i = 0; i < count; i++) {
    const float g = grad[i];
    const float vNew = v[i] * c.beta1 + g * c.oneMinusBeta1;
    const float sNew = s[i] * c.beta2 + (g * g) * c.oneMinusBeta2;
    vOut[i] = vNew;
    sOut[i] = sNew;
    paramOut[i] = param[i] - ((vNew / c.correction1) * c.lr) / (std::sqrt(sNew / c.correction2) + c.epsilon);
  }
}

/**
 * adamStep(param, grad, v, s, paramOut, vOut, sOut, hyper Float64Array [beta1, 1 - beta1, beta2,
 * 1 - beta2, 1 - beta1^step, 1 - beta2^step, lr, epsilon]), every array of the parameter's length:
 *   vOut = v * beta1 + g * (1 - beta1);  sOut = s * beta2 + g^2 * (1 - beta2)
 *   paramOut = param - (vOut / (1 - beta1^step)) * lr / (sqrt(sOut / (1 - beta2^step)) + epsilon)
 * Each constant is rounded to float32 and each operation rounded to float32 in this order, as the
 * composed tfjs ops compute it (scalars become float32 tensors), so the results are the same bits.
 */
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  size_t length = 0;
  const float* param = floats(info, 0, &length);
  const float* grad = floats(info, 1);
  const float* v = floats(info, 2);
  const float* s = floats(info, 3);
  float* paramOut = floats(info, 4);
  float* vOut = floats(info, 5);
  float* sOut = floats(info, 6);
  if (!info[7].IsTypedArray() || info[7].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[7].As<Napi::Float64Array>().ElementLength() != 8) {
    throw Napi::TypeError::New(info.Env(), "adamStep: argument 7 must be a Float64Array of 8 hyperparameters");
  }
  const double* hyper = info[7].As<Napi::Float64Array>().Data();
  AdamConstants constants{static_cast<float>(hyper[0]), static_cast<float>(hyper[1]), static_cast<float>(hyper[2]),
                          static_cast<float>(hyper[3]), static_cast<float>(hyper[4]), static_cast<float>(hyper[5]),
                          static_cast<float>(hyper[6]), static_cast<float>(hyper[7])};
  const int64_t count = static_cast<int64_t>(length);
#pragma omp parallel if (count >= kParallelMin)
  {
    const int64_t threads = omp_get_num_threads(), thread = omp_get_thread_num();
    // Whole 16-float blocks per thread, so each thread's span starts aligned like the arrays.
    const int64_t blocks = (count + 15) / 16;
    const int64_t begin = std::min(count, blocks * thread / threads * 16), end = std::min(count, blocks * (thread + 1) / threads * 16);
    adamSpan(param + begin, grad + begin, v + begin, s + begin, paramOut + begin, vOut + begin, sOut + begin, end - begin, constants);
  }
  return info.Env().Undefined();
}

}  // namespace

void registerOptimizer(Napi::Env env, Napi::Object exports) { exports.Set("adamStep", Napi::Function::New(env, AdamStep)); }

}  // namespace lossline
