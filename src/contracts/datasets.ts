/**
 * Facts about the data sets a job may name, needed both to validate specs and to train.
 * `trainExamples` is what one epoch visits.
 */
export const DATASETS = {
  airfoil: { trainExamples: 1500, features: 5 },
  /** 28x28 grey images of 10 clothing classes; `testExamples` are held out for test accuracy. */
  "fashion-mnist": { trainExamples: 60_000, testExamples: 10_000, height: 28, width: 28, classes: 10 },
} as const;

export type DatasetName = keyof typeof DATASETS;

/** The book's names of the Fashion-MNIST classes, by label. */
export const FASHION_MNIST_LABELS = [
  "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
] as const;
