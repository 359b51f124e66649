import * as fs from 'node:fs';
import * as path from 'node:path';
import { OutputError, sameFile } from '../io/atomic-write';

export { OutputError, sameFile };

/** What every writer accepts about replacing files and stopping early. */
export interface OutputPolicy {
  /** Replace existing outputs (never an input). */
  force?: boolean;
  /** Files the job read: never written over, even with force. */
  inputs?: readonly string[];
  /** Polled between tensors; aborted → the outputs are dropped and CancelledWriteError is thrown. */
  signal?: { readonly aborted: boolean };
}

/** The write was cancelled through `signal`; nothing was left behind. */
export class CancelledWriteError extends OutputError {
  constructor(file: string) {
    super(file, 'writing was cancelled; no output was left behind');
    this.name = 'CancelledWriteError';
  }
}

/** One output being written: a temporary file beside its target, appended to in order. */
export class StagedFile {
  position = 0;
  constructor(
    readonly target: string,
    readonly tmp: string,
    readonly handle: fs.promises.FileHandle,
  ) {}

  async write(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, this.position + done);
      if (bytesWritten <= 0) throw new OutputError(this.target, 'the disk accepted no more bytes (full?)');
      done += bytesWritten;
    }
    this.position += bytes.length;
  }

  /** Copies `length` bytes of `src` from `offset` (external data, unchanged tensors) in bounded chunks. */
  async copyFrom(src: fs.promises.FileHandle, offset: number, length: number, chunk = 4 << 20): Promise<void> {
    const buf = Buffer.allocUnsafe(Math.min(chunk, Math.max(1, length)));
    let done = 0;
    while (done < length) {
      const want = Math.min(buf.length, length - done);
      const { bytesRead } = await src.read(buf, 0, want, offset + done);
      if (bytesRead <= 0) throw new OutputError(this.target, `its source ended early (at byte ${offset + done})`);
      await this.write(buf.subarray(0, bytesRead));
      done += bytesRead;
    }
  }
}

/**
 * A set of outputs written all-or-nothing: every target is checked before anything is written (no input ever, no
 * existing file without force, the folder exists), each is written to a temporary file in its target's folder,
 * and `commit` flushes and renames them; `discard` (or any failure) removes the temporary files.
 * A rename cannot be undone once the previous file is gone, so renames happen last, data files before the file
 * that points to them (shards before the index, external data before the model).
 */
export class StagedOutputs {
  private readonly files: StagedFile[] = [];
  private finished = false;

  constructor(private readonly policy: OutputPolicy = {}) {}

  /** Refuses a target the policy forbids; call for all targets first, so nothing is written when one is refused. */
  check(target: string): void {
    for (const input of this.policy.inputs ?? []) {
      if (sameFile(target, input)) throw new OutputError(target, 'is one of the input files; refusing to write over it');
    }
    if (this.files.some((f) => path.resolve(f.target) === path.resolve(target))) {
      throw new OutputError(target, 'is written twice by this job');
    }
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(target);
    } catch {
      stat = undefined;
    }
    if (stat?.isDirectory()) throw new OutputError(target, 'is a folder, not a file we can replace');
    if (stat && !this.policy.force) throw new OutputError(target, 'already exists (use --force to replace it)');
    const dir = path.dirname(path.resolve(target));
    if (!fs.existsSync(dir)) throw new OutputError(target, `folder ${dir} does not exist`);
  }

  /** Checks `target` and opens its temporary file. */
  async open(target: string): Promise<StagedFile> {
    this.check(target);
    const dir = path.dirname(path.resolve(target));
    const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now()}.${this.files.length}.tmp`);
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(tmp, 'wx');
    } catch (e) {
      throw new OutputError(target, `could not create a temporary file in ${dir} (${(e as Error).message})`);
    }
    const f = new StagedFile(target, tmp, handle);
    this.files.push(f);
    return f;
  }

  /** Gives up one staged file (e.g. an external data file nothing went into). */
  async drop(file: StagedFile): Promise<void> {
    const i = this.files.indexOf(file);
    if (i < 0) return;
    this.files.splice(i, 1);
    await file.handle.close().catch(() => undefined);
    fs.rmSync(file.tmp, { force: true });
  }

  /** Throws CancelledWriteError (after discarding) when the policy's signal is set. */
  async checkCancel(file: string): Promise<void> {
    if (this.policy.signal?.aborted) {
      await this.discard();
      throw new CancelledWriteError(file);
    }
  }

  /** Flushes every file to disk and renames each onto its target, in the order they were opened. */
  async commit(): Promise<string[]> {
    if (this.finished) throw new Error('StagedOutputs: already finished');
    try {
      for (const f of this.files) {
        await f.handle.sync();
        await f.handle.close();
      }
      if (this.policy.signal?.aborted) throw new CancelledWriteError(this.files[0]?.target ?? '');
      // Re-check just before replacing: a file may have appeared (or become an input's link) while we wrote.
      for (const f of this.files) {
        for (const input of this.policy.inputs ?? []) {
          if (sameFile(f.target, input)) throw new OutputError(f.target, 'is one of the input files; refusing to write over it');
        }
        if (!this.policy.force && fs.existsSync(f.target)) throw new OutputError(f.target, 'already exists (use --force to replace it)');
      }
      for (const f of this.files) fs.renameSync(f.tmp, f.target);
    } catch (e) {
      await this.discard();
      throw e instanceof OutputError ? e : new OutputError(this.files[0]?.target ?? '', `could not be written (${(e as Error).message})`);
    }
    this.finished = true;
    return this.files.map((f) => f.target);
  }

  /** Removes every temporary file (idempotent). */
  async discard(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    for (const f of this.files) {
      await f.handle.close().catch(() => undefined);
      fs.rmSync(f.tmp, { force: true });
    }
  }

  /** Runs `work` with these outputs, committing on success and discarding on any failure. */
  async run(work: (outputs: this) => Promise<void>): Promise<string[]> {
    try {
      await work(this);
    } catch (e) {
      await this.discard();
      throw e;
    }
    return this.commit();
  }
}
