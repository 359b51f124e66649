import { promises as fsp } from 'node:fs';
import { CheckpointError } from '../errors';

/**
 * A file read by position only. Readers never load whole files: they ask for byte ranges.
 * Reads past the end are refused (never silently short) so callers cannot decode garbage.
 */
export class RandomAccessFile {
  private constructor(
    readonly path: string,
    private readonly handle: fsp.FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string, format = ''): Promise<RandomAccessFile> {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(path, 'r');
    } catch (e) {
      throw new CheckpointError('not_found', path, format, `cannot open file (${(e as NodeJS.ErrnoException).code ?? e})`);
    }
    const st = await handle.stat();
    if (!st.isFile()) {
      await handle.close();
      throw new CheckpointError('not_found', path, format, 'not a regular file');
    }
    return new RandomAccessFile(path, handle, st.size);
  }

  /** Reads exactly `length` bytes at `offset` into a new Buffer, or throws 'truncated'. */
  async read(offset: number, length: number, format = ''): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    await this.readInto(buf, offset, format);
    return buf;
  }

  /** Fills `target` from `offset`; throws 'truncated' if the file is shorter. */
  async readInto(target: Uint8Array, offset: number, format = ''): Promise<void> {
    const length = target.byteLength;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > this.size) {
      throw new CheckpointError(
        'truncated',
        this.path,
        format,
        `read of ${length} bytes at offset ${offset} is past the end of the file (${this.size} bytes)`,
      );
    }
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(target, done, length - done, offset + done);
      if (bytesRead === 0) {
        throw new CheckpointError('truncated', this.path, format, `file ended at ${offset + done} while reading`);
      }
      done += bytesRead;
    }
  }

  /** Reads up to `length` bytes at `offset` (short at end of file). For sniffing. */
  async readUpTo(offset: number, length: number): Promise<Buffer> {
    const n = Math.max(0, Math.min(length, this.size - offset));
    const buf = Buffer.alloc(n);
    if (n > 0) await this.readInto(buf, offset);
    return buf;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
