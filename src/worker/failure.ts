/** What the worker tells the caller about a job that threw: a short kind the UI and the CLI can act on, and the message. */
import { isCancellation } from '../core/cancel';
import { CheckpointError } from '../core/errors';
import { OutputError } from '../core/io/atomic-write';
import { OnnxCheckError } from '../core/transforms/compress/onnx-check';
import { EigenError } from '../core/transforms/compress/symmetric-eigenvectors';
import { transformErrorKind } from '../core/transforms/match/errors';
import { MergeParameterError } from '../core/transforms/merge/types';
import { CancelledWriteError } from '../core/writers/staged-outputs';

/** onnxruntime-node reports a model it cannot run with plain Errors; these are their openings. */
const ORT_MESSAGE = /^(Non-zero status code returned while running|Failed to load model|\[ONNXRuntimeError\]|Load model from|Got invalid dimensions|Unexpected input data type|input '[^']*' is missing)/;

export interface Failure {
  kind: string;
  message: string;
}

/**
 * `stopped`: the caller had asked to cancel (a writer that sees the cancel mid-file raises an OutputError).
 * Kinds: 'cancelled', a CheckpointError kind, 'output', 'architecture' | 'spec' | 'assignment' | 'input', 'numeric',
 * 'onnxruntime', else 'internal'.
 */
export function describeFailure(e: unknown, stopped: boolean): Failure {
  const message = e instanceof Error ? e.message : String(e);
  if (isCancellation(e) || e instanceof CancelledWriteError) return { kind: 'cancelled', message: 'cancelled' };
  if (e instanceof CheckpointError) return { kind: e.kind, message };
  if (e instanceof OutputError) return stopped ? { kind: 'cancelled', message: 'cancelled' } : { kind: 'output', message };
  const transform = transformErrorKind(e);
  if (transform) return { kind: transform, message };
  if (e instanceof MergeParameterError || e instanceof OnnxCheckError) return { kind: 'input', message };
  if (e instanceof EigenError) return { kind: 'numeric', message };
  if (e instanceof Error && ORT_MESSAGE.test(message)) return { kind: 'onnxruntime', message: `onnxruntime could not run the model: ${message.split('\n')[0]}` };
  if (stopped) return { kind: 'cancelled', message: 'cancelled' };
  return { kind: 'internal', message };
}
