import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import type { ErrorFactory } from '../../../errors';
import { RandomAccessFile } from '../../../io/random-access-file';

/** Where an external tensor's bytes are: a file in the model's folder and a byte range in it. */
export interface ExternalExtent {
  file: RandomAccessFile;
  offset: number;
  length: number;
}

/**
 * The external data files of one model (onnx/external_data_helper.py: `location` is relative to the model's folder,
 * `offset` and `length` are decimal strings, a missing offset means 0 and a missing length the rest of the file).
 * Each file is opened once; paths that leave the model's folder are refused.
 */
export class ExternalFiles {
  private readonly files = new Map<string, RandomAccessFile>();

  constructor(
    private readonly dir: string,
    private readonly fail: ErrorFactory,
  ) {}

  get paths(): string[] {
    return [...this.files.values()].map((f) => f.path);
  }

  /** Checks and opens the data file of each external tensor, once per location. */
  async openAll(tensors: Iterable<{ name: string; external?: ReadonlyMap<string, string> }>): Promise<void> {
    for (const t of tensors) {
      const location = this.location(t.name, t.external ?? new Map());
      if (!this.files.has(location)) this.files.set(location, await this.openChecked(t.name, location));
    }
  }

  /** The byte range of one external tensor, checked against its data file (opened by openAll). */
  extent(tensor: string, entries: ReadonlyMap<string, string> | undefined, expectedBytes: number): ExternalExtent {
    entries ??= new Map<string, string>();
    const location = this.location(tensor, entries);
    const file = this.files.get(location);
    if (!file) throw this.fail('corrupt', `tensor "${tensor}": external data file "${location}" was not opened`);
    const offset = this.number(tensor, entries, 'offset') ?? 0;
    const length = this.number(tensor, entries, 'length') ?? Math.max(0, file.size - offset);
    if (length !== expectedBytes) {
      throw this.fail('invalid_offsets', `tensor "${tensor}" has external length ${length} but its dtype × shape needs ${expectedBytes} bytes`);
    }
    if (offset > file.size) {
      throw this.fail('invalid_offsets', `tensor "${tensor}" starts at offset ${offset}, past the end of "${location}" (${file.size} bytes)`);
    }
    if (offset + length > file.size) {
      throw this.fail(
        'truncated',
        `tensor "${tensor}" needs bytes ${offset}..${offset + length} of "${location}" but that file has ${file.size} bytes (cut short?)`,
      );
    }
    return { file, offset, length };
  }

  async close(): Promise<void> {
    await Promise.all([...this.files.values()].map((f) => f.close()));
    this.files.clear();
  }

  private location(tensor: string, entries: ReadonlyMap<string, string>): string {
    const location = entries.get('location');
    if (location === undefined) throw this.fail('corrupt', `tensor "${tensor}" is stored externally but has no "location"`);
    return location;
  }

  private number(tensor: string, entries: ReadonlyMap<string, string>, key: string): number | undefined {
    const text = entries.get(key);
    if (text === undefined) return undefined;
    const n = /^\d{1,16}$/.test(text.trim()) ? Number(text.trim()) : NaN;
    if (!Number.isSafeInteger(n)) throw this.fail('invalid_offsets', `tensor "${tensor}" has external ${key} "${text}", not a byte count we can use`);
    return n;
  }

  private async openChecked(tensor: string, location: string): Promise<RandomAccessFile> {
    const unsafe = () =>
      this.fail('unsafe_path', `tensor "${tensor}" points to external data "${location}" outside the model's folder`);
    const parts = location.split(/[\\/]/);
    if (
      location === '' ||
      location.includes('\0') ||
      nodePath.posix.isAbsolute(location) ||
      nodePath.win32.isAbsolute(location) ||
      /^[a-zA-Z]:/.test(location) ||
      parts.includes('..')
    ) {
      throw unsafe();
    }
    const full = nodePath.join(this.dir, ...parts);
    // A link inside the folder may still lead out of it (onnx refuses these as well, CVE-2024-27318).
    const real = await Promise.all([fsp.realpath(this.dir), fsp.realpath(full)]).catch(() => undefined);
    if (real) {
      const rel = nodePath.relative(real[0], real[1]);
      if (rel === '..' || rel.startsWith(`..${nodePath.sep}`) || nodePath.isAbsolute(rel)) throw unsafe();
    }
    return RandomAccessFile.open(full, 'onnx');
  }
}
