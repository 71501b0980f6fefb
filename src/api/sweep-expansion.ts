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
  for (const field of ["base", "grid", "variants"] as const) assertStorable(field, request[field]);
  const combinations: Combination[] = [];
  const problems: { path: string; message: string }[] = [];
  for (const choice of cartesian(grid)) {
    for (const variant of variants) {
      const values = { ...choice, ...variant };
      const candidate = structuredClone(request.base);
      // Shallow paths first, so that "optimizer.lr" refines an "optimizer" object set by the same combination.
      const ordered = Object.entries(values).sort(([a], [b]) => a.split(".").length - b.split(".").length);
      // A copy: a later, deeper path must not write into the request's own grid or variant value.
      for (const [path, value] of ordered) setPath(candidate, path, structuredClone(value));
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
/** NUL, or half of a surrogate pair without the other half: Postgres' jsonb refuses both. */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Refuses what could not be stored or printed: nesting deeper than MAX_DEPTH (a scalar is depth 0),
 * and NUL or an unpaired surrogate in any key or string. Walks without recursion, so that a value
 * nested thousands deep cannot exhaust the stack here.
 */
function assertStorable(field: string, value: unknown): void {
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, level] = next;
    if (typeof node === "string" && UNSTORABLE.test(node)) refuse(field, "contains \\u0000 or an unpaired surrogate");
    if (typeof node !== "object" || node === null) continue;
    if (level >= MAX_DEPTH) refuse(field, "nested too deeply");
    for (const [key, child] of Object.entries(node)) {
      if (UNSTORABLE.test(key)) refuse(field, "contains \\u0000 or an unpaired surrogate");
      pending.push([child, level + 1]);
    }
  }
}

function refuse(field: string, message: string): never {
  throw new InvalidRequestError(`${field}: ${message}`, [{ path: field, message }]);
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
