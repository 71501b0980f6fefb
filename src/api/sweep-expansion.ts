import { InvalidRequestError } from "../contracts/errors.js";
import { jobSpecSchema, type JobSpec } from "../contracts/job-spec.js";
import { MAX_SWEEP_RUNS, type SweepRequest } from "../contracts/sweeps.js";

export interface Combination {
  /** The values taken at each varied path, e.g. { "optimizer.lr": 0.05, batchSize: 10 }. */
  values: Record<string, unknown>;
  spec: JobSpec;
}

/** Every combination of a sweep, each parsed as a job spec; throws naming every combination that is not a valid spec. */
export function expandSweep(request: SweepRequest): Combination[] {
  const grid = Object.entries(request.grid ?? {});
  const variants = request.variants ?? [{}];
  // Counted before anything is built: a small body can describe an astronomical product.
  const count = grid.reduce((product, [, values]) => product * values.length, variants.length);
  if (count > MAX_SWEEP_RUNS) {
    const message = `${count} combinations; a sweep runs at most ${MAX_SWEEP_RUNS}`;
    throw new InvalidRequestError(`grid: ${message}`, [{ path: "grid", message }]);
  }
  assertNoOverlap(grid.map(([path]) => path), variants);
  if (depth(request.base) > MAX_DEPTH) throw new InvalidRequestError("base: nested too deeply", [{ path: "base", message: "nested too deeply" }]);
  const combinations: Combination[] = [];
  const problems: { path: string; message: string }[] = [];
  for (const choice of cartesian(grid)) {
    for (const variant of variants) {
      const values = { ...choice, ...variant };
      const candidate = structuredClone(request.base);
      // Shallow paths first, so that "optimizer.lr" refines an "optimizer" object set by the same combination.
      const ordered = Object.entries(values).sort(([a], [b]) => a.split(".").length - b.split(".").length);
      for (const [path, value] of ordered) setPath(candidate, path, value);
      const parsed = jobSpecSchema.safeParse(candidate);
      if (parsed.success) combinations.push({ values, spec: parsed.data });
      else {
        const path = Object.keys(variant).length > 0 ? "variants" : "grid";
        problems.push({ path, message: `${JSON.stringify(values)}: ${parsed.error.issues.map(describeIssue).join(", ")}` });
      }
    }
  }
  if (problems.length > 0) {
    throw new InvalidRequestError(`invalid combinations: ${problems.map((problem) => problem.message).join("; ")}`, problems);
  }
  return combinations;
}

const MAX_DEPTH = 20;

/** How deeply a JSON value nests (a scalar is 0). */
function depth(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  let deepest = 0;
  for (const child of Object.values(value)) {
    deepest = Math.max(deepest, depth(child));
    if (deepest > MAX_DEPTH) break;
  }
  return deepest + 1;
}

/** A path set by both the grid and a variant would silently lose one of the two values. */
function assertNoOverlap(gridPaths: string[], variants: Record<string, unknown>[]): void {
  for (const variant of variants) {
    const clash = gridPaths.find((path) => path in variant);
    if (clash) {
      const message = `${clash} is set by both the grid and a variant: vary it in one of them`;
      throw new InvalidRequestError(`variants: ${message}`, [{ path: "variants", message }]);
    }
  }
}

function describeIssue(issue: { path: PropertyKey[]; message: string; code: string; keys?: string[] }): string {
  const path = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys" && issue.keys) return issue.keys.map((key) => `${path ? `${path}.` : ""}${key}: unknown field`).join(", ");
  return `${path || "spec"}: ${issue.message}`;
}

/** All ways of picking one value per entry, in order: [[a, [1, 2]], [b, [x]]] -> {a:1,b:x}, {a:2,b:x}. */
function cartesian(entries: [string, unknown[]][]): Record<string, unknown>[] {
  return entries.reduce<Record<string, unknown>[]>(
    (partial, [path, values]) => partial.flatMap((choice) => values.map((value) => ({ ...choice, [path]: value }))),
    [{}],
  );
}

/** Sets a dotted path, creating objects on the way; a path through a non-object is an error. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let node: Record<string, unknown> = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (typeof next !== "object" || next === null || Array.isArray(next)) {
      const message = `${path} goes through ${key}, which is not an object in the base spec`;
      throw new InvalidRequestError(`grid: ${message}`, [{ path: "grid", message }]);
    }
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}
