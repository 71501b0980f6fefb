/**
 * The small functions of the optimization chapter, with exact gradients and Hessians, in float64.
 * Shared by the worker (which traces optimizers on them) and the API (which serves their curves
 * and grids for plotting), so they live with the contracts. `c` is the one overridable constant.
 */
export interface Objective {
  name: string;
  /** 1 for curves, 2 for contour plots. */
  dim: 1 | 2;
  formula: string;
  /** Default of the constant c, or null when the function has none. */
  defaultC: number | null;
  /** Where the book starts its traces. */
  defaultStart: number[];
  /** The range the book plots. */
  plotRange: [number, number][];
  /** Only illustrated in the book (saddle points, vanishing gradients), though it can be traced too. */
  illustration: boolean;
  f(x: number[], c: number): number;
  gradient(x: number[], c: number): number[];
  hessian(x: number[], c: number): number[][];
}

const oneD = (
  name: string,
  formula: string,
  defaultC: number | null,
  plot: [number, number],
  illustration: boolean,
  f: (x: number, c: number) => number,
  df: (x: number, c: number) => number,
  d2f: (x: number, c: number) => number,
): Objective => ({
  name,
  dim: 1,
  formula,
  defaultC,
  defaultStart: [10],
  plotRange: [plot],
  illustration,
  f: ([x], c) => f(x!, c),
  gradient: ([x], c) => [df(x!, c)],
  hessian: ([x], c) => [[d2f(x!, c)]],
});

export const OBJECTIVES: readonly Objective[] = [
  oneD("square", "f(x) = x^2", null, [-10, 10], false, (x) => x * x, (x) => 2 * x, () => 2),
  oneD(
    "xcos",
    "f(x) = x cos(c x), c = 0.15 pi",
    0.15 * Math.PI,
    [-13, 13],
    false,
    (x, c) => x * Math.cos(c * x),
    (x, c) => Math.cos(c * x) - c * x * Math.sin(c * x),
    (x, c) => -2 * c * Math.sin(c * x) - c * c * x * Math.cos(c * x),
  ),
  oneD(
    "cosh",
    "f(x) = cosh(c x), c = 0.5",
    0.5,
    [-10, 10],
    false,
    (x, c) => Math.cosh(c * x),
    (x, c) => c * Math.sinh(c * x),
    (x, c) => c * c * Math.cosh(c * x),
  ),
  {
    name: "quadratic-2d",
    dim: 2,
    formula: "f(x1, x2) = x1^2 + c x2^2, c = 2",
    defaultC: 2,
    defaultStart: [-5, -2],
    plotRange: [
      [-5.5, 1],
      [-3, 1],
    ],
    illustration: false,
    f: ([x1, x2], c) => x1! * x1! + c * x2! * x2!,
    gradient: ([x1, x2], c) => [2 * x1!, 2 * c * x2!],
    hessian: (_x, c) => [
      [2, 0],
      [0, 2 * c],
    ],
  },
  oneD("cubic", "f(x) = x^3 (a saddle point at 0)", null, [-2, 2], true, (x) => x ** 3, (x) => 3 * x * x, (x) => 6 * x),
  oneD(
    "tanh",
    "f(x) = tanh(x) (vanishing gradients)",
    null,
    [-4, 4],
    true,
    (x) => Math.tanh(x),
    (x) => 1 - Math.tanh(x) ** 2,
    (x) => -2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2),
  ),
  {
    name: "saddle-2d",
    dim: 2,
    formula: "f(x, y) = x^2 - y^2 (a saddle point at the origin)",
    defaultC: null,
    defaultStart: [1, 0.1],
    plotRange: [
      [-1, 1],
      [-1, 1],
    ],
    illustration: true,
    f: ([x, y]) => x! * x! - y! * y!,
    gradient: ([x, y]) => [2 * x!, -2 * y!],
    hessian: () => [
      [2, 0],
      [0, -2],
    ],
  },
];

export const OBJECTIVE_NAMES = OBJECTIVES.map((objective) => objective.name) as [string, ...string[]];

export function findObjective(name: string): Objective | undefined {
  return OBJECTIVES.find((objective) => objective.name === name);
}
