import { guessKind, type TensorKind } from './checkpoint/kind';
import type { Checkpoint } from './checkpoint/types';
import { tensorStats, type TensorStats } from './tensor/stats';

export interface InspectedTensor {
  name: string;
  dtype: string;
  shape: number[];
  bytes: number;
  kind: TensorKind;
  stats?: TensorStats;
}

export interface InspectReport {
  format: string;
  files: string[];
  parameters: number;
  tensors: InspectedTensor[];
}

/** Integer tensors are shapes, indices and counters, not trainable parameters. */
const NON_PARAMETER_DTYPES = new Set(['int64', 'int32', 'int16', 'uint64', 'uint32', 'uint16', 'bool']);

export function parameterCount(ckpt: Checkpoint): number {
  return ckpt.tensors.reduce((n, t) => (NON_PARAMETER_DTYPES.has(t.dtype) ? n : n + t.numel), 0);
}

/** The `inspect` job: metadata of every tensor, and with `stats` its decoded statistics (one tensor in memory at a time). */
export async function inspectCheckpoint(
  ckpt: Checkpoint,
  opts: { stats?: boolean; onTensor?: (index: number, total: number) => void } = {},
): Promise<InspectReport> {
  const tensors: InspectedTensor[] = [];
  for (let i = 0; i < ckpt.tensors.length; i++) {
    const t = ckpt.tensors[i];
    const row: InspectedTensor = { name: t.name, dtype: t.dtype, shape: [...t.shape], bytes: t.bytes, kind: guessKind(t.name, t.shape) };
    if (opts.stats) row.stats = tensorStats(await ckpt.read(t.name, 'float64'));
    tensors.push(row);
    opts.onTensor?.(i + 1, ckpt.tensors.length);
  }
  return { format: ckpt.format, files: [...ckpt.files], parameters: parameterCount(ckpt), tensors };
}
