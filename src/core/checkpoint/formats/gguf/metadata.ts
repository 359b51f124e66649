import { type ErrorFactory, LIMITS } from '../../../errors';
import type { HeaderCursor } from './cursor';

/** enum gguf_type (ggml/include/gguf.h): the value type of a metadata KV pair. */
export const KV = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

const SCALAR_BYTES: Readonly<Record<number, number>> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** Most elements one metadata array may hold (tokenizer vocabularies are ~10^5 to 10^6). */
export const MAX_ARRAY_ELEMENTS = 1 << 24;

/** Fewest bytes one value of `type` takes in the file (a string or array at least its length/count fields). */
export function minEncodedBytes(type: number): number | undefined {
  if (type === KV.STRING) return 8;
  if (type === KV.ARRAY) return 12;
  return SCALAR_BYTES[type];
}

/** A JSON-friendly number: integers past 2^53 and non-finite floats become strings so nothing is rounded or lost. */
function exactInteger(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

function jsonFloat(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

/** Reads one scalar of `type`; the caller has made its bytes available. */
function scalar(c: HeaderCursor, type: number): unknown {
  switch (type) {
    case KV.UINT8:
      return c.u8();
    case KV.INT8:
      return c.i8();
    case KV.UINT16:
      return c.u16();
    case KV.INT16:
      return c.i16();
    case KV.UINT32:
      return c.u32();
    case KV.INT32:
      return c.i32();
    case KV.FLOAT32:
      return jsonFloat(c.f32());
    case KV.BOOL:
      return c.u8() !== 0;
    case KV.UINT64:
      return exactInteger(c.u64());
    case KV.INT64:
      return exactInteger(c.i64());
    case KV.FLOAT64:
      return jsonFloat(c.f64());
  }
  throw new Error(`not a scalar GGUF type ${type}`);
}

/** Reads a GGUF string (u64 length + UTF-8 bytes), checking the length before reading. */
export async function readString(c: HeaderCursor, fail: ErrorFactory, what: string): Promise<string> {
  if (!c.has(8)) await c.need(8, `the length of ${what}`);
  const n = c.u64();
  if (n > BigInt(LIMITS.maxStringBytes)) {
    throw fail('too_large', `${what} claims a length of ${n} bytes, more than we accept (${LIMITS.maxStringBytes})`);
  }
  const len = Number(n);
  if (!c.has(len)) await c.need(len, what);
  return c.utf8(len);
}

/** Reads one metadata value of `type`; arrays may nest up to LIMITS.maxDepth. */
export async function readValue(c: HeaderCursor, fail: ErrorFactory, type: number, what: string, depth = 0): Promise<unknown> {
  if (type === KV.STRING) return readString(c, fail, what);
  if (type === KV.ARRAY) return readArray(c, fail, what, depth + 1);
  const size = SCALAR_BYTES[type];
  if (size === undefined) throw fail('corrupt', `${what} has unknown value type ${type}`);
  await c.need(size, what);
  return scalar(c, type);
}

async function readArray(c: HeaderCursor, fail: ErrorFactory, what: string, depth: number): Promise<unknown[]> {
  if (depth > LIMITS.maxDepth) throw fail('too_deep', `${what} nests arrays more than ${LIMITS.maxDepth} deep`);
  await c.need(12, `the element type and count of ${what}`);
  const type = c.u32();
  const count = c.u64();
  const min = minEncodedBytes(type);
  if (min === undefined) throw fail('corrupt', `${what} is an array of unknown value type ${type}`);
  if (count > BigInt(MAX_ARRAY_ELEMENTS)) {
    throw fail('too_large', `${what} claims ${count} elements, more than we accept (${MAX_ARRAY_ELEMENTS})`);
  }
  if (count * BigInt(min) > BigInt(c.remaining)) {
    throw fail(
      'too_large',
      `${what} claims ${count} elements (at least ${count * BigInt(min)} bytes) but only ${c.remaining} bytes of the file remain`,
    );
  }
  const n = Number(count);
  const out: unknown[] = [];
  const size = SCALAR_BYTES[type];
  if (size !== undefined) {
    // Fixed-size elements: make a run available at once, then read synchronously.
    const run = Math.max(1, Math.floor(65536 / size));
    for (let i = 0; i < n; ) {
      const k = Math.min(run, n - i);
      await c.need(k * size, what);
      for (let j = 0; j < k; j++) out.push(scalar(c, type));
      i += k;
    }
    return out;
  }
  const element = `an element of ${what}`;
  for (let i = 0; i < n; i++) out.push(await readValue(c, fail, type, element, depth));
  return out;
}
