import type { TensorData } from '../checkpoint/types';
import type { RandomAccessFile } from '../io/random-access-file';
import { decodeElements, ELEMENT_BYTES, float16Table, type ElementType } from './dtype';

/**
 * Reads `numel` contiguous little-endian elements at `offset` and decodes them, into `target` when given.
 * float32/float64 land straight in the result's memory; narrow types are read into the tail of the float32
 * result and widened in place, front to back (each write lands at or before the bytes still to be read),
 * so no second buffer is allocated.
 */
export async function readElements(
  file: RandomAccessFile,
  offset: number,
  type: ElementType,
  numel: number,
  format: string,
  target?: TensorData,
): Promise<TensorData> {
  if (type === 'float64' && !(target instanceof Float32Array)) {
    const out = target ?? new Float64Array(numel);
    await file.readInto(new Uint8Array(out.buffer, out.byteOffset, numel * 8), offset, format);
    return out;
  }
  if (!(target instanceof Float64Array)) {
    const out = (target as Float32Array | undefined) ?? new Float32Array(numel);
    const widen = IN_PLACE_WIDENERS[type];
    if (type === 'float32') {
      await file.readInto(new Uint8Array(out.buffer, out.byteOffset, numel * 4), offset, format);
      return out;
    }
    if (widen && out.byteOffset % 4 === 0) {
      const size = ELEMENT_BYTES[type];
      const tail = out.byteOffset + numel * (4 - size);
      await file.readInto(new Uint8Array(out.buffer, tail, numel * size), offset, format);
      widen(out.buffer, out.byteOffset, numel);
      return out;
    }
  }
  const bytes = new Uint8Array(numel * ELEMENT_BYTES[type]);
  await file.readInto(bytes, offset, format);
  return decodeElements(bytes, type, numel);
}

type Widener = (buffer: ArrayBufferLike, byteOffset: number, numel: number) => void;

/** Widen numel narrow elements stored at the end of a numel×4-byte region into float32, in place. */
const IN_PLACE_WIDENERS: Partial<Record<ElementType, Widener>> = {
  // bfloat16 is the upper half of a float32: two per 32-bit word, low half first (little-endian).
  bfloat16(buffer, byteOffset, numel) {
    const words = new Int32Array(buffer, byteOffset, numel);
    const pairs = numel >> 1;
    const src = numel - pairs - (numel & 1); // word index where the packed data starts (byte offset 2·numel)
    if (numel & 1) {
      // Odd count: the packed data is not word-aligned; widen from a 16-bit view instead.
      const u16 = new Uint16Array(buffer, byteOffset + numel * 2, numel);
      for (let i = 0; i < numel; i++) words[i] = u16[i] << 16;
      return;
    }
    for (let j = 0, k = 0; j < pairs; j++, k += 2) {
      const w = words[src + j];
      words[k] = w << 16;
      words[k + 1] = w & -65536;
    }
  },
  float16(buffer, byteOffset, numel) {
    const out = new Float32Array(buffer, byteOffset, numel);
    const u16 = new Uint16Array(buffer, byteOffset + numel * 2, numel);
    const t = float16Table();
    for (let i = 0; i < numel; i++) out[i] = t[u16[i]];
  },
  int8(buffer, byteOffset, numel) {
    const out = new Float32Array(buffer, byteOffset, numel);
    const src = new Int8Array(buffer, byteOffset + numel * 3, numel);
    for (let i = 0; i < numel; i++) out[i] = src[i];
  },
  uint8(buffer, byteOffset, numel) {
    const out = new Float32Array(buffer, byteOffset, numel);
    const src = new Uint8Array(buffer, byteOffset + numel * 3, numel);
    for (let i = 0; i < numel; i++) out[i] = src[i];
  },
  int16(buffer, byteOffset, numel) {
    const out = new Float32Array(buffer, byteOffset, numel);
    const src = new Int16Array(buffer, byteOffset + numel * 2, numel);
    for (let i = 0; i < numel; i++) out[i] = src[i];
  },
  uint16(buffer, byteOffset, numel) {
    const out = new Float32Array(buffer, byteOffset, numel);
    const src = new Uint16Array(buffer, byteOffset + numel * 2, numel);
    for (let i = 0; i < numel; i++) out[i] = src[i];
  },
};
