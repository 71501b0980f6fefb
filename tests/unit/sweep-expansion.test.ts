import assert from "node:assert/strict";
import { test } from "node:test";
import { expandSweep } from "../../src/api/sweep-expansion.js";
import { SEED_REGRESSION_SPEC } from "../../src/contracts/examples.js";
import { sweepRequestSchema } from "../../src/contracts/sweeps.js";

test("an object set by a variant and refined by a grid path stays each combination's own", () => {
  const request = sweepRequestSchema.parse({
    base: SEED_REGRESSION_SPEC,
    grid: { "optimizer.lr": [0.01, 0.1] },
    variants: [{ optimizer: { name: "momentum", lr: 0.5, momentum: 0.9 } }, { optimizer: { name: "adam", lr: 0.5 } }],
  });
  const before = structuredClone(request);
  const combinations = expandSweep(request);
  assert.deepEqual(
    combinations.map((c) => [(c.spec as { optimizer: { name: string } }).optimizer.name, (c.spec as { optimizer: { lr: number } }).optimizer.lr]),
    [["momentum", 0.01], ["adam", 0.01], ["momentum", 0.1], ["adam", 0.1]],
  );
  // What is stored as each run's combination is what the request said, not a value a later combination wrote.
  assert.deepEqual(combinations.map((c) => (c.values.optimizer as { lr: number }).lr), [0.5, 0.5, 0.5, 0.5]);
  assert.deepEqual(request, before, "the request is not modified");
});
