/**
 * Permutation spec for CNN and MLP chains from names, shapes and file order, without the graph.
 *
 * `cnn`: activations of equal width share one permutation, named `ch<width>`. Any residual add, dense/skip
 * connection or several heads reading one feature map then stays consistent, because two activations can only be
 * added when they have the same width. Sharing more than needed only narrows the search; it never changes what the
 * permuted model computes. Fixed (never permuted): the first layer's input width (the model input), the last layer's
 * output width and every width no layer reads (outputs and heads), recurrent hidden widths (their state is usually
 * a model input/output) and widths read but never written (model inputs, parameter-free transforms such as an STFT
 * magnitude). A width that is read, never written and equals a sum of permuted widths looks like a concatenation and
 * is refused: give a spec file (segments) for such models.
 *
 * `mlp`: a plain chain in file order, one permutation per hidden layer (Ainsworth et al.'s `mlp_permutation_spec`).
 */
import type { FormatId } from '../../../checkpoint/types';
import { SpecError, wholeAxis, type AxisSpec, type PermutationSpec } from '../spec';
import { connections, layerPrefix, type Connection, type TensorShape } from './layers';

export interface InferredSpec {
  spec: PermutationSpec;
  notes: string[];
}

function sumOfParts(w: number, parts: readonly number[], maxParts: number): boolean {
  if (w === 0) return maxParts >= 0;
  if (maxParts === 0) return false;
  return parts.some((p) => p <= w && sumOfParts(w - p, parts, maxParts - 1));
}

export function inferCnnSpec(tensors: readonly TensorShape[], format: FormatId): InferredSpec {
  const conns = connections(tensors, format);
  const layers = conns.filter((c) => c.type !== 'vector');
  if (layers.length < 2) throw new SpecError('cnn spec: fewer than two weight layers; nothing to permute');
  const produced = new Set<number>();
  const consumed = new Set<number>();
  const fixed = new Set<number>();
  const inW = (c: Connection) => (c.type === 'kernel' ? c.shape[c.inAxis] : c.type === 'depthwise' ? c.shape[c.channelAxis] : c.type === 'recurrent' ? c.shape[c.inAxis] : 0);
  const outW = (c: Connection) => (c.type === 'kernel' ? c.shape[c.outAxis] : c.type === 'depthwise' ? c.shape[c.channelAxis] : c.type === 'recurrent' ? c.hidden : 0);
  for (const c of layers) {
    consumed.add(inW(c));
    produced.add(outW(c));
    if (c.type === 'recurrent') fixed.add(c.hidden);
  }
  fixed.add(inW(layers[0]));
  fixed.add(outW(layers[layers.length - 1]));
  for (const w of produced) if (!consumed.has(w)) fixed.add(w);
  const notes: string[] = [];
  const free = [...produced].filter((w) => consumed.has(w) && !fixed.has(w));
  for (const c of layers) {
    const w = inW(c);
    if (produced.has(w) || fixed.has(w)) continue;
    if (sumOfParts(w, free, 4)) {
      throw new SpecError(
        `cnn spec: "${c.name}" reads ${w} channels, which no layer writes but which add up from permuted widths (${free.join(', ')}): ` +
          'probably a concatenation; describe it in a spec file (--spec FILE, segments)',
      );
    }
    fixed.add(w);
    notes.push(`${w} input channels of "${c.name}" come from outside the weights (model input or a parameter-free transform): fixed`);
  }
  const permOf = (w: number): string | null => (fixed.has(w) ? null : `ch${w}`);
  const perms = new Map<string, number>();
  const axes = new Map<string, AxisSpec[]>();
  const use = (w: number): string | null => {
    const p = permOf(w);
    if (p) perms.set(p, w);
    return p;
  };
  const recurrentPrefixes = new Set(layers.filter((c) => c.type === 'recurrent').map((c) => layerPrefix(c.name)));
  for (const c of conns) {
    // Gate-stacked recurrent biases [gates·H] move with the (fixed) hidden units.
    if (c.type === 'vector' && recurrentPrefixes.has(layerPrefix(c.name))) continue;
    const spec: AxisSpec[] = c.shape.map(() => null);
    if (c.type === 'kernel') {
      spec[c.inAxis] = wholeAxis(use(c.shape[c.inAxis]), c.shape[c.inAxis]);
      spec[c.outAxis] = wholeAxis(use(c.shape[c.outAxis]), c.shape[c.outAxis]);
    } else if (c.type === 'depthwise') {
      spec[c.channelAxis] = wholeAxis(use(c.shape[c.channelAxis]), c.shape[c.channelAxis]);
    } else if (c.type === 'recurrent') {
      spec[c.inAxis] = wholeAxis(use(c.shape[c.inAxis]), c.shape[c.inAxis]);
    } else {
      spec[0] = wholeAxis(use(c.shape[0]), c.shape[0]);
    }
    if (spec.some((s) => s !== null)) axes.set(c.name, spec);
  }
  if (perms.size === 0) notes.push('every channel width is fixed: nothing to permute');
  return { spec: { perms, axes }, notes };
}

export function inferMlpSpec(tensors: readonly TensorShape[], format: FormatId): InferredSpec {
  const conns = connections(tensors, format);
  const layers = conns.filter((c): c is Extract<Connection, { type: 'kernel' }> => c.type === 'kernel');
  if (layers.length < 2) throw new SpecError('mlp spec: fewer than two weight matrices; nothing to permute');
  const other = conns.find((c) => c.type === 'depthwise' || c.type === 'recurrent');
  if (other) throw new SpecError(`mlp spec: "${other.name}" is not a dense layer; try --spec cnn`);
  const perms = new Map<string, number>();
  const axes = new Map<string, AxisSpec[]>();
  let prevOut: string | null = null;
  let prevWidth = layers[0].shape[layers[0].inAxis];
  const owner = new Map<string, { perm: string | null; width: number }>();
  layers.forEach((l, i) => {
    const width = l.shape[l.inAxis];
    if (width !== prevWidth) {
      throw new SpecError(`mlp spec: "${l.name}" reads ${width} features but the layer before it writes ${prevWidth}; not a chain in file order`);
    }
    const outWidth = l.shape[l.outAxis];
    const outPerm = i === layers.length - 1 ? null : `h${i}`;
    if (outPerm) perms.set(outPerm, outWidth);
    const spec: AxisSpec[] = l.shape.map(() => null);
    spec[l.inAxis] = wholeAxis(prevOut, width);
    spec[l.outAxis] = wholeAxis(outPerm, outWidth);
    axes.set(l.name, spec);
    owner.set(layerPrefix(l.name), { perm: outPerm, width: outWidth });
    prevOut = outPerm;
    prevWidth = outWidth;
  });
  // Vectors: the layer of the same prefix, else (norm layers between) the most recent layer before them in file order.
  let recent: { perm: string | null; width: number } | undefined;
  for (const c of conns) {
    if (c.type === 'kernel') {
      recent = owner.get(layerPrefix(c.name));
      continue;
    }
    if (c.type !== 'vector') continue;
    const o = owner.get(layerPrefix(c.name)) ?? recent;
    if (!o || o.width !== c.shape[0]) throw new SpecError(`mlp spec: cannot tell which layer the vector "${c.name}" [${c.shape[0]}] belongs to`);
    if (o.perm) axes.set(c.name, [wholeAxis(o.perm, c.shape[0])]);
  }
  return { spec: { perms, axes }, notes: [] };
}
