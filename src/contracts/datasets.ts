/**
 * Facts about the data sets a job may name, needed both to validate specs and to train.
 * `trainExamples` is what one epoch visits.
 */
export const DATASETS = {
  airfoil: { trainExamples: 1500, features: 5 },
} as const;

export type DatasetName = keyof typeof DATASETS;
