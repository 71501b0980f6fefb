import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { SEED_REGRESSION_SPEC } from "../../src/contracts/examples.js";
import { postJson, useApiAndWorker, waitFor } from "../helpers/services.js";

// The dashboard in a real browser: Debian's Chromium driven by playwright-core. Screenshots land in test-artifacts/.
const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts", import.meta.url));
const stack = useApiAndWorker();
const { db } = stack;
let browser: Browser;
let page: Page;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
});
after(async () => {
  await browser?.close();
});

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
const pointCount = async () => Number(await page.textContent("#point-count"));

test("the dashboard asks for the API key once, says when the API refuses it, and keeps it", async () => {
  await page.goto(`${stack.api.baseUrl}/#/`);
  await page.waitForSelector("#key-form");
  assert.match((await page.textContent("#key-reason")) ?? "", /needs an API key/);
  await page.fill("#api-key", "ll_wrong");
  await page.click('#key-form button[type="submit"]');
  await page.waitForFunction(() => /unknown or revoked/.test(document.querySelector("#key-reason")?.textContent ?? ""));
  await page.fill("#api-key", stack.env.TEST_API_KEY!);
  await page.click('#key-form button[type="submit"]');
  await page.waitForSelector('input[data-filter="model"]');
  await page.reload();
  await page.waitForSelector('input[data-filter="model"]'); // not asked again
  assert.equal(await page.locator("#key-form").count(), 0);
});

test("submit through the form, watch the curve grow live, reload mid-run, see it finish", async () => {
  await page.goto(`${stack.api.baseUrl}/#/submit`);
  await page.selectOption('select[name="optimizer.name"]', "sgd");
  await page.fill('input[name="optimizer.lr"]', "0.005");
  await page.fill('input[name="batchSize"]', "1");
  await page.fill('input[name="epochs"]', "30"); // 45,000 samples: 451 points over several seconds
  await page.click('button[type="submit"]');
  await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
  const runId = /#\/runs\/([0-9a-f-]{36})$/.exec(page.url())![1]!;

  await page.waitForFunction(() => Number(document.querySelector("#point-count")?.textContent) >= 30, undefined, { timeout: 30_000 });
  const before = await pointCount();
  const status = await page.textContent("#run-status");
  await shot("run-live");
  assert.equal(status, "running", "the run is still going: this is a mid-run reload");
  await page.reload();
  await page.waitForFunction((n) => Number(document.querySelector("#point-count")?.textContent) >= n, before, { timeout: 10_000 });
  await page.waitForFunction(() => document.querySelector("#run-status")?.textContent === "succeeded", undefined, { timeout: 60_000 });
  await page.waitForFunction(() => Number(document.querySelector("#point-count")?.textContent) === 451, undefined, { timeout: 5_000 });
  assert.equal(await db.prisma.metricPoint.count({ where: { runId } }), 451);
  assert.equal(await page.locator("#loss-chart canvas").count() > 0, true, "uPlot drew the curve");
  assert.equal(await page.locator("table#epochs tbody tr").count(), 30, "one row per epoch, though the stream replays stored epochs after a reload");
  await shot("run-finished");

  await page.selectOption("#x-axis", "epoch");
  await page.check("#log-y");
  assert.equal(await page.locator("#loss-chart .u-wrap").count(), 1, "the chart is rebuilt, not duplicated");

  await page.goto(`${stack.api.baseUrl}/#/`);
  await page.waitForSelector(`tr[data-run="${runId}"] td.status.succeeded`);
  await shot("runs");
  await page.fill('input[data-filter="model"]', "no-such-model");
  await page.press('input[data-filter="model"]', "Enter");
  await page.waitForFunction(() => document.querySelectorAll("tr[data-run]").length === 0);
  await page.fill('input[data-filter="model"]', "linear");
  await page.press('input[data-filter="model"]', "Enter");
  await page.waitForSelector(`tr[data-run="${runId}"]`);
});

test("the API's validation errors appear next to their fields", async () => {
  await page.goto(`${stack.api.baseUrl}/#/submit`);
  await page.fill('input[name="optimizer.lr"]', "-1");
  await page.fill('input[name="batchSize"]', "5000");
  await page.click('button[type="submit"]');
  await page.waitForSelector('label[data-path="optimizer.lr"] .error:not(:empty)');
  assert.match((await page.textContent('label[data-path="optimizer.lr"] .error'))!, /Too small/);
  assert.match((await page.textContent('label[data-path="batchSize"] .error'))!, /at most 1500/);
  assert.match(page.url(), /#\/submit$/, "nothing was submitted");
  await shot("form-errors");
});

test("compare overlays runs on one chart; an optimization run draws its trace", async () => {
  const ids: string[] = [];
  for (const lr of [0.05, 0.2]) {
    const { json } = await postJson(stack.api.baseUrl, "/v1/runs", { ...SEED_REGRESSION_SPEC, optimizer: { name: "sgd", lr } });
    ids.push(json.id);
  }
  await waitFor(async () => (await db.prisma.run.count({ where: { id: { in: ids }, status: "succeeded" } })) === 2, 30_000, "both runs");
  await page.goto(`${stack.api.baseUrl}/#/compare?runs=${ids.join(",")}&x=samples`);
  await page.waitForSelector("#compare-chart canvas");
  const legend = await page.locator("#compare-chart .u-legend .u-series").allTextContents();
  assert.equal(legend.length, 3, `x and two runs: ${legend.join(" | ")}`);
  await shot("compare");

  const { json } = await postJson(stack.api.baseUrl, "/v1/runs", { kind: "optimization", objective: "quadratic-2d", method: "gd", eta: 0.1, steps: 20 });
  await waitFor(async () => (await db.prisma.run.findUniqueOrThrow({ where: { id: json.id } })).status === "succeeded", 30_000, "the trace");
  await page.goto(`${stack.api.baseUrl}/#/runs/${json.id}`);
  await page.waitForSelector("canvas#trace");
  await page.waitForFunction(() => Number(document.querySelector("#point-count")?.textContent) === 21);
  // The iterates' path is drawn in orange over the shaded map (redraws are throttled: wait for it).
  const orangePixels = () => {
    const canvas = document.querySelector("canvas#trace") as HTMLCanvasElement;
    const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
    let orange = 0;
    for (let i = 0; i < pixels.length; i += 4) if (pixels[i]! > 200 && pixels[i + 1]! < 100 && pixels[i + 2]! < 50) orange++;
    return orange;
  };
  await page.waitForFunction(orangePixels, undefined, { timeout: 5_000 });
  const painted = await page.evaluate(orangePixels);
  assert.ok(painted > 50, `trace pixels: ${painted}`);
  await shot("trace");
});

test("the cancel button stops a running run; hyperparameters and sweeps go through the form and compare view", async () => {
  const long = await postJson(stack.api.baseUrl, "/v1/runs", { ...SEED_REGRESSION_SPEC, batchSize: 1, epochs: 1000 });
  await page.goto(`${stack.api.baseUrl}/#/runs/${long.json.id}`);
  await page.waitForFunction(() => document.querySelector("#run-status")?.textContent === "running", undefined, { timeout: 30_000 });
  await page.click("#cancel");
  await page.waitForFunction(() => document.querySelector("#run-status")?.textContent === "canceled", undefined, { timeout: 10_000 });
  assert.match((await page.textContent("#failure-reason"))!, /^canceled by request at [\d,]+ samples$/);

  await page.goto(`${stack.api.baseUrl}/#/submit`);
  await page.selectOption('select[name="optimizer.name"]', "adam");
  await page.fill('input[name="optimizer.lr"]', "0.01");
  await page.fill('input[name="optimizer.beta1"]', "0.8");
  await page.selectOption('select[name="schedule.name"]', "polynomial");
  await page.fill('input[name="schedule.power"]', "0.25");
  await page.click('button[type="submit"]');
  await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
  const adamId = /#\/runs\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
  const spec = (await db.prisma.run.findUniqueOrThrow({ where: { id: adamId } })).spec as Record<string, any>;
  assert.deepEqual([spec.optimizer.name, spec.optimizer.beta1, spec.schedule.name, spec.schedule.power], ["adam", 0.8, "polynomial", 0.25]);

  const sweep = await postJson(stack.api.baseUrl, "/v1/sweeps", { base: SEED_REGRESSION_SPEC, grid: { "optimizer.lr": [0.05, 0.1] } });
  await waitFor(async () => (await db.prisma.run.count({ where: { sweepId: sweep.json.id, status: "succeeded" } })) === 2, 30_000, "the sweep");
  await page.goto(`${stack.api.baseUrl}/#/compare?sweep=${sweep.json.id}`);
  await page.waitForSelector("#compare-chart canvas");
  const legend = await page.locator("#compare-chart .u-legend .u-series").allTextContents();
  assert.equal(legend.length, 3, legend.join(" | "));
  assert.ok(legend.some((entry) => entry.includes("optimizer.lr=0.1")));
  await shot("compare-sweep");
});
