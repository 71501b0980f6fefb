// Builds Lossline's optional oneDNN addon (native/, binding.gyp) into build/Release/lossline_onednn.node
// with node-gyp, against the oneDNN headers and library from Debian's libdnnl-dev. Never fails the
// install: where it cannot build (no libdnnl-dev, no compiler, another OS), it prints one line saying
// why and exits 0, and workers train on the wasm backend instead (src/training/backend.ts).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const skip = (why) => {
  console.log(`lossline: oneDNN addon not built (${why}); workers will use the wasm backend`);
  process.exit(0);
};

if (process.platform !== "linux") skip(`platform ${process.platform}`);
if (!existsSync("/usr/include/oneapi/dnnl/dnnl.hpp")) skip("no oneDNN headers; apt-get install libdnnl-dev");

// npm names its bundled node-gyp in the environment of install scripts; elsewhere, look beside node.
const prefix = dirname(dirname(process.execPath));
const nodeGyp = [process.env.npm_config_node_gyp, join(prefix, "lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js")].find(
  (path) => path && existsSync(path),
);
if (!nodeGyp) skip("node-gyp not found");
const args = [nodeGyp, "rebuild", "--jobs", "max"];
// Build against the running node's own headers where they are installed, so nothing is downloaded.
if (existsSync(join(prefix, "include/node/node_api.h"))) args.push(`--nodedir=${prefix}`);

const started = performance.now();
const build = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8" });
if (build.status !== 0) {
  const output = `${build.stdout ?? ""}\n${build.stderr ?? ""}`.split("\n");
  const reason = output.find((line) => /\berror:/.test(line)) ?? output.find((line) => /gyp ERR! stack Error:/.test(line)) ?? build.error?.message;
  skip(`node-gyp failed: ${(reason ?? `exit ${build.status}`).replace(/^gyp ERR! stack /, "").trim()}`);
}
console.log(`lossline: oneDNN addon built in ${((performance.now() - started) / 1000).toFixed(0)} s (build/Release/lossline_onednn.node)`);
