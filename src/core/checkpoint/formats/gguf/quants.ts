import { float16Table } from '../../../tensor/dtype';

/**
 * Block dequantizers, one per ggml type, each mirroring ggml's reference `dequantize_row_*`
 * (ggml/src/ggml-quants.c; block layouts from ggml/src/ggml-common.h, QK_K = 256).
 *
 * ggml computes in float32. Every intermediate that C holds in a `float` is rounded with Math.fround
 * here, and the final store into the Float32Array rounds the last operation, so the values are
 * bit-identical to ggml's `to_float` (a single +, - or * of two float32 values done in float64 and
 * then rounded to float32 equals the float32 operation).
 *
 * Each function reads `nBlocks` consecutive blocks from `src` (offset 0) and writes
 * nBlocks × blockSize values to `out`.
 */
export type Dequantizer = (src: Uint8Array, out: Float32Array, nBlocks: number) => void;

const fround = Math.fround;

function half(t: Float32Array, b: Uint8Array, o: number): number {
  return t[b[o] | (b[o + 1] << 8)];
}

function int8(b: number): number {
  return (b << 24) >> 24;
}

function u32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/** Mirrors dequantize_row_q4_0: block_q4_0 { half d; u8 qs[16] }, y = (nibble - 8)·d, low nibbles first. */
export function dequantizeQ4_0(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  const H = float16Table();
  for (let i = 0; i < nBlocks; i++) {
    const o = i * 18;
    const y = i * 32;
    const d = half(H, src, o);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j];
      out[y + j] = ((q & 0x0f) - 8) * d;
      out[y + j + 16] = ((q >> 4) - 8) * d;
    }
  }
}

/** Mirrors dequantize_row_q4_1: block_q4_1 { half d, m; u8 qs[16] }, y = nibble·d + m. */
export function dequantizeQ4_1(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  const H = float16Table();
  for (let i = 0; i < nBlocks; i++) {
    const o = i * 20;
    const y = i * 32;
    const d = half(H, src, o);
    const m = half(H, src, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j];
      out[y + j] = fround((q & 0x0f) * d) + m;
      out[y + j + 16] = fround((q >> 4) * d) + m;
    }
  }
}

/** Mirrors dequantize_row_q5_0: block_q5_0 { half d; u8 qh[4]; u8 qs[16] }, y = (5-bit q - 16)·d. */
export function dequantizeQ5_0(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  const H = float16Table();
  for (let i = 0; i < nBlocks; i++) {
    const o = i * 22;
    const y = i * 32;
    const d = half(H, src, o);
    const qh = u32le(src, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j];
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      out[y + j] = (((q & 0x0f) | h0) - 16) * d;
      out[y + j + 16] = (((q >> 4) | h1) - 16) * d;
    }
  }
}

/** Mirrors dequantize_row_q5_1: block_q5_1 { half d, m; u8 qh[4]; u8 qs[16] }, y = (5-bit q)·d + m. */
export function dequantizeQ5_1(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  const H = float16Table();
  for (let i = 0; i < nBlocks; i++) {
    const o = i * 24;
    const y = i * 32;
    const d = half(H, src, o);
    const m = half(H, src, o + 2);
    const qh = u32le(src, o + 4);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j];
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      out[y + j] = fround(((q & 0x0f) | h0) * d) + m;
      out[y + j + 16] = fround(((q >> 4) | h1) * d) + m;
    }
  }
}

/** Mirrors dequantize_row_q8_0: block_q8_0 { half d; i8 qs[32] }, y = q·d. */
export function dequantizeQ8_0(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  const H = float16Table();
  for (let i = 0; i < nBlocks; i++) {
    const o = i * 34;
    const y = i * 32;
    const d = half(H, src, o);
    for (let j = 0; j < 32; j++) out[y + j] = int8(src[o + 2 + j]) * d;
  }
}

/** Mirrors dequantize_row_q2_K: block_q2_K { u8 scales[16]; u8 qs[64]; half d, dmin }, y = d·sc·q - dmin·m. */
export function dequantizeQ2_K(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  const H = float16Table();
  let y = 0;
  for (let i = 0; i < nBlocks; i++) {
    const o = i * 84;
    const d = half(H, src, o + 80);
    const min = half(H, src, o + 82);
    let q = o + 16;
    let is = 0;
    for (let n = 0; n < 256; n += 128) {
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half16 = 0; half16 < 32; half16 += 16) {
          const sc = src[o + is++];
          const dl = fround(d * (sc & 0x0f));
          const ml = fround(min * (sc >> 4));
          for (let l = 0; l < 16; l++) out[y++] = fround(dl * ((src[q + half16 + l] >> shift) & 3)) - ml;
        }
      }
      q += 32;
    }
  }
}

/**
 * Mirrors dequantize_row_q3_K: block_q3_K { u8 hmask[32]; u8 qs[64]; u8 scales[12]; half d },
 * y = d·(s - 32)·(2-bit q - (high bit ? 0 : 4)). ggml unpacks the 16 6-bit scales with 32-bit masks
 * (kmask1/kmask2); scale j here is the same bits: low 4 from byte j (j < 8) or the high nibble of
 * byte j-8, high 2 from byte 8 + j%4 at bit 2·(j/4).
 */
export function dequantizeQ3_K(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  const H = float16Table();
  const scales = new Int8Array(16);
  let y = 0;
  for (let i = 0; i < nBlocks; i++) {
    const o = i * 110;
    const dAll = half(H, src, o + 108);
    const sb = o + 96;
    for (let j = 0; j < 16; j++) {
      const low = j < 8 ? src[sb + j] & 0x0f : src[sb + j - 8] >> 4;
      const high = (src[sb + 8 + (j % 4)] >> (2 * (j >> 2))) & 3;
      scales[j] = (low | (high << 4)) - 32;
    }
    let q = o + 32;
    let is = 0;
    let m = 1;
    for (let n = 0; n < 256; n += 128) {
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half16 = 0; half16 < 32; half16 += 16) {
          const dl = fround(dAll * scales[is++]);
          for (let l = 0; l < 16; l++) {
            const k = half16 + l;
            out[y++] = dl * (((src[q + k] >> shift) & 3) - (src[o + k] & m ? 0 : 4));
          }
        }
        m <<= 1;
      }
      q += 32;
    }
  }
}

/** Mirrors get_scale_min_k4 (ggml-quants.c): 6-bit scale and min j of the 12-byte K-quant scale block at `s`. */
function scaleMinK4(j: number, b: Uint8Array, s: number, into: Uint8Array): void {
  if (j < 4) {
    into[0] = b[s + j] & 63;
    into[1] = b[s + j + 4] & 63;
  } else {
    into[0] = (b[s + j + 4] & 0x0f) | ((b[s + j - 4] >> 6) << 4);
    into[1] = (b[s + j + 4] >> 4) | ((b[s + j] >> 6) << 4);
  }
}

/** Mirrors dequantize_row_q4_K: block_q4_K { half d, dmin; u8 scales[12]; u8 qs[128] }, y = d·sc·q - dmin·m. */
export function dequantizeQ4_K(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  const H = float16Table();
  const sm = new Uint8Array(2);
  let y = 0;
  for (let i = 0; i < nBlocks; i++) {
    const o = i * 144;
    const d = half(H, src, o);
    const min = half(H, src, o + 2);
    let q = o + 16;
    for (let is = 0; is < 8; is += 2) {
      scaleMinK4(is, src, o + 4, sm);
      const d1 = fround(d * sm[0]);
      const m1 = fround(min * sm[1]);
      scaleMinK4(is + 1, src, o + 4, sm);
      const d2 = fround(d * sm[0]);
      const m2 = fround(min * sm[1]);
      for (let l = 0; l < 32; l++) out[y++] = fround(d1 * (src[q + l] & 0x0f)) - m1;
      for (let l = 0; l < 32; l++) out[y++] = fround(d2 * (src[q + l] >> 4)) - m2;
      q += 32;
    }
  }
}

/** Mirrors dequantize_row_q5_K: block_q5_K { half d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }. */
export function dequantizeQ5_K(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  const H = float16Table();
  const sm = new Uint8Array(2);
  let y = 0;
  for (let i = 0; i < nBlocks; i++) {
    const o = i * 176;
    const d = half(H, src, o);
    const min = half(H, src, o + 2);
    const qh = o + 16;
    let ql = o + 48;
    let u1 = 1;
    let u2 = 2;
    for (let is = 0; is < 8; is += 2) {
      scaleMinK4(is, src, o + 4, sm);
      const d1 = fround(d * sm[0]);
      const m1 = fround(min * sm[1]);
      scaleMinK4(is + 1, src, o + 4, sm);
      const d2 = fround(d * sm[0]);
      const m2 = fround(min * sm[1]);
      for (let l = 0; l < 32; l++) out[y++] = fround(d1 * ((src[ql + l] & 0x0f) + (src[qh + l] & u1 ? 16 : 0))) - m1;
      for (let l = 0; l < 32; l++) out[y++] = fround(d2 * ((src[ql + l] >> 4) + (src[qh + l] & u2 ? 16 : 0))) - m2;
      ql += 32;
      u1 <<= 2;
      u2 <<= 2;
    }
  }
}

/** Mirrors dequantize_row_q6_K: block_q6_K { u8 ql[128]; u8 qh[64]; i8 scales[16]; half d }, y = d·sc·(6-bit q - 32). */
export function dequantizeQ6_K(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  const H = float16Table();
  for (let i = 0; i < nBlocks; i++) {
    const o = i * 210;
    const d = half(H, src, o + 208);
    for (let n = 0; n < 2; n++) {
      const ql = o + 64 * n;
      const qh = o + 128 + 32 * n;
      const sc = o + 192 + 8 * n;
      const y = i * 256 + 128 * n;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = src[qh + l];
        const q1 = ((src[ql + l] & 0x0f) | ((h & 3) << 4)) - 32;
        const q2 = ((src[ql + l + 32] & 0x0f) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((src[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((src[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
        out[y + l] = fround(d * int8(src[sc + is])) * q1;
        out[y + l + 32] = fround(d * int8(src[sc + is + 2])) * q2;
        out[y + l + 64] = fround(d * int8(src[sc + is + 4])) * q3;
        out[y + l + 96] = fround(d * int8(src[sc + is + 6])) * q4;
      }
    }
  }
}

/** Mirrors dequantize_row_q8_K: block_q8_K { float d; i8 qs[256]; i16 bsums[16] }, y = d·q. */
export function dequantizeQ8_K(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  for (let i = 0; i < nBlocks; i++) {
    const o = i * 292;
    const y = i * 256;
    const d = view.getFloat32(o, true);
    for (let j = 0; j < 256; j++) out[y + j] = d * int8(src[o + 4 + j]);
  }
}

/** ggml type name → dequantizer, for the block types we decode. */
export const DEQUANTIZERS: Readonly<Record<string, Dequantizer>> = {
  Q4_0: dequantizeQ4_0,
  Q4_1: dequantizeQ4_1,
  Q5_0: dequantizeQ5_0,
  Q5_1: dequantizeQ5_1,
  Q8_0: dequantizeQ8_0,
  Q2_K: dequantizeQ2_K,
  Q3_K: dequantizeQ3_K,
  Q4_K: dequantizeQ4_K,
  Q5_K: dequantizeQ5_K,
  Q6_K: dequantizeQ6_K,
  Q8_K: dequantizeQ8_K,
};
