/** The book's minibatch SGD on airfoil (lr 0.05, batch 10, 2 epochs): the demo's job and the tests' baseline. */
export const SEED_REGRESSION_SPEC = Object.freeze({
  kind: "regression",
  dataset: "airfoil",
  model: "linear",
  optimizer: Object.freeze({ name: "sgd", lr: 0.05 }),
  batchSize: 10,
  epochs: 2,
  seed: 1,
} as const);

/** The demo's second job: LeNet with batch norm from scratch, one epoch on the first 10,000 Fashion-MNIST images. */
export const DEMO_CLASSIFICATION_SPEC = Object.freeze({
  kind: "classification",
  dataset: "fashion-mnist",
  model: Object.freeze({ name: "lenet", batchNorm: "scratch" }),
  optimizer: Object.freeze({ name: "adam", lr: 0.01 }),
  batchSize: 256,
  epochs: 1,
  seed: 1,
  limit: Object.freeze({ train: 10_000, test: 2_000 }),
} as const);
