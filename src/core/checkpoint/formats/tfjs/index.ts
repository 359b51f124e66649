import * as nodePath from 'node:path';
import { errorFactory, LIMITS } from '../../../errors';
import { RandomAccessFile } from '../../../io/random-access-file';
import { LazyCheckpoint, type LazyTensor } from '../../lazy-checkpoint';
import type { FormatReader, Probe } from '../../types';
import { decodeWeight } from './decode';
import { parseManifest } from './manifest';
import { piecesOf, readSpan, shardAt, statShards } from './shards';

const FORMAT = 'tfjs';

/**
 * TF.js: model.json (layers or graph model) with a "weightsManifest", or a bare weights manifest
 * (a JSON list of {paths, weights} groups). The probe holds only 64 KiB and weightsManifest often
 * follows a large modelTopology, so a model.json-like head is only a hint and open() decides.
 */
function match(p: Probe): number {
  const text = p.head.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  const base = nodePath.basename(p.path).toLowerCase();
  if (text.startsWith('{')) {
    if (/"weightsManifest"\s*:/.test(text)) return 2;
    if (/"weight_map"\s*:/.test(text)) return 0; // safetensors / PyTorch shard index
    return base === 'model.json' || /"modelTopology"\s*:/.test(text) ? 1 : 0;
  }
  if (text.startsWith('[')) {
    if (isManifestList(p, text)) return 2;
    return base.endsWith('weights_manifest.json') ? 1 : 0;
  }
  return 0;
}

/** A JSON list whose first element is a group object with "paths" and "weights". */
function isManifestList(p: Probe, text: string): boolean {
  if (p.head.length >= p.size) {
    try {
      const list: unknown = JSON.parse(text);
      const first = Array.isArray(list) ? (list[0] as Record<string, unknown> | undefined) : undefined;
      return !!first && typeof first === 'object' && Array.isArray(first.paths) && Array.isArray(first.weights);
    } catch {
      return false;
    }
  }
  return /^\[\s*\{/.test(text) && /"paths"\s*:/.test(text) && /"weights"\s*:/.test(text);
}

async function readJsonText(path: string): Promise<string> {
  const fail = errorFactory(path, FORMAT);
  const file = await RandomAccessFile.open(path, FORMAT);
  try {
    if (file.size > LIMITS.maxHeaderBytes) throw fail('too_large', `JSON of ${file.size} bytes is larger than we accept`);
    return (await file.read(0, file.size, FORMAT)).toString('utf8');
  } finally {
    await file.close();
  }
}

async function open(path: string) {
  const fail = errorFactory(path, FORMAT);
  const { groups, metadata } = parseManifest(await readJsonText(path), fail);
  const dir = nodePath.dirname(path);
  const entries: LazyTensor[] = [];
  const files = new Set([path]);
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g];
    const shards = await statShards(dir, group.paths, fail);
    for (const s of shards) files.add(s.path);
    const available = shards.reduce((n, s) => n + s.size, 0);
    let cursor = 0;
    for (const spec of group.weights) {
      const start = cursor;
      cursor += spec.bytes;
      if (cursor > available) {
        throw fail(
          'truncated',
          `weight "${spec.name}" needs bytes ${start}..${cursor} of weight group ${g}, but its ${shards.length} shard file(s) hold ${available} bytes (shard cut short or missing from "paths"?)`,
        );
      }
      const pieces = piecesOf(shards, start, spec.bytes);
      entries.push({
        info: {
          name: spec.name,
          dtype: spec.stored,
          storedDtype: spec.stored,
          shape: spec.shape,
          numel: spec.numel,
          bytes: spec.bytes,
          file: shardAt(shards, start)?.path ?? path,
          ...(pieces.length === 1 ? { offset: pieces[0].offset } : {}),
        },
        load: async () => decodeWeight(await readSpan(shards, start, spec.bytes, fail, FORMAT), spec),
      });
    }
  }
  return new LazyCheckpoint(FORMAT, path, [...files], entries, metadata);
}

export const reader: FormatReader = { format: FORMAT, match, open };
