import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { SEED_REGRESSION_SPEC } from "../../src/contracts/examples.js";
import { freePort } from "../../scripts/local-services.js";
import { useApiAndWorker, waitFor } from "../helpers/services.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const stack = useApiAndWorker();
const { db } = stack;
const dir = mkdtempSync(join(tmpdir(), "lossline-cli-"));

/** Runs `lossline ARGS` as a user would (the package's bin), against this test's API. */
function lossline(args: string[], url = stack.api.baseUrl, key: string | null = stack.env.TEST_API_KEY!): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, LOSSLINE_URL: url, LOSSLINE_API_KEY: key ?? undefined };
    if (key === null) delete env.LOSSLINE_API_KEY;
    const child = spawn(process.execPath, ["bin/lossline.mjs", ...args], { cwd: ROOT, env });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.stderr.on("data", (chunk) => (err += chunk));
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
};

test("submit --follow: progress, epoch lines like the book's, and the summary", async () => {
  const { code, out, err } = await lossline(["submit", file("seed.json", SEED_REGRESSION_SPEC), "--follow"]);
  assert.equal(code, 0, err);
  const id = /submitted run ([0-9a-f-]{36})/.exec(out)![1]!;
  assert.match(out, /epoch 1, loss 0\.24\d\d, time \d+\.\d sec/);
  assert.match(out, /epoch 2, loss 0\.24\d\d, time \d+\.\d sec/);
  assert.match(out, /3,000\/3,000 samples/);
  assert.match(out, new RegExp(`run ${id}: succeeded`));
  assert.match(out, /final loss 0\.24\d+/);

  const shown = await lossline(["show", id]);
  assert.equal(shown.code, 0);
  assert.match(shown.out, /epoch\s+loss\s+train acc\s+test acc\s+seconds/);

  const csv = await lossline(["metrics", id, "--csv"]);
  const lines = csv.out.trim().split("\n");
  assert.equal(lines[0], "seq,samplesSeen,epoch,value,wallTime");
  assert.equal(lines.length, 32);
  const stored = await db.prisma.metricPoint.findMany({ where: { runId: id }, orderBy: { seq: "asc" } });
  assert.deepEqual(lines.slice(1).map((line) => Number(line.split(",")[3])), stored.map((p) => p.value));

  const listed = await lossline(["runs", "--status", "succeeded", "--limit", "5"]);
  assert.match(listed.out, /^id\s+status\s+kind/);
  assert.ok(listed.out.includes(id));

  const refused = await lossline(["cancel", id]);
  assert.equal(refused.code, 2);
  assert.match(refused.err, /error 409: conflict: run .* already ended: succeeded/);
});

test("a rejected spec shows the API's field errors, not a stack trace; a dead server is named", async () => {
  const bad = await lossline(["submit", file("bad.json", { ...SEED_REGRESSION_SPEC, batchSize: 0, extra: 1 })]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^error 400: invalid_request: /);
  assert.match(bad.err, /\n  batchSize: Too small/);
  assert.match(bad.err, /\n  extra: unknown field/);
  assert.doesNotMatch(bad.err, /at .*\.ts:\d+/);

  const notJson = await lossline(["submit", file("broken.json", "{nope")]);
  assert.equal(notJson.code, 1);
  assert.match(notJson.err, /cannot read .*broken\.json as JSON/);

  const closedPort = await freePort(); // free a moment ago: nothing listens there
  const down = await lossline(["runs"], `http://127.0.0.1:${closedPort}`);
  assert.equal(down.code, 1);
  assert.match(down.err, new RegExp(`^cannot reach Lossline at http://127\\.0\\.0\\.1:${closedPort} \\(ECONNREFUSED\\)`));

  const badOption = await lossline(["runs", "--bogus"]);
  assert.equal(badOption.code, 1);
  assert.match(badOption.err, /^error: Unknown option '--bogus'/);
  const badUrl = await lossline(["runs"], "ftp://example");
  assert.equal(badUrl.code, 1);
  assert.match(badUrl.err, /^error: LOSSLINE_URL: /);

  const unknown = await lossline(["show", "00000000-0000-4000-8000-000000000000"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /error 404/);
});

test("keys: create prints a key once (stored only hashed) that the CLI then uses; revoke ends it; no key is a clear error", async () => {
  const tenant = `cli-${process.pid}-${Date.now()}`;
  const made = await lossline(["keys", "create", tenant, "--name", "laptop", "--max-active-runs", "3"], undefined, null);
  assert.equal(made.code, 0, made.err);
  const key = made.out.trim();
  assert.match(key, /^ll_[A-Za-z0-9_-]{43}$/);
  assert.match(made.err, new RegExp(`for tenant ${tenant}: shown once`));
  const stored = await db.prisma.apiKey.findFirstOrThrow({ where: { tenant: { name: tenant } }, include: { tenant: true } });
  assert.equal(stored.hash, createHash("sha256").update(key).digest("hex"));
  assert.ok(!JSON.stringify(stored).includes(key.slice(3)), "the key itself is not stored");
  assert.equal(stored.tenant.maxActiveRuns, 3);

  const listed = await lossline(["keys", "list"], undefined, null);
  assert.match(listed.out, new RegExp(`${stored.id}\\s+${key.slice(0, 11)}…\\s+${tenant}\\s+laptop`));
  assert.ok(!listed.out.includes(key), "list never shows a key");

  const runs = await lossline(["runs"], undefined, key);
  assert.equal(runs.code, 0, runs.err);
  assert.equal(runs.out.trim().split("\n").length, 1, "a new tenant sees no runs, only the header");

  const none = await lossline(["runs"], undefined, null);
  assert.equal(none.code, 2);
  assert.match(none.err, /error 401: unauthorized: this API needs a key: set LOSSLINE_API_KEY/);

  assert.equal((await lossline(["keys", "revoke", key.slice(0, 11)], undefined, null)).code, 0);
  await waitFor(async () => (await lossline(["runs"], undefined, key)).code === 2, 15_000, "the revoked key to be refused");
  assert.match((await lossline(["runs"], undefined, key)).err, /error 401: unauthorized: this API key is unknown or revoked/);
  const bad = await lossline(["keys", "create", "no spaces please"], undefined, null);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /tenant: 1-100 letters/);
});

test("sweep submits every combination; cancel stops a queued run", async () => {
  const swept = await lossline(["sweep", file("sweep.json", { base: { ...SEED_REGRESSION_SPEC, epochs: 200, batchSize: 1 }, grid: { seed: [1, 2, 3] } })]);
  assert.equal(swept.code, 0, swept.err);
  assert.match(swept.out, /: 3 runs/);
  const ids = [...swept.out.matchAll(/^([0-9a-f-]{36})\s+\{"seed":\d\}$/gm)].map((match) => match[1]!);
  assert.equal(ids.length, 3);
  // One worker: the last run is still queued while the first trains.
  const canceled = await lossline(["cancel", ids[2]!]);
  assert.equal(canceled.code, 0, canceled.err);
  assert.match(canceled.out, /canceled/);
  for (const id of ids.slice(0, 2)) await lossline(["cancel", id]);
});

test("Ctrl-C while following (in a real terminal, tmux) asks whether to cancel; yes cancels the run", async () => {
  const created = await lossline(["submit", file("long.json", { ...SEED_REGRESSION_SPEC, batchSize: 1, epochs: 1000 })]);
  const id = /submitted run ([0-9a-f-]{36})/.exec(created.out)![1]!;
  const socket = `lossline-test-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
  const screen = () => tmux("capture-pane", "-p", "-t", "cli");
  const command = `cd ${ROOT} && LOSSLINE_URL=${stack.api.baseUrl} LOSSLINE_API_KEY=${stack.env.TEST_API_KEY} node bin/lossline.mjs follow ${id}; echo exit=$?; sleep 60`;
  tmux("new-session", "-d", "-s", "cli", "-x", "200", "-y", "30", command);
  try {
    await waitFor(() => /samples\s+epoch [\d.]+\s+loss/.test(screen()), 30_000, "the progress bar");
    tmux("send-keys", "-t", "cli", "C-c");
    await waitFor(() => screen().includes(`cancel run ${id}? [y/N]`), 10_000, "the question");
    tmux("send-keys", "-t", "cli", "y", "Enter");
    await waitFor(() => screen().includes("exit=130"), 10_000, "the client to exit");
    assert.match(screen(), new RegExp(`run ${id}: cancel requested`));
    await waitFor(async () => (await db.prisma.run.findUniqueOrThrow({ where: { id } })).status === "canceled", 10_000, "the run to end canceled");
  } finally {
    tmux("kill-server");
  }
});
