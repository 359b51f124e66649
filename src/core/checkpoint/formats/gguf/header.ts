import { type ErrorFactory, LIMITS } from '../../../errors';
import type { RandomAccessFile } from '../../../io/random-access-file';
import { HeaderCursor } from './cursor';
import { ggmlType, type GgmlType, unknownTypeName } from './ggml-types';
import { readString, readValue } from './metadata';

// Layout: ggml/docs/gguf.md and ggml/src/gguf.cpp (gguf_init_from_file_impl).
const MAGIC = 'GGUF';
const DEFAULT_ALIGNMENT = 32;
/** ggml itself allows 4 (GGML_MAX_DIMS); a looser sanity bound keeps other writers' files readable. */
const MAX_DIMS = 16;
/** Smallest tensor info: name length u64 + n_dims u32 + type u32 + offset u64. */
const MIN_TENSOR_INFO_BYTES = 24;
/** Smallest KV pair: key length u64 + value type u32 + one byte of value. */
const MIN_KV_BYTES = 13;

export interface GgufTensor {
  name: string;
  type: GgmlType;
  /** ggml order, fastest-varying first. */
  ne: number[];
  /** Row-major (numpy) order: reversed(ne). */
  shape: number[];
  numel: number;
  bytes: number;
  /** Absolute offset of the tensor's first byte. */
  start: number;
}

export interface GgufHeader {
  version: number;
  alignment: number;
  /** Absolute offset of the (aligned) tensor data section. */
  dataStart: number;
  metadata: Record<string, unknown>;
  tensors: GgufTensor[];
}

/** Reads and validates the header, KV pairs and tensor infos by positional reads; no tensor data is read. */
export async function readGgufHeader(file: RandomAccessFile, fail: ErrorFactory, format: string): Promise<GgufHeader> {
  const c = new HeaderCursor(file, fail, format);
  await c.need(4, 'the GGUF magic');
  if (c.utf8(4) !== MAGIC) throw fail('unknown_format', 'the file does not start with the GGUF magic "GGUF"');
  await c.need(4, 'the GGUF version');
  const version = c.u32();
  checkVersion(version, fail);
  await c.need(16, 'the tensor and KV counts');
  const tensorCount = c.u64();
  const kvCount = c.u64();
  checkCounts(tensorCount, kvCount, c.remaining, fail);

  const metadata: Record<string, unknown> = {};
  for (let i = 0; i < Number(kvCount); i++) {
    const key = await readString(c, fail, `the key of KV pair ${i}`);
    if (Object.prototype.hasOwnProperty.call(metadata, key)) throw fail('corrupt', `metadata key "${key}" appears twice`);
    await c.need(4, `the value type of "${key}"`);
    const type = c.u32();
    const value = await readValue(c, fail, type, `metadata value "${key}"`);
    // defineProperty: a key such as "__proto__" stays an ordinary entry
    Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
  }
  const alignment = alignmentOf(metadata, fail);

  const infos: { name: string; ne: bigint[]; typeId: number; offset: bigint }[] = [];
  for (let i = 0; i < Number(tensorCount); i++) {
    const name = await readString(c, fail, `the name of tensor ${i}`);
    await c.need(4, `the dimension count of tensor "${name}"`);
    const nDims = c.u32();
    if (nDims > MAX_DIMS) throw fail('corrupt', `tensor "${name}" claims ${nDims} dimensions (at most ${MAX_DIMS})`);
    await c.need(8 * nDims + 12, `the shape, type and offset of tensor "${name}"`);
    const ne: bigint[] = [];
    for (let d = 0; d < nDims; d++) ne.push(c.u64());
    const typeId = c.u32();
    const offset = c.u64();
    infos.push({ name, ne, typeId, offset });
  }
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  const tensors = infos.map((t) => resolveTensor(t, dataStart, alignment, file.size, fail));
  checkOverlaps(tensors, dataStart, fail);
  return { version, alignment, dataStart, metadata, tensors };
}

function checkVersion(version: number, fail: ErrorFactory): void {
  if (version === 2 || version === 3) return;
  const swapped = ((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24);
  if (swapped === 2 || swapped === 3) {
    throw fail('unsupported', `this is a big-endian GGUF v${swapped} file; we read little-endian GGUF only`);
  }
  if (version === 1) {
    throw fail('unsupported', 'GGUF version 1 (32-bit counts, from 2023) is not supported; re-convert the model with a current llama.cpp');
  }
  throw fail('unsupported', `GGUF version ${version} is not supported (we read versions 2 and 3)`);
}

/** Counts are refused before anything is allocated: past our limits, or more than the rest of the file could hold. */
function checkCounts(tensorCount: bigint, kvCount: bigint, remaining: number, fail: ErrorFactory): void {
  if (tensorCount > BigInt(LIMITS.maxTensorCount)) {
    throw fail('too_large', `the header claims ${tensorCount} tensors, more than we accept (${LIMITS.maxTensorCount})`);
  }
  const least = tensorCount * BigInt(MIN_TENSOR_INFO_BYTES) + kvCount * BigInt(MIN_KV_BYTES);
  if (least > BigInt(remaining)) {
    throw fail(
      'too_large',
      `the header claims ${tensorCount} tensors and ${kvCount} KV pairs (at least ${least} bytes) but only ${remaining} bytes of the file remain`,
    );
  }
}

/** general.alignment (default 32) must be a power of two, as ggml requires. */
function alignmentOf(metadata: Record<string, unknown>, fail: ErrorFactory): number {
  if (!Object.prototype.hasOwnProperty.call(metadata, 'general.alignment')) return DEFAULT_ALIGNMENT;
  const a = metadata['general.alignment'];
  if (typeof a !== 'number' || !Number.isSafeInteger(a) || a < 1 || a > 2 ** 30 || (a & (a - 1)) !== 0) {
    throw fail('corrupt', `general.alignment is ${JSON.stringify(a)}, not a power of two`);
  }
  return a;
}

function resolveTensor(
  t: { name: string; ne: bigint[]; typeId: number; offset: bigint },
  dataStart: number,
  alignment: number,
  fileSize: number,
  fail: ErrorFactory,
): GgufTensor {
  const { name } = t;
  let numel = 1;
  const ne: number[] = [];
  for (const [k, n] of t.ne.entries()) {
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw fail('too_large', `tensor "${name}" has dimension ne[${k}] = ${n}`);
    ne.push(Number(n));
    numel *= Number(n);
  }
  const shape = [...ne].reverse();
  if (numel > Number.MAX_SAFE_INTEGER) {
    throw fail('too_large', `tensor "${name}" declares shape ${JSON.stringify(shape)}, more elements than we can count exactly`);
  }
  const type = ggmlType(t.typeId);
  if (!type) {
    throw fail('unsupported', `tensor "${name}" uses GGUF type ${unknownTypeName(t.typeId)}, which we do not know`);
  }
  const rowLength = ne.length ? ne[0] : 1;
  if (rowLength % type.blockSize !== 0) {
    throw fail(
      'corrupt',
      `tensor "${name}" of type ${type.name} has rows of ${rowLength} values (ne[0]), not a multiple of its block size ${type.blockSize}`,
    );
  }
  const bytes = (numel / type.blockSize) * type.typeSize;
  if (t.offset % BigInt(alignment) !== 0n) {
    throw fail('invalid_offsets', `tensor "${name}" has data offset ${t.offset}, not a multiple of the alignment ${alignment}`);
  }
  if (t.offset > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw fail('invalid_offsets', `tensor "${name}" has data offset ${t.offset}, far past the end of the file (${fileSize} bytes)`);
  }
  const start = dataStart + Number(t.offset);
  if (start + bytes > fileSize) {
    throw fail(
      'truncated',
      `tensor "${name}" (${type.name} ${JSON.stringify(shape)}) needs bytes ${start} to ${start + bytes} but the file ends at ${fileSize} (file cut short?)`,
    );
  }
  return { name, type, ne, shape, numel, bytes, start };
}

function checkOverlaps(tensors: readonly GgufTensor[], dataStart: number, fail: ErrorFactory): void {
  const sorted = tensors.filter((t) => t.bytes > 0).sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const t = sorted[i];
    if (t.start < prev.start + prev.bytes) {
      throw fail(
        'invalid_offsets',
        `tensor "${t.name}" at data offset ${t.start - dataStart} overlaps tensor "${prev.name}" (data offsets ${prev.start - dataStart} to ${prev.start + prev.bytes - dataStart})`,
      );
    }
  }
}
