import * as tf from "@tensorflow/tfjs";
import { registerTrainingKernels } from "./kernels/register-training-kernels.js";

export type BackendPreference = "auto" | "cpu" | "wasm" | "tensorflow";

export interface BackendInfo {
  /**
   * tf.getBackend() after setup: "tensorflow", "wasm" or "cpu", recorded on each run. Lossline's own
   * training kernels, where registered, are listed in `versions.losslineKernels` (comma-separated).
   */
  name: string;
  /** True when the backend runs on a GPU (tfjs-node-gpu loaded). */
  gpu: boolean;
  versions: Record<string, string>;
}

/**
 * Chooses the TensorFlow.js backend once per process. `auto` takes the fastest one present:
 * tfjs-node-gpu, then tfjs-node, then the wasm backend with Lossline's training kernels (it cannot train
 * a convnet without them), then the pure-JS cpu backend (with our Conv2DBackpropFilter). `tensorflow`,
 * `wasm` and `cpu` force one and throw when it is not installed. Logs which backend it chose and why.
 */
export async function initBackend(preference: BackendPreference, log: (message: string) => void): Promise<BackendInfo> {
  const choice = await chooseBackend(preference);
  await tf.setBackend(choice.name);
  await tf.ready();
  // The cpu backend greets its first write in Node with advice to install tfjs-node; we log our own line.
  if (choice.name === "cpu") (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  const kernels = registerTrainingKernels(choice.name);
  log(`TensorFlow.js backend: ${choice.name}${kernels.length > 0 ? ` + lossline kernels (${kernels.join(", ")})` : ""}: ${choice.reason}`);
  const versions: Record<string, string> = { ...tf.version, node: process.versions.node };
  if (choice.name === "wasm") versions["tfjs-backend-wasm"] = (await import("@tensorflow/tfjs-backend-wasm")).version_wasm;
  if (kernels.length > 0) versions.losslineKernels = kernels.join(",");
  return { name: choice.name, gpu: choice.gpu, versions };
}

interface BackendChoice {
  name: "tensorflow" | "wasm" | "cpu";
  gpu: boolean;
  reason: string;
}

async function chooseBackend(preference: BackendPreference): Promise<BackendChoice> {
  if (preference === "cpu") return { name: "cpu", gpu: false, reason: "TF_BACKEND=cpu" };
  if (preference === "wasm") {
    if (!(await loadWasm())) throw new Error("TF_BACKEND=wasm but @tensorflow/tfjs-backend-wasm is not installed");
    return { name: "wasm", gpu: false, reason: "TF_BACKEND=wasm" };
  }
  if (await tryImport("@tensorflow/tfjs-node-gpu")) {
    return { name: "tensorflow", gpu: true, reason: `${preference === "auto" ? "auto" : "TF_BACKEND=tensorflow"}: @tensorflow/tfjs-node-gpu loaded` };
  }
  if (await tryImport("@tensorflow/tfjs-node")) {
    return { name: "tensorflow", gpu: false, reason: `${preference === "auto" ? "auto" : "TF_BACKEND=tensorflow"}: @tensorflow/tfjs-node loaded` };
  }
  if (preference === "tensorflow") throw new Error("TF_BACKEND=tensorflow but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node loads");
  if (await loadWasm()) return { name: "wasm", gpu: false, reason: "auto: no native TensorFlow binding; wasm (XNNPACK) is the fastest backend present" };
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
