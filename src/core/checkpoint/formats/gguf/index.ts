import { type ErrorFactory, errorFactory, LIMITS } from '../../../errors';
import { RandomAccessFile } from '../../../io/random-access-file';
import { readElements } from '../../../tensor/read-elements';
import { LazyCheckpoint, type LazyTensor } from '../../lazy-checkpoint';
import type { FormatReader, Probe, TensorData } from '../../types';
import { canonicalDtype } from './ggml-types';
import { type GgufTensor, readGgufHeader } from './header';

const FORMAT = 'gguf';

/** GGUF files start with the four bytes "GGUF". */
function match(p: Probe): number {
  if (p.head.length >= 4 && p.head.toString('latin1', 0, 4) === 'GGUF') return 2;
  return p.path.toLowerCase().endsWith('.gguf') ? 1 : 0;
}

/** Reads one tensor's stored bytes by position and decodes them to float values in row-major order. */
async function loadTensor(file: RandomAccessFile, t: GgufTensor, fail: ErrorFactory): Promise<TensorData> {
  const { type } = t;
  if (t.numel > LIMITS.maxTensorElements) {
    throw fail('too_large', `tensor "${t.name}" has ${t.numel} elements, more than we decode at once (${LIMITS.maxTensorElements})`);
  }
  if (type.element) return readElements(file, t.start, type.element, t.numel, FORMAT);
  if (!type.dequantize) {
    throw fail('unsupported', `tensor "${t.name}" uses GGUF type ${type.name} (${type.id}), which we do not decode`);
  }
  const raw = new Uint8Array(t.bytes);
  await file.readInto(raw, t.start, FORMAT);
  const out = new Float32Array(t.numel);
  // Rows are whole blocks and follow each other without padding, so the tensor is one run of blocks.
  type.dequantize(raw, out, t.numel / type.blockSize);
  return out;
}

export const reader: FormatReader = {
  format: FORMAT,
  match,
  async open(path) {
    const fail = errorFactory(path, FORMAT);
    const file = await RandomAccessFile.open(path, FORMAT);
    try {
      const header = await readGgufHeader(file, fail, FORMAT);
      const entries = header.tensors.map(
        (t): LazyTensor => ({
          info: {
            name: t.name,
            dtype: canonicalDtype(t.type),
            storedDtype: t.type.name,
            shape: t.shape,
            numel: t.numel,
            bytes: t.bytes,
            file: path,
            offset: t.start,
          },
          load: () => loadTensor(file, t, fail),
        }),
      );
      return new LazyCheckpoint(FORMAT, path, [path], entries, header.metadata, () => file.close());
    } catch (e) {
      await file.close();
      throw e;
    }
  },
};
