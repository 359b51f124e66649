/** float32/float64 values → the little-endian bytes of a stored dtype (round to nearest even, as numpy and torch do). */

export type FloatDtype = 'float32' | 'float16' | 'bfloat16' | 'float64';
export type IntDtype = 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'bool';
export type WritableDtype = FloatDtype | IntDtype;

export const WRITABLE_BYTES: Readonly<Record<WritableDtype, number>> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  bool: 1,
};

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary32 → binary16 bits, round to nearest even; overflow → ±Inf, NaN kept quiet (numpy float16 cast). */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // may carry into the exponent, up to Inf: correct
  return sign | h;
}

/** binary32 → bfloat16 bits: the upper half, rounded to nearest even (torch .to(bfloat16)). */
export function floatToBfloat16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encodes `values` as `dtype` into `out` (reused when large enough and 8-byte aligned); returns the written view. */
export function encodeValues(values: ArrayLike<number>, dtype: WritableDtype, out?: Buffer): Buffer {
  const n = values.length;
  const bytes = n * WRITABLE_BYTES[dtype];
  const buf = out && out.length >= bytes && out.byteOffset % 8 === 0 ? out.subarray(0, bytes) : Buffer.from(new ArrayBuffer(Math.max(8, bytes)), 0, bytes);
  if (LITTLE_ENDIAN && dtype === 'float32') {
    new Float32Array(buf.buffer, buf.byteOffset, n).set(values);
    return buf;
  }
  if (LITTLE_ENDIAN && dtype === 'float64') {
    new Float64Array(buf.buffer, buf.byteOffset, n).set(values);
    return buf;
  }
  if (LITTLE_ENDIAN && (dtype === 'float16' || dtype === 'bfloat16')) {
    const h = new Uint16Array(buf.buffer, buf.byteOffset, n);
    const conv = dtype === 'float16' ? floatToHalf : floatToBfloat16;
    for (let i = 0; i < n; i++) h[i] = conv(values[i]);
    return buf;
  }
  switch (dtype) {
    case 'float32':
      for (let i = 0; i < n; i++) buf.writeFloatLE(values[i], i * 4);
      break;
    case 'float64':
      for (let i = 0; i < n; i++) buf.writeDoubleLE(values[i], i * 8);
      break;
    case 'float16':
      for (let i = 0; i < n; i++) buf.writeUInt16LE(floatToHalf(values[i]), i * 2);
      break;
    case 'bfloat16':
      for (let i = 0; i < n; i++) buf.writeUInt16LE(floatToBfloat16(values[i]), i * 2);
      break;
    case 'int8':
      for (let i = 0; i < n; i++) buf.writeInt8(clampInt(values[i], -128, 127), i);
      break;
    case 'uint8':
      for (let i = 0; i < n; i++) buf.writeUInt8(clampInt(values[i], 0, 255), i);
      break;
    case 'bool':
      for (let i = 0; i < n; i++) buf.writeUInt8(values[i] ? 1 : 0, i);
      break;
    case 'int16':
      for (let i = 0; i < n; i++) buf.writeInt16LE(clampInt(values[i], -32768, 32767), i * 2);
      break;
    case 'int32':
      for (let i = 0; i < n; i++) buf.writeInt32LE(clampInt(values[i], -(2 ** 31), 2 ** 31 - 1), i * 4);
      break;
    case 'int64':
      for (let i = 0; i < n; i++) buf.writeBigInt64LE(BigInt(clampInt(values[i], -(2 ** 63), 2 ** 63 - 1024)), i * 8);
      break;
  }
  return buf;
}

function clampInt(v: number, lo: number, hi: number): number {
  if (Number.isNaN(v)) return 0;
  return Math.min(hi, Math.max(lo, Math.round(v)));
}
