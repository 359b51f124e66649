/**
 * Losses along the interpolation path.
 * - With labels: cross-entropy of the first output. Its last axis holds the classes (softmax of logits); a last axis
 *   of size 1 is binary: values already in [0, 1] are taken as probabilities, anything else as logits (sigmoid).
 *   Probabilities are clamped to [1e-7, 1 − 1e-7]. Mean over samples.
 * - Without labels: how far the outputs leave the straight line between the endpoints' outputs,
 *   L(λ) = RMS over every float output element of f_λ − ((1 − λ) f₀ + λ f₁); L(0) = L(1) = 0.
 */
import { TransformInputError } from '../match/errors';

export interface OutputsAt {
  /** Every float output of the model, flattened and concatenated in output order. */
  all: Float64Array;
  /** The first output and its shape. */
  first: Float64Array;
  firstShape: readonly number[];
}

const CLAMP = 1e-7;

export function crossEntropy(o: OutputsAt, labels: readonly number[]): number {
  const classes = o.firstShape.length ? o.firstShape[o.firstShape.length - 1] : 1;
  const samples = o.first.length / classes;
  if (labels.length !== samples) throw new TransformInputError(`labels: ${labels.length} given, the first output holds ${samples} samples of ${classes} classes`);
  let total = 0;
  if (classes === 1) {
    const probabilities = o.first.every((v) => v >= 0 && v <= 1);
    for (let i = 0; i < samples; i++) {
      const p = Math.min(1 - CLAMP, Math.max(CLAMP, probabilities ? o.first[i] : 1 / (1 + Math.exp(-o.first[i]))));
      total -= labels[i] ? Math.log(p) : Math.log(1 - p);
    }
  } else {
    for (let i = 0; i < samples; i++) {
      const row = o.first.subarray(i * classes, (i + 1) * classes);
      let max = -Infinity;
      for (const v of row) max = Math.max(max, v);
      let z = 0;
      for (const v of row) z += Math.exp(v - max);
      const y = labels[i];
      if (!Number.isInteger(y) || y < 0 || y >= classes) throw new TransformInputError(`labels: ${y} is not a class index below ${classes}`);
      total -= row[y] - max - Math.log(z);
    }
  }
  return total / samples;
}

export function rmsDistance(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - y[i]) ** 2;
  return Math.sqrt(s / (x.length || 1));
}

export function outputDeviation(f: Float64Array, f0: Float64Array, f1: Float64Array, lambda: number): number {
  let s = 0;
  for (let i = 0; i < f.length; i++) s += (f[i] - ((1 - lambda) * f0[i] + lambda * f1[i])) ** 2;
  return Math.sqrt(s / (f.length || 1));
}

/** max_λ [L(λ) − ((1 − λ) L(0) + λ L(1))] (Frankle et al. 2020; Entezari et al. 2022) and where it is reached. */
export function barrier(lambdas: readonly number[], loss: readonly number[]): { barrier: number; at: number } {
  const l0 = loss[0];
  const l1 = loss[loss.length - 1];
  let best = -Infinity;
  let at = lambdas[0];
  lambdas.forEach((lam, i) => {
    const gap = loss[i] - ((1 - lam) * l0 + lam * l1);
    if (gap > best) {
      best = gap;
      at = lam;
    }
  });
  return { barrier: best, at };
}
