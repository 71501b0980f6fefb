import * as tf from "@tensorflow/tfjs";

export type BackendPreference = "auto" | "cpu" | "wasm" | "tensorflow";

export interface BackendInfo {
  /** tf.getBackend() after setup: "tensorflow", "wasm" or "cpu". */
  name: string;
  versions: Record<string, string>;
}

/**
 * Chooses the TensorFlow.js backend once per process. `auto` takes the native tfjs-node-gpu or
 * tfjs-node binding when it is installed (GPU hosts) and falls back to the pure-JS cpu backend.
 */
export async function initBackend(preference: BackendPreference, log: (message: string) => void): Promise<BackendInfo> {
  if (preference === "auto" || preference === "tensorflow") {
    const native = (await tryImport("@tensorflow/tfjs-node-gpu")) ?? (await tryImport("@tensorflow/tfjs-node"));
    if (native) await tf.setBackend("tensorflow");
    else if (preference === "tensorflow") throw new Error("TF_BACKEND=tensorflow but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node loads");
    else log("native TensorFlow binding not installed: training on the tfjs cpu backend");
  }
  if (preference === "wasm") {
    if (!(await tryImport("@tensorflow/tfjs-backend-wasm"))) throw new Error("TF_BACKEND=wasm but @tensorflow/tfjs-backend-wasm is not installed");
    await tf.setBackend("wasm");
  }
  if (preference !== "wasm" && tf.getBackend() !== "tensorflow") await tf.setBackend("cpu");
  await tf.ready();
  // The cpu backend greets its first write in Node with advice to install tfjs-node; we log our own line above.
  if (tf.getBackend() === "cpu") (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  return { name: tf.getBackend(), versions: { ...tf.version, node: process.versions.node } };
}

async function tryImport(specifier: string): Promise<unknown> {
  try {
    return await import(specifier);
  } catch {
    return undefined;
  }
}
