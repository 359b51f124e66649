import { type ErrorFactory, LIMITS } from '../../../errors';
import type { RandomAccessFile } from '../../../io/random-access-file';

const CHUNK = 256 * 1024;

/**
 * Sequential little-endian reader over a file's header, filled by positional reads of at most
 * a chunk at a time (never the whole file). Callers `need(n)` before the synchronous reads; a
 * need past the end of the file is 'truncated', one past the header limit 'too_large'.
 */
export class HeaderCursor {
  private buf: Buffer = Buffer.alloc(0);
  private bufStart = 0;
  /** Absolute file offset of the next byte to read. */
  pos = 0;

  constructor(
    private readonly file: RandomAccessFile,
    private readonly fail: ErrorFactory,
    private readonly format: string,
  ) {}

  get size(): number {
    return this.file.size;
  }

  /** Bytes left in the file after `pos`. */
  get remaining(): number {
    return this.file.size - this.pos;
  }

  /** Whether the next `n` bytes are already buffered (then no `need` is required). */
  has(n: number): boolean {
    return this.pos + n <= this.bufStart + this.buf.length;
  }

  /** Makes the next `n` bytes available; `what` names the field for the error message. */
  async need(n: number, what: string): Promise<void> {
    if (this.has(n)) return;
    if (n > this.remaining) {
      throw this.fail(
        'truncated',
        `the file ends (at ${this.file.size} bytes) inside ${what}, which needs ${n} bytes at offset ${this.pos} (file cut short?)`,
      );
    }
    if (this.pos + n > LIMITS.maxHeaderBytes) {
      throw this.fail('too_large', `the header runs past ${LIMITS.maxHeaderBytes} bytes (at ${what}), more than we accept`);
    }
    const length = Math.min(Math.max(n, CHUNK), this.remaining);
    this.buf = await this.file.read(this.pos, length, this.format);
    this.bufStart = this.pos;
  }

  private at(n: number): number {
    const o = this.pos - this.bufStart;
    this.pos += n;
    return o;
  }

  u8(): number {
    return this.buf.readUInt8(this.at(1));
  }
  i8(): number {
    return this.buf.readInt8(this.at(1));
  }
  u16(): number {
    return this.buf.readUInt16LE(this.at(2));
  }
  i16(): number {
    return this.buf.readInt16LE(this.at(2));
  }
  u32(): number {
    return this.buf.readUInt32LE(this.at(4));
  }
  i32(): number {
    return this.buf.readInt32LE(this.at(4));
  }
  u64(): bigint {
    return this.buf.readBigUInt64LE(this.at(8));
  }
  i64(): bigint {
    return this.buf.readBigInt64LE(this.at(8));
  }
  f32(): number {
    return this.buf.readFloatLE(this.at(4));
  }
  f64(): number {
    return this.buf.readDoubleLE(this.at(8));
  }
  utf8(n: number): string {
    const o = this.at(n);
    return this.buf.toString('utf8', o, o + n);
  }
}
