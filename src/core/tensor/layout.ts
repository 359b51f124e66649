import type { TensorData } from '../checkpoint/types';

/**
 * Gathers a strided view into a new row-major array: out[i0,...,ik] = src[offset + Σ i_d·stride_d].
 * Used for PyTorch views (storage_offset + strides) and Fortran-order arrays (reversed strides).
 */
export function gatherStrided<T extends TensorData>(
  src: T,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): T {
  const numel = shape.reduce((a, b) => a * b, 1);
  const out = new (src.constructor as { new (n: number): T })(numel);
  if (numel === 0) return out;
  const rank = shape.length;
  if (rank === 0) {
    out[0] = src[offset];
    return out;
  }
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const lastStride = strides[last];
  const lastDim = shape[last];
  let base = offset;
  for (let o = 0; o < numel; o += lastDim) {
    for (let j = 0, s = base; j < lastDim; j++, s += lastStride) out[o + j] = src[s];
    // advance the multi-index over all but the last axis
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      base += strides[d];
      if (idx[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** Row-major (C-order) strides of a shape, in elements. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** Largest element index a strided view touches (+1), i.e. the storage extent it needs. */
export function stridedExtent(shape: readonly number[], strides: readonly number[], offset: number): number {
  if (shape.some((d) => d === 0)) return offset;
  let max = offset;
  for (let d = 0; d < shape.length; d++) max += (shape[d] - 1) * strides[d];
  return max + 1;
}
