// Shared oneDNN state of the addon: one CPU engine and stream for the process, a cache of primitives
// keyed by their shapes, and helpers that turn Node-API arguments into oneDNN memory.
#pragma once

#include <napi.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace lossline {

using dnnl::memory;
using Dims = memory::dims;
using dnnl::algorithm;
using dnnl::prop_kind;
using tag = memory::format_tag;
using dt = memory::data_type;

/** The engine, the stream and the primitive cache; lives as long as the addon instance. */
struct OneDnnContext {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  /** Primitives (and the descriptors they need at execution) by a key naming the op and its shapes. */
  std::unordered_map<std::string, std::shared_ptr<void>> cache;
};

OneDnnContext& context();

/** Float32Array argument `index` (throws a TypeError otherwise). */
float* floats(const Napi::CallbackInfo& info, size_t index, size_t* length = nullptr);
/** Float32Array argument `index`, or nullptr when it is null or undefined. */
float* optionalFloats(const Napi::CallbackInfo& info, size_t index);
/** Int32Array argument `index` as int64 dims. */
std::vector<int64_t> ints(const Napi::CallbackInfo& info, size_t index);

/** "name:1,2,3" for a cache key. */
std::string cacheKey(const char* name, const std::vector<int64_t>& values);

/**
 * Returns a cached primitive record of type T for `key`, building it with `build()` on first use.
 */
template <typename T, typename Build>
T& cached(const std::string& key, Build build) {
  auto& cache = context().cache;
  auto found = cache.find(key);
  if (found != cache.end()) return *static_cast<T*>(found->second.get());
  auto record = std::make_shared<T>(build());
  cache.emplace(key, record);
  return *record;
}

/** Post-op activation codes shared with the JavaScript side (see onednn-kernels.ts). */
enum Activation { kLinear = 0, kRelu = 1, kRelu6 = 2, kElu = 3, kSigmoid = 4, kLeakyRelu = 5 };

/** Primitive attributes with the activation as an eltwise post-op. */
dnnl::primitive_attr activationAttr(int activation, float alpha);

/**
 * The arguments of a fused kernel (convolution or matmul): (in, weights, bias|null, out, geometry
 * Int32Array, activation, alpha), and the values that key its cached primitive.
 */
struct FusedCall {
  float* in;
  float* weights;
  float* bias;
  float* out;
  std::vector<int64_t> geometry;
  int activation;
  float alpha;

  explicit FusedCall(const Napi::CallbackInfo& info)
      : in(floats(info, 0)),
        weights(floats(info, 1)),
        bias(optionalFloats(info, 2)),
        out(floats(info, 3)),
        geometry(ints(info, 4)),
        activation(info[5].As<Napi::Number>().Int32Value()),
        alpha(info[6].As<Napi::Number>().FloatValue()) {}

  std::vector<int64_t> key() const {
    auto values = geometry;
    values.push_back(bias != nullptr);
    values.push_back(activation);
    values.push_back(static_cast<int64_t>(alpha * 1e6f));
    return values;
  }
};

/** Wraps a JavaScript exception around a oneDNN error. */
#define LOSSLINE_DNNL_TRY(...)                                                              \
  try {                                                                                      \
    __VA_ARGS__                                                                              \
  } catch (const dnnl::error& error) {                                                       \
    throw Napi::Error::New(info.Env(), std::string("oneDNN: ") + error.what());              \
  }

void registerConvolution(Napi::Env env, Napi::Object exports);
void registerMatmul(Napi::Env env, Napi::Object exports);
void registerPooling(Napi::Env env, Napi::Object exports);
void registerElementwise(Napi::Env env, Napi::Object exports);
void registerOptimizer(Napi::Env env, Napi::Object exports);
void registerBatchNormTraining(Napi::Env env, Napi::Object exports);
void registerCopy(Napi::Env env, Napi::Object exports);

}  // namespace lossline
