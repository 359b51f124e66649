import type { RandomAccessFile } from '../io/random-access-file';
import { decodeElements, ELEMENT_BYTES, type ElementType } from './dtype';

/**
 * Reads `numel` contiguous little-endian elements at `offset` and decodes them.
 * float32/float64 are read straight into the result's memory (no second copy).
 */
export async function readElements(
  file: RandomAccessFile,
  offset: number,
  type: ElementType,
  numel: number,
  format: string,
): Promise<Float32Array | Float64Array> {
  if (type === 'float32') {
    const out = new Float32Array(numel);
    await file.readInto(new Uint8Array(out.buffer), offset, format);
    return out;
  }
  if (type === 'float64') {
    const out = new Float64Array(numel);
    await file.readInto(new Uint8Array(out.buffer), offset, format);
    return out;
  }
  const bytes = new Uint8Array(numel * ELEMENT_BYTES[type]);
  await file.readInto(bytes, offset, format);
  return decodeElements(bytes, type, numel);
}
