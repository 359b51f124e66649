/**
 * GGUF reader: dequantization of every decoded ggml block type against reference formulas written
 * here independently (element by element, from ggml-quants.c dequantize_row_*), and header edge cases
 * on small files written to the temp folder.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { reader } from '../../src/core/checkpoint/formats/gguf';
import {
  dequantizeQ2_K,
  dequantizeQ3_K,
  dequantizeQ4_0,
  dequantizeQ4_1,
  dequantizeQ4_K,
  dequantizeQ5_0,
  dequantizeQ5_1,
  dequantizeQ5_K,
  dequantizeQ6_K,
  dequantizeQ8_0,
  dequantizeQ8_K,
  type Dequantizer,
} from '../../src/core/checkpoint/formats/gguf/quants';
import { probeFile } from '../../src/core/checkpoint/registry';
import type { Checkpoint } from '../../src/core/checkpoint/types';
import { CheckpointError, LIMITS } from '../../src/core/errors';

const f = Math.fround;

// ---------------------------------------------------------------- bytes and numbers

/** IEEE half → number, written out here so the tests do not lean on the code under test. */
function half(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 31;
  const m = bits & 1023;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}
const h16 = (b: Uint8Array, o: number) => half(b[o] | (b[o + 1] << 8));
const i8 = (v: number) => (v > 127 ? v - 256 : v);

/** Deterministic bytes (xorshift32) so a failure reproduces. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** Random finite half with a moderate exponent (so products stay normal), as two bytes. */
function putHalf(b: Uint8Array, o: number, next: () => number): void {
  const r = next();
  const bits = (r & 0x8000) | ((8 + (r % 14)) << 10) | ((r >>> 16) & 0x3ff);
  b[o] = bits & 0xff;
  b[o + 1] = bits >> 8;
}

function setHalf(b: Uint8Array, o: number, bits: number): void {
  b[o] = bits & 0xff;
  b[o + 1] = bits >> 8;
}

// ---------------------------------------------------------------- reference formulas (one element at a time)

type Ref = (blk: Uint8Array, k: number) => number;
interface QuantCase {
  name: string;
  fn: Dequantizer;
  block: number;
  bytes: number;
  halves: number[];
  ref: Ref;
}

/** get_scale_min_k4 for sub-block j of a 12-byte scales array. */
function scaleMin(s: Uint8Array, j: number): [number, number] {
  if (j < 4) return [s[j] & 63, s[j + 4] & 63];
  return [(s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4)];
}

/** Q3_K scales the way ggml unpacks them: four u32 words with kmask1/kmask2, read back as int8. */
function q3kScales(s: Uint8Array): Int8Array {
  const dv = new DataView(s.buffer, s.byteOffset, 12);
  const a = [dv.getUint32(0, true), dv.getUint32(4, true), dv.getUint32(8, true), 0];
  const k1 = 0x03030303;
  const k2 = 0x0f0f0f0f;
  const tmp = a[2];
  a[2] = (((a[0] >>> 4) & k2) | (((tmp >>> 4) & k1) << 4)) >>> 0;
  a[3] = (((a[1] >>> 4) & k2) | (((tmp >>> 6) & k1) << 4)) >>> 0;
  a[0] = ((a[0] & k2) | (((tmp >>> 0) & k1) << 4)) >>> 0;
  a[1] = ((a[1] & k2) | (((tmp >>> 2) & k1) << 4)) >>> 0;
  return new Int8Array(new Uint32Array(a).buffer);
}

const CASES: QuantCase[] = [
  {
    name: 'Q4_0', fn: dequantizeQ4_0, block: 32, bytes: 18, halves: [0],
    ref: (b, k) => f((((b[2 + (k & 15)] >> (k < 16 ? 0 : 4)) & 15) - 8) * h16(b, 0)),
  },
  {
    name: 'Q4_1', fn: dequantizeQ4_1, block: 32, bytes: 20, halves: [0, 2],
    ref: (b, k) => f(f(((b[4 + (k & 15)] >> (k < 16 ? 0 : 4)) & 15) * h16(b, 0)) + h16(b, 2)),
  },
  {
    name: 'Q5_0', fn: dequantizeQ5_0, block: 32, bytes: 22, halves: [0],
    ref: (b, k) => {
      const qh = new DataView(b.buffer, b.byteOffset + 2, 4).getUint32(0, true);
      const q = ((b[6 + (k & 15)] >> (k < 16 ? 0 : 4)) & 15) | (((qh >>> k) & 1) << 4);
      return f((q - 16) * h16(b, 0));
    },
  },
  {
    name: 'Q5_1', fn: dequantizeQ5_1, block: 32, bytes: 24, halves: [0, 2],
    ref: (b, k) => {
      const qh = new DataView(b.buffer, b.byteOffset + 4, 4).getUint32(0, true);
      const q = ((b[8 + (k & 15)] >> (k < 16 ? 0 : 4)) & 15) | (((qh >>> k) & 1) << 4);
      return f(f(q * h16(b, 0)) + h16(b, 2));
    },
  },
  {
    name: 'Q8_0', fn: dequantizeQ8_0, block: 32, bytes: 34, halves: [0],
    ref: (b, k) => f(i8(b[2 + k]) * h16(b, 0)),
  },
  {
    name: 'Q2_K', fn: dequantizeQ2_K, block: 256, bytes: 84, halves: [80, 82],
    ref: (b, k) => {
      const n = k >> 7, j = (k >> 5) & 3, h = (k >> 4) & 1, l = k & 15;
      const sc = b[n * 8 + j * 2 + h];
      const q = (b[16 + n * 32 + h * 16 + l] >> (2 * j)) & 3;
      return f(f(f(h16(b, 80) * (sc & 15)) * q) - f(h16(b, 82) * (sc >> 4)));
    },
  },
  {
    name: 'Q3_K', fn: dequantizeQ3_K, block: 256, bytes: 110, halves: [108],
    ref: (b, k) => {
      const n = k >> 7, j = (k >> 5) & 3, h = (k >> 4) & 1, l = k & 15;
      const s = q3kScales(b.subarray(96, 108))[n * 8 + j * 2 + h] - 32;
      const low = (b[32 + n * 32 + h * 16 + l] >> (2 * j)) & 3;
      const high = b[h * 16 + l] & (1 << (n * 4 + j)) ? 0 : 4;
      return f(f(h16(b, 108) * s) * (low - high));
    },
  },
  {
    name: 'Q4_K', fn: dequantizeQ4_K, block: 256, bytes: 144, halves: [0, 2],
    ref: (b, k) => {
      const j = k >> 5, l = k & 31;
      const [sc, m] = scaleMin(b.subarray(4, 16), j);
      const q = (b[16 + 32 * (j >> 1) + l] >> (4 * (j & 1))) & 15;
      return f(f(f(h16(b, 0) * sc) * q) - f(h16(b, 2) * m));
    },
  },
  {
    name: 'Q5_K', fn: dequantizeQ5_K, block: 256, bytes: 176, halves: [0, 2],
    ref: (b, k) => {
      const j = k >> 5, l = k & 31;
      const [sc, m] = scaleMin(b.subarray(4, 16), j);
      const q = ((b[48 + 32 * (j >> 1) + l] >> (4 * (j & 1))) & 15) + (b[16 + l] & (1 << j) ? 16 : 0);
      return f(f(f(h16(b, 0) * sc) * q) - f(h16(b, 2) * m));
    },
  },
  {
    name: 'Q6_K', fn: dequantizeQ6_K, block: 256, bytes: 210, halves: [208],
    ref: (b, k) => {
      const n = k >> 7, g = (k >> 5) & 3, l = k & 31;
      const low = (b[64 * n + l + (g & 1 ? 32 : 0)] >> (g < 2 ? 0 : 4)) & 15;
      const high = (b[128 + 32 * n + l] >> (2 * g)) & 3;
      const sc = i8(b[192 + 8 * n + (l >> 4) + 2 * g]);
      return f(f(h16(b, 208) * sc) * ((low | (high << 4)) - 32));
    },
  },
  {
    name: 'Q8_K', fn: dequantizeQ8_K, block: 256, bytes: 292, halves: [],
    ref: (b, k) => f(new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true) * i8(b[4 + k])),
  },
];

/** Random blocks, block scales set to finite halves (Q8_K: a finite float32). */
function randomBlocks(c: QuantCase, nBlocks: number, seed: number): Uint8Array {
  const next = rng(seed);
  const src = new Uint8Array(nBlocks * c.bytes);
  for (let i = 0; i < src.length; i++) src[i] = next() & 0xff;
  for (let i = 0; i < nBlocks; i++) {
    for (const o of c.halves) putHalf(src, i * c.bytes + o, next);
    if (c.name === 'Q8_K') new DataView(src.buffer, i * c.bytes, 4).setFloat32(0, (next() / 2 ** 32 - 0.5) * 0.01, true);
  }
  return src;
}

function expected(c: QuantCase, src: Uint8Array, nBlocks: number): Float32Array {
  const out = new Float32Array(nBlocks * c.block);
  for (let i = 0; i < nBlocks; i++) {
    const blk = src.subarray(i * c.bytes, (i + 1) * c.bytes);
    for (let k = 0; k < c.block; k++) out[i * c.block + k] = c.ref(blk, k);
  }
  return out;
}

function assertBitEqual(actual: Float32Array, want: Float32Array, what: string): void {
  assert.equal(actual.length, want.length, `${what}: length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== w[i]) assert.fail(`${what}: value ${i} is ${actual[i]}, the ggml formula gives ${want[i]}`);
  }
}

describe('gguf dequantization matches the ggml formulas bit for bit', () => {
  for (const c of CASES) {
    it(`${c.name}: 3 random blocks`, () => {
      const src = randomBlocks(c, 3, 0x9e3779b9 ^ c.bytes);
      const out = new Float32Array(3 * c.block);
      c.fn(src, out, 3);
      assertBitEqual(out, expected(c, src, 3), c.name);
    });
  }

  it('Q4_0: a hand-built block', () => {
    const b = new Uint8Array(18);
    setHalf(b, 0, 0x3800); // d = 0.5
    b[2] = 0x3f; // low nibble 15 → element 0, high nibble 3 → element 16
    b[17] = 0x80; // low 0 → element 15, high 8 → element 31
    const out = new Float32Array(32);
    dequantizeQ4_0(b, out, 1);
    assert.equal(out[0], (15 - 8) * 0.5);
    assert.equal(out[16], (3 - 8) * 0.5);
    assert.equal(out[15], (0 - 8) * 0.5);
    assert.equal(out[31], 0);
    assert.equal(out[1], -4); // nibble 0
  });

  it('Q4_1: y = d·q + m rounded in float32 at each step', () => {
    const b = new Uint8Array(20);
    setHalf(b, 0, 0x2e66); // d = 0.0999755859375
    setHalf(b, 2, 0xbc00); // m = -1
    b[4] = 0x07;
    const out = new Float32Array(32);
    dequantizeQ4_1(b, out, 1);
    assert.equal(out[0], f(f(7 * 0.0999755859375) - 1));
    assert.equal(out[16], -1);
  });

  it('Q5_0 / Q5_1: the fifth bit comes from qh bit k', () => {
    const b = new Uint8Array(22);
    setHalf(b, 0, 0x3c00); // d = 1
    b[2 + 2] = 0x01; // qh bit 16 → element 16
    b[6] = 0x00;
    const out = new Float32Array(32);
    dequantizeQ5_0(b, out, 1);
    assert.equal(out[0], -16);
    assert.equal(out[16], 16 - 16);
    const c = new Uint8Array(24);
    setHalf(c, 0, 0x4000); // d = 2
    setHalf(c, 2, 0x3800); // m = 0.5
    c[4] = 0x01; // qh bit 0 → element 0
    c[8] = 0x0f;
    const out1 = new Float32Array(32);
    dequantizeQ5_1(c, out1, 1);
    assert.equal(out1[0], 31 * 2 + 0.5);
    assert.equal(out1[16], 0.5);
  });

  it('Q8_0 and Q8_K: signed quants times the block scale', () => {
    const b = new Uint8Array(34);
    setHalf(b, 0, 0x3400); // d = 0.25
    b[2] = 0x80; // -128
    b[33] = 0x7f;
    const out = new Float32Array(32);
    dequantizeQ8_0(b, out, 1);
    assert.equal(out[0], -32);
    assert.equal(out[31], 31.75);
    const k = new Uint8Array(292);
    new DataView(k.buffer).setFloat32(0, 0.1, true);
    k[4] = 0xff; // -1
    k[4 + 255] = 3;
    const outK = new Float32Array(256);
    dequantizeQ8_K(k, outK, 1);
    assert.equal(outK[0], -f(0.1));
    assert.equal(outK[255], f(3 * f(0.1)));
  });

  it('Q6_K: a hand-built block', () => {
    const b = new Uint8Array(210);
    setHalf(b, 208, 0x3c00); // d = 1
    b[192] = 2; // scale of elements 0..15
    b[192 + 6] = 0xff; // scale -1 of elements 96..111
    b[0] = 0xf5; // element 0 low bits 5, element 64 low bits 15
    b[32] = 0x09; // element 32 low bits 9
    b[128] = 0b11_00_10_01; // element 0 high 1, 32 high 2, 64 high 0, 96 high 3
    const out = new Float32Array(256);
    dequantizeQ6_K(b, out, 1);
    assert.equal(out[0], 2 * ((5 | (1 << 4)) - 32));
    assert.equal(out[96], -1 * ((0 | (3 << 4)) - 32));
    assert.equal(out[64], -0); // scale b[196] = 0 times q = 15 - 32: a negative zero, as in C
  });

  it('Q4_K: scales and mins of sub-blocks 0 and 4 (6-bit packing)', () => {
    const b = new Uint8Array(144);
    setHalf(b, 0, 0x3c00); // d = 1
    setHalf(b, 2, 0x3800); // dmin = 0.5
    b[4 + 0] = 3 | (1 << 6); // sc0 = 3; top bits of sc4 = 1
    b[4 + 4] = 2 | (2 << 6); // m0 = 2; top bits of m4 = 2
    b[4 + 8] = 0x21; // sc4 low 1, m4 low 2
    b[16] = 0x0a; // element 0: q = 10; element 32: q = 0
    b[16 + 64] = 0x07; // element 128 (sub-block 4): q = 7
    const out = new Float32Array(256);
    dequantizeQ4_K(b, out, 1);
    assert.equal(out[0], 3 * 10 - 0.5 * 2);
    assert.equal(out[128], (1 | (1 << 4)) * 7 - 0.5 * (2 | (2 << 4)));
  });

  it('Q2_K, Q3_K, Q5_K: first element of a hand-built block', () => {
    const b2 = new Uint8Array(84);
    b2[0] = 0x35; // scale 5, min 3
    b2[16] = 0x02; // q = 2
    setHalf(b2, 80, 0x3c00);
    setHalf(b2, 82, 0x3800);
    const o2 = new Float32Array(256);
    dequantizeQ2_K(b2, o2, 1);
    assert.equal(o2[0], 5 * 2 - 0.5 * 3);

    const b3 = new Uint8Array(110);
    b3[96] = 0x05; // scale 0 low bits 5, high bits 0 → 5 - 32
    b3[32] = 0x03; // q = 3
    b3[0] = 0x01; // high bit set: no -4
    setHalf(b3, 108, 0x3800);
    const o3 = new Float32Array(256);
    dequantizeQ3_K(b3, o3, 1);
    assert.equal(o3[0], 0.5 * (5 - 32) * 3);

    const b5 = new Uint8Array(176);
    setHalf(b5, 0, 0x3c00);
    setHalf(b5, 2, 0x3c00);
    b5[4] = 4; // sc0 = 4
    b5[8] = 1; // m0 = 1
    b5[16] = 1; // high bit of element 0
    b5[48] = 0x02;
    const o5 = new Float32Array(256);
    dequantizeQ5_K(b5, o5, 1);
    assert.equal(o5[0], 4 * (2 + 16) - 1);
  });
});

// ---------------------------------------------------------------- a small GGUF writer

const T = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STR: 8, ARR: 9, U64: 10, I64: 11, F64: 12 };

const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const u64 = (v: number | bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};
const str = (s: string) => {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([u64(bytes.length), bytes]);
};
const kv = (key: string, type: number, payload: Buffer) => Buffer.concat([str(key), u32(type), payload]);

interface TensorSpec {
  name: string;
  ne: (number | bigint)[];
  type: number;
  data: Buffer;
  /** Relative data offset; by default the next aligned position. */
  offset?: number | bigint;
}

function gguf(opts: { kvs?: Buffer[]; tensors?: TensorSpec[]; version?: number; alignment?: number; tensorCount?: bigint; kvCount?: bigint }): Buffer {
  const kvs = opts.kvs ?? [];
  const tensors = opts.tensors ?? [];
  const align = opts.alignment ?? 32;
  const infos: Buffer[] = [];
  const data: Buffer[] = [];
  let cursor = 0;
  for (const t of tensors) {
    const offset = t.offset ?? cursor;
    infos.push(Buffer.concat([str(t.name), u32(t.ne.length), ...t.ne.map(u64), u32(t.type), u64(offset)]));
    if (t.offset === undefined) {
      data.push(t.data);
      const pad = (align - (t.data.length % align)) % align;
      data.push(Buffer.alloc(pad));
      cursor += t.data.length + pad;
    }
  }
  const head = Buffer.concat([
    Buffer.from('GGUF'),
    u32(opts.version ?? 3),
    u64(opts.tensorCount ?? BigInt(tensors.length)),
    u64(opts.kvCount ?? BigInt(kvs.length)),
    ...kvs,
    ...infos,
  ]);
  const pad = tensors.length ? (align - (head.length % align)) % align : 0;
  return Buffer.concat([head, Buffer.alloc(pad), ...data]);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-gguf-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

function write(bytes: Buffer): string {
  const p = path.join(dir, `t${fileNo++}.gguf`);
  fs.writeFileSync(p, bytes);
  return p;
}

async function open(bytes: Buffer): Promise<Checkpoint> {
  const p = write(bytes);
  return reader.open(p, await probeFile(p));
}

async function rejectsWith(work: Promise<unknown>, kind: string, text?: RegExp): Promise<void> {
  await assert.rejects(work, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${e}`);
    assert.equal(e.kind, kind, `kind (message: ${e.message})`);
    if (text) assert.match(e.message, text);
    return true;
  });
}

async function openAndRead(bytes: Buffer): Promise<void> {
  const ck = await open(bytes);
  try {
    for (const t of ck.tensors) await ck.read(t.name);
  } finally {
    await ck.close();
  }
}

const f32data = (values: number[]) => Buffer.from(new Float32Array(values).buffer);

// ---------------------------------------------------------------- reader

describe('gguf reader', () => {
  it('matches by magic, and by extension only weakly', async () => {
    const p = write(gguf({}));
    assert.equal(reader.match(await probeFile(p)), 2);
    assert.equal(reader.match({ path: 'x.gguf', size: 3, head: Buffer.from('abc') }), 1);
    assert.equal(reader.match({ path: 'x.bin', size: 3, head: Buffer.from('abc') }), 0);
  });

  it('reads every block type through a file: reversed ne, dtype names, stored bytes', async () => {
    const ids: Record<string, number> = { Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q2_K: 10, Q3_K: 11, Q4_K: 12, Q5_K: 13, Q6_K: 14, Q8_K: 15 };
    const specs = CASES.map((c, i) => {
      const rows = 2;
      const nb = (c.block === 32 ? 16 : 2) * rows; // ne[0] = 512 values per row
      const src = randomBlocks(c, nb, 1234 + i);
      return { c, src, nb, spec: { name: `w.${c.name}`, ne: [512, rows], type: ids[c.name], data: Buffer.from(src) } };
    });
    const ck = await open(gguf({ tensors: specs.map((s) => s.spec), alignment: 32 }));
    try {
      for (const { c, src, nb, spec } of specs) {
        const info = ck.tensors.find((t) => t.name === spec.name)!;
        assert.deepEqual(info.shape, [2, 512]);
        assert.equal(info.dtype, c.name.toLowerCase());
        assert.equal(info.storedDtype, c.name);
        assert.equal(info.bytes, nb * c.bytes);
        const values = await ck.read(spec.name);
        assert.ok(values instanceof Float32Array);
        assertBitEqual(values, expected(c, src, nb), c.name);
      }
    } finally {
      await ck.close();
    }
  });

  it('reads the plain types F16, BF16, F64, I8, I16, I32, I64', async () => {
    const tensors: TensorSpec[] = [
      { name: 'f16', ne: [3], type: 1, data: Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x0001]).buffer) },
      { name: 'bf16', ne: [2], type: 30, data: Buffer.from(new Uint16Array([0x3f80, 0xc0a0]).buffer) },
      { name: 'f64', ne: [2], type: 28, data: Buffer.from(new Float64Array([0.1, -1e300]).buffer) },
      { name: 'i8', ne: [2], type: 24, data: Buffer.from(new Int8Array([-128, 127]).buffer) },
      { name: 'i16', ne: [2], type: 25, data: Buffer.from(new Int16Array([-32768, 5]).buffer) },
      { name: 'i32', ne: [2, 1], type: 26, data: Buffer.from(new Int32Array([-2147483648, 7]).buffer) },
      { name: 'i64', ne: [1], type: 27, data: Buffer.from(new BigInt64Array([-(2n ** 53n)]).buffer) },
    ];
    const ck = await open(gguf({ tensors }));
    try {
      const get = async (n: string) => [...(await ck.read(n))];
      assert.deepEqual(await get('f16'), [1, -2, 2 ** -24]);
      assert.deepEqual(await get('bf16'), [1, -5]);
      assert.deepEqual(await get('f64'), [0.1, -1e300]);
      assert.deepEqual(await get('i8'), [-128, 127]);
      assert.deepEqual(await get('i16'), [-32768, 5]);
      assert.deepEqual(await get('i32'), [-2147483648, 7]);
      assert.deepEqual(await get('i64'), [-(2 ** 53)]);
      const dtypes = Object.fromEntries(ck.tensors.map((t) => [t.name, [t.dtype, t.storedDtype]]));
      assert.deepEqual(dtypes.bf16, ['bfloat16', 'BF16']);
      assert.deepEqual(dtypes.i64, ['int64', 'I64']);
      assert.deepEqual(ck.tensors.find((t) => t.name === 'i32')!.shape, [1, 2]);
      assert.ok((await ck.read('f64')) instanceof Float64Array);
    } finally {
      await ck.close();
    }
  });

  it('keeps metadata of every type JSON-friendly and exact (u64 2^64-1, i64, nested arrays)', async () => {
    const f32 = Buffer.alloc(4);
    f32.writeFloatLE(0.1);
    const f64 = Buffer.alloc(8);
    f64.writeDoubleLE(-2.5);
    const nan = Buffer.alloc(4);
    nan.writeFloatLE(NaN);
    const i64 = Buffer.alloc(8);
    i64.writeBigInt64LE(-(2n ** 63n));
    const small64 = Buffer.alloc(8);
    small64.writeBigInt64LE(-5n);
    const nested = Buffer.concat([
      u32(T.ARR), u64(2),
      u32(T.U64), u64(2), u64(2n ** 64n - 1n), u64(42),
      u32(T.STR), u64(1), str('ü'),
    ]);
    const kvs = [
      kv('u8', T.U8, Buffer.from([255])),
      kv('i8', T.I8, Buffer.from([0x80])),
      kv('u16', T.U16, Buffer.from([0xff, 0xff])),
      kv('i16', T.I16, Buffer.from([0x00, 0x80])),
      kv('u32', T.U32, u32(4294967295)),
      kv('i32', T.I32, Buffer.from([0, 0, 0, 0x80])),
      kv('f32', T.F32, f32),
      kv('f32.nan', T.F32, nan),
      kv('bool', T.BOOL, Buffer.from([1])),
      kv('str', T.STR, str('héllo')),
      kv('u64.max', T.U64, u64(2n ** 64n - 1n)),
      kv('u64.small', T.U64, u64(2n ** 53n - 1n)),
      kv('i64.min', T.I64, i64),
      kv('i64.small', T.I64, small64),
      kv('f64', T.F64, f64),
      kv('nested', T.ARR, nested),
      kv('__proto__', T.U8, Buffer.from([1])),
    ];
    const ck = await open(gguf({ kvs }));
    try {
      const m = ck.metadata;
      assert.equal(m['u64.max'], '18446744073709551615');
      assert.equal(m['u64.small'], 2 ** 53 - 1);
      assert.equal(m['i64.min'], '-9223372036854775808');
      assert.equal(m['i64.small'], -5);
      assert.deepEqual(
        [m.u8, m.i8, m.u16, m.i16, m.u32, m.i32, m.f32, m.bool, m.str, m.f64],
        [255, -128, 65535, -32768, 4294967295, -2147483648, f(0.1), true, 'héllo', -2.5],
      );
      assert.equal(m['f32.nan'], 'NaN');
      assert.deepEqual(m.nested, [['18446744073709551615', 42], ['ü']]);
      assert.ok(Object.prototype.hasOwnProperty.call(m, '__proto__'));
      assert.equal(Object.getPrototypeOf(m), Object.prototype);
      assert.deepEqual(JSON.parse(JSON.stringify(m)).nested, [['18446744073709551615', 42], ['ü']]);
    } finally {
      await ck.close();
    }
  });

  it('honours general.alignment for the data section and offsets', async () => {
    const kvs = [kv('general.alignment', T.U32, u32(64))];
    const tensors = [
      { name: 'a', ne: [3], type: 0, data: f32data([1, 2, 3]) },
      { name: 'b', ne: [2], type: 0, data: f32data([4, 5]) },
    ];
    const ck = await open(gguf({ kvs, tensors, alignment: 64 }));
    try {
      assert.equal(ck.tensors[0].offset! % 64, 0);
      assert.equal(ck.tensors[1].offset! - ck.tensors[0].offset!, 64);
      assert.deepEqual([...(await ck.read('b'))], [4, 5]);
    } finally {
      await ck.close();
    }
  });

  it('lists a tensor of a type we do not decode, and refuses to read it naming the type', async () => {
    const ck = await open(gguf({
      tensors: [
        { name: 'iq', ne: [256], type: 16, data: Buffer.alloc(66) },
        { name: 'ok', ne: [1], type: 0, data: f32data([1]) },
      ],
    }));
    try {
      const info = ck.tensors.find((t) => t.name === 'iq')!;
      assert.equal(info.dtype, 'iq2_xxs');
      assert.equal(info.bytes, 66);
      await rejectsWith(ck.read('iq'), 'unsupported', /tensor "iq" uses GGUF type IQ2_XXS \(16\), which we do not decode/);
      assert.deepEqual([...(await ck.read('ok'))], [1]);
    } finally {
      await ck.close();
    }
  });

  it('refuses a type id it cannot lay out', async () => {
    await rejectsWith(open(gguf({ tensors: [{ name: 'x', ne: [32], type: 99, data: Buffer.alloc(32) }] })), 'unsupported', /id 99/);
    await rejectsWith(open(gguf({ tensors: [{ name: 'x', ne: [32], type: 4, data: Buffer.alloc(32) }] })), 'unsupported', /Q4_2/);
  });

  it('refuses GGUF v1 and big-endian files as unsupported', async () => {
    await rejectsWith(open(gguf({ version: 1 })), 'unsupported', /version 1/);
    await rejectsWith(open(gguf({ version: 0x03000000 })), 'unsupported', /big-endian/);
    await rejectsWith(open(gguf({ version: 4 })), 'unsupported', /version 4/);
  });

  it('accepts GGUF v2', async () => {
    const ck = await open(gguf({ version: 2, tensors: [{ name: 'a', ne: [1], type: 0, data: f32data([7]) }] }));
    assert.deepEqual([...(await ck.read('a'))], [7]);
    await ck.close();
  });

  it('refuses a file cut inside the tensor-info section as truncated', async () => {
    const kvs = [kv('general.name', T.STR, str('x'.repeat(200)))];
    const full = gguf({ kvs, tensors: [
      { name: 'a', ne: [4, 4], type: 0, data: f32data(new Array(16).fill(0)) },
      { name: 'b', ne: [4], type: 0, data: f32data([0, 0, 0, 0]) },
    ] });
    const infoStart = 24 + kvs[0].length;
    await rejectsWith(open(full.subarray(0, infoStart + 30)), 'truncated', /tensor "a"/);
    await rejectsWith(open(full.subarray(0, infoStart + 10)), 'truncated');
  });

  it('refuses a tensor whose data lies past the end of the file', async () => {
    const full = gguf({ tensors: [{ name: 'w', ne: [64], type: 0, data: f32data(new Array(64).fill(1)) }] });
    await rejectsWith(open(full.subarray(0, full.length - 4)), 'truncated', /tensor "w"/);
    const far = gguf({ tensors: [
      { name: 'a', ne: [1], type: 0, data: f32data([1]) },
      { name: 'w', ne: [8], type: 0, data: Buffer.alloc(0), offset: 1024 },
    ] });
    await rejectsWith(open(far), 'truncated', /tensor "w"/);
  });

  it('refuses a metadata array with a huge count before allocating', async () => {
    const huge = kv('tokens', T.ARR, Buffer.concat([u32(T.STR), u64(2n ** 40n), str('a')]));
    await rejectsWith(open(gguf({ kvs: [huge] })), 'too_large', /tokens/);
    // below our element limit, but more than the file could hold
    const big = kv('scores', T.ARR, Buffer.concat([u32(T.F32), u64(1_000_000), Buffer.alloc(16)]));
    await rejectsWith(open(gguf({ kvs: [big] })), 'too_large', /scores/);
  });

  it('refuses counts the file cannot hold, and strings over the limit, as too_large', async () => {
    await rejectsWith(open(gguf({ tensorCount: 1000n })), 'too_large', /1000 tensors/);
    await rejectsWith(open(gguf({ kvCount: 2n ** 63n })), 'too_large');
    const longStr = kv('s', T.STR, u64(LIMITS.maxStringBytes + 1));
    await rejectsWith(open(gguf({ kvs: [longStr] })), 'too_large');
  });

  it('refuses arrays nested past the depth limit as too_deep', async () => {
    let payload = Buffer.concat([u32(T.U8), u64(0)]);
    for (let i = 0; i < LIMITS.maxDepth + 1; i++) payload = Buffer.concat([u32(T.ARR), u64(1), payload]);
    await rejectsWith(open(gguf({ kvs: [kv('deep', T.ARR, payload)] })), 'too_deep');
  });

  it('refuses rows that are not whole blocks, misaligned or overlapping offsets, bad alignment, duplicate keys', async () => {
    await rejectsWith(open(gguf({ tensors: [{ name: 'q', ne: [48, 2], type: 8, data: Buffer.alloc(34 * 3) }] })), 'corrupt', /block size 32/);
    const two = (offB: number) => gguf({ tensors: [
      { name: 'a', ne: [16], type: 0, data: f32data(new Array(16).fill(0)) },
      { name: 'c', ne: [16], type: 0, data: f32data(new Array(16).fill(0)) },
      { name: 'b', ne: [16], type: 0, data: Buffer.alloc(0), offset: offB },
    ] });
    await rejectsWith(open(two(8)), 'invalid_offsets', /alignment/);
    await rejectsWith(open(two(32)), 'invalid_offsets', /overlaps/);
    await rejectsWith(open(gguf({ kvs: [kv('general.alignment', T.U32, u32(48))] })), 'corrupt', /power of two/);
    await rejectsWith(open(gguf({ kvs: [kv('k', T.U8, Buffer.from([1])), kv('k', T.U8, Buffer.from([2]))] })), 'corrupt', /twice/);
    await rejectsWith(open(gguf({ kvs: [kv('k', 13, Buffer.from([1]))] })), 'corrupt', /unknown value type 13/);
  });

  it('reads 0-d and empty tensors', async () => {
    const ck = await open(gguf({ tensors: [
      { name: 'scalar', ne: [], type: 0, data: f32data([3]) },
      { name: 'empty', ne: [0, 4], type: 2, data: Buffer.alloc(0) },
    ] }));
    try {
      assert.deepEqual(ck.tensors[0].shape, []);
      assert.deepEqual([...(await ck.read('scalar'))], [3]);
      assert.equal((await ck.read('empty')).length, 0);
    } finally {
      await ck.close();
    }
  });

  it('refuses shapes whose element count cannot be exact, at open', async () => {
    await rejectsWith(open(gguf({ tensors: [{ name: 'big', ne: [2n ** 27n, 2n ** 27n], type: 24, data: Buffer.alloc(0) }] })), 'too_large');
    await rejectsWith(open(gguf({ tensors: [{ name: 'big', ne: [2n ** 60n], type: 24, data: Buffer.alloc(0) }] })), 'too_large');
  });

  it('lists a tensor larger than we decode at once, and refuses it only when read', async () => {
    const n = LIMITS.maxTensorElements + 1;
    const head = gguf({ tensors: [
      { name: 'small', ne: [1], type: 0, data: f32data([2]) },
      { name: 'huge', ne: [n], type: 24, data: Buffer.alloc(0), offset: 32 },
    ] });
    const p = write(head);
    fs.truncateSync(p, head.length + n); // sparse: the data section is never read
    const ck = await reader.open(p, await probeFile(p));
    try {
      assert.equal(ck.tensors.find((t) => t.name === 'huge')!.numel, n);
      assert.deepEqual([...(await ck.read('small'))], [2]);
      await rejectsWith(ck.read('huge'), 'too_large', /huge/);
    } finally {
      await ck.close();
    }
  });
});
