import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DEFAULT_AIRFOIL_PATH, loadAirfoil } from "../../src/training/airfoil.js";

test("airfoil: 1500 rows of 5 standardised features and a standardised label", () => {
  const data = loadAirfoil();
  assert.equal(data.examples, 1500);
  assert.equal(data.featureDim, 5);
  assert.equal(data.features.length, 1500 * 5);
  assert.equal(data.labels.length, 1500);
  // Standardised over all 1503 rows, so the first 1500 are close to, not exactly, mean 0 and std 1.
  const columns = [...Array.from({ length: 5 }, (_, c) => Array.from({ length: 1500 }, (_, r) => data.features[r * 5 + c]!)), [...data.labels]];
  for (const column of columns) {
    const mean = column.reduce((a, b) => a + b, 0) / column.length;
    const std = Math.sqrt(column.reduce((a, b) => a + (b - mean) ** 2, 0) / column.length);
    assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
    assert.ok(Math.abs(std - 1) < 0.01, `std ${std}`);
  }
  // First row of the file: 800 Hz, angle 0, ... ; frequency is below the mean, so negative once standardised.
  assert.ok(data.features[0]! < 0);
});

test("airfoil: a file that is not the published one is refused", () => {
  const dir = mkdtempSync(join(tmpdir(), "airfoil-"));
  const copy = join(dir, "airfoil.dat");
  copyFileSync(DEFAULT_AIRFOIL_PATH, copy);
  appendFileSync(copy, "1\t2\t3\t4\t5\t6\n");
  assert.throws(() => loadAirfoil(copy), /not the airfoil self-noise file/);
});
