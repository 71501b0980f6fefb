// Node-API entry of Lossline's oneDNN addon: registers the kernels' native halves and the thread setting.
#include <malloc.h>
#include <omp.h>

#include "onednn-context.h"

namespace lossline {

OneDnnContext& context() {
  static OneDnnContext instance;
  return instance;
}

float* floats(const Napi::CallbackInfo& info, size_t index, size_t* length) {
  if (!info[index].IsTypedArray() || info[index].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + " must be a Float32Array");
  }
  auto array = info[index].As<Napi::Float32Array>();
  if (length) *length = array.ElementLength();
  return array.Data();
}

float* optionalFloats(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || info[index].IsNull() || info[index].IsUndefined()) return nullptr;
  return floats(info, index);
}

std::vector<int64_t> ints(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsTypedArray() || info[index].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + " must be an Int32Array");
  }
  auto array = info[index].As<Napi::Int32Array>();
  return std::vector<int64_t>(array.Data(), array.Data() + array.ElementLength());
}

std::string cacheKey(const char* name, const std::vector<int64_t>& values) {
  std::string key(name);
  key += ':';
  for (auto value : values) {
    key += std::to_string(value);
    key += ',';
  }
  return key;
}

dnnl::primitive_attr activationAttr(int activation, float alpha) {
  dnnl::primitive_attr attr;
  dnnl::post_ops ops;
  switch (activation) {
    case kRelu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
    case kRelu6: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 6.f); break;
    case kElu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_elu, 1.f, 0.f); break;
    case kSigmoid: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f); break;
    case kLeakyRelu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, alpha, 0.f); break;
    default: break;
  }
  attr.set_post_ops(ops);
  return attr;
}

/** setThreads(count): OpenMP threads for oneDNN and the elementwise loops. */
static Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  omp_set_num_threads(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

/** version(): "major.minor.patch" of the oneDNN library loaded, and its CPU runtime. */
static Napi::Value Version(const Napi::CallbackInfo& info) {
  const dnnl_version_t* version = dnnl_version();
  std::string text = std::to_string(version->major) + "." + std::to_string(version->minor) + "." + std::to_string(version->patch);
  return Napi::String::New(info.Env(), text);
}

/**
 * Keeps freed tensor buffers in the process heap instead of returning them to the kernel. Node allocates
 * each tensor's ArrayBuffer with calloc; above glibc's mmap threshold (128 KiB at first) every one is a
 * fresh mapping whose first touch page-faults (~4 ms for a 4.7 MB activation here, 10x the op itself),
 * and a training step allocates hundreds. With the threshold at its 32 MiB maximum and no trimming, the
 * next step reuses the memory the last one freed (the process keeps its peak footprint, as PyTorch's
 * caching allocator does).
 */
static void keepFreedBuffers() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  keepFreedBuffers();
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("version", Napi::Function::New(env, Version));
  registerConvolution(env, exports);
  registerMatmul(env, exports);
  registerPooling(env, exports);
  registerElementwise(env, exports);
  registerOptimizer(env, exports);
  registerBatchNormTraining(env, exports);
  registerCopy(env, exports);
  return exports;
}

}  // namespace lossline

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return lossline::Init(env, exports); }

NODE_API_MODULE(lossline_onednn, InitAddon)
