/**
 * A small seeded random source (mulberry32) so that a run's initial weights and minibatch order
 * depend on its seed alone, not on the backend or the platform.
 */
export interface Random {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal draw (Box-Muller), scaled: mean + std * N(0, 1). */
  normal(mean: number, std: number): number;
  /** A fresh permutation of 0..length-1 (Fisher-Yates). */
  permutation(length: number): Int32Array;
  /** The generator's whole state (a uint32), for checkpoints; `createRandom(seed, state)` resumes from it. */
  state(): number;
}

export function createRandom(seed: number, resumeState?: number): Random {
  let state = (resumeState ?? seed) >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    state: () => state,
    normal(mean, std) {
      const u1 = 1 - uniform(); // in (0, 1]: log stays finite
      const u2 = uniform();
      return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    },
    permutation(length) {
      const order = new Int32Array(length);
      for (let i = 0; i < length; i++) order[i] = i;
      for (let i = length - 1; i > 0; i--) {
        const j = Math.floor(uniform() * (i + 1));
        const swap = order[i]!;
        order[i] = order[j]!;
        order[j] = swap;
      }
      return order;
    },
  };
}
