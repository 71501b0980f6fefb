/**
 * Decides when a loss point is due, counting training samples the way the book's train_ch7 does
 * (`n += X.shape[0]; if n % every == 0: record`), plus one point before training starts.
 * It counts samples, not batches, so a short last batch shifts later points as in the book.
 */
export interface LossReporter {
  /** Samples seen so far. */
  readonly samplesSeen: number;
  /** Adds a finished minibatch; true when a point is due now. */
  addBatch(batchSize: number): boolean;
}

/** `samplesSeenBefore`: where a resumed loop starts counting. */
export function createLossReporter(every: number, samplesSeenBefore = 0): LossReporter {
  let samplesSeen = samplesSeenBefore;
  return {
    get samplesSeen() {
      return samplesSeen;
    },
    addBatch(batchSize) {
      samplesSeen += batchSize;
      return samplesSeen % every === 0;
    },
  };
}

/** Sizes of the minibatches of one epoch: full batches, then the remainder if any (drop_last=False). */
export function batchSizes(examples: number, batchSize: number): number[] {
  const sizes: number[] = [];
  for (let start = 0; start < examples; start += batchSize) sizes.push(Math.min(batchSize, examples - start));
  return sizes;
}

/**
 * True when a batch that brought the samples seen to `samplesSeen` passed a multiple of `every`:
 * train_ch5's rule for loss points, which (unlike train_ch7's exact multiples) fires for any batch size.
 */
export function passesMultiple(samplesSeen: number, batchSize: number, every: number): boolean {
  return Math.floor(samplesSeen / every) > Math.floor((samplesSeen - batchSize) / every);
}
