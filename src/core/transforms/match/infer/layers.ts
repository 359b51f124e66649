/** How each weight tensor connects channels: which axis reads the input, which writes the output (by format and name). */
import { guessKind } from '../../../checkpoint/kind';
import type { FormatId } from '../../../checkpoint/types';

export interface TensorShape {
  readonly name: string;
  readonly shape: readonly number[];
}

export type Connection =
  /** A dense or conv kernel: output channels on outAxis, input channels on inAxis, other axes spatial. */
  | { type: 'kernel'; name: string; shape: readonly number[]; inAxis: number; outAxis: number }
  /** Depthwise conv: one channel axis, read and written (channel multiplier 1). */
  | { type: 'depthwise'; name: string; shape: readonly number[]; channelAxis: number }
  /** Recurrent gate stack [gates·H, in] (or [dirs, gates·H, in]): hidden units stay fixed (state is usually model I/O). */
  | { type: 'recurrent'; name: string; shape: readonly number[]; rowAxis: number; inAxis: number; gates: number; hidden: number }
  /** Per-channel vector (bias, norm scale/shift, running statistics). */
  | { type: 'vector'; name: string; shape: readonly number[] };

const TF_LAYOUT = new Set<FormatId>(['tfjs', 'keras-h5']);

export function isTfLayout(format: FormatId): boolean {
  return TF_LAYOUT.has(format);
}

/** Last name component separator: '.', '/' or ':' (TF). */
export function layerPrefix(name: string): string {
  const i = Math.max(name.lastIndexOf('.'), name.lastIndexOf('/'));
  return i < 0 ? '' : name.slice(0, i);
}

/**
 * Classifies weight tensors in file order. Recurrent hidden sizes come from the `weight_hh`/`recurrent_kernel`
 * partner of the same layer.
 */
export function connections(tensors: readonly TensorShape[], format: FormatId): Connection[] {
  const tf = isTfLayout(format);
  const hiddenOf = new Map<string, number>();
  for (const t of tensors) {
    if (/(weight_hh|recurrent_kernel|\bR$)/i.test(t.name) && t.shape.length >= 2) {
      hiddenOf.set(layerPrefix(t.name), tf ? t.shape[0] : t.shape[t.shape.length - 1]);
    }
  }
  const out: Connection[] = [];
  for (const t of tensors) {
    const { name, shape } = t;
    if (shape.length === 0) continue;
    if (shape.length === 1) {
      out.push({ type: 'vector', name, shape });
      continue;
    }
    const kind = guessKind(name, shape);
    const lower = name.toLowerCase();
    if (kind === 'recurrent') {
      const hidden = hiddenOf.get(layerPrefix(name));
      const rowAxis = tf ? shape.length - 1 : shape.length - 2;
      const inAxis = tf ? shape.length - 2 : shape.length - 1;
      if (hidden && shape[rowAxis] % hidden === 0) {
        out.push({ type: 'recurrent', name, shape, rowAxis, inAxis, gates: shape[rowAxis] / hidden, hidden });
        continue;
      }
    }
    if (/depthwise|dw_?conv|\.dw\./.test(lower)) {
      // TF [kh, kw, C, M] with M = 1; PyTorch groups=C: [C, 1, kh, kw].
      if (tf && shape.length === 4 && shape[3] === 1) {
        out.push({ type: 'depthwise', name, shape, channelAxis: 2 });
        continue;
      }
      if (!tf && shape.length >= 3 && shape[1] === 1) {
        out.push({ type: 'depthwise', name, shape, channelAxis: 0 });
        continue;
      }
    }
    if (tf) out.push({ type: 'kernel', name, shape, inAxis: shape.length - 2, outAxis: shape.length - 1 });
    else if (/(^|[./])(c_attn|c_proj|c_fc)[./]/.test(lower) && shape.length === 2) {
      // GPT-2's Conv1D stores [in, out].
      out.push({ type: 'kernel', name, shape, inAxis: 0, outAxis: 1 });
    } else out.push({ type: 'kernel', name, shape, inAxis: 1, outAxis: 0 });
  }
  return out;
}
