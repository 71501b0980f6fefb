import * as tf from "@tensorflow/tfjs";
import type { OptimizerSpec } from "../../contracts/job-spec.js";
import { fusedAdamStep } from "../kernels/fused-adam.js";
import type { Optimizer, OptimizerState } from "./optimizer.js";

/** Per-parameter state tensors, created as zeros the first time a parameter is updated. */
function createStates(count: number) {
  const states = new Map<string, tf.Variable[]>();
  return {
    of(param: tf.Variable): tf.Variable[] {
      let state = states.get(param.name);
      if (!state) {
        state = Array.from({ length: count }, () => tf.variable(tf.zerosLike(param), false));
        states.set(param.name, state);
      }
      return state;
    },
    /** Replaces a parameter's state tensors with copies of `values`. */
    set(param: tf.Variable, values: tf.Tensor[]) {
      const old = states.get(param.name);
      if (old) tf.dispose(old);
      states.set(param.name, values.map((value) => tf.variable(value, false)));
    },
    dispose() {
      for (const state of states.values()) tf.dispose(state);
      states.clear();
    },
  };
}

type Update = (param: tf.Variable, grad: tf.Tensor, state: tf.Variable[], lr: number, step: number) => void;

/** Runs `update` for each parameter inside one tidy; `step` counts updates from 1 (Adam's bias correction). */
function scratchOptimizer(name: string, stateCount: number, update: Update): Optimizer {
  const states = createStates(stateCount);
  let step = 0;
  return {
    name,
    step(params, grads, lr) {
      step += 1;
      tf.tidy(() => {
        for (const param of params) {
          const grad = grads[param.name];
          if (!grad) throw new Error(`no gradient for ${param.name}`);
          update(param, grad, states.of(param), lr, step);
        }
      });
    },
    async saveState(params) {
      const tensors: OptimizerState["tensors"] = [];
      for (const param of params) {
        for (const tensor of states.of(param)) tensors.push({ shape: tensor.shape, values: (await tensor.data()) as Float32Array });
      }
      return { step, tensors };
    },
    async loadState(params, state) {
      if (state.tensors.length !== params.length * stateCount) {
        throw new Error(`checkpoint holds ${state.tensors.length} optimizer tensors, ${name} needs ${params.length * stateCount}`);
      }
      params.forEach((param, i) => {
        const saved = state.tensors.slice(i * stateCount, (i + 1) * stateCount);
        tf.tidy(() => states.set(param, saved.map(({ shape, values }) => tf.tensor(values, shape))));
      });
      step = state.step;
    },
    dispose: () => states.dispose(),
  };
}

/**
 * The chapter's optimizers as it writes them (sgd, sgd_momentum, adagrad, rmsprop, adadelta, adam),
 * with its epsilons. Formulas per parameter p with gradient g:
 */
export function createScratchOptimizer(spec: OptimizerSpec): Optimizer {
  switch (spec.name) {
    case "sgd": // p -= lr * g
      return scratchOptimizer("sgd", 0, (p, g, _s, lr) => p.assign(p.sub(g.mul(lr))));
    case "momentum": // v = momentum * v + g; p -= lr * v
      return scratchOptimizer("momentum", 1, (p, g, [v], lr) => {
        v!.assign(v!.mul(spec.momentum).add(g));
        p.assign(p.sub(v!.mul(lr)));
      });
    case "adagrad": // s += g^2; p -= lr * g / sqrt(s + 1e-6)
      return scratchOptimizer("adagrad", 1, (p, g, [s], lr) => {
        s!.assign(s!.add(g.square()));
        p.assign(p.sub(g.mul(lr).div(s!.add(1e-6).sqrt())));
      });
    case "rmsprop": // s = gamma * s + (1 - gamma) * g^2; p -= lr * g / sqrt(s + 1e-6)
      return scratchOptimizer("rmsprop", 1, (p, g, [s], lr) => {
        s!.assign(s!.mul(spec.gamma).add(g.square().mul(1 - spec.gamma)));
        p.assign(p.sub(g.mul(lr).div(s!.add(1e-6).sqrt())));
      });
    case "adadelta": // s = rho s + (1-rho) g^2; g' = sqrt(delta + 1e-5) / sqrt(s + 1e-5) g; p -= g'; delta = rho delta + (1-rho) g'^2
      return scratchOptimizer("adadelta", 2, (p, g, [s, delta], lr) => {
        s!.assign(s!.mul(spec.rho).add(g.square().mul(1 - spec.rho)));
        const rescaled = delta!.add(1e-5).sqrt().div(s!.add(1e-5).sqrt()).mul(g);
        p.assign(p.sub(rescaled.mul(lr))); // lr is 1 unless a schedule scales it
        delta!.assign(delta!.mul(spec.rho).add(rescaled.square().mul(1 - spec.rho)));
      });
    case "adam": // v, s moments; bias-corrected; p -= lr * v_hat / (sqrt(s_hat) + 1e-6)
      return scratchOptimizer("adam", 2, (p, g, [v, s], lr, step) => {
        // One pass where the backend has the fused kernel (cpu): the same float32 operations in the same order.
        const fused = fusedAdamStep(p, g, v!, s!, { beta1: spec.beta1, beta2: spec.beta2, epsilon: 1e-6, lr, step });
        if (fused) {
          [p, v!, s!].forEach((variable, i) => variable.assign(fused[i]!));
          return;
        }
        v!.assign(v!.mul(spec.beta1).add(g.mul(1 - spec.beta1)));
        s!.assign(s!.mul(spec.beta2).add(g.square().mul(1 - spec.beta2)));
        const vHat = v!.div(1 - spec.beta1 ** step);
        const sHat = s!.div(1 - spec.beta2 ** step);
        p.assign(p.sub(vHat.mul(lr).div(sHat.sqrt().add(1e-6))));
      });
  }
}
