import * as fs from 'node:fs';
import { type ErrorFactory, LIMITS } from '../../../errors';

/** Protobuf wire types (protobuf.dev/programming-guides/encoding). Groups (3, 4) do not occur in ONNX. */
export const WIRE = { varint: 0, i64: 1, len: 2, i32: 5 } as const;

/** One decoded varint as two unsigned 32-bit halves; next = position after it, -1 if the input ends inside it, -2 if longer than 10 bytes. */
export interface Varint {
  lo: number;
  hi: number;
  next: number;
}

/** Decodes the varint at `pos` of `buf`, reading no byte at or past `limit` (the LongBits scheme of protobufjs). */
export function decodeVarint(buf: Uint8Array, pos: number, limit: number, out: Varint): void {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < 4; i++) {
    if (pos >= limit) return void (out.next = -1);
    const b = buf[pos++];
    lo |= (b & 0x7f) << (7 * i);
    if (b < 0x80) return setVarint(out, lo, 0, pos);
  }
  if (pos >= limit) return void (out.next = -1);
  const b4 = buf[pos++];
  lo |= (b4 & 0x0f) << 28;
  hi = (b4 & 0x7f) >> 4;
  if (b4 < 0x80) return setVarint(out, lo, hi, pos);
  for (let i = 0; i < 5; i++) {
    if (pos >= limit) return void (out.next = -1);
    const b = buf[pos++];
    hi |= (b & 0x7f) << (7 * i + 3);
    if (b < 0x80) return setVarint(out, lo, hi, pos);
  }
  out.next = -2;
}

function setVarint(out: Varint, lo: number, hi: number, next: number): void {
  out.lo = lo >>> 0;
  out.hi = hi >>> 0;
  out.next = next;
}

/** The varint as an unsigned 64-bit integer; exact up to 2^53, approximate (but ≥ 2^53) beyond. */
export function asUint(v: Varint): number {
  return v.hi * 2 ** 32 + v.lo;
}

/** The varint as a two's-complement int64 (dims, enums, int fields); sign exact, magnitude approximate past 2^53. */
export function asInt64(v: Varint): number {
  if (!(v.hi & 0x80000000)) return asUint(v);
  const lo = (~v.lo >>> 0) + 1;
  const hi = (~v.hi >>> 0) + (lo > 0xffffffff ? 1 : 0);
  return -((hi >>> 0) * 2 ** 32 + (lo >>> 0));
}

/**
 * A forward cursor over the protobuf messages of a file, read through a small window by positional reads.
 * Length-delimited payloads are skipped by moving the position, so tensor data is never read while walking.
 * Synchronous (fs.readSync): a model's structure is many tiny fields, and a promise per field costs more than the reads.
 */
export class WireReader {
  pos = 0;
  readonly v: Varint = { lo: 0, hi: 0, next: 0 };
  private readonly window: Buffer;
  private filled = 0;
  private base = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly fail: ErrorFactory,
    private readonly windowBytes = 64 * 1024,
  ) {
    this.window = Buffer.allocUnsafe(windowBytes);
  }

  /** Makes [pos, pos + n) readable from the window (n ≤ the window size, pos + n ≤ the file size). */
  private need(n: number): void {
    const off = this.pos - this.base;
    if (off >= 0 && off + n <= this.filled) return;
    const len = Math.min(this.windowBytes, this.size - this.pos);
    this.base = this.pos;
    this.filled = 0;
    this.readFully(this.window.subarray(0, len), this.pos);
    this.filled = len;
  }

  private readFully(target: Buffer, position: number): void {
    let done = 0;
    while (done < target.length) {
      const n = fs.readSync(this.fd, target, done, target.length - done, position + done);
      if (n === 0) throw this.fail('truncated', `the file ended at byte ${position + done} while reading (changed while open?)`);
      done += n;
    }
  }

  /** The error for a value at `pos` that needs bytes up to `wanted` but its message ends at `end`. */
  private overrun(wanted: number, end: number, what: string): Error {
    return wanted > this.size
      ? this.fail('truncated', `the file ends (at ${this.size} bytes) inside ${what} at byte ${this.pos}`)
      : this.fail('corrupt', `${what} at byte ${this.pos} runs past the end of its enclosing message (byte ${end})`);
  }

  /** Reads a varint into `this.v`. */
  varint(end: number, what: string): Varint {
    this.need(Math.min(10, Math.max(0, this.size - this.pos)));
    const limit = Math.min(end, this.base + this.filled) - this.base;
    decodeVarint(this.window, this.pos - this.base, limit, this.v);
    if (this.v.next === -1) throw this.overrun(end >= this.size ? this.size + 1 : end + 1, end, what);
    if (this.v.next === -2) throw this.fail('corrupt', `${what} at byte ${this.pos} is not a valid varint (longer than 10 bytes)`);
    this.pos = this.base + this.v.next;
    return this.v;
  }

  /** An unsigned varint that must be a safe integer (lengths, tags, offsets). */
  uint(end: number, what: string): number {
    const n = asUint(this.varint(end, what));
    if (!Number.isSafeInteger(n)) throw this.fail('corrupt', `${what} at byte ${this.pos} is an implausibly large number`);
    return n;
  }

  int64(end: number, what: string): number {
    return asInt64(this.varint(end, what));
  }

  /** Reads a field key: field number × 8 + wire type (use fieldNo / wireType). */
  key(end: number): number {
    const at = this.pos;
    const key = this.uint(end, 'a field key');
    const wire = key & 7;
    if (key < 8 || key >= 2 ** 32 || (wire !== WIRE.varint && wire !== WIRE.i64 && wire !== WIRE.len && wire !== WIRE.i32)) {
      throw this.fail('corrupt', `invalid protobuf field key ${key} at byte ${at} (not an ONNX model, or damaged)`);
    }
    return key;
  }

  /** Reads the length of a length-delimited field and returns where its payload ends; `pos` is then at the payload. */
  payload(end: number, what: string): number {
    const len = this.uint(end, `the length of ${what}`);
    const payloadEnd = this.pos + len;
    if (payloadEnd > end) {
      throw payloadEnd > this.size
        ? this.fail('truncated', `${what} at byte ${this.pos} is ${len} bytes long but the file ends at ${this.size} (file cut short?)`)
        : this.fail('corrupt', `${what} at byte ${this.pos} (${len} bytes) runs past the end of its enclosing message (byte ${end})`);
    }
    return payloadEnd;
  }

  /** Skips a fixed-width value of `width` bytes. */
  skipFixed(width: number, end: number, what: string): void {
    if (this.pos + width > end) throw this.overrun(this.pos + width, end, what);
    this.pos += width;
  }

  /** Skips the value of a field we do not need. */
  skip(wire: number, end: number, what: string): void {
    if (wire === WIRE.varint) this.varint(end, what);
    else if (wire === WIRE.i64) this.skipFixed(8, end, what);
    else if (wire === WIRE.i32) this.skipFixed(4, end, what);
    else this.pos = this.payload(end, what);
  }

  /** Reads the payload up to `payloadEnd` as a UTF-8 string. */
  string(payloadEnd: number, what: string): string {
    const len = payloadEnd - this.pos;
    if (len > LIMITS.maxStringBytes) throw this.fail('too_large', `${what} at byte ${this.pos} is ${len} bytes long`);
    let text: string;
    if (len <= this.windowBytes) {
      this.need(len);
      const off = this.pos - this.base;
      text = this.window.toString('utf8', off, off + len);
    } else {
      const buf = Buffer.allocUnsafe(len);
      this.readFully(buf, this.pos);
      text = buf.toString('utf8');
    }
    this.pos = payloadEnd;
    return text;
  }

  /** Counts the varints in a packed payload up to `payloadEnd` (reads it through the window). */
  countVarints(payloadEnd: number, what: string): number {
    let count = 0;
    let last = 0;
    while (this.pos < payloadEnd) {
      const chunk = Math.min(this.windowBytes, payloadEnd - this.pos);
      this.need(chunk);
      const off = this.pos - this.base;
      for (let i = off; i < off + chunk; i++) if (this.window[i] < 0x80) count++;
      last = this.window[off + chunk - 1];
      this.pos += chunk;
    }
    if (last >= 0x80) throw this.fail('corrupt', `${what} ends inside a varint`);
    return count;
  }
}

export const fieldNo = (key: number): number => Math.floor(key / 8);
export const wireType = (key: number): number => key & 7;

/** A synchronous cursor over one message already in memory (a tensor's TensorProto, read at load time). */
export class BufferCursor {
  readonly v: Varint = { lo: 0, hi: 0, next: 0 };

  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    private readonly fail: (problem: string) => Error,
  ) {}

  varint(end: number): Varint {
    decodeVarint(this.buf, this.pos, end, this.v);
    if (this.v.next < 0) throw this.fail(`bad varint at message byte ${this.pos}`);
    this.pos = this.v.next;
    return this.v;
  }

  tag(end: number): { no: number; wire: number } {
    const key = asUint(this.varint(end));
    return { no: Math.floor(key / 8), wire: key % 8 };
  }

  /** Returns the end of the length-delimited payload at pos. */
  payload(end: number): number {
    const len = asUint(this.varint(end));
    const payloadEnd = this.pos + len;
    if (payloadEnd > end) throw this.fail(`field at message byte ${this.pos} runs past the message`);
    return payloadEnd;
  }

  fixed(width: number, end: number): number {
    const at = this.pos;
    if (at + width > end) throw this.fail(`fixed-width value at message byte ${at} runs past the message`);
    this.pos += width;
    return at;
  }

  skip(wire: number, end: number): void {
    if (wire === WIRE.varint) this.varint(end);
    else if (wire === WIRE.i64) this.fixed(8, end);
    else if (wire === WIRE.i32) this.fixed(4, end);
    else if (wire === WIRE.len) this.pos = this.payload(end);
    else throw this.fail(`wire type ${wire} at message byte ${this.pos}`);
  }
}
