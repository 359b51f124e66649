import * as fs from 'node:fs';
import * as path from 'node:path';

export class OutputError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'OutputError';
  }
}

export interface AtomicWriteOptions {
  /** Replace an existing file (never one of `inputs`). */
  force?: boolean;
  /** Files the job read: never written over, even with force. */
  inputs?: readonly string[];
}

/** Same path, or the same inode (hard links, another spelling of the path). */
export function sameFile(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) return true;
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/**
 * Writes `content` to `target` through a temporary file in the same folder, flushed and then renamed: a reader sees
 * the old file or the whole new one, and a failure leaves no partial file. Refuses to replace an existing file
 * without `force`, and an input file ever.
 */
export function writeFileAtomic(target: string, content: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  for (const input of opts.inputs ?? []) {
    if (sameFile(target, input)) throw new OutputError(target, 'is one of the input files; refusing to write over it');
  }
  if (fs.existsSync(target) && !opts.force) throw new OutputError(target, 'already exists (use --force to replace it)');
  const dir = path.dirname(path.resolve(target));
  if (!fs.existsSync(dir)) throw new OutputError(target, `folder ${dir} does not exist`);
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx');
    fs.writeSync(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e instanceof OutputError ? e : new OutputError(target, `could not be written (${(e as Error).message})`);
  }
}
