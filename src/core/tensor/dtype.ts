import { CheckpointError } from '../errors';

/** Plain (non-block) element types every reader decodes through one code path. */
export type ElementType =
  | 'float64'
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float8_e4m3fn'
  | 'float8_e5m2'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool';

export const ELEMENT_BYTES: Readonly<Record<ElementType, number>> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float8_e4m3fn: 1,
  float8_e5m2: 1,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  bool: 1,
};

export function isElementType(s: string): s is ElementType {
  return Object.prototype.hasOwnProperty.call(ELEMENT_BYTES, s);
}

let halfTable: Float32Array | undefined;
/** All 65,536 IEEE half values as float32 (256 KiB), so float16 decoding is one table lookup. */
export function float16Table(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = halfToFloat(h);
  halfTable = t;
  return t;
}

/** IEEE 754 binary16 → number (exact). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

let e4m3Table: Float32Array | undefined;
let e5m2Table: Float32Array | undefined;

/** float8 e4m3fn (OCP FP8, no infinities, 0x7f/0xff = NaN, bias 7). */
function fp8e4m3(b: number): number {
  const sign = b & 0x80 ? -1 : 1;
  const exp = (b >> 3) & 0xf;
  const frac = b & 0x7;
  if (exp === 15 && frac === 7) return NaN;
  if (exp === 0) return sign * frac * 2 ** -9;
  return sign * (1 + frac / 8) * 2 ** (exp - 7);
}

/** float8 e5m2 (IEEE-like, bias 15, with infinities and NaN). */
function fp8e5m2(b: number): number {
  return halfToFloat(b << 8);
}

function table8(kind: 'e4m3' | 'e5m2'): Float32Array {
  if (kind === 'e4m3') return (e4m3Table ??= Float32Array.from({ length: 256 }, (_, b) => fp8e4m3(b)));
  return (e5m2Table ??= Float32Array.from({ length: 256 }, (_, b) => fp8e5m2(b)));
}

const hostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes `numel` elements of `type` from `bytes` (any alignment) into a new typed array:
 * Float64Array for float64 and 32/64-bit integers (exact), Float32Array otherwise.
 */
export function decodeElements(
  bytes: Uint8Array,
  type: ElementType,
  numel: number,
  littleEndian = true,
): Float32Array | Float64Array {
  const size = ELEMENT_BYTES[type];
  if (bytes.byteLength < numel * size) {
    throw new RangeError(`need ${numel * size} bytes for ${numel} ${type}, have ${bytes.byteLength}`);
  }
  if (!littleEndian && size > 1) bytes = byteSwapped(bytes, size, numel);
  // Aligned little-endian views avoid a per-element DataView on the hot paths.
  const aligned = hostLittleEndian && bytes.byteOffset % size === 0;
  const src = aligned ? bytes : copyAligned(bytes, numel * size);
  const buf = src.buffer;
  const off = src.byteOffset;
  switch (type) {
    case 'float32':
      return new Float32Array(buf.slice(off, off + numel * 4) as ArrayBuffer);
    case 'float64':
      return new Float64Array(buf.slice(off, off + numel * 8) as ArrayBuffer);
    case 'bfloat16': {
      const u16 = new Uint16Array(buf, off, numel);
      const out = new Uint32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = u16[i] << 16;
      return new Float32Array(out.buffer);
    }
    case 'float16': {
      const u16 = new Uint16Array(buf, off, numel);
      const t = float16Table();
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = t[u16[i]];
      return out;
    }
    case 'float8_e4m3fn':
    case 'float8_e5m2': {
      const t = table8(type === 'float8_e4m3fn' ? 'e4m3' : 'e5m2');
      const u8 = new Uint8Array(buf, off, numel);
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = t[u8[i]];
      return out;
    }
    case 'int8':
      return Float32Array.from(new Int8Array(buf, off, numel));
    case 'uint8':
      return Float32Array.from(new Uint8Array(buf, off, numel));
    case 'bool': {
      const u8 = new Uint8Array(buf, off, numel);
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = u8[i] ? 1 : 0;
      return out;
    }
    case 'int16':
      return Float32Array.from(new Int16Array(buf, off, numel));
    case 'uint16':
      return Float32Array.from(new Uint16Array(buf, off, numel));
    case 'int32':
      return Float64Array.from(new Int32Array(buf, off, numel));
    case 'uint32':
      return Float64Array.from(new Uint32Array(buf, off, numel));
    case 'int64': {
      const v = new BigInt64Array(buf, off, numel);
      const out = new Float64Array(numel);
      for (let i = 0; i < numel; i++) out[i] = Number(v[i]);
      return out;
    }
    case 'uint64': {
      const v = new BigUint64Array(buf, off, numel);
      const out = new Float64Array(numel);
      for (let i = 0; i < numel; i++) out[i] = Number(v[i]);
      return out;
    }
  }
}

function copyAligned(bytes: Uint8Array, n: number): Uint8Array {
  const c = new Uint8Array(n);
  c.set(bytes.subarray(0, n));
  return c;
}

function byteSwapped(bytes: Uint8Array, size: number, numel: number): Uint8Array {
  const out = new Uint8Array(numel * size);
  for (let i = 0; i < numel; i++) {
    const base = i * size;
    for (let k = 0; k < size; k++) out[base + k] = bytes[base + size - 1 - k];
  }
  return out;
}

/** Throws a user-facing error for a dtype string a reader does not know. */
export function unsupportedDtype(file: string, format: string, dtype: string, tensor: string): CheckpointError {
  return new CheckpointError('unsupported', file, format, `tensor "${tensor}" has unsupported dtype ${dtype}`);
}
