// Max and average pooling in NHWC, forward and backward. Max pooling's backward runs the forward
// again for oneDNN's workspace (the argmax of each window), as TensorFlow.js passes only x and y.
#include "onednn-context.h"

namespace lossline {

namespace {

/**
 * Geometry, an Int32Array: [n, inH, inW, c, outH, outW, kH, kW, strideH, strideW, padTop, padLeft, padBottom, padRight, kind]
 * kind 1: max; 0: average over the window's in-bounds pixels (TensorFlow.js's forward); 2: average over
 * the whole window, padding included (TensorFlow.js's cpu AvgPoolGrad divides by kH * kW, and we agree).
 */
struct PoolGeometry {
  memory::desc src, dst;
  Dims strides, kernel, padL, padR;
  algorithm kind;

  explicit PoolGeometry(const std::vector<int64_t>& g) {
    src = memory::desc({g[0], g[3], g[1], g[2]}, dt::f32, tag::nhwc);
    dst = memory::desc({g[0], g[3], g[4], g[5]}, dt::f32, tag::nhwc);
    kernel = {g[6], g[7]};
    strides = {g[8], g[9]};
    padL = {g[10], g[11]};
    padR = {g[12], g[13]};
    kind = g[14] == 1 ? algorithm::pooling_max : g[14] == 2 ? algorithm::pooling_avg_include_padding : algorithm::pooling_avg_exclude_padding;
  }

  dnnl::pooling_forward::primitive_desc forward(prop_kind prop) const {
    return {dnnl::pooling_forward::desc(prop, kind, src, dst, strides, kernel, padL, padR), context().engine};
  }
};

struct PoolForwardRecord {
  dnnl::primitive primitive;
};

struct PoolBackwardRecord {
  dnnl::primitive forward, backward;
  memory workspace;   // argmax of each window (max pooling only)
  memory scratchDst;  // where the recomputed forward writes
};

/** pool(x, y, geometry) */
Napi::Value Pool(const Napi::CallbackInfo& info) {
  LOSSLINE_DNNL_TRY({
    float* x = floats(info, 0);
    float* y = floats(info, 1);
    auto g = ints(info, 2);
    auto& ctx = context();
    PoolGeometry geometry(g);
    auto& record = cached<PoolForwardRecord>(cacheKey("pool-fwd", g), [&] {
      return PoolForwardRecord{dnnl::pooling_forward(geometry.forward(prop_kind::forward_inference))};
    });
    record.primitive.execute(ctx.stream, {{DNNL_ARG_SRC, memory(geometry.src, ctx.engine, x)}, {DNNL_ARG_DST, memory(geometry.dst, ctx.engine, y)}});
    ctx.stream.wait();
  })
  return info.Env().Undefined();
}

/** poolBackward(dy, x, dx, geometry) */
Napi::Value PoolBackward(const Napi::CallbackInfo& info) {
  LOSSLINE_DNNL_TRY({
    float* dy = floats(info, 0);
    float* x = floats(info, 1);
    float* dx = floats(info, 2);
    auto g = ints(info, 3);
    auto& ctx = context();
    PoolGeometry geometry(g);
    auto& record = cached<PoolBackwardRecord>(cacheKey("pool-bwd", g), [&] {
      auto forwardPd = geometry.forward(prop_kind::forward_training);
      dnnl::pooling_backward::desc desc(geometry.kind, geometry.src, geometry.dst, geometry.strides, geometry.kernel, geometry.padL, geometry.padR);
      dnnl::pooling_backward::primitive_desc pd(desc, ctx.engine, forwardPd);
      PoolBackwardRecord made;
      made.backward = dnnl::pooling_backward(pd);
      if (geometry.kind == algorithm::pooling_max) {
        // Only max pooling's backward needs the forward again (for its workspace of argmax indices).
        made.forward = dnnl::pooling_forward(forwardPd);
        made.workspace = memory(forwardPd.workspace_desc(), ctx.engine);
        made.scratchDst = memory(geometry.dst, ctx.engine);
      }
      return made;
    });
    bool max = geometry.kind == algorithm::pooling_max;
    if (max) {
      record.forward.execute(ctx.stream, {{DNNL_ARG_SRC, memory(geometry.src, ctx.engine, x)},
                                          {DNNL_ARG_DST, record.scratchDst},
                                          {DNNL_ARG_WORKSPACE, record.workspace}});
    }
    std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, memory(geometry.dst, ctx.engine, dy)},
                                         {DNNL_ARG_DIFF_SRC, memory(geometry.src, ctx.engine, dx)}};
    if (max) args.emplace(DNNL_ARG_WORKSPACE, record.workspace);
    record.backward.execute(ctx.stream, args);
    ctx.stream.wait();
  })
  return info.Env().Undefined();
}

}  // namespace

void registerPooling(Napi::Env env, Napi::Object exports) {
  exports.Set("pool", Napi::Function::New(env, Pool));
  exports.Set("poolBackward", Napi::Function::New(env, PoolBackward));
}

}  // namespace lossline
