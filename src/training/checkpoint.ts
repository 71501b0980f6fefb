import type * as tf from "@tensorflow/tfjs";
import type { OptimizerState } from "./optimizers/optimizer.js";

/**
 * Everything a training loop needs to carry on in another process exactly where it stopped: taken
 * between two steps, after every point before it was handed to progress.onPoint.
 */
export interface TrainingCheckpoint {
  /** The epoch in progress (1-based) and how many of its batches are done. */
  epoch: number;
  batchesDone: number;
  samplesSeen: number;
  /** The seq the next loss point gets. */
  nextSeq: number;
  /** The random source's state at the start of `epoch`: redrawing the epoch's order from it gives the same order. */
  epochRandomState: number;
  /** Steps the learning-rate schedule has taken. */
  scheduleSteps: number;
  /** Running sums of the loop (loss since the last point, the epoch's totals...), by name. */
  sums: Record<string, number>;
  /** Every weight of the model (trainable or not), in the model's order. */
  weights: { shape: number[]; values: Float32Array }[];
  optimizer: OptimizerState;
}

const MAGIC = "LLCK1";

/**
 * One blob: "LLCK1", a uint32 header length, the JSON header (everything but the arrays, with each
 * array's shape), then the float32 arrays back to back, little-endian.
 */
export function encodeCheckpoint(checkpoint: TrainingCheckpoint): Buffer {
  const arrays = [...checkpoint.weights, ...checkpoint.optimizer.tensors];
  const header = Buffer.from(
    JSON.stringify({
      ...checkpoint,
      weights: checkpoint.weights.map((w) => w.shape),
      optimizer: { step: checkpoint.optimizer.step, tensors: checkpoint.optimizer.tensors.map((t) => t.shape) },
    }),
  );
  const size = Buffer.alloc(4);
  size.writeUInt32LE(header.length);
  // Float32Arrays are in the platform's byte order, little-endian on every platform Node supports here.
  const body = arrays.map(({ values }) => Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  return Buffer.concat([Buffer.from(MAGIC), size, header, ...body]);
}

export function decodeCheckpoint(blob: Buffer): TrainingCheckpoint {
  if (blob.subarray(0, MAGIC.length).toString() !== MAGIC) throw new Error("not a Lossline checkpoint");
  const headerLength = blob.readUInt32LE(MAGIC.length);
  let offset = MAGIC.length + 4 + headerLength;
  const header = JSON.parse(blob.subarray(MAGIC.length + 4, offset).toString()) as Omit<TrainingCheckpoint, "weights" | "optimizer"> & {
    weights: number[][];
    optimizer: { step: number; tensors: number[][] };
  };
  const read = (shape: number[]) => {
    const length = shape.reduce((product, side) => product * side, 1);
    const bytes = blob.subarray(offset, offset + length * 4);
    if (bytes.length !== length * 4) throw new Error("checkpoint is truncated");
    const values = new Float32Array(length);
    Buffer.from(values.buffer).set(bytes); // a copy, aligned for Float32Array
    offset += length * 4;
    return { shape, values };
  };
  const weights = header.weights.map(read);
  const tensors = header.optimizer.tensors.map(read);
  if (offset !== blob.length) throw new Error(`checkpoint is ${blob.length} bytes, its header describes ${offset}`);
  return { ...header, weights, optimizer: { step: header.optimizer.step, tensors } };
}

/** Tensors' values as arrays, in order: a layers model's `weights.map((w) => w.read())`, or plain variables. */
export async function readWeights(tensors: tf.Tensor[]): Promise<TrainingCheckpoint["weights"]> {
  // All reads at once: on a GPU each is a readback, and they overlap.
  const values = await Promise.all(tensors.map((tensor) => tensor.data()));
  return tensors.map((tensor, i) => ({ shape: tensor.shape, values: values[i] as Float32Array }));
}
