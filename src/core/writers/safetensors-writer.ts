import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeValues, WRITABLE_BYTES, type WritableDtype } from './encode';
import { sidecarCopies, stageSidecars } from './sidecars';
import { CancelledWriteError, OutputError, type OutputPolicy, type StagedFile, StagedOutputs } from './staged-outputs';

/** One tensor to write: its key, stored dtype and row-major shape. Integer dtypes are written from rounded values. */
export interface TensorSpec {
  name: string;
  dtype: WritableDtype;
  shape: number[];
}

export interface WriteModelOptions extends OutputPolicy {
  /** > 0: Hugging Face sharded layout (model-0000k-of-0000N.safetensors + model.safetensors.index.json) in the target folder. */
  shardBytes?: number;
  /** __metadata__ of every file (and the index's "metadata"): how the file was made. */
  metadata?: Record<string, string>;
  /** Folder (or a file in the folder) of the input model: copy config.json / tokenizer files beside the output. */
  copySidecarsFrom?: string;
  /** Small files written with the model, all or nothing (a manifest, an adapter_config.json); paths as given. */
  extraFiles?: readonly { path: string; content: string | Uint8Array }[];
}

/** safetensors dtype spelling (huggingface/safetensors, "Format"). */
const ST_DTYPE: Readonly<Record<WritableDtype, string>> = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int8: 'I8',
  int16: 'I16',
  int32: 'I32',
  int64: 'I64',
  uint8: 'U8',
  bool: 'BOOL',
};

export const SHARD_INDEX_NAME = 'model.safetensors.index.json';

/** The name transformers gives shard k of n (1-based): model-00001-of-00002.safetensors. */
export function shardName(k: number, n: number): string {
  return `model-${String(k).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
}

function numelOf(spec: TensorSpec): number {
  return spec.shape.reduce((a, b) => a * b, 1);
}

function tensorBytes(spec: TensorSpec): number {
  return numelOf(spec) * WRITABLE_BYTES[spec.dtype];
}

function validateSpecs(target: string, specs: readonly TensorSpec[]): void {
  const seen = new Set<string>();
  for (const s of specs) {
    if (!s.name || s.name === '__metadata__') throw new OutputError(target, `invalid tensor name "${s.name}"`);
    if (seen.has(s.name)) throw new OutputError(target, `tensor "${s.name}" is listed twice`);
    seen.add(s.name);
    if (!(s.dtype in ST_DTYPE)) throw new OutputError(target, `tensor "${s.name}" has a dtype we do not write (${s.dtype})`);
    if (!s.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new OutputError(target, `tensor "${s.name}" has an invalid shape ${JSON.stringify(s.shape)}`);
    }
    if (!Number.isSafeInteger(tensorBytes(s))) throw new OutputError(target, `tensor "${s.name}" is too large`);
  }
}

/**
 * The header of one safetensors file: 8-byte little-endian length, then the JSON object (__metadata__ first, tensors
 * with data_offsets tiling the data section in order), padded with spaces so the data starts 8-byte aligned
 * (huggingface/safetensors, "Format"; the reference implementation pads the same way).
 */
export function safetensorsHeader(specs: readonly TensorSpec[], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const s of specs) {
    const bytes = tensorBytes(s);
    header[s.name] = { dtype: ST_DTYPE[s.dtype], shape: s.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const out = Buffer.alloc(8 + padded, 0x20);
  out.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(out, 8);
  return out;
}

/** Splits specs, in order, into groups of at most `shardBytes` tensor bytes (a larger tensor gets a shard of its own). */
export function planShards(specs: readonly TensorSpec[], shardBytes: number): number[][] {
  const shards: number[][] = [];
  let current: number[] = [];
  let size = 0;
  specs.forEach((s, i) => {
    const b = tensorBytes(s);
    if (current.length && size + b > shardBytes) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(i);
    size += b;
  });
  if (current.length || !shards.length) shards.push(current);
  return shards;
}

/**
 * Streams tensors one at a time into a safetensors file (target = a .safetensors path) or, with `shardBytes`, a
 * sharded Hugging Face folder (target = the folder; created when missing, its parent must exist). produce() is called
 * in spec order and its result encoded, written and dropped, so memory stays at one tensor. Every file is written to
 * a temporary file beside its target and renamed when all are complete: a failure or cancel leaves nothing behind,
 * an existing file is replaced only with `force`, an input never. Returns the files written, the one to open first.
 */
export async function writeSafetensorsModel(
  target: string,
  specs: readonly TensorSpec[],
  produce: (spec: TensorSpec, index: number) => Promise<Float32Array | Float64Array>,
  opts: WriteModelOptions = {},
): Promise<{ files: string[] }> {
  validateSpecs(target, specs);
  const sharded = (opts.shardBytes ?? 0) > 0;
  if (sharded && !Number.isSafeInteger(opts.shardBytes)) throw new OutputError(target, `shard size ${opts.shardBytes} is not a whole number of bytes`);
  const outDir = sharded ? path.resolve(target) : path.dirname(path.resolve(target));
  let createdDir = false;
  if (sharded && !fs.existsSync(outDir)) {
    if (!fs.existsSync(path.dirname(outDir))) throw new OutputError(target, `folder ${path.dirname(outDir)} does not exist`);
    if (opts.signal?.aborted) throw new CancelledWriteError(target);
    fs.mkdirSync(outDir);
    createdDir = true;
  } else if (sharded && !fs.statSync(outDir).isDirectory()) {
    throw new OutputError(target, 'is a file; with a shard size the output is a folder');
  }

  const groups = sharded ? planShards(specs, opts.shardBytes as number) : [specs.map((_, i) => i)];
  const fileNames = sharded ? groups.map((_, k) => path.join(outDir, shardName(k + 1, groups.length))) : [path.resolve(target)];
  const indexPath = path.join(outDir, SHARD_INDEX_NAME);
  const sidecars = opts.copySidecarsFrom ? sidecarCopies(opts.copySidecarsFrom, outDir) : [];
  const outputs = new StagedOutputs(opts);
  const extras = opts.extraFiles ?? [];
  // Refuse before writing anything.
  for (const f of [...fileNames, ...(sharded ? [indexPath] : []), ...sidecars.map((s) => s.dst), ...extras.map((x) => x.path)]) outputs.check(f);
  const metadata = withFormat(opts.metadata);

  try {
    const written = await outputs.run(async () => {
      for (let k = 0; k < groups.length; k++) {
        const groupSpecs = groups[k].map((i) => specs[i]);
        const file = await SafetensorsFileWriter.open(outputs, fileNames[k], groupSpecs, metadata);
        for (const i of groups[k]) {
          await outputs.checkCancel(fileNames[k]);
          await file.write(await produce(specs[i], i));
        }
        file.finish();
      }
      if (sharded) {
        const weightMap: Record<string, string> = {};
        groups.forEach((g, k) => g.forEach((i) => (weightMap[specs[i].name] = path.basename(fileNames[k]))));
        // transformers' index: total_size is the sum of tensor bytes (not of file sizes).
        const total = specs.reduce((a, s) => a + tensorBytes(s), 0);
        const index = { metadata: { ...(metadata ?? {}), total_size: total }, weight_map: weightMap };
        const idx = await outputs.open(indexPath);
        await idx.write(Buffer.from(`${JSON.stringify(index, null, 2)}\n`, 'utf8'));
      }
      await stageSidecars(outputs, sidecars);
      for (const x of extras) await (await outputs.open(x.path)).write(typeof x.content === 'string' ? Buffer.from(x.content, 'utf8') : x.content);
      await outputs.checkCancel(target);
    });
    return { files: sharded ? [indexPath, ...written.filter((f) => f !== indexPath)] : written };
  } catch (e) {
    if (createdDir) fs.rmSync(outDir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * transformers refuses a safetensors file whose __metadata__ lacks "format" (modeling_utils: pt, tf, flax or mlx);
 * our files hold row-major PyTorch-convention tensors, so "pt" unless the caller says otherwise.
 */
function withFormat(metadata: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!metadata || !Object.keys(metadata).length) return metadata;
  return { format: 'pt', ...metadata };
}

/**
 * One safetensors file written tensor by tensor into a staged output: the header (from the specs) first, then each
 * tensor's values in spec order. For writers that fill several files at once (an adapter beside its base).
 */
export class SafetensorsFileWriter {
  private next = 0;
  private scratch: Buffer | undefined;

  private constructor(
    readonly file: StagedFile,
    readonly specs: readonly TensorSpec[],
  ) {}

  static async open(outputs: StagedOutputs, target: string, specs: readonly TensorSpec[], metadata?: Record<string, string>): Promise<SafetensorsFileWriter> {
    validateSpecs(target, specs);
    const file = await outputs.open(target);
    await file.write(safetensorsHeader(specs, metadata));
    return new SafetensorsFileWriter(file, specs);
  }

  /** The next tensor in spec order. */
  async write(values: Float32Array | Float64Array): Promise<void> {
    const spec = this.specs[this.next];
    if (!spec) throw new OutputError(this.file.target, `more tensors written than the ${this.specs.length} declared`);
    const numel = numelOf(spec);
    if (!values || values.length !== numel) {
      throw new OutputError(
        this.file.target,
        `tensor "${spec.name}" should have ${numel} values (shape ${JSON.stringify(spec.shape)}) but ${values?.length ?? 'none'} were given`,
      );
    }
    const bytes = numel * WRITABLE_BYTES[spec.dtype];
    if (!this.scratch || this.scratch.length < bytes) this.scratch = Buffer.from(new ArrayBuffer(Math.max(8, bytes)));
    await this.file.write(encodeValues(values, spec.dtype, this.scratch));
    this.next++;
  }

  /** Checks that every declared tensor was written. */
  finish(): void {
    if (this.next !== this.specs.length) {
      throw new OutputError(this.file.target, `only ${this.next} of the ${this.specs.length} declared tensors were written`);
    }
  }
}
