import assert from "node:assert/strict";
import { test } from "node:test";
import type { LossPoint } from "../../src/contracts/events.js";
import { optimizationSpecSchema } from "../../src/contracts/job-spec.js";
import { OBJECTIVES } from "../../src/contracts/objectives.js";
import { traceOptimization } from "../../src/training/trace-optimization.js";

async function trace(spec: Record<string, unknown>, stopAfter = Number.POSITIVE_INFINITY) {
  const points: LossPoint[] = [];
  const outcome = await traceOptimization(optimizationSpecSchema.parse({ kind: "optimization", ...spec }), {
    onPoint: (point) => points.push(point),
    onEpoch: () => undefined,
    shouldStop: () => points.length >= stopAfter,
  });
  return { points, outcome, last: points.at(-1)?.x?.map((v) => v.toFixed(6)) };
}

// The values the book prints ("epoch 10, x: ...") for its runs, to the digits it prints.
test("gd on x^2 from 10: eta 0.2 ends at 0.06046618, eta 0.05 at 3.486784", async () => {
  const fast = await trace({ objective: "square", method: "gd", eta: 0.2, steps: 10 });
  assert.equal(fast.points.at(-1)!.x![0]!.toFixed(8), "0.06046618");
  assert.equal(fast.points.length, 11);
  assert.deepEqual(fast.points[0], { ...fast.points[0]!, seq: 0, samplesSeen: 0, x: [10], eta: null, value: 100 });
  assert.ok(fast.points.slice(1).every((p) => p.eta === 0.2));
  assert.deepEqual((await trace({ objective: "square", method: "gd", eta: 0.05, steps: 10 })).last, ["3.486784"]);
});

test("gd(1.1) on x^2 grows to 61.917364 and is reported as diverging, not as an error", async () => {
  const { outcome, last } = await trace({ objective: "square", method: "gd", eta: 1.1, steps: 10 });
  assert.deepEqual(last, ["61.917364"]);
  assert.equal(outcome.kind, "completed");
  if (outcome.kind === "completed") assert.equal(outcome.finalMetrics.diverging, 1);
});

test("gd(2) on x cos(cx) gets stuck in the local minimum at -1.528166", async () => {
  assert.deepEqual((await trace({ objective: "xcos", method: "gd", eta: 2, steps: 10 })).last, ["-1.528166"]);
});

test("gd on x1^2 + 2 x2^2 from (-5, -2), eta 0.1, 20 steps: (-0.057646, -0.000073)", async () => {
  assert.deepEqual((await trace({ objective: "quadratic-2d", method: "gd", eta: 0.1, steps: 20 })).last, ["-0.057646", "-0.000073"]);
});

test("Newton: cosh converges to 0; on x cos(cx) eta 1 climbs to 26.834133, eta 0.5 reaches 7.269860", async () => {
  assert.deepEqual((await trace({ objective: "cosh", method: "newton", eta: 1, steps: 10 })).last, ["0.000000"]);
  const climbing = await trace({ objective: "xcos", method: "newton", eta: 1, steps: 10 });
  assert.deepEqual(climbing.last, ["26.834133"]);
  if (climbing.outcome.kind === "completed") assert.equal(climbing.outcome.finalMetrics.diverging, 1);
  assert.deepEqual((await trace({ objective: "xcos", method: "newton", eta: 0.5, steps: 10 })).last, ["7.269860"]);
  const quadratic = await trace({ objective: "quadratic-2d", method: "newton", eta: 1, steps: 1 });
  assert.deepEqual(quadratic.points.at(-1)!.x, [0, 0], "one Newton step solves a quadratic");
});

test("schedules scale eta as the book's counter does: exponential eta exp(-0.1 t), t = 2 at the first step", async () => {
  const { points } = await trace({ objective: "square", method: "gd", eta: 0.5, steps: 3, schedule: { name: "exponential" } });
  [2, 3, 4].forEach((t, i) => assert.ok(Math.abs(points[i + 1]!.eta! - 0.5 * Math.exp(-0.1 * t)) < 1e-15));
  const polynomial = await trace({ objective: "square", method: "gd", eta: 0.5, steps: 1, schedule: { name: "polynomial" } });
  assert.ok(Math.abs(polynomial.points[1]!.eta! - 0.5 * (1 + 0.2) ** -0.5) < 1e-15);
  // x1 = x0 - eta_1 * 2 x0 with eta_1 = 0.5 exp(-0.2)
  assert.ok(Math.abs(points[1]!.x![0]! - 10 * (1 - Math.exp(-0.2))) < 1e-12);
});

test("sgd: seeded noise reproduces itself; another seed differs; zero noise is gd", async () => {
  const spec = { objective: "quadratic-2d", method: "sgd", eta: 0.1, steps: 50, schedule: { name: "exponential" } };
  const first = await trace({ ...spec, seed: 1 });
  const again = await trace({ ...spec, seed: 1 });
  const other = await trace({ ...spec, seed: 2 });
  assert.deepEqual(first.points.map((p) => p.x), again.points.map((p) => p.x));
  assert.notDeepEqual(first.points.map((p) => p.x), other.points.map((p) => p.x));
  const quiet = await trace({ objective: "quadratic-2d", method: "sgd", eta: 0.1, steps: 20, noise: { std: 0 } });
  assert.deepEqual(quiet.last, ["-0.057646", "-0.000073"]);
});

test("an overflowing trace ends at its last finite iterate, reported as diverging; a start where f overflows fails", async () => {
  const overflow = await trace({ objective: "square", method: "gd", eta: 100, steps: 1000 });
  assert.equal(overflow.outcome.kind, "completed");
  if (overflow.outcome.kind !== "completed") return;
  const { stoppedAtStep, steps, diverging } = overflow.outcome.finalMetrics;
  assert.equal(diverging, 1);
  assert.equal(steps, stoppedAtStep! - 1);
  assert.equal(overflow.points.length, stoppedAtStep, "points 0 .. stoppedAtStep - 1");
  assert.ok(overflow.points.every((p) => Number.isFinite(p.value) && p.x!.every(Number.isFinite)));
  const singular = await trace({ objective: "quadratic-2d", c: 0, method: "newton", eta: 1, steps: 5 });
  assert.equal(singular.outcome.kind === "completed" && singular.outcome.finalMetrics.stoppedAtStep, 1);
  const hopeless = await trace({ objective: "cosh", method: "gd", eta: 0.1, steps: 5, start: [1e6] });
  assert.equal(hopeless.outcome.kind, "diverged");
  if (hopeless.outcome.kind === "diverged") assert.match(hopeless.outcome.reason, /^diverged: f is not finite at the start point \[1000000\]$/);
  assert.equal(hopeless.points.length, 0);
});

test("shouldStop stops between steps", async () => {
  const stopped = await trace({ objective: "square", method: "gd", eta: 0.1, steps: 100 }, 5);
  assert.deepEqual(stopped.outcome, { kind: "stopped", samplesSeen: 4 });
});

test("every objective's gradient and Hessian agree with finite differences", () => {
  const h = 1e-5;
  for (const objective of OBJECTIVES) {
    const c = objective.defaultC ?? 0;
    const x = objective.dim === 1 ? [0.7] : [0.7, -0.4];
    const gradient = objective.gradient(x, c);
    const hessian = objective.hessian(x, c);
    for (let i = 0; i < objective.dim; i++) {
      const plus = x.map((v, j) => (j === i ? v + h : v));
      const minus = x.map((v, j) => (j === i ? v - h : v));
      const numeric = (objective.f(plus, c) - objective.f(minus, c)) / (2 * h);
      assert.ok(Math.abs(numeric - gradient[i]!) < 1e-6, `${objective.name} gradient ${i}`);
      for (let j = 0; j < objective.dim; j++) {
        const second = (objective.gradient(plus, c)[j]! - objective.gradient(minus, c)[j]!) / (2 * h);
        assert.ok(Math.abs(second - hessian[i]![j]!) < 1e-5, `${objective.name} hessian ${i},${j}`);
      }
    }
  }
});

test("specs: start must fit the objective, c only where it exists, noise only for sgd", () => {
  const base = { kind: "optimization", objective: "quadratic-2d", method: "gd", eta: 0.1, steps: 10 };
  const pathsOf = (spec: object) => optimizationSpecSchema.safeParse(spec).error?.issues.map((issue) => issue.path.join("."));
  assert.deepEqual(pathsOf({ ...base, start: [1] }), ["start"]);
  assert.deepEqual(pathsOf({ ...base, objective: "square", c: 3 }), ["c"]);
  assert.deepEqual(pathsOf({ ...base, noise: { std: 1 } }), ["noise"]);
  assert.deepEqual(pathsOf({ ...base, objective: "rosenbrock" }), ["objective"]);
  assert.deepEqual(pathsOf({ ...base, method: "bfgs" }), ["method"]);
  assert.deepEqual(pathsOf({ ...base, schedule: { name: "cosine" } }), ["schedule.name"]);
  assert.equal(pathsOf({ ...base, c: 5, start: [1, 1] }), undefined);
});
