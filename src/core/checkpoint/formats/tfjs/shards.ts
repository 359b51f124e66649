import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import type { ErrorFactory } from '../../../errors';
import { RandomAccessFile } from '../../../io/random-access-file';

/** One shard file and where it sits in its group's concatenated byte stream. */
export interface Shard {
  path: string;
  /** Offset of the shard's first byte in the concatenation of the group's shards. */
  start: number;
  size: number;
}

/** A byte range of the concatenated stream, mapped onto one shard. */
interface Piece {
  shard: Shard;
  /** Offset inside the shard file. */
  offset: number;
  /** Offset inside the requested range. */
  at: number;
  length: number;
}

/** Stats every shard of a group (in manifest order) so extents can be checked before any read. */
export async function statShards(dir: string, paths: readonly string[], fail: ErrorFactory): Promise<Shard[]> {
  const shards: Shard[] = [];
  let start = 0;
  for (const rel of paths) {
    const path = nodePath.join(dir, rel);
    const st = await fsp.stat(path).catch((e: NodeJS.ErrnoException) => {
      throw fail('not_found', `shard "${rel}" listed in the manifest is missing (${path}: ${e.code ?? e.message})`);
    });
    if (!st.isFile()) throw fail('not_found', `shard "${rel}" listed in the manifest is not a regular file (${path})`);
    shards.push({ path, start, size: st.size });
    start += st.size;
  }
  return shards;
}

/** Index of the first shard that ends after byte `at` (binary search; ends never decrease), or shards.length. */
function firstShardEndingAfter(shards: readonly Shard[], at: number): number {
  let lo = 0;
  let hi = shards.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (shards[mid].start + shards[mid].size > at) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The pieces of [start, start + length) of the group's stream, shard by shard. */
export function piecesOf(shards: readonly Shard[], start: number, length: number): Piece[] {
  const pieces: Piece[] = [];
  const end = start + length;
  for (let i = firstShardEndingAfter(shards, start); i < shards.length && shards[i].start < end; i++) {
    const shard = shards[i];
    const from = Math.max(start, shard.start);
    const to = Math.min(end, shard.start + shard.size);
    if (to > from) pieces.push({ shard, offset: from - shard.start, at: from - start, length: to - from });
  }
  return pieces;
}

/** The shard holding byte `at` (the last shard for an empty range at the end). */
export function shardAt(shards: readonly Shard[], at: number): Shard | undefined {
  return shards[firstShardEndingAfter(shards, at)] ?? shards[shards.length - 1];
}

/** Reads [start, start + length) of the group's stream by positional reads, across shard boundaries. */
export async function readSpan(
  shards: readonly Shard[],
  start: number,
  length: number,
  fail: ErrorFactory,
  format: string,
): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  const pieces = piecesOf(shards, start, length);
  let covered = 0;
  for (const p of pieces) {
    const file = await RandomAccessFile.open(p.shard.path, format);
    try {
      await file.readInto(out.subarray(p.at, p.at + p.length), p.offset, format);
    } finally {
      await file.close();
    }
    covered += p.length;
  }
  if (covered !== length) {
    const last = shards[shards.length - 1];
    throw fail('truncated', `bytes ${start}..${start + length} are past the end of the shards (${last ? last.start + last.size : 0} bytes)`);
  }
  return out;
}
