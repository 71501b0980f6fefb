import * as tf from "@tensorflow/tfjs";

/**
 * Reuses the Float32Arrays of disposed tensors for the outputs of Lossline's native kernels on the cpu
 * backend, as PyTorch's caching allocator reuses freed blocks.
 *
 * Why: every new ArrayBuffer counts as V8 external memory, and each 64 MB of it starts a garbage
 * collection. A ResNet-18 step allocates over a gigabyte of tensors, so V8 ran ~20 scavenges and ~10
 * mark-compacts per step (a fifth of the step's time in pauses, plus concurrent marking on the cores
 * oneDNN computes on). A training step allocates the same sizes step after step, so an exact-length
 * free list serves almost every output from the last step's freed arrays and V8 sees no new memory.
 *
 * Safety: an array is reused only once tfjs has disposed its tensor, and only where nothing else can
 * still hold it:
 * - the backend's readSync (and read, which calls it: dataSync, data, arraySync, bufferSync) hands out
 *   a copy of a pooled array, never the array itself (stock kernels that read their inputs through
 *   readSync, such as Tile, StridedSlice and GatherV2, copy them too: a cost, rare in a training step);
 * - an array that a second tensor's data also uses (a stock Slice's subarray view, a kernel returning its
 *   input's values) is marked aliased and left to the garbage collector, never reused.
 * Arrays a kernel takes from the pool but never stores in a tensor are simply collected.
 */

/** The tfjs cpu backend's parts the pool hooks (MathBackendCPU). */
interface CpuBackendInternals {
  data: {
    set(dataId: tf.DataId, value: { values?: unknown }): void;
    get(dataId: tf.DataId): { values?: unknown } | undefined;
    has(dataId: tf.DataId): boolean;
  };
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
  readSync(dataId: tf.DataId): unknown;
}

/** A pooled array's state: the tensor data that holds it (undefined: free or leased), or aliased. */
interface Lease {
  owner: tf.DataId | undefined;
  aliased: boolean;
}

/** Arrays at or below this many bytes come from `new Float32Array` (V8 allocates small ones on its heap). */
const MIN_POOLED_BYTES = 4096;

const POOLED = Symbol.for("lossline.bufferPool");

/** The free lists' bound where the caller names none (config's TENSOR_POOL_MIB default). */
export const DEFAULT_TENSOR_POOL_MIB = 1024;

export interface BufferPoolStats {
  /** Bytes held in free lists right now. */
  freeBytes: number;
  /** Arrays served from a free list, and fresh ones allocated, since install. */
  reused: number;
  allocated: number;
  /** Arrays given up to the garbage collector because another tensor shares their memory. */
  aliased: number;
}

class BufferPool {
  private readonly leases = new WeakMap<ArrayBuffer, Lease>();
  private readonly free = new Map<number, Float32Array[]>();
  readonly stats: BufferPoolStats = { freeBytes: 0, reused: 0, allocated: 0, aliased: 0 };

  constructor(private readonly maxFreeBytes: number) {}

  take(length: number): Float32Array {
    const list = this.free.get(length);
    const reused = list?.pop();
    if (reused) {
      this.stats.freeBytes -= reused.byteLength;
      this.stats.reused++;
      return reused;
    }
    this.stats.allocated++;
    const array = unzeroed(length);
    this.leases.set(array.buffer as ArrayBuffer, { owner: undefined, aliased: false });
    return array;
  }

  /** A tensor's data is stored: the first store of a leased array owns it; any other store of its memory aliases it. */
  stored(dataId: tf.DataId, values: unknown): void {
    if (!ArrayBuffer.isView(values)) return;
    const lease = this.leases.get(values.buffer as ArrayBuffer);
    if (!lease || lease.aliased || lease.owner === dataId) return;
    if (lease.owner === undefined && values.byteOffset === 0 && values.byteLength === values.buffer.byteLength) {
      lease.owner = dataId;
      return;
    }
    lease.aliased = true;
    this.stats.aliased++;
  }

  /** The data of `dataId`, which held `values`, was deleted: its array goes back to the free list. */
  released(dataId: tf.DataId, values: unknown): void {
    if (!(values instanceof Float32Array)) return;
    const lease = this.leases.get(values.buffer as ArrayBuffer);
    if (!lease || lease.aliased || lease.owner !== dataId) return;
    lease.owner = undefined;
    if (this.stats.freeBytes + values.byteLength > this.maxFreeBytes) {
      this.leases.delete(values.buffer as ArrayBuffer);
      return;
    }
    let list = this.free.get(values.length);
    if (!list) this.free.set(values.length, (list = []));
    list.push(values);
    this.stats.freeBytes += values.byteLength;
  }

  /** Whether `values` is an array the pool may hand out again (readers get a copy of it). */
  isPooled(values: unknown): values is Float32Array {
    return values instanceof Float32Array && this.leases.has(values.buffer as ArrayBuffer);
  }

  /** Drops every free array (the garbage collector takes them). */
  clear(): void {
    for (const list of this.free.values()) for (const array of list) this.leases.delete(array.buffer as ArrayBuffer);
    this.free.clear();
    this.stats.freeBytes = 0;
  }
}

let active: BufferPool | undefined;

/**
 * Hooks the pool into the cpu backend `backend` (once per backend instance; later calls return the
 * same pool, whatever their bound). If that instance is replaced (tf.removeBackend), the new one has no
 * hooks: arrays the old pool hands out are then never reused, which is safe, until this is called for it. `maxFreeMiB` bounds the memory kept in free lists (the worker's TENSOR_POOL_MIB; 0: no pool).
 */
export function installBufferPool(backend: tf.KernelBackend, maxFreeMiB: number): BufferPoolStats | undefined {
  const cpu = backend as unknown as CpuBackendInternals & { [POOLED]?: BufferPool };
  if (cpu[POOLED]) return (active = cpu[POOLED]).stats;
  if (!(maxFreeMiB > 0)) return undefined;
  const pool = new BufferPool(maxFreeMiB * 1024 * 1024);
  const data = cpu.data;
  const set = data.set.bind(data);
  data.set = (dataId, value) => {
    pool.stored(dataId, value.values);
    set(dataId, value);
  };
  const disposeData = cpu.disposeData.bind(cpu);
  cpu.disposeData = (dataId, force) => {
    // get() of a missing id would ask the engine to move data; stock disposeData just returns.
    const values = data.has(dataId) ? data.get(dataId)?.values : undefined;
    const result = disposeData(dataId, force);
    if (values !== undefined && !data.has(dataId)) pool.released(dataId, values);
    return result;
  };
  const readSync = cpu.readSync.bind(cpu);
  cpu.readSync = (dataId) => {
    const values = readSync(dataId);
    return pool.isPooled(values) ? values.slice() : values;
  };
  // The backend's async read calls this.readSync, so it copies too.
  cpu[POOLED] = pool;
  active = pool;
  return pool.stats;
}

/**
 * A Float32Array of `length` for a kernel's output that the kernel overwrites whole (its contents are
 * whatever was there): from the pool when one is installed, else above 4 KiB its own ArrayBuffer from
 * Buffer.allocUnsafeSlow (skipping calloc's zeroing pass, a tenth of a memory-bound op).
 */
export function uninitialized(length: number): Float32Array {
  if (length * 4 <= MIN_POOLED_BYTES) return new Float32Array(length);
  return active ? active.take(length) : unzeroed(length);
}

/** A Float32Array on its own ArrayBuffer, not zeroed. */
function unzeroed(length: number): Float32Array {
  return new Float32Array(Buffer.allocUnsafeSlow(length * 4).buffer, 0, length);
}

/** Drops the pool's free arrays, e.g. when a run ends and the worker may sit idle. */
export function clearBufferPool(): void {
  active?.clear();
}

/** The active pool's counters (undefined: none installed). */
export function bufferPoolStats(): BufferPoolStats | undefined {
  return active ? { ...active.stats } : undefined;
}
