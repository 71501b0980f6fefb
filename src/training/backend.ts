import { availableParallelism } from "node:os";
import * as tf from "@tensorflow/tfjs";
import { DEFAULT_ONEDNN_ADDON_PATH, loadOneDnnAddon, type OneDnnAddon } from "./kernels/onednn-addon.js";
import { registerTrainingKernels } from "./kernels/register-training-kernels.js";
import { setUpWebGpu } from "./webgpu-backend.js";

export type BackendPreference = "auto" | "cpu" | "wasm" | "tensorflow" | "onednn" | "webgpu";

export interface BackendOptions {
  /** The oneDNN addon to load (default: build/Release/lossline_onednn.node, built by `npm install`). */
  oneDnnAddonPath?: string;
  /** WORKER_ACCELERATOR: with "gpu", `auto` tries webgpu on a GPU adapter after tfjs-node-gpu. */
  accelerator?: "cpu" | "gpu";
  /** TENSOR_POOL_MIB: with the oneDNN engine, MiB of disposed tensors' arrays kept for reuse (0: none). */
  tensorPoolMiB?: number;
}

export interface BackendInfo {
  /**
   * tf.getBackend() after setup: "tensorflow", "webgpu", "wasm" or "cpu", recorded on each run. Lossline's own
   * training kernels, where registered, are listed in `versions.losslineKernels` (comma-separated);
   * `versions.engine` is "onednn" when the cpu backend runs them through the oneDNN addon (with
   * `versions.onednn` its version), else the backend's name.
   */
  name: string;
  /** True when the backend runs on a GPU: tfjs-node-gpu loaded, or webgpu on an adapter that is not a fallback adapter. */
  gpu: boolean;
  versions: Record<string, string>;
}

/**
 * Chooses the TensorFlow.js backend once per process. `auto` takes the fastest one present:
 * tfjs-node-gpu, then tfjs-node, then the cpu backend with Lossline's oneDNN kernels (native addon),
 * then the wasm backend with Lossline's training kernels (it cannot train a convnet without them),
 * then the pure-JS cpu backend (with our Conv2DBackpropFilter). `tensorflow`, `onednn`, `wasm` and
 * `cpu` force one and throw when it is not installed. Logs which backend it chose and why, and why
 * the oneDNN addon was passed over when it could not be loaded.
 */
export async function initBackend(preference: BackendPreference, log: (message: string) => void, options: BackendOptions = {}): Promise<BackendInfo> {
  const choice = await chooseBackend(preference, options, log);
  await tf.setBackend(choice.name);
  await tf.ready();
  // The cpu backend greets its first write in Node with advice to install tfjs-node; we log our own line.
  if (choice.name === "cpu") (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  const kernels = registerTrainingKernels(choice.name, { oneDnn: choice.oneDnn, tensorPoolMiB: options.tensorPoolMiB });
  const engine = choice.oneDnn ? "onednn" : choice.name;
  log(`TensorFlow.js backend: ${choice.name}${choice.oneDnn ? " + oneDNN" : ""}${kernels.length > 0 ? ` + lossline kernels (${kernels.join(", ")})` : ""}: ${choice.reason}`);
  const versions: Record<string, string> = { ...tf.version, node: process.versions.node, engine };
  if (choice.name === "wasm") versions["tfjs-backend-wasm"] = (await import("@tensorflow/tfjs-backend-wasm")).version_wasm;
  if (choice.oneDnn) versions.onednn = choice.oneDnn.version();
  Object.assign(versions, choice.versions);
  if (kernels.length > 0) versions.losslineKernels = kernels.join(",");
  return { name: choice.name, gpu: choice.gpu, versions };
}

interface BackendChoice {
  name: "tensorflow" | "wasm" | "cpu" | "webgpu";
  /** Versions the backend adds to the run's (webgpu: its packages and the adapter). */
  versions?: Record<string, string>;
  gpu: boolean;
  reason: string;
  /** The loaded addon when the cpu backend runs Lossline's oneDNN kernels. */
  oneDnn?: OneDnnAddon;
}

async function chooseBackend(preference: BackendPreference, options: BackendOptions, log: (message: string) => void): Promise<BackendChoice> {
  const loadOneDnn = () => loadOneDnnAddon(options.oneDnnAddonPath ?? DEFAULT_ONEDNN_ADDON_PATH, availableParallelism());
  if (preference === "cpu") return { name: "cpu", gpu: false, reason: "TF_BACKEND=cpu" };
  if (preference === "webgpu") {
    // Forced, it runs even on a fallback (software) adapter, but only a real GPU counts as one.
    const webgpu = await setUpWebGpu({ allowFallbackAdapter: true });
    if ("reason" in webgpu) throw new Error(`TF_BACKEND=webgpu but ${webgpu.reason}`);
    return { name: "webgpu", gpu: webgpu.gpu, reason: `TF_BACKEND=webgpu on ${webgpu.versions.webgpuAdapter}`, versions: webgpu.versions };
  }
  if (preference === "onednn") {
    const loaded = loadOneDnn();
    if (!loaded.addon) throw new Error(`TF_BACKEND=onednn but the oneDNN addon does not load (${loaded.error}); run npm run build:native`);
    return { name: "cpu", gpu: false, reason: "TF_BACKEND=onednn", oneDnn: loaded.addon };
  }
  if (preference === "wasm") {
    if (!(await loadWasm())) throw new Error("TF_BACKEND=wasm but @tensorflow/tfjs-backend-wasm is not installed");
    return { name: "wasm", gpu: false, reason: "TF_BACKEND=wasm" };
  }
  if (await tryImport("@tensorflow/tfjs-node-gpu")) {
    return { name: "tensorflow", gpu: true, reason: `${preference === "auto" ? "auto" : "TF_BACKEND=tensorflow"}: @tensorflow/tfjs-node-gpu loaded` };
  }
  if (preference === "auto" && options.accelerator === "gpu") {
    const webgpu = await setUpWebGpu({ allowFallbackAdapter: false });
    if (!("reason" in webgpu)) return { name: "webgpu", gpu: true, reason: `auto on a GPU worker: no tfjs-node-gpu; WebGPU adapter ${webgpu.versions.webgpuAdapter}`, versions: webgpu.versions };
    log(`GPU worker without tfjs-node-gpu, and webgpu is not used: ${webgpu.reason}`);
  }
  if (await tryImport("@tensorflow/tfjs-node")) {
    return { name: "tensorflow", gpu: false, reason: `${preference === "auto" ? "auto" : "TF_BACKEND=tensorflow"}: @tensorflow/tfjs-node loaded` };
  }
  if (preference === "tensorflow") throw new Error("TF_BACKEND=tensorflow but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node loads");
  // Only "auto" is left here: every other preference returned or threw above.
  const loaded = loadOneDnn();
  if (loaded.addon) return { name: "cpu", gpu: false, reason: "auto: no native TensorFlow binding; the oneDNN addon loaded", oneDnn: loaded.addon };
  log(`oneDNN addon not loaded, falling back to wasm: ${loaded.error}`);
  if (await loadWasm()) return { name: "wasm", gpu: false, reason: "auto: no native TensorFlow binding nor oneDNN addon; wasm (XNNPACK) is the fastest backend present" };
  return { name: "cpu", gpu: false, reason: "auto: neither a native TensorFlow binding nor @tensorflow/tfjs-backend-wasm is installed" };
}

/**
 * Registers the wasm backend. In Node it reads its .wasm binary from its own dist folder through fs
 * (no setWasmPaths needed) and picks the SIMD build; we pin it single-threaded, as threads did not
 * help on small hosts and the threaded build needs Web Workers.
 */
async function loadWasm(): Promise<boolean> {
  if (!(await tryImport("@tensorflow/tfjs-backend-wasm"))) return false;
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  return true;
}

async function tryImport(specifier: string): Promise<unknown> {
  try {
    return await import(specifier);
  } catch {
    return undefined;
  }
}
