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
