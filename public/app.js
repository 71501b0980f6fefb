// Lossline's dashboard: plain ES modules, no build step, everything served by the API itself.
// It uses the public HTTP and WebSocket API only. Views: runs (#/), a run (#/runs/ID), compare
// (#/compare?runs=A,B or ?sweep=ID), submit (#/submit) and the API key (#/key). The key is asked
// for once and kept in this browser's localStorage; a 401 asks again.
import uPlot from "/assets/uplot/uPlot.esm.js";
import { drawTrace } from "/trace.js";

const view = document.getElementById("view");
const COLORS = ["#2f6fde", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285", "#c2255c", "#5c940d"];
const TERMINAL = new Set(["succeeded", "failed", "canceled"]);
const FULL_LOAD_LIMIT = 20_000;

const KEY_STORAGE = "lossline.apiKey";
const apiKey = {
  get: () => localStorage.getItem(KEY_STORAGE) ?? "",
  set: (key) => localStorage.setItem(KEY_STORAGE, key),
  forget: () => localStorage.removeItem(KEY_STORAGE),
};

/** The API refused the key (or there is none): the key view says why. */
class KeyNeeded extends Error {}

/** JSON over HTTP with the key; a non-2xx answer throws an Error carrying the API's error body. */
const api = {
  async request(method, path, body) {
    const auth = { authorization: `Bearer ${apiKey.get()}` };
    const response = await fetch(path, {
      method,
      headers: body === undefined ? auth : { ...auth, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { message: `HTTP ${response.status}: ${text.slice(0, 200)}` };
    }
    if (response.status === 401) throw new KeyNeeded(json.message ?? "the API refused the key");
    if (!response.ok) throw Object.assign(new Error(json.message ?? `HTTP ${response.status}`), { status: response.status, body: json });
    return json;
  },
  get: (path) => api.request("GET", path),
  post: (path, body) => api.request("POST", path, body ?? {}),
};

/** Builds an element: h("td", { class: "id" }, child, "text"). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((child) => child !== undefined && child !== null));
  return element;
}

const fmt = (value, digits = 4) => (typeof value === "number" ? value.toFixed(digits) : "");
const duration = (run) => (run.startedAt ? `${((Date.parse(run.finishedAt ?? new Date().toISOString()) - Date.parse(run.startedAt)) / 1000).toFixed(1)} s` : "");

// ---------------------------------------------------------------------------------------------
// Routing. A view registers its teardown (sockets, timers, charts) with `onLeave` as soon as it
// opens something, and checks `current()` after each await: a view the user already left stops there.
let leaving = [];
let generation = 0;
async function route() {
  for (const teardown of leaving.splice(0)) teardown();
  const mine = ++generation;
  const context = { current: () => mine === generation, onLeave: (teardown) => (mine === generation ? leaving.push(teardown) : teardown()) };
  const [path, query = ""] = (location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(query);
  view.replaceChildren();
  try {
    const runMatch = /^\/runs\/([0-9a-f-]{36})$/.exec(path);
    if (path === "/key" || !apiKey.get()) keyView(apiKey.get() ? "" : "This dashboard needs an API key.");
    else if (runMatch) await runView(runMatch[1], context);
    else if (path === "/compare") await compareView(params, context);
    else if (path === "/submit") await submitView();
    else await runsView(params, context);
  } catch (error) {
    if (!context.current()) return;
    if (error instanceof KeyNeeded) keyView(error.message);
    else view.replaceChildren(h("div", { class: "panel" }, h("h1", {}, "Something went wrong"), h("p", {}, error.message)));
  }
}
window.addEventListener("hashchange", route);

// ---------------------------------------------------------------------------------------------
// The API key: asked for once, kept in localStorage, asked for again when the API refuses it.
function keyView(why) {
  const input = h("input", { type: "password", id: "api-key", name: "apiKey", size: 60, autocomplete: "off", placeholder: "ll_…" });
  const form = h(
    "form",
    { class: "panel", id: "key-form" },
    h("h1", {}, "API key"),
    why ? h("p", { class: "error", id: "key-reason" }, why) : null,
    h("p", { class: "muted" }, "Your key (from `lossline keys create <tenant>`) stays in this browser only. Runs of other tenants are not visible with it."),
    h("label", {}, input),
    h("p", {}, h("button", { type: "submit" }, "Use this key"), " ", apiKey.get() ? h("button", { type: "button", class: "secondary", onclick: () => (apiKey.forget(), route()) }, "Forget the key") : null),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    apiKey.set(input.value.trim());
    if (location.hash.startsWith("#/key")) location.hash = "#/";
    else route();
  });
  view.replaceChildren(form);
  input.focus();
}

// ---------------------------------------------------------------------------------------------
// Runs: a filterable, paged table that refreshes itself while runs change.
async function runsView(params, context) {
  const filters = {
    status: params.get("status") ?? "",
    kind: params.get("kind") ?? "",
    model: params.get("model") ?? "",
    dataset: params.get("dataset") ?? "",
  };
  const cursors = [undefined];
  const selected = new Set();
  const body = h("tbody");
  const pageLabel = h("span", { class: "muted" });
  const select = (name, options) =>
    h(
      "select",
      { "data-filter": name, onchange: (event) => ((filters[name] = event.target.value), cursors.splice(1), (page = 0), refresh()) },
      options.map((option) => h("option", { value: option, selected: filters[name] === option }, option || `any ${name}`)),
    );
  const text = (name) =>
    h("input", {
      "data-filter": name,
      placeholder: name,
      size: 12,
      value: filters[name],
      onchange: (event) => ((filters[name] = event.target.value.trim()), cursors.splice(1), (page = 0), refresh()),
    });
  const compareButton = h("button", { onclick: () => (location.hash = `#/compare?runs=${[...selected].map(encodeURIComponent).join(",")}`), disabled: true }, "Compare selected");
  const next = h("button", { class: "secondary", onclick: () => refresh(+1).catch((error) => alert(error.message)) }, "Next page");
  const previous = h("button", { class: "secondary", onclick: () => refresh(-1).catch((error) => alert(error.message)) }, "Previous page");
  view.append(
    h("h1", {}, "Runs"),
    h("div", { class: "toolbar" },
      select("status", ["", "queued", "running", "succeeded", "failed", "canceled"]),
      select("kind", ["", "regression", "optimization"]),
      text("model"),
      text("dataset"),
      compareButton, previous, next, pageLabel),
    h("table", {}, h("thead", {}, h("tr", {}, ["", "id", "status", "kind", "model", "dataset", "optimizer", "lr", "batch", "final", "duration", "created"].map((title) => h("th", {}, title)))), body),
  );

  let page = 0;
  let latestRequest = 0;
  async function refresh(move = 0) {
    if (move > 0 && !cursors[page + 1]) return;
    page = Math.max(0, page + move);
    const request = ++latestRequest; // an older answer landing late must not overwrite a newer one
    const query = new URLSearchParams({ limit: "25" });
    for (const [name, value] of Object.entries(filters)) if (value) query.set(name, value);
    if (cursors[page]) query.set("cursor", cursors[page]);
    const list = await api.get(`/v1/runs?${query}`);
    if (request !== latestRequest || !context.current()) return;
    cursors[page + 1] = list.nextCursor ?? undefined;
    next.disabled = !list.nextCursor;
    previous.disabled = page === 0;
    pageLabel.textContent = `page ${page + 1}`;
    body.replaceChildren(...list.runs.map(runRow));
  }

  function runRow(run) {
    const spec = run.spec;
    const box = h("input", {
      type: "checkbox",
      checked: selected.has(run.id),
      onchange: (event) => {
        event.target.checked ? selected.add(run.id) : selected.delete(run.id);
        compareButton.disabled = selected.size === 0;
      },
    });
    const final = run.finalMetrics ? fmt(run.finalMetrics.loss ?? run.finalMetrics.f) : "";
    return h("tr", { "data-run": run.id },
      h("td", {}, box),
      h("td", { class: "id" }, h("a", { href: `#/runs/${run.id}` }, run.id.slice(0, 8))),
      h("td", { class: `status ${run.status}` }, run.status),
      h("td", {}, run.kind), h("td", {}, run.model), h("td", {}, run.dataset), h("td", {}, run.optimizer),
      h("td", {}, String(spec.optimizer?.lr ?? spec.eta ?? "")), h("td", {}, String(spec.batchSize ?? "")),
      h("td", {}, final), h("td", {}, duration(run)), h("td", { class: "muted" }, new Date(run.createdAt).toLocaleString()));
  }

  const timer = setInterval(() => refresh().catch(() => undefined), 2000);
  context.onLeave(() => clearInterval(timer));
  await refresh();
}

// ---------------------------------------------------------------------------------------------
// One run: facts, a live loss curve, epochs, and for optimization runs the trace over its function.
async function runView(id, context) {
  let run = await api.get(`/v1/runs/${id}`);
  const points = await loadPoints(run);
  if (!context.current()) return;
  const state = { x: "samples", log: false };
  const status = h("span", { class: `status ${run.status}`, id: "run-status" }, run.status);
  const connection = h("span", { class: "muted", id: "connection" });
  const count = h("span", { id: "point-count" }, String(points.length));
  const reason = h("span", { id: "failure-reason" }, run.failureReason ?? "");
  const worker = h("span", { id: "worker" });
  const showWorker = () => (worker.textContent = run.workerId ? `${run.workerId} (${run.backend}, attempt ${run.attempt})` : "not started");
  showWorker();
  const epochBody = h("tbody");
  const chartBox = h("div", { id: "loss-chart" });
  const cancel = h("button", { class: "secondary", id: "cancel", onclick: () => api.post(`/v1/runs/${id}/cancel`).catch((error) => alert(error.message)) }, "Cancel run");
  const traceCanvas = run.kind === "optimization" ? h("canvas", { class: "trace", id: "trace", width: 640, height: 420 }) : null;
  view.append(...[
    h("h1", {}, `Run ${id.slice(0, 8)} `, status, " ", connection),
    h("div", { class: "panel facts" },
      ...fact("kind", `${run.kind} · ${run.model} · ${run.dataset} · ${run.optimizer}`),
      ...fact("worker", worker), ...fact("points", count), ...fact("reason", reason), ...fact("created", new Date(run.createdAt).toLocaleString())),
    h("div", { class: "toolbar" },
      h("label", {}, "x axis ", h("select", { id: "x-axis", onchange: (event) => ((state.x = event.target.value), rebuild()) },
        ["samples", "epoch", "seconds"].map((value) => h("option", { value }, value)))),
      h("label", {}, h("input", { type: "checkbox", id: "log-y", onchange: (event) => ((state.log = event.target.checked), rebuild()) }), " log y"),
      TERMINAL.has(run.status) ? null : cancel),
    h("div", { class: "panel" }, chartBox),
    traceCanvas ? h("div", { class: "panel" }, h("h2", {}, "Trace"), traceCanvas) : null,
    h("h2", {}, "Epochs"),
    h("table", { id: "epochs" }, h("thead", {}, h("tr", {}, ["epoch", "loss", "train acc", "test acc", "seconds"].map((t) => h("th", {}, t)))), epochBody),
    h("h2", {}, "Spec"), h("pre", {}, JSON.stringify(run.spec, null, 2)),
  ].filter(Boolean));
  const shownEpochs = new Set(); // the stream replays stored epochs on connect: show each once
  const addEpoch = (e) => shownEpochs.has(e.epoch) || shownEpochs.add(e.epoch) && epochBody.append(h("tr", {}, h("td", {}, String(e.epoch)), h("td", {}, fmt(e.loss)), h("td", {}, fmt(e.trainAccuracy, 3)), h("td", {}, fmt(e.testAccuracy, 3)), h("td", {}, fmt(e.seconds, 2))));
  run.epochs.forEach(addEpoch);

  // The chart's columns grow with each point; rebuilt only when the x axis or the y scale changes.
  const origin = () => Date.parse(run.startedAt ?? points[0]?.wallTime ?? run.createdAt);
  const xOf = (point) => (state.x === "samples" ? point.samplesSeen : state.x === "epoch" ? point.epoch : (Date.parse(point.wallTime) - origin()) / 1000);
  const yOf = (point) => (state.log && point.value <= 0 ? null : point.value);
  let columns = [[], []];
  let chart;
  function rebuild() {
    columns = [points.map(xOf), points.map(yOf)];
    chart?.destroy();
    chart = new uPlot(lossChartOptions(chartBox.clientWidth || 900, state.x, state.log, [{ label: "loss", stroke: COLORS[0] }]), columns, chartBox);
  }
  const trace = traceCanvas ? await traceContext(run) : null;
  if (!context.current()) return;
  rebuild();
  let redrawTimer = 0;
  const redraw = () => {
    redrawTimer ||= setTimeout(() => {
      redrawTimer = 0; // at most four redraws a second, however fast points arrive
      chart.setData(columns);
      count.textContent = String(points.length);
      if (trace) drawTrace(traceCanvas, trace.objective, trace.grid, points);
    }, 250);
  };
  redraw();

  const onMessage = (event) => {
    if (event.type === "points") {
      for (const point of event.points) {
        if (point.seq <= (points.at(-1)?.seq ?? -1)) continue;
        points.push(point);
        columns[0].push(xOf(point));
        columns[1].push(yOf(point));
      }
      redraw();
    } else if (event.type === "epoch") addEpoch(event.summary);
    else if (event.type === "hello") {
      // The run may have started between the page's GET and the stream's connect: hello has its status now.
      status.textContent = event.status;
      status.className = `status ${event.status}`;
    } else if (event.type === "status" || event.type === "end") {
      status.textContent = event.status;
      status.className = `status ${event.status}`;
      reason.textContent = event.reason ?? "";
      api.get(`/v1/runs/${id}`).then((fresh) => ((run = fresh), showWorker())).catch(() => undefined);
      if (TERMINAL.has(event.status)) cancel.remove();
    }
  };
  const stream = followStream(id, () => points.at(-1)?.seq ?? -1, onMessage, (text) => (connection.textContent = text));
  context.onLeave(() => {
    stream.close();
    chart?.destroy();
    clearTimeout(redrawTimer);
  });
}

/**
 * A run's WebSocket that reconnects (with ?after= the last point held, backing off up to 10 s)
 * whenever the server drops it before sending `end`. `onState` shows the connection to the user.
 */
function followStream(id, lastSeq, onMessage, onState) {
  let socket;
  let ended = false;
  let closed = false;
  let delay = 500;
  let retry = 0;
  const open = () => {
    // A browser's WebSocket cannot send headers: the key goes as ?token= (the API keeps it out of its logs).
    const token = encodeURIComponent(apiKey.get());
    socket = new WebSocket(`${location.origin.replace(/^http/, "ws")}/v1/runs/${id}/stream?after=${lastSeq()}&token=${token}`);
    socket.onopen = () => ((delay = 500), onState(""));
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "end") ended = true;
      onMessage(event);
    };
    socket.onclose = () => {
      if (ended || closed) return;
      onState(`disconnected; reconnecting in ${Math.round(delay / 1000)} s`);
      retry = setTimeout(open, delay);
      delay = Math.min(delay * 2, 10_000);
    };
  };
  open();
  return {
    close() {
      closed = true;
      clearTimeout(retry);
      socket.close();
    },
  };
}

function fact(label, value) {
  return [h("dt", {}, label), h("dd", {}, value)];
}

/** Every point when there are few enough; else a downsampled curve (each bucket's min and max) up to the latest point. */
async function loadPoints(run) {
  const total = run.latestPoint ? run.latestPoint.seq + 1 : 0;
  if (total === 0) return [];
  if (total <= FULL_LOAD_LIMIT) return (await api.get(`/v1/runs/${run.id}/metrics?limit=${FULL_LOAD_LIMIT}`)).points;
  const sampled = (await api.get(`/v1/runs/${run.id}/metrics?points=4000`)).points;
  return sampled.filter((point) => point.seq <= run.latestPoint.seq).concat(sampled.at(-1)?.seq === run.latestPoint.seq ? [] : [run.latestPoint]);
}

async function traceContext(run) {
  const { objectives } = await api.get("/v1/objectives");
  const objective = objectives.find((candidate) => candidate.name === run.spec.objective);
  const c = run.spec.c === undefined ? "" : `&c=${run.spec.c}`;
  const grid = await api.get(`/v1/objectives/${objective.name}/grid?points=${objective.dim === 1 ? 301 : 121}${c}`);
  return { objective, grid };
}

function lossChartOptions(width, x, log, series) {
  return {
    width,
    height: 340,
    scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
    axes: [{ label: x === "samples" ? "samples seen" : x }, { label: "loss" }],
    series: [{ label: x }, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 1.5, spanGaps: true, points: { show: false } }))],
  };
}

// ---------------------------------------------------------------------------------------------
// Compare: several runs' curves on one x axis (from /v1/compare, downsampled per run).
async function compareView(params, context) {
  let ids = (params.get("runs") ?? "").split(",").filter(Boolean);
  if (params.get("sweep")) ids = (await api.get(`/v1/sweeps/${params.get("sweep")}`)).runs.map((run) => run.id);
  const input = h("input", { id: "compare-runs", size: 80, value: ids.join(","), placeholder: "run ids, comma-separated" });
  const sweepInput = h("input", { id: "compare-sweep", size: 38, value: params.get("sweep") ?? "", placeholder: "or a sweep id" });
  const axis = h("select", { id: "compare-x" }, ["samples", "epoch", "seconds"].map((value) => h("option", { value, selected: value === (params.get("x") ?? "samples") }, value)));
  const go = () =>
    (location.hash = sweepInput.value.trim() && sweepInput.value.trim() !== (params.get("sweep") ?? "")
      ? `#/compare?sweep=${encodeURIComponent(sweepInput.value.trim())}&x=${axis.value}`
      : `#/compare?runs=${encodeURIComponent(input.value.replace(/\s/g, ""))}&x=${axis.value}`);
  axis.onchange = go;
  const chartBox = h("div", { id: "compare-chart" });
  view.append(h("h1", {}, "Compare"), h("div", { class: "toolbar" }, input, sweepInput, axis, h("button", { onclick: go }, "Show")), h("div", { class: "panel" }, chartBox));
  if (ids.length === 0) {
    chartBox.append(h("p", { class: "muted" }, "Pick runs in the runs table, or give ids or ?sweep=ID."));
    return;
  }
  const comparison = await api.get(`/v1/compare?runs=${ids.map(encodeURIComponent).join(",")}&x=${axis.value}&points=1000`);
  if (!context.current()) return;
  // uPlot wants one x array: the union of every run's x, with gaps where a run has no point.
  const xs = [...new Set(comparison.runs.flatMap((run) => run.points.map((p) => p.x)))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = comparison.runs.map((run) => {
    const column = new Array(xs.length).fill(null);
    for (const point of run.points) column[index.get(point.x)] = point.value;
    return column;
  });
  const series = comparison.runs.map((run, i) => ({ label: `${run.id.slice(0, 8)} ${run.label}`, stroke: COLORS[i % COLORS.length] }));
  const chart = new uPlot(lossChartOptions(chartBox.clientWidth || 900, comparison.x, false, series), [xs, ...ys], chartBox);
  context.onLeave(() => chart.destroy());
}

// ---------------------------------------------------------------------------------------------
// Submit: a form over the job catalogue; the API's validation errors appear next to their fields.
const FIELDS = {
  regression: [
    { path: "optimizer.name", label: "optimizer", options: ["sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam"] },
    { path: "optimizer.lr", label: "learning rate", value: "0.05", number: true },
    { path: "optimizer.implementation", label: "implementation", options: ["scratch", "builtin"] },
    { path: "optimizer.momentum", label: "momentum (momentum)", value: "", number: true },
    { path: "optimizer.gamma", label: "gamma (rmsprop)", value: "", number: true },
    { path: "optimizer.rho", label: "rho (adadelta)", value: "", number: true },
    { path: "optimizer.beta1", label: "beta1 (adam)", value: "", number: true },
    { path: "optimizer.beta2", label: "beta2 (adam)", value: "", number: true },
    { path: "schedule.name", label: "schedule", options: ["constant", "exponential", "polynomial"] },
    { path: "schedule.rate", label: "schedule rate", value: "", number: true },
    { path: "schedule.power", label: "schedule power (polynomial)", value: "", number: true },
    { path: "batchSize", label: "batch size", value: "10", number: true },
    { path: "epochs", label: "epochs", value: "2", number: true },
    { path: "seed", label: "seed", value: "1", number: true },
  ],
  optimization: [
    { path: "objective", label: "objective", options: ["square", "xcos", "cosh", "quadratic-2d", "cubic", "tanh", "saddle-2d"] },
    { path: "method", label: "method", options: ["gd", "newton", "sgd"] },
    { path: "eta", label: "eta", value: "0.2", number: true },
    { path: "steps", label: "steps", value: "20", number: true },
    { path: "start", label: "start (comma-separated)", value: "", list: true },
    { path: "c", label: "constant c", value: "", number: true },
    { path: "noise.mean", label: "noise mean (sgd)", value: "", number: true },
    { path: "noise.std", label: "noise std (sgd)", value: "", number: true },
    { path: "schedule.name", label: "schedule", options: ["constant", "exponential", "polynomial"] },
    { path: "schedule.rate", label: "schedule rate", value: "", number: true },
    { path: "schedule.power", label: "schedule power (polynomial)", value: "", number: true },
    { path: "seed", label: "seed", value: "1", number: true },
  ],
  fixed: { regression: { dataset: "airfoil", model: "linear" }, optimization: {} },
};

async function submitView() {
  const { objectives } = await api.get("/v1/objectives");
  FIELDS.optimization[0].options = objectives.map((objective) => objective.name);
  const kind = h("select", { name: "kind", onchange: () => renderFields() }, ["regression", "optimization"].map((value) => h("option", { value }, value)));
  const fieldBox = h("div");
  const formError = h("div", { class: "form-error", id: "form-error" });
  const form = h("form", { class: "spec", id: "submit-form", onsubmit: (event) => (event.preventDefault(), submit()) },
    h("label", { "data-path": "kind" }, "kind", kind, h("span", { class: "error" })), fieldBox, formError, h("button", { type: "submit" }, "Submit"));
  view.append(h("h1", {}, "Submit a job"), h("div", { class: "panel" }, form));

  function renderFields() {
    fieldBox.replaceChildren(...FIELDS[kind.value].map((field) => h("label", { "data-path": field.path }, field.label,
      field.options
        ? h("select", { name: field.path }, field.options.map((option) => h("option", { value: option }, option)))
        : h("input", { name: field.path, value: field.value }),
      h("span", { class: "error" }))));
  }

  function spec() {
    const result = { kind: kind.value, ...FIELDS.fixed[kind.value] };
    for (const field of FIELDS[kind.value]) {
      const raw = form.elements[field.path].value.trim();
      if (raw === "") continue;
      if (field.path === "optimizer.lr" && form.elements["optimizer.name"]?.value === "adadelta") continue; // adadelta has no learning rate
      const value = field.number ? Number(raw) : field.list ? raw.split(",").map(Number) : raw;
      const keys = field.path.split(".");
      let node = result;
      for (const key of keys.slice(0, -1)) node = node[key] ??= {};
      node[keys.at(-1)] = value;
    }
    return result;
  }

  async function submit() {
    for (const span of form.querySelectorAll(".error")) span.textContent = "";
    formError.textContent = "";
    try {
      const created = await api.post("/v1/runs", spec());
      location.hash = `#/runs/${created.id}`;
    } catch (error) {
      const issues = error.body?.issues ?? [];
      for (const issue of issues) {
        const span = form.querySelector(`label[data-path="${issue.path}"] .error`);
        if (span) span.textContent = issue.message;
        else formError.textContent += `${issue.path}: ${issue.message} `;
      }
      if (issues.length === 0) formError.textContent = error.message;
    }
  }

  renderFields();
}

route(); // last: every view's constants above are initialised by now
