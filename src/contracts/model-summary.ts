import { z } from "zod";
import { type ModelName, type ModelSpec, modelSpecSchema } from "./models.js";

/**
 * Each network's layer-by-layer output shapes and parameter counts, by arithmetic alone (no
 * TensorFlow.js), in the book's NCHW form with batch 1. The layer names are those of the layers
 * src/training/models gives the same outputs, so tests can hold the two against each other.
 *
 * Parameters are counted as PyTorch counts `sum(p.numel() for p in net.parameters())`: weights and
 * biases, and batch norm's gamma and beta. Batch norm's moving mean and variance are not
 * parameters (nothing trains them); their total is reported apart, as `nonTrainableParameters`.
 */
export const modelSummarySchema = z
  .strictObject({
    model: modelSpecSchema,
    inputShape: z.array(z.int()).describe("[1, 1, size, size]: batch, channels, height, width"),
    layers: z.array(
      z.strictObject({
        name: z.string().describe("the layer's name in the TensorFlow.js model"),
        kind: z.string().describe("the PyTorch module the book prints for it: Conv2d, Sequential, Linear..."),
        outputShape: z.array(z.int()).describe("NCHW (or N, features) with batch 1"),
        parameters: z.int().describe("trainable parameters in this layer or block"),
      }),
    ),
    totalParameters: z.int().describe("trainable parameters of the whole network, as PyTorch counts them"),
    nonTrainableParameters: z.int().describe("batch norm's moving means and variances"),
  })
  .meta({ id: "ModelSummary" });
export type ModelSummary = z.infer<typeof modelSummarySchema>;
export type LayerSummary = ModelSummary["layers"][number];

/** The largest side summarizeModel and minimumSize look at (the API's bound on `size`). */
const LARGEST_SIZE = 512;

/**
 * Output shapes and parameter counts of `spec` on a grey `size` x `size` image.
 * Throws a RangeError naming the smallest size the network accepts when `size` is too small
 * for it (some layer's output would have no rows or columns).
 */
export function summarizeModel(spec: ModelSpec, size: number): ModelSummary {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
  const trace = traceModel(spec, size);
  if (trace.tooSmall) {
    const minimum = minimumSize(spec.name);
    throw new RangeError(`${spec.name} needs images of at least ${minimum}x${minimum}, got ${size}x${size} (${trace.tooSmall})`);
  }
  return {
    model: spec,
    inputShape: [1, 1, size, size],
    layers: trace.layers,
    totalParameters: trace.layers.reduce((sum, layer) => sum + layer.parameters, 0),
    nonTrainableParameters: trace.movingStatistics,
  };
}

/** The smallest side for which no layer of the network has an empty output. Batch norm does not change it. */
export function minimumSize(name: ModelName): number {
  const spec: ModelSpec = name === "lenet" ? { name, batchNorm: "none" } : { name, batchNorm: "builtin" };
  for (let size = 1; size <= LARGEST_SIZE; size++) if (!traceModel(spec, size).tooSmall) return size;
  throw new RangeError(`${name} accepts no size up to ${LARGEST_SIZE}`);
}

/**
 * Follows a batch-1 NCHW shape through the book's modules, collecting one entry per book-level
 * layer or block. `tooSmall` says which layer first had an empty output, when one did.
 */
class ShapeTrace {
  shape: number[];
  readonly layers: LayerSummary[] = [];
  movingStatistics = 0;
  tooSmall: string | undefined;
  private parameters = 0;

  constructor(
    size: number,
    private readonly batchNorm: ModelSpec["batchNorm"],
  ) {
    this.shape = [1, 1, size, size];
  }

  get hasBatchNorm(): boolean {
    return this.batchNorm !== "none";
  }

  private get channels(): number {
    return this.shape[1]!;
  }

  /** Runs `build`, then records one entry named `name` for everything it added. */
  layer(name: string, kind: string, build: () => void): void {
    const before = this.parameters;
    build();
    this.layers.push({ name, kind, outputShape: [...this.shape], parameters: this.parameters - before });
  }

  /** PyTorch's Conv2d(in, out, kernel, stride, padding), with bias. */
  conv(out: number, kernel: number, stride = 1, padding = 0): void {
    this.parameters += out * (this.channels * kernel * kernel + 1);
    this.window(out, kernel, stride, padding);
  }

  /** MaxPool2d or AvgPool2d(kernel, stride, padding). */
  pool(kernel: number, stride: number, padding = 0): void {
    this.window(this.channels, kernel, stride, padding);
  }

  /** Batch norm over the channels (4-D) or features (2-D): gamma and beta train, the moving stats do not. */
  norm(): void {
    if (this.batchNorm === "none") return;
    this.parameters += 2 * this.channels;
    this.movingStatistics += 2 * this.channels;
  }

  /** The module the book prints for batch norm here: its scratch BatchNorm, or BatchNorm2d/1d. */
  normKind(): string {
    if (this.batchNorm === "scratch") return "BatchNorm";
    return this.shape.length === 4 ? "BatchNorm2d" : "BatchNorm1d";
  }

  /** AdaptiveAvgPool2d((1, 1)). */
  globalPool(): void {
    this.shape = [1, this.channels, 1, 1];
  }

  flatten(): void {
    this.shape = [1, this.shape.slice(1).reduce((product, side) => product * side, 1)];
  }

  linear(out: number): void {
    this.parameters += out * (this.shape[1]! + 1);
    this.shape = [1, out];
  }

  /** Concatenation on channels of a branch with `added` channels (DenseNet). */
  concat(added: number): void {
    this.shape = [1, this.channels + added, this.shape[2]!, this.shape[3]!];
  }

  /** PyTorch's output side: floor((n + 2 padding - kernel) / stride) + 1. */
  private window(out: number, kernel: number, stride: number, padding: number): void {
    const side = (n: number) => Math.floor((n + 2 * padding - kernel) / stride) + 1;
    const [height, width] = [side(this.shape[2]!), side(this.shape[3]!)];
    if ((height < 1 || width < 1) && !this.tooSmall) this.tooSmall = `a ${kernel}x${kernel} window on a ${this.shape[2]}x${this.shape[3]} map`;
    this.shape = [1, out, Math.max(height, 0), Math.max(width, 0)];
  }
}

function traceModel(spec: ModelSpec, size: number): ShapeTrace {
  const trace = new ShapeTrace(size, spec.batchNorm);
  if (spec.name === "lenet") traceLeNet(trace);
  else if (spec.name === "resnet18") traceResNet18(trace);
  else traceDenseNet(trace);
  return trace;
}

/** LeNet with valid 5x5 convolutions and 2x2 max pooling; batch norm before each sigmoid when asked. */
function traceLeNet(trace: ShapeTrace): void {
  const norm = (index: number) => {
    if (trace.hasBatchNorm) trace.layer(`batch_norm${index}`, trace.normKind(), () => trace.norm());
  };
  for (const [index, channels] of [6, 16].entries()) {
    trace.layer(`conv${index + 1}`, "Conv2d", () => trace.conv(channels, 5));
    norm(index + 1);
    trace.layer(`sigmoid${index + 1}`, "Sigmoid", () => undefined);
    trace.layer(`max_pool${index + 1}`, "MaxPool2d", () => trace.pool(2, 2));
  }
  trace.layer("flatten", "Flatten", () => trace.flatten());
  for (const [index, features] of [120, 84].entries()) {
    trace.layer(`dense${index + 1}`, "Linear", () => trace.linear(features));
    norm(index + 3);
    trace.layer(`sigmoid${index + 3}`, "Sigmoid", () => undefined);
  }
  trace.layer("dense3", "Linear", () => trace.linear(10));
}

/** The book's b1 of ResNet and DenseNet: 7x7/2 conv 64 (padding 3), BN, ReLU, 3x3/2 max pool (padding 1). */
function traceStem(trace: ShapeTrace): void {
  trace.layer("stage1", "Sequential", () => {
    trace.conv(64, 7, 2, 3);
    trace.norm();
    trace.pool(3, 2, 1);
  });
}

/** AdaptiveAvgPool2d((1, 1)), Flatten, Linear(10): the head both ResNet and DenseNet end in. */
function traceHead(trace: ShapeTrace): void {
  trace.layer("global_pool", "AdaptiveAvgPool2d", () => trace.globalPool());
  trace.layer("flatten", "Flatten", () => trace.flatten());
  trace.layer("dense", "Linear", () => trace.linear(10));
}

function traceResNet18(trace: ShapeTrace): void {
  traceStem(trace);
  for (const [index, channels] of [64, 128, 256, 512].entries()) {
    trace.layer(`stage${index + 2}`, "Sequential", () => {
      for (let block = 0; block < 2; block++) {
        const downsample = block === 0 && index > 0;
        const input = trace.shape;
        trace.conv(channels, 3, downsample ? 2 : 1, 1);
        trace.norm();
        trace.conv(channels, 3, 1, 1);
        trace.norm();
        if (downsample) {
          // The 1x1 shortcut sees the block's input; its output has the main path's shape.
          const output = trace.shape;
          trace.shape = input;
          trace.conv(channels, 1, 2);
          trace.shape = output;
        }
      }
    });
  }
  traceHead(trace);
}

/** Growth rate 32, four units per dense block, transitions halving the channels (floor). */
function traceDenseNet(trace: ShapeTrace): void {
  traceStem(trace);
  for (let block = 1; block <= 4; block++) {
    trace.layer(`dense_block${block}`, "DenseBlock", () => {
      for (let unit = 0; unit < 4; unit++) {
        const input = trace.shape;
        trace.norm();
        trace.conv(32, 3, 1, 1);
        trace.shape = input;
        trace.concat(32);
      }
    });
    if (block === 4) break;
    trace.layer(`transition${block}`, "Sequential", () => {
      trace.norm();
      trace.conv(Math.floor(trace.shape[1]! / 2), 1);
      trace.pool(2, 2);
    });
  }
  trace.layer("batch_norm", trace.normKind(), () => trace.norm());
  trace.layer("relu", "ReLU", () => undefined);
  traceHead(trace);
}
