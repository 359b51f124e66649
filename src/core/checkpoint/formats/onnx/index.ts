import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { type ErrorFactory, errorFactory } from '../../../errors';
import { RandomAccessFile } from '../../../io/random-access-file';
import { LazyCheckpoint, type LazyTensor } from '../../lazy-checkpoint';
import type { FormatReader } from '../../types';
import { ExternalFiles } from './external';
import { match } from './match';
import { DATA_LOCATION_EXTERNAL } from './schema';
import { lazyTensor } from './storage';
import { type ModelWalk, ModelWalker } from './walk';
import { WireReader } from './wire';

const FORMAT = 'onnx';

/** Walks the model's structure through a synchronous descriptor of its own, closed before returning. */
function walkModel(path: string, size: number, fail: ErrorFactory): ModelWalk {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw fail('not_found', `cannot open file (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  try {
    return new ModelWalker(new WireReader(fd, size, fail), fail).walk();
  } finally {
    fs.closeSync(fd);
  }
}

async function open(path: string): Promise<LazyCheckpoint> {
  const fail = errorFactory(path, FORMAT);
  const model = await RandomAccessFile.open(path, FORMAT);
  const external = new ExternalFiles(nodePath.dirname(path), fail);
  const closeAll = async () => {
    await Promise.all([model.close(), external.close()]);
  };
  try {
    const walk = walkModel(path, model.size, fail);
    await external.openAll(walk.tensors.filter((t) => t.dataLocation === DATA_LOCATION_EXTERNAL));
    const ctx = { path, model, external, fail };
    const entries: LazyTensor[] = [];
    const skipped = [...walk.skipped];
    for (const src of walk.tensors) {
      const entry = lazyTensor(src, ctx);
      if (entry) entries.push(entry);
      else if (skipped.length < 100) skipped.push(`${src.name} (STRING tensor)`);
    }
    const metadata = {
      ...walk.metadata,
      initializers: walk.tensors.filter((t) => t.kind === 'initializer').length,
      constants: walk.tensors.filter((t) => t.kind === 'constant').length,
      externalTensors: entries.filter((e) => e.info.file !== path).length,
      ...(skipped.length ? { skipped } : {}),
    };
    return new LazyCheckpoint(FORMAT, path, [path, ...external.paths], entries, metadata, closeAll);
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/** ONNX ModelProto: initializers and Constant node values (subgraphs included), inline or in external data files. */
export const reader: FormatReader = { format: FORMAT, match, open };
