import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { errorFactory } from '../../../errors';
import { RandomAccessFile } from '../../../io/random-access-file';
import { readElements } from '../../../tensor/read-elements';
import { LazyCheckpoint, type LazyTensor } from '../../lazy-checkpoint';
import type { FormatReader, Probe } from '../../types';
import { headerLength, parseHeader } from './header';

const FORMAT = 'safetensors';

/** A safetensors file starts with a u64 length then a JSON object: `{"`. Index files are JSON with weight_map. */
function match(p: Probe): number {
  if (isIndexJson(p)) return 2;
  if (p.head.length >= 10) {
    const n = p.head.readBigUInt64LE(0);
    if (n > 1n && n <= BigInt(Math.max(0, p.size - 8)) && p.head[8] === 0x7b /* { */) {
      // tolerate leading spaces the spec allows before the first key
      const next = p.head.subarray(9, 64).toString('latin1').trimStart();
      if (next.startsWith('"') || next.startsWith('}')) return 2;
    }
    if (n > 1n && p.head[8] === 0x7b) return 2; // header length past EOF: still ours, and broken
  }
  return p.path.endsWith('.safetensors') ? 1 : 0;
}

function isIndexJson(p: Probe): boolean {
  if (!p.path.endsWith('.json')) return false;
  const text = p.head.toString('utf8', 0, Math.min(p.head.length, 4096));
  return text.trimStart().startsWith('{') && /"weight_map"\s*:/.test(text);
}

/** Opens one safetensors file; its tensors keep the file open until `close`. */
async function openFile(path: string): Promise<{ entries: LazyTensor[]; metadata: Record<string, string>; file: RandomAccessFile }> {
  const fail = errorFactory(path, FORMAT);
  const file = await RandomAccessFile.open(path, FORMAT);
  try {
    const len = headerLength(await file.readUpTo(0, 8), file.size, fail);
    const header = parseHeader(await file.read(8, len, FORMAT), file.size, fail);
    const entries = header.entries.map((e): LazyTensor => ({
      info: {
        name: e.name,
        dtype: e.type,
        storedDtype: e.storedDtype,
        shape: e.shape,
        numel: e.numel,
        bytes: e.end - e.start,
        file: path,
        offset: e.start,
      },
      load: (target) => readElements(file, e.start, e.type, e.numel, FORMAT, target),
    }));
    return { entries, metadata: header.metadata, file };
  } catch (e) {
    await file.close();
    throw e;
  }
}

async function openIndex(path: string) {
  const fail = errorFactory(path, FORMAT);
  let index: { weight_map?: Record<string, string>; metadata?: Record<string, unknown> };
  try {
    index = JSON.parse(await fs.promises.readFile(path, 'utf8'));
  } catch (e) {
    throw fail('corrupt', `index file is not valid JSON (${(e as Error).message})`);
  }
  const weightMap = index.weight_map;
  if (!weightMap || typeof weightMap !== 'object') throw fail('corrupt', 'index file has no "weight_map" object');
  const dir = nodePath.dirname(path);
  const shardNames = [...new Set(Object.values(weightMap))];
  for (const s of shardNames) {
    if (typeof s !== 'string' || nodePath.isAbsolute(s) || s.split(/[\\/]/).includes('..')) {
      throw fail('unsafe_path', `weight_map names shard "${s}" outside the model folder`);
    }
  }
  const opened: Awaited<ReturnType<typeof openFile>>[] = [];
  try {
    for (const s of shardNames) opened.push(await openFile(nodePath.join(dir, s)));
  } catch (e) {
    await Promise.all(opened.map((o) => o.file.close()));
    throw e;
  }
  const entries: LazyTensor[] = [];
  for (let i = 0; i < shardNames.length; i++) {
    for (const e of opened[i].entries) {
      if (weightMap[e.info.name] !== shardNames[i]) {
        await Promise.all(opened.map((o) => o.file.close()));
        throw fail('corrupt', `shard "${shardNames[i]}" holds tensor "${e.info.name}" which the index places in "${weightMap[e.info.name] ?? 'no shard'}"`);
      }
      entries.push(e);
    }
  }
  const missing = Object.keys(weightMap).filter((n) => !entries.some((e) => e.info.name === n));
  if (missing.length) {
    await Promise.all(opened.map((o) => o.file.close()));
    throw fail('corrupt', `the index lists ${missing.length} tensor(s) no shard holds, e.g. "${missing[0]}"`);
  }
  return { entries, metadata: { ...(index.metadata ?? {}) }, files: [path, ...opened.map((o) => o.file.path)], opened };
}

/**
 * A shard of a sharded model opens the whole model when its sibling index exists and lists it;
 * otherwise it opens alone.
 */
function siblingIndex(path: string): string | undefined {
  const dir = nodePath.dirname(path);
  const base = nodePath.basename(path);
  if (!/-\d+-of-\d+\.safetensors$/.test(base)) return undefined;
  for (const f of fs.readdirSync(dir)) {
    if (!f.endsWith('.safetensors.index.json')) continue;
    try {
      const idx = JSON.parse(fs.readFileSync(nodePath.join(dir, f), 'utf8'));
      if (Object.values(idx.weight_map ?? {}).includes(base)) return nodePath.join(dir, f);
    } catch {
      // not an index we can use; the shard opens alone
    }
  }
  return undefined;
}

export const reader: FormatReader = {
  format: FORMAT,
  match,
  async open(path, probe) {
    const indexPath = isIndexJson(probe) ? path : siblingIndex(path);
    if (indexPath) {
      const idx = await openIndex(indexPath);
      return new LazyCheckpoint(FORMAT, path, idx.files, idx.entries, idx.metadata, async () => {
        await Promise.all(idx.opened.map((o) => o.file.close()));
      });
    }
    const { entries, metadata, file } = await openFile(path);
    try {
      return new LazyCheckpoint(FORMAT, path, [path], entries, metadata, () => file.close());
    } catch (e) {
      await file.close();
      throw e;
    }
  },
};
