import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { minimumSize, summarizeModel } from "../../src/contracts/model-summary.js";
import type { ModelSpec } from "../../src/contracts/models.js";
import { initBackend } from "../../src/training/backend.js";
import { createModel } from "../../src/training/models/create-model.js";
import { denseBlock, transitionBlock } from "../../src/training/models/densenet.js";
import { residualBlock } from "../../src/training/models/resnet.js";
import { createSeededLayers, type SeededLayers } from "../../src/training/models/seeded-layers.js";

before(async () => {
  await initBackend("cpu", () => undefined);
});

/** NHWC (the models) to the book's NCHW; 2-D shapes stay as they are. */
const nchw = (shape: readonly (number | null)[]) => (shape.length === 4 ? [shape[0], shape[3], shape[1], shape[2]] : [...shape]);

/**
 * Runs a block on a batch of NCHW shape `inputShape` (transposed to NHWC) and returns the output's
 * NCHW shape: the book's `blk(X).shape`.
 */
function blockOutputShape(inputShape: [number, number, number, number], block: (layers: SeededLayers, x: tf.SymbolicTensor) => tf.SymbolicTensor): number[] {
  const [batch, channels, height, width] = inputShape;
  const input = tf.input({ shape: [height, width, channels] });
  const model = tf.model({ inputs: input, outputs: block(createSeededLayers("builtin", 0), input) });
  const output = tf.tidy(() => model.apply(tf.randomNormal([batch, height, width, channels]), { training: true }) as tf.Tensor);
  const shape = nchw(output.shape) as number[];
  output.dispose();
  model.dispose();
  return shape;
}

/** Actual NCHW output shapes of the named layers on one all-ones image of batch 1 (one forward pass). */
function stageShapes(model: tf.LayersModel, names: string[]): number[][] {
  const probe = tf.model({ inputs: model.inputs, outputs: names.map((name) => model.getLayer(name).output as tf.SymbolicTensor) });
  const size = model.inputs[0]!.shape[1]!;
  const outputs = tf.tidy(() => probe.predict(tf.ones([1, size, size, 1])) as tf.Tensor[]);
  const shapes = outputs.map((output) => nchw(output.shape) as number[]);
  tf.dispose(outputs);
  return shapes;
}

test("Residual(3): 4x3x6x6 -> 4x3x6x6; Residual(6, use_1x1conv, strides 2): 4x6x3x3 (the book's printouts)", () => {
  assert.deepEqual(blockOutputShape([4, 3, 6, 6], (layers, x) => residualBlock(layers, x, { channels: 3, name: "blk" })), [4, 3, 6, 6]);
  assert.deepEqual(
    blockOutputShape([4, 3, 6, 6], (layers, x) => residualBlock(layers, x, { channels: 6, use1x1Conv: true, strides: 2, name: "blk" })),
    [4, 6, 3, 3],
  );
});

test("DenseBlock(2 convs, growth 10) on 4x3x8x8 gives 4x23x8x8; a transition to 10 channels then gives 4x10x4x4", () => {
  const dense = (layers: SeededLayers, x: tf.SymbolicTensor) => denseBlock(layers, x, { convs: 2, growth: 10, name: "blk" });
  assert.deepEqual(blockOutputShape([4, 3, 8, 8], dense), [4, 23, 8, 8]);
  assert.deepEqual(
    blockOutputShape([4, 3, 8, 8], (layers, x) => transitionBlock(layers, dense(layers, x), { channels: 10, name: "trans" })),
    [4, 10, 4, 4],
  );
});

test("ResNet-18 on 1x1x224x224: the book's stage shapes, from one forward pass and from the summary", () => {
  const spec: ModelSpec = { name: "resnet18", batchNorm: "builtin" };
  const model = createModel(spec, { size: 224, seed: 0 });
  const names = ["stage1", "stage2", "stage3", "stage4", "stage5", "global_pool", "flatten", "dense"];
  const book = [
    [1, 64, 56, 56],
    [1, 64, 56, 56],
    [1, 128, 28, 28],
    [1, 256, 14, 14],
    [1, 512, 7, 7],
    [1, 512, 1, 1],
    [1, 512],
    [1, 10],
  ];
  assert.deepEqual(stageShapes(model, names), book);
  assert.deepEqual(summarizeModel(spec, 224).layers.map((layer) => layer.outputShape), book);
  model.dispose();
});

test("ResNet-18 on 1x1x96x96 and DenseNet on 1x1x96x96: the book's shapes", () => {
  assert.deepEqual(
    summarizeModel({ name: "resnet18", batchNorm: "builtin" }, 96).layers.map((layer) => layer.outputShape),
    [[1, 64, 24, 24], [1, 64, 24, 24], [1, 128, 12, 12], [1, 256, 6, 6], [1, 512, 3, 3], [1, 512, 1, 1], [1, 512], [1, 10]],
  );
  const spec: ModelSpec = { name: "densenet", batchNorm: "builtin" };
  const model = createModel(spec, { size: 96, seed: 0 });
  const book: Record<string, number[]> = {
    stage1: [1, 64, 24, 24],
    dense_block1: [1, 192, 24, 24],
    transition1: [1, 96, 12, 12],
    dense_block2: [1, 224, 12, 12],
    transition2: [1, 112, 6, 6],
    dense_block3: [1, 240, 6, 6],
    transition3: [1, 120, 3, 3],
    dense_block4: [1, 248, 3, 3],
    batch_norm: [1, 248, 3, 3],
    relu: [1, 248, 3, 3],
    global_pool: [1, 248, 1, 1],
    flatten: [1, 248],
    dense: [1, 10],
  };
  assert.deepEqual(stageShapes(model, Object.keys(book)), Object.values(book));
  assert.deepEqual(Object.fromEntries(summarizeModel(spec, 96).layers.map((layer) => [layer.name, layer.outputShape])), book);
  model.dispose();
});

test("LeNet on 1x1x28x28: every layer's shape (valid 5x5 convolutions, 2x2 max pooling)", () => {
  const summary = summarizeModel({ name: "lenet", batchNorm: "none" }, 28);
  assert.deepEqual(
    summary.layers.map((layer) => [layer.name, layer.outputShape]),
    [
      ["conv1", [1, 6, 24, 24]],
      ["sigmoid1", [1, 6, 24, 24]],
      ["max_pool1", [1, 6, 12, 12]],
      ["conv2", [1, 16, 8, 8]],
      ["sigmoid2", [1, 16, 8, 8]],
      ["max_pool2", [1, 16, 4, 4]],
      ["flatten", [1, 256]],
      ["dense1", [1, 120]],
      ["sigmoid3", [1, 120]],
      ["dense2", [1, 84]],
      ["sigmoid4", [1, 84]],
      ["dense3", [1, 10]],
    ],
  );
  assert.equal(summary.totalParameters, 44_426);
});

/** Parameters of the layer `name` and of the layers inside it (`name.…`). */
function parametersUnder(model: tf.LayersModel, name: string, trainable: boolean): number {
  return model.layers
    .filter((layer) => layer.name === name || layer.name.startsWith(`${name}.`))
    .flatMap((layer) => (trainable ? layer.trainableWeights : layer.nonTrainableWeights))
    .reduce((sum, weight) => sum + weight.shape.reduce((product: number, side) => product * side!, 1), 0);
}

const SPECS_AND_SIZES: [ModelSpec, number[]][] = [
  [{ name: "lenet", batchNorm: "none" }, [16, 28, 96]],
  [{ name: "lenet", batchNorm: "builtin" }, [28]],
  [{ name: "lenet", batchNorm: "scratch" }, [28, 224]],
  [{ name: "resnet18", batchNorm: "builtin" }, [28, 96, 224]],
  [{ name: "resnet18", batchNorm: "scratch" }, [96]],
  [{ name: "densenet", batchNorm: "builtin" }, [29, 96, 224]],
  [{ name: "densenet", batchNorm: "scratch" }, [96]],
];

for (const [spec, sizes] of SPECS_AND_SIZES) {
  test(`${spec.name} (${spec.batchNorm} batch norm) at ${sizes.join(", ")}: the summary's shapes and parameter counts are the model's`, () => {
    for (const size of sizes) {
      const summary = summarizeModel(spec, size);
      const model = createModel(spec, { size, seed: 1 });
      for (const layer of summary.layers) {
        const built = model.getLayer(layer.name);
        assert.deepEqual(nchw(built.outputShape as (number | null)[]), [null, ...layer.outputShape.slice(1)], `${size}: ${layer.name}`);
        assert.equal(parametersUnder(model, layer.name, true), layer.parameters, `${size}: parameters of ${layer.name}`);
      }
      assert.equal(model.countParams(), summary.totalParameters + summary.nonTrainableParameters);
      assert.equal(
        model.trainableWeights.reduce((sum, weight) => sum + weight.shape.reduce((product: number, side) => product * side!, 1), 0),
        summary.totalParameters,
      );
      // Every weight belongs to a layer the summary lists, or to a layer inside one.
      const listed = summary.layers.reduce((sum, layer) => sum + parametersUnder(model, layer.name, true) + parametersUnder(model, layer.name, false), 0);
      assert.equal(listed, model.countParams(), `${size}: weights outside the summary's layers`);
      model.dispose();
    }
  });
}

test("parameter totals: LeNet 44,426 (+452 with batch norm), ResNet-18 11,178,378, DenseNet 758,226, at any size", () => {
  for (const size of [28, 96]) assert.equal(summarizeModel({ name: "lenet", batchNorm: "scratch" }, size).totalParameters - summarizeModel({ name: "lenet", batchNorm: "none" }, size).totalParameters, 452);
  for (const size of [28, 96, 224]) assert.equal(summarizeModel({ name: "resnet18", batchNorm: "builtin" }, size).totalParameters, 11_178_378);
  for (const size of [29, 96, 224]) assert.equal(summarizeModel({ name: "densenet", batchNorm: "scratch" }, size).totalParameters, 758_226);
  // Only LeNet's first dense layer depends on the size: 16 * 21 * 21 flattened features at 96.
  assert.equal(summarizeModel({ name: "lenet", batchNorm: "none" }, 96).layers.find((layer) => layer.name === "flatten")!.outputShape[1], 16 * 21 * 21);
});

test("the minimum sizes: LeNet 16, ResNet-18 1, DenseNet 29; smaller ones are refused with the minimum named", () => {
  assert.deepEqual([minimumSize("lenet"), minimumSize("resnet18"), minimumSize("densenet")], [16, 1, 29]);
  assert.throws(() => summarizeModel({ name: "lenet", batchNorm: "none" }, 15), { name: "RangeError", message: /lenet needs images of at least 16x16, got 15x15/ });
  assert.throws(() => summarizeModel({ name: "densenet", batchNorm: "builtin" }, 28), { name: "RangeError", message: /densenet needs images of at least 29x29/ });
  assert.throws(() => summarizeModel({ name: "resnet18", batchNorm: "builtin" }, 0), RangeError);
  assert.throws(() => createModel({ name: "densenet", batchNorm: "builtin" }, { size: 28, seed: 0 }), RangeError);
});

const logitsShape = (model: tf.LayersModel, size: number, batch: number, training: boolean) => {
  const logits = tf.tidy(() => model.apply(tf.randomUniform([batch, size, size, 1], 0, 1, "float32", 3), { training }) as tf.Tensor);
  const result = { shape: logits.shape, finite: tf.tidy(() => logits.isFinite().all().dataSync()[0] === 1) };
  logits.dispose();
  return result;
};

for (const [spec, size] of [
  [{ name: "lenet", batchNorm: "none" }, 28],
  [{ name: "lenet", batchNorm: "scratch" }, 16],
  [{ name: "resnet18", batchNorm: "scratch" }, 28],
  [{ name: "resnet18", batchNorm: "builtin" }, 1],
  [{ name: "densenet", batchNorm: "builtin" }, 29],
  [{ name: "densenet", batchNorm: "scratch" }, 33],
] as [ModelSpec, number][]) {
  test(`${spec.name} (${spec.batchNorm}) at ${size}: logits are [batch, 10], in training and in inference`, () => {
    const model = createModel(spec, { size, seed: 2 });
    for (const training of [true, false]) {
      assert.deepEqual(logitsShape(model, size, 3, training), { shape: [3, 10], finite: true });
    }
    model.dispose();
  });
}

test("the same seed gives identical weights, another seed different ones, for every model", () => {
  const weights = (spec: ModelSpec, seed: number) => {
    const model = createModel(spec, { size: 32, seed });
    const values = model.getWeights().map((weight) => weight.dataSync().slice());
    model.dispose();
    return values;
  };
  for (const spec of [
    { name: "lenet", batchNorm: "scratch" },
    { name: "resnet18", batchNorm: "builtin" },
    { name: "densenet", batchNorm: "scratch" },
  ] as ModelSpec[]) {
    const [first, again, other] = [weights(spec, 7), weights(spec, 7), weights(spec, 8)];
    assert.equal(first.length, again.length);
    first.forEach((values, i) => assert.deepEqual(values, again[i], `${spec.name} weight ${i}`));
    // Kernels and biases differ (batch norm's start at ones and zeros whatever the seed).
    const differing = first.filter((values, i) => values.some((value, j) => value !== other[i]![j]));
    const random = first.filter((values) => values.some((value) => value !== 0 && value !== 1));
    assert.equal(differing.length, random.length, `${spec.name}: every randomly initialised weight changes with the seed`);
    assert.ok(random.length > 0);
  }
});

// Small images and batches: backpropagation through ResNet on the cpu backend takes seconds even so.
test("a training step under tf.variableGrads moves every batch norm's moving statistics and leaks no tensors", () => {
  for (const [spec, size] of [
    [{ name: "lenet", batchNorm: "scratch" }, 28],
    [{ name: "resnet18", batchNorm: "scratch" }, 8],
  ] as [ModelSpec, number][]) {
    const model = createModel(spec, { size, seed: 4 });
    const params = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
    const images = tf.randomUniform([2, size, size, 1], 0, 1, "float32", 5);
    const labels = tf.oneHot(tf.tensor1d([3, 7], "int32"), 10);
    const movingBefore = model.nonTrainableWeights.map((weight) => weight.read().clone());
    const before = tf.memory().numTensors;
    const gradients = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(labels, model.apply(images, { training: true }) as tf.Tensor) as tf.Scalar,
        params,
      );
      value.dispose();
      return grads;
    });
    assert.equal(Object.keys(gradients).length, params.length, `${spec.name}: a gradient for every trainable weight, none for moving statistics`);
    tf.dispose(gradients);
    assert.equal(tf.memory().numTensors, before, `${spec.name}: tensors left behind`);
    model.nonTrainableWeights.forEach((weight, i) => {
      const moved = tf.tidy(() => weight.read().sub(movingBefore[i]!).abs().max().dataSync()[0]!);
      assert.ok(moved > 0, `${spec.name}: ${weight.originalName} did not move`);
    });
    tf.dispose([images, labels, movingBefore]);
    model.dispose();
  }
});
