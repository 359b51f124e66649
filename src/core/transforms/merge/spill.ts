/** A scratch file for first-pass results of methods with a model-wide second pass (OPCM): float32 tensors by name. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export class Spill {
  private readonly fd: number;
  private position = 0;
  private readonly where = new Map<string, { offset: number; length: number }>();

  /** Creates the scratch file beside `near` (the output), so it lands on the disk the user chose. */
  constructor(near: string) {
    this.file = path.join(path.dirname(path.resolve(near)), `.${path.basename(near)}.${process.pid}.${Date.now()}.spill.tmp`);
    this.fd = fs.openSync(this.file, 'wx+');
  }

  readonly file: string;

  write(name: string, values: Float32Array): void {
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done, bytes.length - done, this.position + done);
    this.where.set(name, { offset: this.position, length: values.length });
    this.position += bytes.length;
  }

  read(name: string): Float32Array {
    const w = this.where.get(name);
    if (!w) throw new Error(`spill: no tensor "${name}"`);
    const out = new Float32Array(w.length);
    const bytes = new Uint8Array(out.buffer);
    let done = 0;
    while (done < bytes.length) {
      const n = fs.readSync(this.fd, bytes, done, bytes.length - done, w.offset + done);
      if (n === 0) throw new Error(`spill: ${this.file} ended early`);
      done += n;
    }
    return out;
  }

  dispose(): void {
    try {
      fs.closeSync(this.fd);
    } finally {
      fs.rmSync(this.file, { force: true });
    }
  }
}
