import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { SEED_REGRESSION_SPEC } from "../../src/contracts/examples.js";
import type { LossPoint } from "../../src/contracts/events.js";
import { optimizerSchema, regressionSpecSchema } from "../../src/contracts/job-spec.js";
import { loadAirfoil, type RegressionData } from "../../src/training/airfoil.js";
import { initBackend } from "../../src/training/backend.js";
import { createOptimizer } from "../../src/training/optimizers/create-optimizer.js";
import { createLearningRate, scheduleFactor } from "../../src/training/schedules.js";
import { trainRegression } from "../../src/training/train-regression.js";

let data: RegressionData;
before(async () => {
  await initBackend("cpu", () => undefined);
  data = loadAirfoil();
});

async function curve(overrides: Record<string, unknown>): Promise<number[]> {
  const points: LossPoint[] = [];
  const spec = regressionSpecSchema.parse({ ...SEED_REGRESSION_SPEC, ...overrides });
  const outcome = await trainRegression(spec, data, { onPoint: (p) => points.push(p), onEpoch: () => undefined, shouldStop: () => false });
  assert.equal(outcome.kind, "completed", JSON.stringify(outcome));
  return points.map((p) => p.value);
}

/** One update by hand: the scratch formulas against numbers worked out on paper. */
function oneStep(optimizer: Record<string, unknown>, lr: number, steps = 1): number[] {
  const spec = optimizerSchema.parse(optimizer);
  const param = tf.tidy(() => tf.variable(tf.tensor1d([1, -2])));
  const grad = tf.tensor1d([0.5, -1]);
  const instance = createOptimizer(spec);
  for (let i = 0; i < steps; i++) instance.step([param], { [param.name]: grad }, lr);
  const values = Array.from(param.dataSync());
  instance.dispose();
  tf.dispose([param, grad]);
  return values;
}

const close = (actual: number[], expected: number[], tolerance = 1e-6) =>
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) < tolerance, `${actual} vs ${expected}`));

test("scratch formulas, one or two updates worked by hand (p = [1, -2], g = [0.5, -1])", () => {
  close(oneStep({ name: "sgd", lr: 0.1 }, 0.1), [0.95, -1.9]);
  // momentum 0.5: v1 = g, v2 = 1.5 g; p2 = p - lr * 2.5 g
  close(oneStep({ name: "momentum", momentum: 0.5 }, 0.1, 2), [1 - 0.1 * 2.5 * 0.5, -2 + 0.1 * 2.5]);
  // adagrad: s = g^2, p -= lr * g / sqrt(g^2 + 1e-6)
  close(oneStep({ name: "adagrad" }, 0.1), [1 - (0.1 * 0.5) / Math.sqrt(0.25 + 1e-6), -2 + 0.1 / Math.sqrt(1 + 1e-6)]);
  // rmsprop gamma 0.9: s = 0.1 g^2
  close(oneStep({ name: "rmsprop" }, 0.01), [1 - (0.01 * 0.5) / Math.sqrt(0.025 + 1e-6), -2 + 0.01 / Math.sqrt(0.1 + 1e-6)]);
  // adadelta rho 0.9: s = 0.1 g^2, g' = sqrt(1e-5) / sqrt(s + 1e-5) g
  close(oneStep({ name: "adadelta" }, 1), [1 - (Math.sqrt(1e-5) / Math.sqrt(0.025 + 1e-5)) * 0.5, -2 + Math.sqrt(1e-5) / Math.sqrt(0.1 + 1e-5)]);
  // adam: after one step v_hat = g and s_hat = g^2, so p -= lr * g / (|g| + 1e-6)
  close(oneStep({ name: "adam" }, 0.01), [1 - (0.01 * 0.5) / (0.5 + 1e-6), -2 + 0.01 / (1 + 1e-6)]);
});

// Where TensorFlow.js's optimizer defines the same algorithm, its curve on the airfoil job matches
// the scratch one to float tolerance. (Not adadelta: see the next test.)
for (const optimizer of [
  { name: "sgd", lr: 0.05 },
  { name: "momentum", lr: 0.02, momentum: 0.5 },
  { name: "adagrad", lr: 0.1 },
  { name: "rmsprop", lr: 0.01, gamma: 0.9 },
  { name: "adam", lr: 0.01 },
]) {
  test(`${optimizer.name}: scratch and TensorFlow.js built-in give the same loss curve`, async () => {
    const scratch = await curve({ optimizer: { ...optimizer, implementation: "scratch" } });
    const builtin = await curve({ optimizer: { ...optimizer, implementation: "builtin" } });
    assert.equal(scratch.length, 31);
    const worst = Math.max(...scratch.map((value, i) => Math.abs(value - builtin[i]!) / value));
    assert.ok(worst < 1e-4, `largest relative difference ${worst}`);
    assert.ok(scratch.at(-1)! < 0.3, `${optimizer.name} trains: final loss ${scratch.at(-1)}`);
  });
}

test("adadelta: TensorFlow.js's built-in is another algorithm; its first update is the raw gradient", () => {
  // The book: s = 0.1 g^2 first, so the first update is sqrt(1e-5) / sqrt(0.1 g^2 + 1e-5) * g, tiny.
  close(oneStep({ name: "adadelta", implementation: "builtin" }, 1), [1 - 0.5, -2 + 1]);
  const scratch = oneStep({ name: "adadelta", implementation: "scratch" }, 1);
  assert.ok(Math.abs(scratch[0]! - 1) < 0.01, `scratch moves little: ${scratch}`);
});

test("schedules: the counter starts at 1 and is incremented before each use", () => {
  const exponential = createLearningRate(0.4, { name: "exponential", rate: 0.1 });
  close([exponential.next(), exponential.next()], [0.4 * Math.exp(-0.2), 0.4 * Math.exp(-0.3)], 1e-15);
  assert.equal(exponential.t, 3);
  const polynomial = createLearningRate(0.1, { name: "polynomial", rate: 0.1, power: 0.5 });
  close([polynomial.next()], [0.1 / Math.sqrt(1.2)], 1e-15);
  assert.equal(createLearningRate(0.3, { name: "constant" }).next(), 0.3);
  close([scheduleFactor({ name: "polynomial", rate: 0.1, power: 0.5 }, 10)], [Math.SQRT1_2], 1e-15);
});

for (const optimizer of [{ name: "sgd", lr: 0.05 }, { name: "momentum" }, { name: "adam" }]) {
  test(`${optimizer.name}: a schedule changes the curve, the same way for scratch and built-in`, async () => {
    const schedule = { name: "polynomial", rate: 0.01, power: 0.5 };
    const plain = await curve({ optimizer });
    const scheduled = await curve({ optimizer, schedule });
    const builtin = await curve({ optimizer: { ...optimizer, implementation: "builtin" }, schedule });
    assert.notDeepEqual(plain, scheduled);
    assert.ok(Math.max(...scheduled.map((value, i) => Math.abs(value - builtin[i]!) / value)) < 1e-4);
  });
}

test("stateful optimizers leak no tensors", async () => {
  const before = tf.memory().numTensors;
  for (const name of ["momentum", "adagrad", "rmsprop", "adam"]) {
    for (const implementation of ["scratch", "builtin"]) {
      await curve({ optimizer: { name, implementation }, epochs: 1, schedule: { name: "exponential", rate: 0.001 } });
    }
  }
  await curve({ optimizer: { name: "adadelta" }, epochs: 1 });
  oneStep({ name: "adadelta", implementation: "builtin" }, 1);
  assert.equal(tf.memory().numTensors, before);
});
