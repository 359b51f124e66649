/**
 * torch.save zip archives (PyTorch >= 1.6, torch/serialization.py _save): <folder>/data.pkl holds the
 * object, <folder>/data/<key> the raw bytes of each storage, <folder>/byteorder (optional) the byte order.
 * The folder name is whatever the writer chose, so it is found from the member ending in /data.pkl.
 */
import { errorFactory, LIMITS } from '../../../errors';
import { ZipArchive, type ZipMember } from '../../../io/zip-archive';
import { LazyCheckpoint } from '../../lazy-checkpoint';
import { flattenCheckpoint } from './flatten';
import { lazyTensors, type StorageSource } from './tensors';
import { TorchPickleHost } from './torch-host';
import { unpickle } from './unpickler';

const FORMAT = 'pytorch';
const PICKLE_NAME = 'data.pkl';

/** The data.pkl member: the shallowest one, so a nested archive inside the archive does not take over. */
export function findPickleMember(names: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const n of names) {
    if (n !== PICKLE_NAME && !n.endsWith(`/${PICKLE_NAME}`)) continue;
    if (!best || n.split('/').length < best.split('/').length) best = n;
  }
  return best;
}

export async function openZipCheckpoint(path: string): Promise<LazyCheckpoint> {
  const fail = errorFactory(path, FORMAT);
  const archive = await ZipArchive.open(path, FORMAT);
  try {
    const pickleName = findPickleMember(archive.members.keys());
    if (!pickleName) {
      throw fail('unknown_format', `zip archive without a ${PICKLE_NAME} member: not a torch.save checkpoint`);
    }
    const folder = pickleName.slice(0, -PICKLE_NAME.length);
    const names = [...archive.members.keys()];
    if (archive.members.has(`${folder}constants.pkl`) || names.some((n) => n.startsWith(`${folder}code/`))) {
      throw fail(
        'unsupported',
        'this is a TorchScript archive (torch.jit.save), whose data.pkl names compiled module classes; save the weights with torch.save(model.state_dict()) to read them',
      );
    }
    const pickleMember = archive.member(pickleName);
    if (pickleMember.uncompressedSize > LIMITS.maxHeaderBytes) {
      throw fail('too_large', `${pickleName} is ${pickleMember.uncompressedSize} bytes; we read pickles up to ${LIMITS.maxHeaderBytes}`);
    }
    const littleEndian = await readByteOrder(archive, `${folder}byteorder`, fail);
    const host = new TorchPickleHost(fail, pickleName);
    const { value } = unpickle(await archive.readMember(pickleName), 0, host, fail, { complete: true, what: pickleName });
    const flat = flattenCheckpoint(value, fail);

    const sources = new Map<string, StorageSource>();
    for (const [key, claim] of host.storages) {
      const memberName = `${folder}data/${key}`;
      const m = archive.members.get(memberName);
      if (!m) throw fail('corrupt', `${pickleName} names storage "${key}", but the archive has no member "${memberName}"`);
      const needed = claim.numel * claim.dtype.size;
      if (m.uncompressedSize < needed) {
        throw fail('truncated', `member "${memberName}" has ${m.uncompressedSize} bytes; storage "${key}" declares ${claim.numel} × ${claim.dtype.name} = ${needed} bytes`);
      }
      const stored = m.method === 'stored';
      sources.set(key, {
        where: `member "${memberName}"`,
        byteLength: m.uncompressedSize,
        fileOffset: stored ? await storedDataStart(archive, m, fail) : undefined,
        littleEndian,
        read: stored
          ? (offset, length) => archive.readStoredRange(memberName, offset, length)
          : async (offset, length) => (await archive.readMember(memberName)).subarray(offset, offset + length),
      });
    }
    const entries = lazyTensors(flat.tensors, sources, path, fail);
    const metadata = {
      container: 'zip',
      archiveFolder: folder.replace(/\/$/, ''),
      byteOrder: littleEndian ? 'little' : 'big',
      storages: host.storages.size,
      ...(flat.skipped.length ? { unsupportedTensors: flat.skipped } : {}),
      values: flat.values,
    };
    return new LazyCheckpoint(FORMAT, path, [path], entries, metadata, () => archive.close());
  } catch (e) {
    await archive.close();
    throw e;
  }
}

/**
 * File offset of a member's data, from its local header (APPNOTE 4.3.7: name length at 26, extra length at 28).
 * One small read per storage; ZipArchive.dataStart does the same through yauzl about ten times slower.
 */
async function storedDataStart(archive: ZipArchive, m: ZipMember, fail: ReturnType<typeof errorFactory>): Promise<number> {
  if (m.localHeaderOffset + 30 > archive.file.size) throw fail('truncated', `the local header of member "${m.name}" is past the end of the file`);
  const h = await archive.file.read(m.localHeaderOffset, 30, FORMAT);
  if (h.readUInt32LE(0) !== 0x04034b50) throw fail('corrupt', `member "${m.name}" has no local file header at offset ${m.localHeaderOffset}`);
  const start = m.localHeaderOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
  if (start + m.compressedSize > archive.file.size) throw fail('truncated', `member "${m.name}" extends past the end of the file`);
  return start;
}

/** The byteorder record torch >= 1.13 writes ("little" / "big"); archives without one are little-endian. */
async function readByteOrder(archive: ZipArchive, name: string, fail: ReturnType<typeof errorFactory>): Promise<boolean> {
  const m = archive.members.get(name);
  if (!m) return true;
  if (m.uncompressedSize > 16) throw fail('corrupt', `member "${name}" is ${m.uncompressedSize} bytes; expected "little" or "big"`);
  const text = (await archive.readMember(name)).toString('latin1').trim();
  if (text === 'little') return true;
  if (text === 'big') return false;
  throw fail('corrupt', `member "${name}" says "${text}"; expected "little" or "big"`);
}
