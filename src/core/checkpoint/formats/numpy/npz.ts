import * as zlib from 'node:zlib';
import { CheckpointError, type ErrorFactory, errorFactory } from '../../../errors';
import { ZipArchive, type ZipMember } from '../../../io/zip-archive';
import { LazyCheckpoint, type LazyTensor } from '../../lazy-checkpoint';
import type { FormatReader, Probe, TensorData, TensorInfo } from '../../types';
import { decodeNpyData } from './decode';
import { readNpyHeader } from './header';

const FORMAT = 'npz';
const ZIP_LOCAL_HEADER = 0x04034b50;

/** A zip whose local headers (as far as the probe reaches) name at least one `.npy` member. */
function match(p: Probe): number {
  const isZip = p.head.length >= 4 && p.head.readUInt32LE(0) === ZIP_LOCAL_HEADER;
  if (isZip && leadingMemberNames(p.head).some((n) => n.endsWith('.npy'))) return 2;
  return p.path.toLowerCase().endsWith('.npz') ? 1 : 0;
}

/** Names of the consecutive local file headers at the start of a zip (APPNOTE 4.3.7), within `head`. */
function leadingMemberNames(head: Buffer): string[] {
  const names: string[] = [];
  let pos = 0;
  while (pos + 30 <= head.length && head.readUInt32LE(pos) === ZIP_LOCAL_HEADER) {
    const flags = head.readUInt16LE(pos + 6);
    let compressed = head.readUInt32LE(pos + 18);
    const nameLen = head.readUInt16LE(pos + 26);
    const extraLen = head.readUInt16LE(pos + 28);
    const nameEnd = pos + 30 + nameLen;
    if (nameEnd > head.length) break;
    names.push(head.toString('utf8', pos + 30, nameEnd));
    if (flags & 0x08) break; // sizes follow the data (data descriptor): the next header cannot be located
    if (compressed === 0xffffffff) {
      const zip64 = zip64CompressedSize(head.subarray(nameEnd, Math.min(head.length, nameEnd + extraLen)));
      if (zip64 === undefined) break;
      compressed = zip64;
    }
    pos = nameEnd + extraLen + compressed;
  }
  return names;
}

/** Compressed size from a local header's ZIP64 extra field (id 1: uncompressed u64, compressed u64). */
function zip64CompressedSize(extra: Buffer): number | undefined {
  for (let p = 0; p + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(p);
    const len = extra.readUInt16LE(p + 2);
    if (id === 1 && len >= 16 && p + 20 <= extra.length) return Number(extra.readBigUInt64LE(p + 12));
    p += 4 + len;
  }
  return undefined;
}

/** Zip and zlib failures that are not already typed become 'corrupt', naming the member. */
async function guarded<T>(fail: ErrorFactory, what: () => Promise<T>): Promise<T> {
  try {
    return await what();
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    const tooBig = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    throw fail('corrupt', tooBig ? 'inflates to more bytes than its zip entry declares (zip bomb?)' : `does not inflate (${(e as Error).message})`);
  }
}

/** Lists one `.npy` member from its header only (a compressed member is inflated just far enough). */
async function memberTensor(archive: ZipArchive, m: ZipMember, path: string): Promise<LazyTensor> {
  const base = errorFactory(path, FORMAT);
  const fail: ErrorFactory = (kind, problem) => base(kind, `member "${m.name}": ${problem}`);
  const h = await readNpyHeader((n) => guarded(fail, () => archive.readMemberPrefix(m.name, n)), m.uncompressedSize, fail);
  const stored = m.method === 'stored';
  const info: TensorInfo = {
    name: m.name.slice(0, -'.npy'.length),
    dtype: h.type,
    storedDtype: h.storedDtype,
    shape: h.shape,
    numel: h.numel,
    bytes: h.dataBytes,
    file: path,
    ...(stored ? { offset: (await archive.dataStart(m)) + h.dataOffset } : {}),
  };
  const load = async (): Promise<TensorData> => {
    if (stored) return decodeNpyData(await archive.readStoredRange(m.name, h.dataOffset, h.dataBytes), h);
    const whole = await guarded(fail, () => archive.readMember(m.name));
    // The whole member is in memory here, so its CRC-32 is cheap to check (APPNOTE 4.4.7).
    if (zlib.crc32(whole) !== m.entry.crc32) throw fail('corrupt', 'inflated data does not match its CRC-32 checksum');
    return decodeNpyData(whole.subarray(h.dataOffset, h.dataOffset + h.dataBytes), h);
  };
  return { info, load };
}

export const npzReader: FormatReader = {
  format: FORMAT,
  match,
  async open(path) {
    const archive = await ZipArchive.open(path, FORMAT);
    try {
      const entries: LazyTensor[] = [];
      const otherMembers: string[] = [];
      for (const m of archive.members.values()) {
        if (m.name.endsWith('.npy')) entries.push(await memberTensor(archive, m, path));
        else otherMembers.push(m.name);
      }
      const metadata = otherMembers.length ? { other_members: otherMembers } : {};
      return new LazyCheckpoint(FORMAT, path, [path], entries, metadata, () => archive.close());
    } catch (e) {
      await archive.close();
      if (e instanceof CheckpointError) throw e;
      throw errorFactory(path, FORMAT)('corrupt', `cannot list the archive (${(e as Error).message})`);
    }
  },
};
