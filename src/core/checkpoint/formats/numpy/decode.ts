import { decodeElements } from '../../../tensor/dtype';
import { gatherStrided } from '../../../tensor/layout';
import type { TensorData } from '../../types';
import type { NpyHeader } from './header';

/** Decodes an npy array's data bytes (byte-swapping big-endian descrs) into row-major values. */
export function decodeNpyData(bytes: Uint8Array, h: NpyHeader): TensorData {
  return toRowMajor(decodeElements(bytes, h.type, h.numel, h.littleEndian), h);
}

/** Fortran-order data is column-major: element [i0, ..., ik] sits at Σ i_d · (shape_0 · ... · shape_{d-1}). */
export function toRowMajor(flat: TensorData, h: NpyHeader): TensorData {
  if (!h.fortranOrder || h.shape.length < 2) return flat;
  return gatherStrided(flat, h.shape, fortranStrides(h.shape), 0);
}

function fortranStrides(shape: readonly number[]): number[] {
  const strides: number[] = [];
  let acc = 1;
  for (const d of shape) {
    strides.push(acc);
    acc *= d;
  }
  return strides;
}
