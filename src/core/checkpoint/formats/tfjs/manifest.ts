import * as nodePath from 'node:path';
import { type ErrorFactory, LIMITS } from '../../../errors';
import { numelOf } from '../../lazy-checkpoint';

/**
 * The weights manifest of a TF.js model (tfjs-core src/io/types.ts, WeightsManifestConfig):
 * a list of groups `{paths, weights: [{name, shape, dtype, quantization?}]}`. Within a group the
 * weights are packed back to back, in manifest order, over the concatenation of the group's shards.
 */

/** How a weight's values are stored in the shard bytes. */
export type StoredDtype = 'float32' | 'int32' | 'bool' | 'uint8' | 'uint16' | 'float16';

export interface WeightSpec {
  name: string;
  shape: number[];
  numel: number;
  /** The manifest's `dtype`: what tfjs decodes the weight to. */
  logicalDtype: 'float32' | 'int32' | 'bool';
  stored: StoredDtype;
  /** Affine dequantization of uint8/uint16 codes: value = q·scale + min. */
  affine?: { scale: number; min: number };
  bytes: number;
}

export interface ManifestGroup {
  /** Shard paths as written in the manifest, relative to the manifest's folder. */
  paths: string[];
  weights: WeightSpec[];
}

export interface ParsedManifest {
  groups: ManifestGroup[];
  metadata: Record<string, unknown>;
}

const STORED_BYTES: Readonly<Record<StoredDtype, number>> = {
  float32: 4,
  int32: 4,
  bool: 1,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/** Top-level model.json keys worth showing; modelTopology itself is never walked. */
const MODEL_INFO_KEYS = ['format', 'generatedBy', 'convertedBy'] as const;

/** Parses model.json (layers or graph model) or a bare `*weights_manifest.json` list. */
export function parseManifest(text: string, fail: ErrorFactory): ParsedManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw fail('corrupt', `not valid JSON (${(e as Error).message})`);
  }
  const metadata: Record<string, unknown> = {};
  let groupsRaw: unknown;
  if (Array.isArray(raw)) {
    metadata.manifest = 'weights-manifest';
    groupsRaw = raw;
  } else if (raw && typeof raw === 'object' && 'weightsManifest' in raw) {
    const model = raw as Record<string, unknown>;
    metadata.manifest = 'model.json';
    for (const k of MODEL_INFO_KEYS) if (typeof model[k] === 'string') metadata[k] = model[k];
    groupsRaw = model.weightsManifest;
    if (!Array.isArray(groupsRaw)) throw fail('corrupt', '"weightsManifest" is not a list of weight groups');
  } else {
    throw fail(
      'unknown_format',
      'JSON without a "weightsManifest": not a TF.js model.json or weights manifest (a model without weights cannot be analysed)',
    );
  }
  const list = groupsRaw as unknown[];
  if (list.length > LIMITS.maxTensorCount) throw fail('too_large', `the manifest declares ${list.length} weight groups`);
  const groups: ManifestGroup[] = [];
  let weightCount = 0;
  for (let g = 0; g < list.length; g++) {
    const group = parseGroup(list[g], g, fail);
    weightCount += group.weights.length;
    if (weightCount > LIMITS.maxTensorCount) throw fail('too_large', `the manifest declares more than ${LIMITS.maxTensorCount} weights`);
    groups.push(group);
  }
  metadata.weightGroups = groups.length;
  return { groups, metadata };
}

function parseGroup(raw: unknown, index: number, fail: ErrorFactory): ManifestGroup {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw fail('corrupt', `weight group ${index} is not an object`);
  const { paths, weights } = raw as { paths?: unknown; weights?: unknown };
  if (!Array.isArray(paths)) throw fail('corrupt', `weight group ${index} has no "paths" list`);
  if (!Array.isArray(weights)) throw fail('corrupt', `weight group ${index} has no "weights" list`);
  if (weights.length > LIMITS.maxTensorCount) throw fail('too_large', `weight group ${index} declares ${weights.length} weights`);
  for (const p of paths) checkShardPath(p, fail);
  return { paths: paths as string[], weights: weights.map((w, i) => parseWeight(w, `${index}.${i}`, fail)) };
}

/** Shard paths must stay inside the manifest's folder: no absolute paths, drive letters or `..`. */
export function checkShardPath(p: unknown, fail: ErrorFactory): asserts p is string {
  if (typeof p !== 'string' || p.length === 0) throw fail('corrupt', `shard path ${JSON.stringify(p)} is not a file name`);
  if (
    p.includes('\0') ||
    nodePath.posix.isAbsolute(p) ||
    nodePath.win32.isAbsolute(p) ||
    /^[a-zA-Z]:/.test(p) ||
    p.split(/[\\/]/).includes('..')
  ) {
    throw fail('unsafe_path', `shard path "${p}" points outside the manifest's folder`);
  }
}

function parseWeight(raw: unknown, where: string, fail: ErrorFactory): WeightSpec {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw fail('corrupt', `weight entry ${where} is not an object`);
  const w = raw as { name?: unknown; shape?: unknown; dtype?: unknown; quantization?: unknown };
  if (typeof w.name !== 'string') throw fail('corrupt', `weight entry ${where} has no name`);
  const name = w.name;
  if (!Array.isArray(w.shape)) throw fail('corrupt', `weight "${name}" has no shape list`);
  const shape = w.shape as number[];
  const numel = numelOf(shape);
  if (Number.isNaN(numel)) throw fail('corrupt', `weight "${name}" has an invalid shape ${JSON.stringify(shape)}`);
  if (numel > LIMITS.maxTensorElements) {
    throw fail('too_large', `weight "${name}" declares shape ${JSON.stringify(shape)} (${numel} elements)`);
  }
  const dtype = w.dtype;
  if (dtype === 'string') {
    throw fail('unsupported', `weight "${name}" has dtype string (variable-length values, not numeric weights); its position in the shards is unknown`);
  }
  if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') {
    throw fail('unsupported', `weight "${name}" has unsupported dtype ${JSON.stringify(dtype)}`);
  }
  if (w.quantization === undefined) {
    return { name, shape, numel, logicalDtype: dtype, stored: dtype, bytes: numel * STORED_BYTES[dtype] };
  }
  return parseQuantized(name, shape, numel, dtype, w.quantization, fail);
}

/** Quantized weights as tfjs-core io_utils.ts decodeWeight accepts them; extra keys (original_dtype) are ignored. */
function parseQuantized(
  name: string,
  shape: number[],
  numel: number,
  dtype: WeightSpec['logicalDtype'],
  raw: unknown,
  fail: ErrorFactory,
): WeightSpec {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw fail('corrupt', `weight "${name}" has a malformed quantization entry`);
  const q = raw as { dtype?: unknown; scale?: unknown; min?: unknown };
  const base = { name, shape, numel, logicalDtype: dtype };
  if (q.dtype === 'float16') {
    if (dtype !== 'float32') throw fail('unsupported', `weight "${name}" is ${dtype} quantized to float16 (tfjs allows float16 only for float32 weights)`);
    return { ...base, stored: 'float16', bytes: numel * 2 };
  }
  if (q.dtype === 'uint8' || q.dtype === 'uint16') {
    if (dtype === 'bool') throw fail('unsupported', `weight "${name}" is bool quantized to ${q.dtype}`);
    if (typeof q.scale !== 'number' || typeof q.min !== 'number' || !Number.isFinite(q.scale) || !Number.isFinite(q.min)) {
      throw fail('corrupt', `weight "${name}" is quantized to ${q.dtype} without finite numbers "scale" and "min"`);
    }
    return { ...base, stored: q.dtype, affine: { scale: q.scale, min: q.min }, bytes: numel * STORED_BYTES[q.dtype] };
  }
  throw fail('unsupported', `weight "${name}" has unsupported quantization dtype ${JSON.stringify(q.dtype)}`);
}
