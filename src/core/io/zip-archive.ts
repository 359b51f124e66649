import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import * as yauzl from 'yauzl';
import { CheckpointError, LIMITS } from '../errors';
import { RandomAccessFile } from './random-access-file';

export interface ZipMember {
  readonly name: string;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly method: 'stored' | 'deflate';
  /** Offset of the local file header; the data starts after it (see `dataStart`). */
  readonly localHeaderOffset: number;
  /** yauzl's entry, kept to resolve the data start lazily. */
  readonly entry: yauzl.Entry;
}

/**
 * A zip archive read by position: the central directory is listed once (by yauzl, which validates
 * the structure), member data is read with positional reads. Refuses entries that escape the archive
 * (`../`, absolute paths) and members whose declared inflated size is out of proportion (zip bombs).
 */
export class ZipArchive {
  private readonly dataStarts = new Map<string, number>();

  private constructor(
    readonly path: string,
    readonly file: RandomAccessFile,
    private readonly zip: yauzl.ZipFile,
    readonly members: ReadonlyMap<string, ZipMember>,
    private readonly format: string,
  ) {}

  static async open(path: string, format: string): Promise<ZipArchive> {
    const file = await RandomAccessFile.open(path, format);
    let zip: yauzl.ZipFile;
    try {
      zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
        yauzl.fromRandomAccessReader(
          new FileReader(file),
          file.size,
          { lazyEntries: true, autoClose: false, decodeStrings: true, validateEntrySizes: true, strictFileNames: false },
          (err, z) => (err ? reject(err) : resolve(z!)),
        ),
      );
    } catch (e) {
      await file.close();
      throw new CheckpointError('corrupt', path, format, `not a readable zip archive (${(e as Error).message})`);
    }
    try {
      const members = await listMembers(zip, path, format);
      return new ZipArchive(path, file, zip, members, format);
    } catch (e) {
      zip.close();
      await file.close();
      throw e;
    }
  }

  private fail(kind: 'corrupt' | 'too_large' | 'unsupported' | 'truncated', problem: string): CheckpointError {
    return new CheckpointError(kind, this.path, this.format, problem);
  }

  member(name: string): ZipMember {
    const m = this.members.get(name);
    if (!m) throw this.fail('corrupt', `zip archive has no member "${name}"`);
    return m;
  }

  /** Absolute file offset of a member's (compressed) data. */
  async dataStart(m: ZipMember): Promise<number> {
    const known = this.dataStarts.get(m.name);
    if (known !== undefined) return known;
    let start: number;
    try {
      const h = await this.zip.readLocalFileHeaderPromise(m.entry, { minimal: true });
      start = (h as unknown as { fileDataStart: number }).fileDataStart;
    } catch (e) {
      throw this.fail('corrupt', `member "${m.name}": ${(e as Error).message}`);
    }
    if (start + m.compressedSize > this.file.size) {
      throw this.fail('truncated', `member "${m.name}" extends past the end of the file`);
    }
    this.dataStarts.set(m.name, start);
    return start;
  }

  /** Reads a whole member, inflating it if needed, refusing declared sizes out of proportion. */
  async readMember(name: string): Promise<Buffer> {
    const m = this.member(name);
    const start = await this.dataStart(m);
    if (m.method === 'stored') return this.file.read(start, m.uncompressedSize, this.format);
    this.checkRatio(m);
    const compressed = await this.file.read(start, m.compressedSize, this.format);
    let out: Buffer;
    try {
      out = zlib.inflateRawSync(compressed, { maxOutputLength: Math.max(1, m.uncompressedSize) });
    } catch (e) {
      throw this.fail('corrupt', `member "${name}" does not inflate to its declared ${m.uncompressedSize} bytes (${(e as Error).message})`);
    }
    if (out.length !== m.uncompressedSize) {
      throw this.fail('corrupt', `member "${name}" inflated to ${out.length} bytes, declared ${m.uncompressedSize}`);
    }
    if (zlib.crc32(out) >>> 0 !== m.entry.crc32 >>> 0) throw this.fail('corrupt', `member "${name}" fails its CRC-32 check`);
    return out;
  }

  /** Reads the first `n` bytes of a member (fewer if it is shorter), inflating only what is needed. */
  async readMemberPrefix(name: string, n: number): Promise<Buffer> {
    const m = this.member(name);
    const start = await this.dataStart(m);
    const want = Math.min(n, m.uncompressedSize);
    if (m.method === 'stored') return this.file.read(start, want, this.format);
    this.checkRatio(m);
    // How many compressed bytes hold `want` output bytes is not bounded in advance: read more until enough.
    for (let take = Math.min(m.compressedSize, want + 1024); ; take = Math.min(m.compressedSize, take * 2)) {
      const compressed = await this.file.read(start, take, this.format);
      let out: Buffer;
      try {
        out = zlib.inflateRawSync(compressed, {
          finishFlush: zlib.constants.Z_SYNC_FLUSH,
          maxOutputLength: Math.max(1, Math.min(m.uncompressedSize, take * 1100)),
        });
      } catch (e) {
        throw this.fail('corrupt', `member "${name}" does not inflate (${(e as Error).message})`);
      }
      if (out.length >= want || take >= m.compressedSize) {
        if (out.length < want) throw this.fail('corrupt', `member "${name}" inflates to fewer than ${want} bytes`);
        return out.subarray(0, want);
      }
    }
  }

  /** Positional read inside a STORED member (no decompression, no whole-member copy). */
  async readStoredRange(name: string, offset: number, length: number): Promise<Buffer> {
    const m = this.member(name);
    if (m.method !== 'stored') throw this.fail('unsupported', `member "${name}" is compressed; ranged reads need a stored member`);
    if (offset < 0 || offset + length > m.uncompressedSize) {
      throw this.fail('truncated', `member "${name}" has ${m.uncompressedSize} bytes; asked for ${length} at ${offset}`);
    }
    return this.file.read((await this.dataStart(m)) + offset, length, this.format);
  }

  private checkRatio(m: ZipMember): void {
    if (m.uncompressedSize > Math.max(1 << 20, m.compressedSize * LIMITS.maxInflateRatio)) {
      throw this.fail(
        'too_large',
        `member "${m.name}" claims to inflate from ${m.compressedSize} to ${m.uncompressedSize} bytes (zip bomb?)`,
      );
    }
  }

  async close(): Promise<void> {
    this.zip.close();
    await this.file.close();
  }
}

async function listMembers(zip: yauzl.ZipFile, path: string, format: string): Promise<Map<string, ZipMember>> {
  const members = new Map<string, ZipMember>();
  if (zip.entryCount > LIMITS.maxTensorCount) {
    throw new CheckpointError('too_large', path, format, `zip archive declares ${zip.entryCount} entries`);
  }
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      const name = entry.fileName;
      const unsafe = unsafeEntryName(name);
      if (unsafe) {
        reject(new CheckpointError('unsafe_path', path, format, `zip entry "${name}" ${unsafe}; refusing the archive`));
        return;
      }
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        reject(new CheckpointError('unsupported', path, format, `zip entry "${name}" uses compression method ${entry.compressionMethod}`));
        return;
      }
      if (!name.endsWith('/')) {
        members.set(name, {
          name,
          compressedSize: entry.compressedSize,
          uncompressedSize: entry.uncompressedSize,
          method: entry.compressionMethod === 0 ? 'stored' : 'deflate',
          localHeaderOffset: entry.relativeOffsetOfLocalHeader,
          entry,
        });
      }
      zip.readEntry();
    });
    zip.on('end', () => resolve());
    zip.on('error', (e: Error) => {
      const m = /invalid relative path|absolute path/i.test(e.message);
      reject(new CheckpointError(m ? 'unsafe_path' : 'corrupt', path, format, `bad zip archive: ${e.message}`));
    });
    zip.readEntry();
  });
  return members;
}

/** Why an entry name is unsafe to honour, or undefined. */
function unsafeEntryName(name: string): string | undefined {
  if (name.includes('\0')) return 'contains a NUL byte';
  if (name.startsWith('/') || name.startsWith('\\') || /^[a-zA-Z]:/.test(name)) return 'is an absolute path';
  if (name.split(/[\\/]/).includes('..')) return 'climbs out of the archive with ".."';
  return undefined;
}

/** yauzl's RandomAccessReader over our positional file. */
class FileReader extends yauzl.RandomAccessReader {
  constructor(private readonly file: RandomAccessFile) {
    super();
  }
  override _readStreamForRange(start: number, end: number): Readable {
    const file = this.file;
    return Readable.from(
      (async function* () {
        const chunk = 1 << 20;
        for (let p = start; p < end; p += chunk) yield await file.read(p, Math.min(chunk, end - p));
      })(),
    );
  }
}
