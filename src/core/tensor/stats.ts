import type { TensorData } from '../checkpoint/types';

export interface TensorStats {
  mean: number;
  /** Population standard deviation (ddof 0). */
  std: number;
  min: number;
  max: number;
  /** sqrt(Σ v²) */
  l2: number;
  /** Count of NaN and ±Inf; the other statistics are over finite values only. */
  nonfinite: number;
  /** [flat row-major index, value] at i = ⌊k·(numel−1)/7⌋, k = 0…7, duplicates dropped. */
  samples: [number, number][];
}

/** Statistics accumulated in float64 (two-pass for std, so large means do not cancel). */
export function tensorStats(v: TensorData): TensorStats {
  const n = v.length;
  let count = 0;
  let sum = 0;
  let sumSq = 0;
  let min = Infinity;
  let max = -Infinity;
  let nonfinite = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i];
    if (!Number.isFinite(x)) {
      nonfinite++;
      continue;
    }
    count++;
    sum += x;
    sumSq += x * x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const mean = count ? sum / count : NaN;
  let dev = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i];
    if (Number.isFinite(x)) dev += (x - mean) * (x - mean);
  }
  return {
    mean,
    std: count ? Math.sqrt(dev / count) : NaN,
    min: count ? min : NaN,
    max: count ? max : NaN,
    l2: Math.sqrt(sumSq),
    nonfinite,
    samples: sampleIndices(n).map((i) => [i, v[i]]),
  };
}

export function sampleIndices(numel: number): number[] {
  if (numel === 0) return [];
  const out: number[] = [];
  for (let k = 0; k <= 7; k++) {
    const i = Math.floor((k * (numel - 1)) / 7);
    if (out[out.length - 1] !== i) out.push(i);
  }
  return out;
}
