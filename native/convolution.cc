// 2-D convolutions in NHWC with HWIO filters (TensorFlow.js's layouts): forward with optional bias and
// activation, backward data and backward weights. The filter's layout is left to oneDNN ("any") and
// moved from or to HWIO on each call (filter-layout.h); activations stay NHWC.
#include "filter-layout.h"
#include "onednn-context.h"

namespace lossline {

namespace {

/**
 * Geometry from the JavaScript side, an Int32Array:
 * [n, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft, padBottom, padRight]
 * (dilations as in TensorFlow, 1 = none).
 */
struct Geometry {
  memory::desc src, weightsAny, weightsUser, bias, dst;
  Dims strides, dilations, padL, padR;

  explicit Geometry(const std::vector<int64_t>& g) {
    int64_t n = g[0], ih = g[1], iw = g[2], ic = g[3], oh = g[4], ow = g[5], oc = g[6], kh = g[7], kw = g[8];
    src = memory::desc({n, ic, ih, iw}, dt::f32, tag::nhwc);
    dst = memory::desc({n, oc, oh, ow}, dt::f32, tag::nhwc);
    weightsAny = memory::desc({oc, ic, kh, kw}, dt::f32, tag::any);
    weightsUser = memory::desc({oc, ic, kh, kw}, dt::f32, tag::hwio);
    bias = memory::desc({oc}, dt::f32, tag::x);
    strides = {g[9], g[10]};
    dilations = {g[11] - 1, g[12] - 1};
    padL = {g[13], g[14]};
    padR = {g[15], g[16]};
  }

  dnnl::convolution_forward::desc forwardDesc(bool withBias) const {
    if (withBias) {
      return {prop_kind::forward_training, algorithm::convolution_direct, src, weightsAny, bias, dst, strides, dilations, padL, padR};
    }
    return {prop_kind::forward_training, algorithm::convolution_direct, src, weightsAny, dst, strides, dilations, padL, padR};
  }
};

/** A primitive plus its filter (or filter gradient) in the primitive's own layout. */
struct ConvRecord {
  dnnl::primitive primitive;
  FilterLayout filter;
};

/** The filter argument for `record`'s primitive: `hwio` itself, or the record's scratch. */
memory filterArgument(const ConvRecord& record, const Geometry& geometry, float* hwio) {
  return record.filter.plain() ? memory(geometry.weightsUser, context().engine, hwio) : record.filter.scratch();
}

/** conv2dForward(x, filter, bias|null, y, geometry Int32Array, activation, alpha) */
Napi::Value Conv2dForward(const Napi::CallbackInfo& info) {
  LOSSLINE_DNNL_TRY({
    FusedCall call(info);
    float *x = call.in, *filter = call.weights, *bias = call.bias, *y = call.out;
    const auto& g = call.geometry;
    int activation = call.activation;
    float alpha = call.alpha;
    auto keyValues = call.key();
    auto& ctx = context();
    Geometry geometry(g);
    auto& record = cached<ConvRecord>(cacheKey("conv-fwd", keyValues), [&] {
      dnnl::convolution_forward::primitive_desc pd(geometry.forwardDesc(bias != nullptr), activationAttr(activation, alpha), ctx.engine);
      ConvRecord made;
      made.primitive = dnnl::convolution_forward(pd);
      made.filter = FilterLayout(pd.weights_desc(), geometry.weightsUser, false);
      return made;
    });
    record.filter.fromUser(filter);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, memory(geometry.src, ctx.engine, x)},
        {DNNL_ARG_WEIGHTS, filterArgument(record, geometry, filter)},
        {DNNL_ARG_DST, memory(geometry.dst, ctx.engine, y)},
    };
    if (bias) args.emplace(DNNL_ARG_BIAS, memory(geometry.bias, ctx.engine, bias));
    record.primitive.execute(ctx.stream, args);
    ctx.stream.wait();
  })
  return info.Env().Undefined();
}

/**
 * dx of a one-channel input (a network's first convolution, on the image), where oneDNN's direct kernel
 * vectorises over input channels and takes ~50 ms for ResNet's 7x7 stem: columns = dy [n*outH*outW, outC]
 * x filter^T [outC, kH*kW] (a oneDNN matmul), then each column added back into its input pixel.
 */
struct SingleChannelBackwardData {
  dnnl::matmul product;
  memory::desc dy, filter, columns;
  std::vector<float> scratch;  // the columns, [n*outH*outW, kH*kW]
};

void singleChannelBackwardData(const std::vector<int64_t>& g, float* dy, float* filter, float* dx) {
  int64_t n = g[0], ih = g[1], iw = g[2], oh = g[4], ow = g[5], oc = g[6], kh = g[7], kw = g[8];
  int64_t sh = g[9], sw = g[10], dh = g[11], dw = g[12], pt = g[13], pl = g[14];
  int64_t rows = n * oh * ow, taps = kh * kw;
  auto& ctx = context();
  auto& record = cached<SingleChannelBackwardData>(cacheKey("conv-bwd-data-1ch", g), [&] {
    SingleChannelBackwardData made;
    made.dy = memory::desc({rows, oc}, dt::f32, Dims{oc, 1});
    made.filter = memory::desc({oc, taps}, dt::f32, Dims{1, oc});  // HWIO with one input channel, transposed
    made.columns = memory::desc({rows, taps}, dt::f32, Dims{taps, 1});
    made.product = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(made.dy, made.filter, made.columns), ctx.engine));
    made.scratch.resize(static_cast<size_t>(rows * taps));
    return made;
  });
  record.product.execute(ctx.stream, {{DNNL_ARG_SRC, memory(record.dy, ctx.engine, dy)},
                                      {DNNL_ARG_WEIGHTS, memory(record.filter, ctx.engine, filter)},
                                      {DNNL_ARG_DST, memory(record.columns, ctx.engine, record.scratch.data())}});
  ctx.stream.wait();
  const float* columns = record.scratch.data();
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < n; b++) {
    float* image = dx + b * ih * iw;
    std::fill(image, image + ih * iw, 0.f);
    for (int64_t y = 0; y < oh; y++) {
      for (int64_t x = 0; x < ow; x++) {
        const float* column = columns + ((b * oh + y) * ow + x) * taps;
        for (int64_t ky = 0; ky < kh; ky++) {
          int64_t row = y * sh - pt + ky * dh;
          if (row < 0 || row >= ih) continue;
          for (int64_t kx = 0; kx < kw; kx++) {
            int64_t col = x * sw - pl + kx * dw;
            if (col >= 0 && col < iw) image[row * iw + col] += column[ky * kw + kx];
          }
        }
      }
    }
  }
}

/** conv2dBackwardData(dy, filter, dx, geometry) */
Napi::Value Conv2dBackwardData(const Napi::CallbackInfo& info) {
  LOSSLINE_DNNL_TRY({
    float* dy = floats(info, 0);
    float* filter = floats(info, 1);
    float* dx = floats(info, 2);
    auto g = ints(info, 3);
    if (g[3] == 1) {
      singleChannelBackwardData(g, dy, filter, dx);
      return info.Env().Undefined();
    }
    auto& ctx = context();
    Geometry geometry(g);
    auto& record = cached<ConvRecord>(cacheKey("conv-bwd-data", g), [&] {
      dnnl::convolution_forward::primitive_desc hint(geometry.forwardDesc(false), ctx.engine);
      dnnl::convolution_backward_data::desc desc(algorithm::convolution_direct, geometry.src, geometry.weightsAny, geometry.dst,
                                                 geometry.strides, geometry.dilations, geometry.padL, geometry.padR);
      dnnl::convolution_backward_data::primitive_desc pd(desc, ctx.engine, hint);
      ConvRecord made;
      made.primitive = dnnl::convolution_backward_data(pd);
      made.filter = FilterLayout(pd.weights_desc(), geometry.weightsUser, false);
      return made;
    });
    record.filter.fromUser(filter);
    record.primitive.execute(ctx.stream, {
                                             {DNNL_ARG_DIFF_DST, memory(geometry.dst, ctx.engine, dy)},
                                             {DNNL_ARG_WEIGHTS, filterArgument(record, geometry, filter)},
                                             {DNNL_ARG_DIFF_SRC, memory(geometry.src, ctx.engine, dx)},
                                         });
    ctx.stream.wait();
  })
  return info.Env().Undefined();
}

/** conv2dBackwardWeights(x, dy, dFilter, geometry) */
Napi::Value Conv2dBackwardWeights(const Napi::CallbackInfo& info) {
  LOSSLINE_DNNL_TRY({
    float* x = floats(info, 0);
    float* dy = floats(info, 1);
    float* dFilter = floats(info, 2);
    auto g = ints(info, 3);
    auto& ctx = context();
    Geometry geometry(g);
    auto& record = cached<ConvRecord>(cacheKey("conv-bwd-weights", g), [&] {
      dnnl::convolution_forward::primitive_desc hint(geometry.forwardDesc(false), ctx.engine);
      dnnl::convolution_backward_weights::desc desc(algorithm::convolution_direct, geometry.src, geometry.weightsAny, geometry.dst,
                                                    geometry.strides, geometry.dilations, geometry.padL, geometry.padR);
      dnnl::convolution_backward_weights::primitive_desc pd(desc, ctx.engine, hint);
      ConvRecord made;
      made.primitive = dnnl::convolution_backward_weights(pd);
      made.filter = FilterLayout(pd.diff_weights_desc(), geometry.weightsUser, true);
      return made;
    });
    record.primitive.execute(ctx.stream, {
                                             {DNNL_ARG_SRC, memory(geometry.src, ctx.engine, x)},
                                             {DNNL_ARG_DIFF_DST, memory(geometry.dst, ctx.engine, dy)},
                                             {DNNL_ARG_DIFF_WEIGHTS, filterArgument(record, geometry, dFilter)},
                                         });
    ctx.stream.wait();
    record.filter.toUser(dFilter);
  })
  return info.Env().Undefined();
}

}  // namespace

void registerConvolution(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2dForward", Napi::Function::New(env, Conv2dForward));
  exports.Set("conv2dBackwardData", Napi::Function::New(env, Conv2dBackwardData));
  exports.Set("conv2dBackwardWeights", Napi::Function::New(env, Conv2dBackwardWeights));
}

}  // namespace lossline
