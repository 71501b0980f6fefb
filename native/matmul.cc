// Batched matrix products C[b] = op(A[b]) op(B[b]) (+ bias, activation), op = optional transpose, read in
// place through strides: TensorFlow.js's BatchMatMul and _FusedMatMul. A batch of 1 broadcasts.
#include "onednn-context.h"

namespace lossline {

namespace {

struct MatmulRecord {
  dnnl::primitive primitive;
  memory::desc a, b, bias, c;
};

/**
 * matmul(a, b, bias|null, c, geometry Int32Array [batchA, batchB, m, n, k, transposeA, transposeB], activation, alpha)
 * a: [batchA, m, k] ([batchA, k, m] when transposed), b: [batchB, k, n] ([batchB, n, k]), bias: [n],
 * c: [max(batchA, batchB), m, n].
 */
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  LOSSLINE_DNNL_TRY({
    FusedCall call(info);
    float *a = call.in, *b = call.weights, *bias = call.bias, *c = call.out;
    const auto& g = call.geometry;
    int activation = call.activation;
    float alpha = call.alpha;
    auto keyValues = call.key();
    auto& ctx = context();
    auto& record = cached<MatmulRecord>(cacheKey("matmul", keyValues), [&] {
      int64_t batchA = g[0], batchB = g[1], m = g[2], n = g[3], k = g[4];
      bool transposeA = g[5] != 0, transposeB = g[6] != 0;
      MatmulRecord made;
      made.a = memory::desc({batchA, m, k}, dt::f32, transposeA ? Dims{m * k, 1, m} : Dims{m * k, k, 1});
      made.b = memory::desc({batchB, k, n}, dt::f32, transposeB ? Dims{k * n, 1, k} : Dims{k * n, n, 1});
      made.c = memory::desc({std::max(batchA, batchB), m, n}, dt::f32, Dims{m * n, n, 1});
      made.bias = memory::desc({1, 1, n}, dt::f32, Dims{n, n, 1});
      auto desc = bias ? dnnl::matmul::desc(made.a, made.b, made.bias, made.c) : dnnl::matmul::desc(made.a, made.b, made.c);
      made.primitive = dnnl::matmul(dnnl::matmul::primitive_desc(desc, activationAttr(activation, alpha), ctx.engine));
      return made;
    });
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, memory(record.a, ctx.engine, a)},
        {DNNL_ARG_WEIGHTS, memory(record.b, ctx.engine, b)},
        {DNNL_ARG_DST, memory(record.c, ctx.engine, c)},
    };
    if (bias) args.emplace(DNNL_ARG_BIAS, memory(record.bias, ctx.engine, bias));
    record.primitive.execute(ctx.stream, args);
    ctx.stream.wait();
  })
  return info.Env().Undefined();
}

}  // namespace

void registerMatmul(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New(env, Matmul));
}

}  // namespace lossline
