import type { ScheduleSpec } from "../contracts/job-spec.js";

/** The factor a schedule applies at counter value t (t >= 2 at the first step; see createLearningRate). */
export function scheduleFactor(schedule: ScheduleSpec, t: number): number {
  switch (schedule.name) {
    case "constant":
      return 1;
    case "exponential":
      return Math.exp(-schedule.rate * t);
    case "polynomial":
      return (1 + schedule.rate * t) ** -schedule.power;
  }
}

/**
 * The book's stateful schedule: a counter that starts at 1 and is incremented before each use, so
 * the first step uses t = 2. `next()` returns eta * factor(t) for the coming step.
 */
export function createLearningRate(eta: number, schedule: ScheduleSpec): { next(): number; readonly t: number } {
  let t = 1;
  return {
    next() {
      t += 1;
      return eta * scheduleFactor(schedule, t);
    },
    get t() {
      return t;
    },
  };
}
