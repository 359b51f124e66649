import { decodeElements } from '../../../tensor/dtype';
import type { TensorData } from '../../types';
import type { WeightSpec } from './manifest';

/**
 * Decodes one weight's stored bytes as tfjs-core io_utils.ts decodeWeight does:
 * uint8/uint16 codes → q·scale + min, computed on JS numbers then stored once into float32
 * (Math.round for int32 weights); float16 → IEEE half; float32/int32/bool raw little-endian.
 */
export function decodeWeight(bytes: Uint8Array, spec: WeightSpec): TensorData {
  const { numel, affine } = spec;
  if (spec.stored === 'uint8' || spec.stored === 'uint16') {
    if (!affine) throw new Error(`weight "${spec.name}": ${spec.stored} codes without scale/min`);
    const codes = decodeElements(bytes, spec.stored, numel);
    const { scale, min } = affine;
    if (spec.logicalDtype === 'int32') {
      const out = new Float64Array(numel);
      for (let i = 0; i < numel; i++) out[i] = Math.round(codes[i] * scale + min);
      return out;
    }
    const out = new Float32Array(numel);
    for (let i = 0; i < numel; i++) out[i] = codes[i] * scale + min;
    return out;
  }
  return decodeElements(bytes, spec.stored, numel);
}
