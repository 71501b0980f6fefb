import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DATASETS } from "../contracts/datasets.js";

export const AIRFOIL_SHA256 = "10ee06e6cfb27dae6b44213d421d217012fb1f9b697592e73a4e4016b52d425f";
export const DEFAULT_AIRFOIL_PATH = fileURLToPath(new URL("../../data/airfoil_self_noise.dat", import.meta.url));

const COLUMNS = 6;

/** A regression data set held as row-major float32 arrays. */
export interface RegressionData {
  /** [examples, featureDim], row-major. */
  features: Float32Array;
  /** [examples]. */
  labels: Float32Array;
  examples: number;
  featureDim: number;
}

/**
 * The airfoil self-noise data as the book's get_data_ch11 prepares it: every column of all 1503 rows
 * standardised to mean 0 and (population) standard deviation 1, then the first 1500 rows kept;
 * 5 features, the sound pressure level as label.
 */
export function loadAirfoil(path: string = DEFAULT_AIRFOIL_PATH): RegressionData {
  const raw = readFileSync(path);
  const digest = createHash("sha256").update(raw).digest("hex");
  if (digest !== AIRFOIL_SHA256) throw new Error(`${path} is not the airfoil self-noise file (sha256 ${digest})`);
  const rows = raw
    .toString("utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => line.trim().split(/\s+/).map(Number));
  const columns = Array.from({ length: COLUMNS }, (_, c) => standardise(rows.map((row) => row[c]!)));
  const examples = DATASETS.airfoil.trainExamples;
  const featureDim = DATASETS.airfoil.features;
  const features = new Float32Array(examples * featureDim);
  const labels = new Float32Array(examples);
  for (let r = 0; r < examples; r++) {
    for (let c = 0; c < featureDim; c++) features[r * featureDim + c] = columns[c]![r]!;
    labels[r] = columns[featureDim]![r]!;
  }
  return { features, labels, examples, featureDim };
}

/** (x - mean) / std with the population standard deviation, computed in float64. */
function standardise(values: number[]): Float64Array {
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / values.length;
  const std = Math.sqrt(variance);
  return Float64Array.from(values, (v) => (v - mean) / std);
}
