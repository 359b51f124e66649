import * as fs from 'node:fs';
import * as path from 'node:path';

export interface SyntheticTensor {
  name: string;
  dtype: 'BF16' | 'F32' | 'F16';
  shape: number[];
}

const BYTES: Record<SyntheticTensor['dtype'], number> = { BF16: 2, F16: 2, F32: 4 };

/**
 * Writes a safetensors file. With `sparse`, only the header is written and the file is extended with
 * ftruncate (a sparse file: reads return zeros), so a 14 GB model costs no disk.
 */
export function writeSafetensors(file: string, tensors: SyntheticTensor[], opts: { sparse?: boolean; seed?: number } = {}): number {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', made_by: 'weight-spectra bench' } };
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const fd = fs.openSync(file, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    fs.writeSync(fd, len);
    fs.writeSync(fd, json);
    const dataStart = 8 + json.length;
    if (opts.sparse) {
      fs.ftruncateSync(fd, dataStart + offset);
    } else {
      // Heavy-tailed-ish values: a random bfloat16/float32 stream from a small xorshift generator.
      let s = opts.seed ?? 0x9e3779b9;
      const chunk = Buffer.alloc(1 << 24);
      const f32 = new Float32Array(1);
      const u32 = new Uint32Array(f32.buffer);
      for (const t of tensors) {
        let remaining = t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
        while (remaining > 0) {
          const n = Math.min(remaining, chunk.length);
          for (let i = 0; i < n; i += BYTES[t.dtype]) {
            s ^= s << 13;
            s ^= s >>> 17;
            s ^= s << 5;
            f32[0] = ((s >>> 0) / 2 ** 32 - 0.5) * 0.1;
            if (t.dtype === 'F32') chunk.writeUInt32LE(u32[0], i);
            else chunk.writeUInt16LE(u32[0] >>> 16, i);
          }
          fs.writeSync(fd, chunk, 0, n);
          remaining -= n;
        }
      }
    }
    return dataStart + offset;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A Hugging Face sharded layout: shards + model.safetensors.index.json. Returns the index path. `sparse` may be a
 * per-shard choice, so the shards a benchmark analyses hold real random data and the others cost no disk.
 */
export function writeShardedSafetensors(dir: string, shards: SyntheticTensor[][], opts: { sparse?: boolean | ((shard: number) => boolean) } = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  const weightMap: Record<string, string> = {};
  let total = 0;
  shards.forEach((tensors, i) => {
    const name = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
    const sparse = typeof opts.sparse === 'function' ? opts.sparse(i) : opts.sparse;
    writeSafetensors(path.join(dir, name), tensors, { sparse, seed: 0x9e3779b9 + i });
    for (const t of tensors) {
      weightMap[t.name] = name;
      total += t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
    }
  });
  const index = path.join(dir, 'model.safetensors.index.json');
  fs.writeFileSync(index, JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
  return index;
}

/** A reproducible N(0, σ²) float32 matrix (xorshift32 + Box–Muller), row-major. */
export function gaussianMatrix(rows: number, cols: number, sigma = 0.02, seed = 12345): Float32Array {
  const out = new Float32Array(rows * cols);
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 2 ** 32;
  };
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform())) * sigma;
    const t = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(t);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(t);
  }
  return out;
}
