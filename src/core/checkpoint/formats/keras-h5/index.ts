import * as nodePath from 'node:path';
import { CheckpointError, errorFactory, type ErrorFactory } from '../../../errors';
import { LazyCheckpoint, type LazyTensor } from '../../lazy-checkpoint';
import type { FormatReader, Probe } from '../../types';
import { describeDataset, readDataset } from './h5-dataset';
import { h5Call, loadH5, type H5 } from './h5-runtime';
import type { H5File } from './h5-tree';
import { listDatasets, readAttribute } from './keras-layout';

const FORMAT = 'keras-h5';

/** "\x89HDF\r\n\x1a\n" (HDF5 File Format Specification, "Format Signature and Superblock"). */
const SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The signature sits at offset 0 or after a user block of 512, 1024, 2048, ... bytes; -1 if not in `head`. */
export function signatureOffset(head: Buffer): number {
  for (let at = 0; at + SIGNATURE.length <= head.length; at = at === 0 ? 512 : at * 2) {
    if (head.subarray(at, at + SIGNATURE.length).equals(SIGNATURE)) return at;
  }
  return -1;
}

function match(p: Probe): number {
  return signatureOffset(p.head) >= 0 ? 2 : 0;
}

/**
 * Root attributes worth showing (keras_version, backend, model_config, ...): scalar strings and numbers.
 * Informative only: an attribute that cannot be read is left out rather than failing the open.
 */
function rootMetadata(f: H5File): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const names = h5Call(f.fail, 'listing the root attributes', () => f.h5.mod.get_attribute_names(f.id, '/'));
  for (const name of names) {
    try {
      const value = readAttribute(f, '/', name);
      if (typeof value === 'string' || typeof value === 'number') out[name] = value;
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
    }
  }
  return out;
}

async function loadLibrary(fail: ErrorFactory): Promise<H5> {
  try {
    return await loadH5();
  } catch (e) {
    throw fail('unsupported', `cannot load the HDF5 library h5wasm (${(e as Error).message})`);
  }
}

async function open(path: string, probe: Probe) {
  const fail = errorFactory(path, FORMAT);
  if (signatureOffset(probe.head) < 0) throw fail('corrupt', 'no HDF5 signature at the start of the file');
  const h5 = await loadLibrary(fail);
  const { mod } = h5;
  // HDF5 opens the path itself and reads what it needs by position (NODERAWFS): nothing is copied up front.
  const id = h5Call(fail, 'opening the file', () => mod.open(nodePath.resolve(path), mod.H5F_ACC_RDONLY, false, -1, -1));
  if (id < 0n) throw fail('corrupt', 'HDF5 could not open the file');
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      h5Call(fail, 'closing the file', () => mod.close_file(id));
    } catch {
      // closing a read-only file has nothing to save; a library that already failed cannot close it either
    }
  };
  try {
    const f: H5File = { h5, id, fail };
    const listing = listDatasets(f);
    const entries: LazyTensor[] = [];
    const skipped: Record<string, string> = {};
    for (const link of listing.skippedLinks) skipped[link] = 'soft or external link';
    for (const rel of listing.paths) {
      const ds = describeDataset(mod, id, `/${rel}`, probe.size, fail);
      if ('unsupported' in ds) {
        if (listing.layout !== 'hdf5') throw fail('unsupported', `weight "${rel}" holds ${ds.unsupported}`);
        skipped[rel] = ds.unsupported;
        continue;
      }
      entries.push({
        info: {
          name: rel,
          dtype: ds.element.type,
          storedDtype: ds.element.storedDtype,
          shape: ds.shape,
          numel: ds.numel,
          // For a compressed dataset this is its decoded size: h5wasm does not expose the stored size.
          bytes: ds.numel * ds.element.size,
          file: path,
        },
        load: async () => {
          if (closed) throw fail('corrupt', `the checkpoint was closed before "${rel}" was read`);
          return readDataset(mod, id, ds, fail);
        },
      });
    }
    const metadata: Record<string, unknown> = { hdf5_layout: listing.layout, ...rootMetadata(f) };
    if (Object.keys(skipped).length) metadata.skipped_datasets = skipped;
    return new LazyCheckpoint(FORMAT, path, [path], entries, metadata, close);
  } catch (e) {
    await close();
    throw e;
  }
}

export const reader: FormatReader = {
  format: FORMAT,
  match,
  open,
};
