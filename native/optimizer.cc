// Fused optimizer updates: one pass over a parameter, its gradient and its state instead of one
// allocating elementwise kernel per term of the formula.
#include <omp.h>

#include <cmath>

#include "onednn-context.h"

namespace lossline {

namespace {

/** Parameters below this many elements are updated on one thread (waking the others costs more). */
constexpr int64_t kParallelMin = 1 << 16;

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
  const float beta1 = static_cast<float>(hyper[0]), oneMinusBeta1 = static_cast<float>(hyper[1]);
  const float beta2 = static_cast<float>(hyper[2]), oneMinusBeta2 = static_cast<float>(hyper[3]);
  const float correction1 = static_cast<float>(hyper[4]), correction2 = static_cast<float>(hyper[5]);
  const float lr = static_cast<float>(hyper[6]), epsilon = static_cast<float>(hyper[7]);
  const int64_t count = static_cast<int64_t>(length);
#pragma omp parallel for schedule(static) if (count >= kParallelMin)
  for (int64_t i = 0; i < count; i++) {
    const float g = grad[i];
    const float vNew = v[i] * beta1 + g * oneMinusBeta1;
    const float sNew = s[i] * beta2 + (g * g) * oneMinusBeta2;
    vOut[i] = vNew;
    sOut[i] = sNew;
    paramOut[i] = param[i] - ((vNew / correction1) * lr) / (std::sqrt(sNew / correction2) + epsilon);
  }
  return info.Env().Undefined();
}

}  // namespace

void registerOptimizer(Napi::Env env, Napi::Object exports) { exports.Set("adamStep", Napi::Function::New(env, AdamStep)); }

}  // namespace lossline
