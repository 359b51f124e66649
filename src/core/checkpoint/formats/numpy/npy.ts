import * as nodePath from 'node:path';
import { CheckpointError, errorFactory } from '../../../errors';
import { RandomAccessFile } from '../../../io/random-access-file';
import { readElements } from '../../../tensor/read-elements';
import { LazyCheckpoint } from '../../lazy-checkpoint';
import type { FormatReader, Probe, TensorData } from '../../types';
import { decodeNpyData, toRowMajor } from './decode';
import { hasNpyMagic, type NpyHeader, readNpyHeader } from './header';

const FORMAT = 'npy';

function match(p: Probe): number {
  if (hasNpyMagic(p.head)) return 2;
  return p.path.toLowerCase().endsWith('.npy') ? 1 : 0;
}

/** The array's values by one positional read of its data bytes. */
async function loadArray(file: RandomAccessFile, h: NpyHeader): Promise<TensorData> {
  if (h.littleEndian) return toRowMajor(await readElements(file, h.dataOffset, h.type, h.numel, FORMAT), h);
  return decodeNpyData(await file.read(h.dataOffset, h.dataBytes, FORMAT), h);
}

export const npyReader: FormatReader = {
  format: FORMAT,
  match,
  async open(path) {
    const fail = errorFactory(path, FORMAT);
    const file = await RandomAccessFile.open(path, FORMAT);
    try {
      const h = await readNpyHeader((n) => file.read(0, n, FORMAT), file.size, fail);
      const base = nodePath.basename(path);
      const name = base.endsWith('.npy') ? base.slice(0, -4) : base;
      const info = {
        name,
        dtype: h.type,
        storedDtype: h.storedDtype,
        shape: h.shape,
        numel: h.numel,
        bytes: h.dataBytes,
        file: path,
        offset: h.dataOffset,
      };
      const metadata = { npy_version: h.version, fortran_order: h.fortranOrder };
      return new LazyCheckpoint(FORMAT, path, [path], [{ info, load: () => loadArray(file, h) }], metadata, () => file.close());
    } catch (e) {
      await file.close();
      if (e instanceof CheckpointError) throw e;
      throw fail('corrupt', `cannot read the npy header (${(e as Error).message})`);
    }
  },
};
