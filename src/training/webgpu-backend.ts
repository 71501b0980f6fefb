import { createRequire } from "node:module";

/** What Dawn reports about a WebGPU adapter (GPUAdapterInfo). */
export interface WebGpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for a software or otherwise degraded adapter (lavapipe, SwiftShader): no GPU behind it. */
  isFallbackAdapter: boolean;
}

/** The outcome of looking for an adapter: `adapter` when one exists, else `reason` says why not. */
export type WebGpuProbe = { adapter: WebGpuAdapterInfo; reason?: undefined } | { adapter?: undefined; reason: string };

interface DawnAdapter {
  info: Partial<WebGpuAdapterInfo>;
}
interface DawnGpu {
  requestAdapter(options?: object): Promise<DawnAdapter | null>;
}
interface DawnModule {
  create(flags: string[]): DawnGpu;
  globals: object;
}

/**
 * Everything about TensorFlow.js on WebGPU in Node lives here: Dawn (the npm package `webgpu`, a
 * native addon) provides `navigator.gpu`, and @tensorflow/tfjs-backend-webgpu registers the
 * "webgpu" backend on it. Nothing happens at import: `probe()` looks for an adapter without changing
 * any global, and only `register()` (after a probe found one) installs `navigator.gpu` and loads the
 * backend, which registers itself only when `navigator.gpu` exists at its load. A `navigator.gpu`
 * without an adapter would break TensorFlow.js even on cpu, hence the order.
 */
export interface WebGpuRuntime {
  /** Looks for an adapter (Vulkan on Linux: a GPU driver or Mesa's lavapipe). */
  probe(): Promise<WebGpuProbe>;
  /** Installs the WebGPU globals and `navigator.gpu`, then loads and registers tfjs-backend-webgpu. Idempotent. */
  register(): Promise<void>;
  /** Versions to record on a run: the backend's, Dawn's npm package's and the adapter's description. */
  versions(adapter: WebGpuAdapterInfo): Record<string, string>;
}

/** A WebGPU runtime on Dawn. A `webgpu` package that does not load shows up as a probe's `reason`. */
export function createWebGpuRuntime(): WebGpuRuntime {
  let dawn: { module: DawnModule; gpu: DawnGpu } | undefined;
  let registered: Promise<void> | undefined;
  const loadDawn = async () => {
    if (!dawn) {
      const module = (await import("webgpu")) as unknown as DawnModule;
      dawn = { module, gpu: module.create([]) };
    }
    return dawn;
  };
  return {
    async probe() {
      let gpu: DawnGpu;
      try {
        gpu = (await loadDawn()).gpu;
      } catch (error) {
        return { reason: `the webgpu package (Dawn) does not load: ${(error as Error).message}` };
      }
      const adapter = await gpu.requestAdapter().catch(() => null);
      if (!adapter) return { reason: "Dawn found no WebGPU adapter (on Linux it needs a Vulkan driver: a GPU's, or Mesa's lavapipe; see VK_ICD_FILENAMES)" };
      const { vendor = "", architecture = "", device = "", description = "", isFallbackAdapter = false } = adapter.info;
      return { adapter: { vendor, architecture, device, description, isFallbackAdapter } };
    },
    register() {
      registered ??= (async () => {
        const { module, gpu } = await loadDawn();
        // GPUBufferUsage, GPUMapMode… must be globals before the backend's module runs.
        for (const [name, value] of Object.entries(module.globals)) {
          if (!(name in globalThis)) Object.assign(globalThis, { [name]: value });
        }
        const host = globalThis as { navigator?: object };
        // Node 21+ has a navigator of its own (without gpu); Node 20 has none.
        if (host.navigator) Object.defineProperty(host.navigator, "gpu", { value: gpu, configurable: true });
        else Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true, writable: true });
        await import("@tensorflow/tfjs-backend-webgpu");
      })();
      return registered;
    },
    versions(adapter) {
      const require = createRequire(import.meta.url);
      const packageVersion = (name: string) => {
        try {
          return (require(`${name}/package.json`) as { version: string }).version;
        } catch {
          return "unknown"; // a bundle (bench/gpu-pack.sh) may leave package.json files behind
        }
      };
      return {
        "tfjs-backend-webgpu": packageVersion("@tensorflow/tfjs-backend-webgpu"),
        webgpu: packageVersion("webgpu"),
        webgpuAdapter: describeAdapter(adapter),
      };
    },
  };
}

/** One line naming the adapter, as stored on runs: "nvidia/ampere (NVIDIA A100…)" or "mesa/software (llvmpipe…), fallback". */
export function describeAdapter(adapter: WebGpuAdapterInfo): string {
  const name = [adapter.vendor || "unknown vendor", adapter.architecture].filter(Boolean).join("/");
  const detail = adapter.description || adapter.device;
  return `${name}${detail ? ` (${detail})` : ""}${adapter.isFallbackAdapter ? ", fallback" : ""}`;
}

/** The webgpu backend, registered and ready for tf.setBackend("webgpu"). */
export interface WebGpuSetup {
  /** False on a fallback adapter (software rendering): no GPU behind it. */
  gpu: boolean;
  /** versions.tfjs-backend-webgpu, versions.webgpu (Dawn's npm package), versions.webgpuAdapter. */
  versions: Record<string, string>;
}

/**
 * Registers the webgpu backend when Dawn finds an adapter, and a fallback adapter only with
 * `allowFallbackAdapter` (TF_BACKEND=webgpu: how CI runs it on lavapipe). Otherwise returns the
 * reason and leaves every global as it was.
 */
export async function setUpWebGpu(options: { allowFallbackAdapter: boolean }, runtime = createWebGpuRuntime()): Promise<WebGpuSetup | { reason: string }> {
  const found = await runtime.probe();
  if (!found.adapter) return { reason: found.reason };
  if (found.adapter.isFallbackAdapter && !options.allowFallbackAdapter) {
    return { reason: `the only WebGPU adapter is a fallback (software) one: ${describeAdapter(found.adapter)}` };
  }
  await runtime.register();
  return { gpu: !found.adapter.isFallbackAdapter, versions: runtime.versions(found.adapter) };
}
