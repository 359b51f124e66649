/**
 * The legacy (pre-1.6, `_use_new_zipfile_serialization=False`) format, torch/serialization.py _legacy_save:
 * five pickles in a row — magic number, protocol version 1001, sys_info, the object, the list of storage
 * keys — then, for each key in that order, an int64 ELEMENT count and the storage's raw bytes.
 */
import { type ErrorFactory, errorFactory, LIMITS } from '../../../errors';
import { RandomAccessFile } from '../../../io/random-access-file';
import { LazyCheckpoint } from '../../lazy-checkpoint';
import { flattenCheckpoint } from './flatten';
import { lazyTensors, type StorageSource } from './tensors';
import { describe, TorchPickleHost } from './torch-host';
import { NeedMoreBytes, type PickleHost, unpickle } from './unpickler';
import { PyDict, PyList, type PyValue } from './values';

const FORMAT = 'pytorch';
export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;
/** First read of the pickles; grown 4× while they run past it. */
const FIRST_WINDOW = 1 << 20;

/** For the pickles around the object: plain data only. */
function plainDataHost(fail: ErrorFactory, what: string): PickleHost {
  return {
    global: (module, name) => {
      throw fail('unsafe_pickle', `${what} asks for the Python global "${module}.${name}"; it should hold plain data only`);
    },
    call: () => {
      throw fail('corrupt', `${what} calls a function; it should hold plain data only`);
    },
    persistentLoad: () => {
      throw fail('corrupt', `${what} has a persistent id; it should hold plain data only`);
    },
  };
}

interface LegacyPickles {
  object: PyValue;
  host: TorchPickleHost;
  keys: string[];
  littleEndian: boolean;
  /** File offset just past the key list, where the first storage's count is. */
  dataStart: number;
}

function parsePickles(window: Buffer, complete: boolean, fail: ErrorFactory): LegacyPickles {
  const options = (what: string) => ({ complete, what });
  const magic = unpickle(window, 0, plainDataHost(fail, 'the magic-number pickle'), fail, options('the magic-number pickle'));
  if (magic.value !== LEGACY_MAGIC) throw fail('unknown_format', 'a pickle, but not a PyTorch checkpoint (no legacy magic number)');
  const version = unpickle(window, magic.end, plainDataHost(fail, 'the protocol-version pickle'), fail, options('the protocol-version pickle'));
  if (version.value !== LEGACY_PROTOCOL_VERSION) {
    throw fail('unsupported', `legacy checkpoint protocol version ${describe(version.value)}; we read ${LEGACY_PROTOCOL_VERSION}`);
  }
  const sysInfo = unpickle(window, version.end, plainDataHost(fail, 'the sys_info pickle'), fail, options('the sys_info pickle'));
  const host = new TorchPickleHost(fail, 'the checkpoint pickle');
  const object = unpickle(window, sysInfo.end, host, fail, options('the checkpoint pickle'));
  const keyList = unpickle(window, object.end, plainDataHost(fail, 'the storage key list'), fail, options('the storage key list'));
  if (!(keyList.value instanceof PyList) || !keyList.value.items.every((k) => typeof k === 'string')) {
    throw fail('corrupt', 'the storage key list is not a list of strings');
  }
  const littleEndian = sysInfo.value instanceof PyDict ? sysInfo.value.entries.get('little_endian')?.[1] !== false : true;
  return { object: object.value, host, keys: keyList.value.items as string[], littleEndian, dataStart: keyList.end };
}

/** Parses the five pickles from a window of the file start, growing the window while a pickle runs past it. */
async function readPickles(file: RandomAccessFile, fail: ErrorFactory): Promise<LegacyPickles> {
  let size = Math.min(file.size, FIRST_WINDOW);
  for (;;) {
    const window = await file.read(0, size, FORMAT);
    try {
      return parsePickles(window, size === file.size, fail);
    } catch (e) {
      if (!(e instanceof NeedMoreBytes)) throw e;
      if (size >= LIMITS.maxHeaderBytes) {
        throw fail('too_large', `the pickles of this legacy checkpoint run past ${LIMITS.maxHeaderBytes} bytes`);
      }
      size = Math.min(file.size, size * 4, LIMITS.maxHeaderBytes);
    }
  }
}

/** Walks the data section: per key an int64 element count, then count × element size bytes. */
async function locateStorages(
  file: RandomAccessFile,
  pickles: LegacyPickles,
  fail: ErrorFactory,
): Promise<Map<string, StorageSource>> {
  const { keys, host, littleEndian } = pickles;
  if (keys.length > LIMITS.maxTensorCount) throw fail('too_large', `the storage key list has ${keys.length} entries`);
  const sources = new Map<string, StorageSource>();
  let pos = pickles.dataStart;
  for (const key of keys) {
    const claim = host.storages.get(key);
    if (!claim) throw fail('corrupt', `storage "${key}" is in the key list but no tensor names it, so its element size is unknown`);
    if (sources.has(key)) throw fail('corrupt', `storage "${key}" appears twice in the key list`);
    if (pos + 8 > file.size) {
      throw fail('truncated', `the file ends at ${file.size} bytes, before the data of storage "${key}" (at ${pos}); the file was cut short`);
    }
    const count = (await file.read(pos, 8, FORMAT)).readBigInt64LE(0);
    if (count !== BigInt(claim.numel)) {
      throw fail('corrupt', `storage "${key}" has ${count} elements in the data section, but the pickle declares ${claim.numel}`);
    }
    const start = pos + 8;
    const byteLength = claim.numel * claim.dtype.size;
    if (start + byteLength > file.size) {
      throw fail(
        'truncated',
        `storage "${key}" needs ${byteLength} bytes at offset ${start}, past the end of the file (${file.size} bytes); the file was cut short`,
      );
    }
    sources.set(key, {
      where: `legacy storage "${key}"`,
      byteLength,
      fileOffset: start,
      littleEndian,
      read: (offset, length) => file.read(start + offset, length, FORMAT),
    });
    pos = start + byteLength;
  }
  for (const key of host.storages.keys()) {
    if (!sources.has(key)) throw fail('corrupt', `the pickle names storage "${key}", which is not in the storage key list`);
  }
  return sources;
}

export async function openLegacyCheckpoint(path: string): Promise<LazyCheckpoint> {
  const fail = errorFactory(path, FORMAT);
  const file = await RandomAccessFile.open(path, FORMAT);
  try {
    const pickles = await readPickles(file, fail);
    const flat = flattenCheckpoint(pickles.object, fail);
    const sources = await locateStorages(file, pickles, fail);
    const entries = lazyTensors(flat.tensors, sources, path, fail);
    const metadata = {
      container: 'legacy',
      byteOrder: pickles.littleEndian ? 'little' : 'big',
      storages: pickles.keys.length,
      ...(flat.skipped.length ? { unsupportedTensors: flat.skipped } : {}),
      values: flat.values,
    };
    return new LazyCheckpoint(FORMAT, path, [path], entries, metadata, () => file.close());
  } catch (e) {
    await file.close();
    throw e;
  }
}
