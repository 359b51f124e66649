/** A tensor held in memory for matching: row-major values in float32. */
export interface HeldTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type TensorSet = ReadonlyMap<string, HeldTensor>;

export function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Squared Frobenius distance Σ (a − b)², float64 accumulation. */
export function squaredDistance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

export function squaredNorm(a: Float32Array | Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return s;
}
