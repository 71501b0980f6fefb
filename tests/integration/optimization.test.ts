import assert from "node:assert/strict";
import { test } from "node:test";
import type { StreamMessage } from "../../src/contracts/events.js";
import { airfoilSpec, getJson, postJson, runToEnd, useApiAndWorker } from "../helpers/services.js";

const stack = useApiAndWorker();
const { db } = stack;

const pointsOf = (messages: StreamMessage[]) => messages.flatMap((m) => (m.type === "points" ? m.points : []));


test("an SGD trace on the 2-D quadratic streams every iterate and serves it as a trace", async () => {
  const spec = {
    kind: "optimization",
    objective: "quadratic-2d",
    method: "sgd",
    eta: 0.1,
    steps: 50,
    start: [-5, -2],
    schedule: { name: "exponential" },
    noise: { std: 1 },
    seed: 1,
  };
  const { id, messages, end } = await runToEnd(stack.api, spec);
  assert.equal(end.status, "succeeded");
  const streamed = pointsOf(messages);
  assert.deepEqual(streamed.map((p) => p.seq), Array.from({ length: 51 }, (_, t) => t));
  assert.ok(streamed.every((p) => p.x?.length === 2));

  const { status, json: trace } = await getJson(stack.api.baseUrl, `/v1/runs/${id}/trace`);
  assert.equal(status, 200);
  assert.deepEqual(trace[0], { t: 0, x: [-5, -2], f: 25 + 2 * 4, eta: null });
  assert.deepEqual(trace, streamed.map((p) => ({ t: p.seq, x: p.x, f: p.value, eta: p.eta })));
  assert.ok(Math.abs(trace[1]!.eta! - 0.1 * Math.exp(-0.2)) < 1e-15);
  const run = (await getJson(stack.api.baseUrl, `/v1/runs/${id}`)).json;
  assert.deepEqual([run.kind, run.model, run.optimizer, run.dataset], ["optimization", "quadratic-2d", "sgd", "none"]);

  const again = await runToEnd(stack.api, spec);
  assert.deepEqual(pointsOf(again.messages).map((p) => p.x), streamed.map((p) => p.x), "the same seed gives the same trace");
});

test("the book's gd runs through the service: 0.06046618 after 10 steps; gd(1.1) reported as diverging", async () => {
  const converging = await runToEnd(stack.api, { kind: "optimization", objective: "square", method: "gd", eta: 0.2, steps: 10 });
  const trace = (await getJson(stack.api.baseUrl, `/v1/runs/${converging.id}/trace`)).json;
  assert.equal(trace.length, 11);
  assert.deepEqual(trace[0].x, [10]);
  assert.equal(trace[10].x[0].toFixed(8), "0.06046618");

  const growing = await runToEnd(stack.api, { kind: "optimization", objective: "square", method: "gd", eta: 1.1, steps: 10 });
  assert.equal(growing.end.status, "succeeded");
  assert.equal(growing.end.finalMetrics!.diverging, 1);
  assert.equal(growing.end.finalMetrics!.x1!.toFixed(6), "61.917364");
});

test("objectives: listed, and served as curves and grids", async () => {
  const { json } = await getJson(stack.api.baseUrl, "/v1/objectives");
  const names = json.objectives.map((o: { name: string }) => o.name);
  assert.deepEqual(names, ["square", "xcos", "cosh", "quadratic-2d", "cubic", "tanh", "saddle-2d"]);

  const curve = (await getJson(stack.api.baseUrl, "/v1/objectives/square/grid?points=5&xmin=-2&xmax=2")).json;
  assert.deepEqual(curve, { name: "square", dim: 1, c: null, x: [-2, -1, 0, 1, 2], f: [4, 1, 0, 1, 4] });
  const contour = (await getJson(stack.api.baseUrl, "/v1/objectives/quadratic-2d/grid?points=3&xmin=-1&xmax=1&ymin=0&ymax=2&c=3")).json;
  assert.deepEqual(contour.y, [0, 1, 2]);
  assert.deepEqual(contour.f[2], [1 + 12, 12, 1 + 12], "f[j][i] = x_i^2 + 3 y_j^2");

  assert.equal((await getJson(stack.api.baseUrl, "/v1/objectives/rosenbrock/grid")).status, 404);
  const backwards = await getJson(stack.api.baseUrl, "/v1/objectives/square/grid?xmin=2&xmax=1");
  assert.equal(backwards.status, 400);
  assert.match(backwards.json.message, /xmax/);
  assert.equal((await getJson(stack.api.baseUrl, "/v1/objectives/square/grid?points=100000")).status, 400);
  assert.equal((await getJson(stack.api.baseUrl, "/v1/objectives/square/grid?c=2")).status, 400);
  const reversed = await getJson(stack.api.baseUrl, "/v1/objectives/square/grid?xmin=20");
  assert.equal(reversed.status, 400);
  assert.match(reversed.json.message, /xmax: must exceed xmin/);
  const overflowing = await getJson(stack.api.baseUrl, "/v1/objectives/cosh/grid?c=1000&points=3");
  assert.equal(overflowing.status, 200);
  assert.deepEqual(overflowing.json.f, [null, 1, null], "cosh(1000 x) overflows at x = ±10");
});

test("bad optimization specs get 400 naming the field; a regression run has no trace", async () => {
  const base = { kind: "optimization", objective: "quadratic-2d", method: "gd", eta: 0.1, steps: 10 };
  for (const [spec, path] of [
    [{ ...base, objective: "rosenbrock" }, "objective"],
    [{ ...base, method: "lbfgs" }, "method"],
    [{ ...base, start: [1, 2, 3] }, "start"],
    [{ ...base, start: [1] }, "start"],
    [{ ...base, noise: { std: 1 } }, "noise"],
    [{ ...base, schedule: { name: "cosine" } }, "schedule.name"],
    [{ ...base, steps: 10_000_000 }, "steps"],
    [{ ...base, eta: -1 }, "eta"],
  ] as const) {
    const response = await postJson(stack.api.baseUrl, "/v1/runs", spec);
    assert.equal(response.status, 400, JSON.stringify(spec));
    assert.ok(response.json.issues.some((issue: { path: string }) => issue.path === path), JSON.stringify(response.json.issues));
  }
  const regression = await postJson(stack.api.baseUrl, "/v1/runs", airfoilSpec());
  const trace = await getJson(stack.api.baseUrl, `/v1/runs/${regression.json.id}/trace`);
  assert.equal(trace.status, 404);
  assert.match(trace.json.message, /only optimization runs have a trace/);
});
