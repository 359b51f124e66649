import { CheckpointError } from '../errors';
import { RandomAccessFile } from '../io/random-access-file';
import { reader as gguf } from './formats/gguf';
import { reader as kerasH5 } from './formats/keras-h5';
import { npyReader, npzReader } from './formats/numpy';
import { reader as onnx } from './formats/onnx';
import { reader as pytorch } from './formats/pytorch';
import { reader as safetensors } from './formats/safetensors';
import { reader as tfjs } from './formats/tfjs';
import type { Checkpoint, FormatReader, Probe } from './types';

/** Every reader, one per format. Order breaks ties between equally confident matches. */
export const READERS: readonly FormatReader[] = [safetensors, gguf, onnx, pytorch, npzReader, npyReader, tfjs, kerasH5];

const PROBE_BYTES = 64 * 1024;

export async function probeFile(path: string): Promise<Probe> {
  const file = await RandomAccessFile.open(path);
  try {
    return { path, size: file.size, head: await file.readUpTo(0, PROBE_BYTES) };
  } finally {
    await file.close();
  }
}

/** Picks the reader by content (the file name is only a tie-breaker hint) and opens the checkpoint lazily. */
export async function openCheckpoint(path: string): Promise<Checkpoint> {
  const probe = await probeFile(path);
  let best: FormatReader | undefined;
  let bestScore = 0;
  for (const r of READERS) {
    const score = r.match(probe);
    if (score > bestScore) {
      best = r;
      bestScore = score;
    }
  }
  if (!best) {
    throw new CheckpointError(
      'unknown_format',
      path,
      '',
      'not a checkpoint format we read (safetensors, PyTorch .pt/.bin, ONNX, GGUF, .npy/.npz, TF.js model.json, Keras .h5)',
    );
  }
  return best.open(path, probe);
}
