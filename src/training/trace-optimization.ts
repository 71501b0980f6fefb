import type { OptimizationSpec } from "../contracts/job-spec.js";
import { findObjective } from "../contracts/objectives.js";
import { createYielder, type TrainingOutcome, type TrainingProgress } from "./progress.js";
import { createRandom } from "./random.js";
import { createLearningRate } from "./schedules.js";

/**
 * The chapter's optimizer traces, in float64 like the book's Python floats: from the start point,
 * `steps` updates x -= eta_t * d, with d the gradient (gd), the gradient plus Gaussian noise (sgd),
 * or the Newton direction H^-1 gradient (newton); eta_t follows the schedule. Every iterate is a
 * point: seq = samplesSeen = t (t = 0 is the start), value = f(x), with x and eta_t.
 * A trace that climbs (f at the end above f at the start) completes with `diverging: 1`; so does one
 * whose iterate overflows (or whose Newton step divides by a zero Hessian), which then ends at the
 * last finite iterate with `stoppedAtStep`. A start point where f is not finite fails the run.
 */
export async function traceOptimization(spec: OptimizationSpec, progress: TrainingProgress): Promise<TrainingOutcome> {
  const objective = findObjective(spec.objective);
  if (!objective) throw new Error(`unknown objective ${spec.objective}`);
  const c = spec.c ?? objective.defaultC ?? 0;
  const random = createRandom(spec.seed);
  const learningRate = createLearningRate(spec.eta, spec.schedule);
  const noise = spec.method === "sgd" ? { mean: spec.noise?.mean ?? 0, std: spec.noise?.std ?? 1 } : null;
  const pause = createYielder();
  let x = [...(spec.start ?? objective.defaultStart)];
  const startValue = objective.f(x, c);
  if (!Number.isFinite(startValue)) {
    return { kind: "diverged", reason: `diverged: f is not finite at the start point ${JSON.stringify(x)}`, samplesSeen: 0 };
  }

  const record = (t: number, value: number, eta: number | null) =>
    progress.onPoint({ seq: t, samplesSeen: t, epoch: t / spec.steps, value, x: [...x], eta, wallTime: new Date().toISOString() });

  record(0, startValue, null);
  let value = startValue;
  for (let t = 1; t <= spec.steps; t++) {
    const eta = learningRate.next();
    let gradient = objective.gradient(x, c);
    if (noise) gradient = gradient.map((component) => component + random.normal(noise.mean, noise.std));
    const direction = spec.method === "newton" ? solve(objective.hessian(x, c), gradient) : gradient;
    const next = x.map((coordinate, i) => coordinate - eta * direction[i]!);
    const nextValue = objective.f(next, c);
    if (!next.every(Number.isFinite) || !Number.isFinite(nextValue)) return ended(x, value, t - 1, startValue, t);
    x = next;
    value = nextValue;
    record(t, value, eta);
    await pause();
    if (progress.shouldStop()) return { kind: "stopped", samplesSeen: t };
  }
  return ended(x, value, spec.steps, startValue);
}

/** The outcome of a finished trace; `stoppedAtStep` is the step whose iterate was not finite, if any. */
function ended(x: number[], value: number, steps: number, startValue: number, stoppedAtStep?: number): TrainingOutcome {
  const coordinates = Object.fromEntries(x.map((coordinate, i) => [`x${i + 1}`, coordinate]));
  const diverging = stoppedAtStep !== undefined || value > startValue ? 1 : 0;
  const finalMetrics: Record<string, number> = { f: value, steps, diverging, ...coordinates };
  if (stoppedAtStep !== undefined) finalMetrics.stoppedAtStep = stoppedAtStep;
  return { kind: "completed", finalMetrics };
}

/** Solves H d = g for the 1x1 or 2x2 Hessians of the objectives (Cramer's rule). */
function solve(hessian: number[][], gradient: number[]): number[] {
  if (gradient.length === 1) return [gradient[0]! / hessian[0]![0]!];
  const [[a, b], [c, d]] = hessian as [[number, number], [number, number]];
  const determinant = a * d - b * c;
  const [g1, g2] = gradient as [number, number];
  return [(d * g1 - b * g2) / determinant, (a * g2 - c * g1) / determinant];
}
