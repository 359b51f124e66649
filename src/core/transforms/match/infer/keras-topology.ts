/**
 * Exact permutation spec from a Keras / TF.js layers-model topology (model.json `modelTopology`): the graph says which
 * activations are added (one permutation), concatenated (segments) or reshaped (fixed), so no width guessing is
 * needed. Every activation's channels are a list of segments over union-find nodes; a node is fixed when it touches
 * a model input or output, a reshape, a recurrent state, or a layer we do not know.
 */
import * as fs from 'node:fs';
import { SpecError, type AxisSpec, type PermutationSpec } from '../spec';
import type { InferredSpec } from './cnn';
import type { TensorShape } from './layers';

interface KerasLayer {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown;
}

type Space = { node: number; size: number }[];

/** Layers that act on each channel separately (or only on positions): the output has the input's channels. */
const CHANNELWISE = new Set([
  'Activation', 'ReLU', 'LeakyReLU', 'ELU', 'ThresholdedReLU', 'Softmax', 'Dropout', 'SpatialDropout1D', 'SpatialDropout2D',
  'SpatialDropout3D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ActivityRegularization', 'UpSampling1D', 'UpSampling2D',
  'UpSampling3D', 'MaxPooling1D', 'MaxPooling2D', 'MaxPooling3D', 'AveragePooling1D', 'AveragePooling2D', 'AveragePooling3D',
  'GlobalAveragePooling1D', 'GlobalAveragePooling2D', 'GlobalAveragePooling3D', 'GlobalMaxPooling1D', 'GlobalMaxPooling2D',
  'GlobalMaxPooling3D', 'ZeroPadding1D', 'ZeroPadding2D', 'ZeroPadding3D', 'Cropping1D', 'Cropping2D', 'Cropping3D', 'Masking',
]);
const MERGE = new Set(['Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum']);
const KERNEL = new Set(['Conv1D', 'Conv2D', 'Conv3D', 'Dense', 'Conv2DTranspose', 'Conv3DTranspose', 'Conv1DTranspose', 'SeparableConv1D', 'SeparableConv2D', 'DepthwiseConv2D', 'DepthwiseConv1D']);
const PER_CHANNEL = new Set(['BatchNormalization', 'LayerNormalization', 'PReLU']);

class UnionFind {
  parent: number[] = [];
  fixed: boolean[] = [];
  owner: string[] = [];
  make(owner: string, fixed = false): number {
    this.parent.push(this.parent.length);
    this.fixed.push(fixed);
    this.owner.push(owner);
    return this.parent.length - 1;
  }
  find(x: number): number {
    while (this.parent[x] !== x) x = this.parent[x] = this.parent[this.parent[x]];
    return x;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    const [keep, drop] = ra < rb ? [ra, rb] : [rb, ra];
    this.parent[drop] = keep;
    this.fixed[keep] ||= this.fixed[drop];
  }
  fix(x: number): void {
    this.fixed[this.find(x)] = true;
  }
}

/** The model config of a TF.js layers model.json, or undefined when the file has no usable topology. */
export function readKerasTopology(path: string): { className: string; config: Record<string, unknown> } | undefined {
  if (!path.toLowerCase().endsWith('.json')) return undefined;
  try {
    const doc = JSON.parse(fs.readFileSync(path, 'utf8')) as { modelTopology?: Record<string, unknown> };
    const topo = doc.modelTopology;
    if (!topo) return undefined;
    const model = ((topo.model_config as Record<string, unknown> | undefined) ?? topo) as { class_name?: string; config?: unknown };
    if (!model.config || typeof model.config !== 'object') return undefined;
    const config = Array.isArray(model.config) ? { layers: model.config } : (model.config as Record<string, unknown>);
    if (!Array.isArray(config.layers)) return undefined;
    return { className: model.class_name ?? 'Model', config };
  } catch {
    return undefined;
  }
}

/** Names of the layers feeding a layer (Keras 2 inbound_nodes: [[[name, node, tensor, kwargs], …]]). */
function inboundNames(layer: KerasLayer): string[] | undefined {
  const nodes = layer.inbound_nodes;
  if (!Array.isArray(nodes)) return undefined;
  if (nodes.length === 0) return [];
  if (nodes.length > 1) return undefined; // a shared layer: not handled
  const first = nodes[0];
  if (!Array.isArray(first)) return undefined;
  return first.map((x) => (Array.isArray(x) && typeof x[0] === 'string' ? x[0] : '')).filter((s) => s);
}

export function inferKerasSpec(topology: { className: string; config: Record<string, unknown> }, tensors: readonly TensorShape[]): InferredSpec | undefined {
  const layers = topology.config.layers as KerasLayer[];
  const sequential = topology.className === 'Sequential';
  const uf = new UnionFind();
  const outputs = new Map<string, Space>();
  const weightsOf = new Map<string, TensorShape[]>();
  for (const t of tensors) {
    const i = t.name.lastIndexOf('/');
    if (i < 0) return undefined;
    const layer = t.name.slice(0, i).split('/').pop()!;
    weightsOf.set(layer, [...(weightsOf.get(layer) ?? []), t]);
  }
  const axes = new Map<string, AxisSpec[]>();
  /** Axis specs refer to nodes; resolved to names after every union. */
  const pending: { tensor: string; axis: number; space: Space }[] = [];
  const notes: string[] = [];
  const fixAll = (s: Space) => s.forEach((seg) => uf.fix(seg.node));
  const fresh = (owner: string, size: number, fixed = false): Space => [{ node: uf.make(owner, fixed), size }];
  const withSizes = (s: Space, total: number): Space => (s.length === 1 && s[0].size < 0 ? [{ node: s[0].node, size: total }] : s);

  let previous: string | undefined;
  for (const layer of layers) {
    const name = (layer.name ?? (layer.config.name as string | undefined)) as string;
    const cls = layer.class_name;
    const from = sequential ? (previous ? [previous] : []) : inboundNames(layer);
    if (!from) return undefined;
    previous = name;
    const ins = from.map((n) => outputs.get(n));
    if (ins.some((s) => !s)) return undefined;
    const input = ins[0] as Space | undefined;
    const weights = weightsOf.get(name) ?? [];
    const weight = (suffix: string) => weights.find((w) => w.name.endsWith(`/${suffix}`));
    const place = (w: TensorShape | undefined, axis: number, space: Space) => {
      if (!w) return;
      pending.push({ tensor: w.name, axis: axis < 0 ? w.shape.length + axis : axis, space: withSizes(space, w.shape[axis < 0 ? w.shape.length + axis : axis]) });
    };
    if (cls === 'InputLayer') {
      const shape = (layer.config.batch_input_shape ?? layer.config.batch_shape) as (number | null)[] | undefined;
      const c = shape?.[shape.length - 1];
      outputs.set(name, fresh(name, typeof c === 'number' ? c : -1, true));
      continue;
    }
    if (sequential && !input) {
      // The first layer of a Sequential model reads the model input.
      const shape = (layer.config.batch_input_shape as (number | null)[] | undefined) ?? [];
      const c = shape[shape.length - 1];
      ins[0] = fresh(`${name}:input`, typeof c === 'number' ? c : -1, true);
    }
    const inSpace = (ins[0] as Space | undefined) ?? [];
    if (CHANNELWISE.has(cls)) {
      outputs.set(name, inSpace);
    } else if (MERGE.has(cls)) {
      const sizes = (s: Space) => s.map((x) => x.size).join(',');
      for (const s of ins as Space[]) {
        if (sizes(s) !== sizes(inSpace)) {
          // Different segment structures: pin both sides (identity is always consistent).
          fixAll(s);
          fixAll(inSpace);
          continue;
        }
        s.forEach((seg, i) => uf.union(seg.node, inSpace[i].node));
      }
      outputs.set(name, inSpace);
    } else if (cls === 'Concatenate') {
      const axis = (layer.config.axis as number | undefined) ?? -1;
      // Channels-last: -1, or 3 for the usual 4-D NHWC maps. Any other axis concatenates positions: pin everything.
      if (axis !== -1 && axis !== 3) {
        (ins as Space[]).forEach(fixAll);
        outputs.set(name, fresh(name, -1, true));
      } else outputs.set(name, (ins as Space[]).flat());
    } else if (PER_CHANNEL.has(cls)) {
      for (const w of weights) place(w, -1, inSpace);
      outputs.set(name, inSpace);
    } else if (KERNEL.has(cls)) {
      const transposed = cls.endsWith('Transpose');
      const depthwise = cls.startsWith('Depthwise');
      const separable = cls.startsWith('Separable');
      const kernel = weight(depthwise || separable ? 'depthwise_kernel' : 'kernel');
      if (!kernel) return undefined;
      const r = kernel.shape.length;
      if (depthwise || separable) {
        if (kernel.shape[r - 1] !== 1) {
          notes.push(`${name}: depth multiplier ${kernel.shape[r - 1]}: channels fixed`);
          fixAll(inSpace);
        }
        place(kernel, r - 2, inSpace);
      }
      if (depthwise) {
        place(weight('bias'), 0, inSpace);
        outputs.set(name, kernel.shape[r - 1] === 1 ? inSpace : fresh(name, -1, true));
      } else {
        const main = separable ? weight('pointwise_kernel') : kernel;
        if (!main) return undefined;
        const m = main.shape.length;
        const outAxis = transposed ? m - 2 : m - 1;
        const inAxis = transposed ? m - 1 : m - 2;
        const out = fresh(name, main.shape[outAxis]);
        if (!separable || kernel.shape[r - 1] === 1) place(main, inAxis, inSpace);
        place(main, outAxis, out);
        place(weight('bias'), 0, out);
        outputs.set(name, out);
      }
    } else if (cls === 'Embedding') {
      const e = weight('embeddings');
      if (!e) return undefined;
      const out = fresh(name, e.shape[1]);
      place(e, 1, out);
      outputs.set(name, out);
    } else {
      // Reshape, Flatten, Permute, Lambda, recurrent and unknown layers: their inputs and outputs stay fixed.
      for (const s of ins as Space[]) fixAll(s);
      outputs.set(name, fresh(name, -1, true));
      if (weights.length) notes.push(`${name} (${cls}): not permuted`);
    }
  }
  const outLayers = sequential ? [previous] : ((topology.config.output_layers as unknown[] | undefined) ?? []).map((o) => (Array.isArray(o) ? o[0] : undefined));
  for (const o of outLayers) {
    const s = typeof o === 'string' ? outputs.get(o) : undefined;
    if (!s) return undefined;
    fixAll(s);
  }
  // Name each free class after its first producer; build the axes.
  const perms = new Map<string, number>();
  const nameOf = (node: number, size: number): string | null => {
    const root = uf.find(node);
    if (uf.fixed[root] || size < 0) return null;
    const n = uf.owner[root];
    if (perms.has(n) && perms.get(n) !== size) throw new SpecError(`TF.js topology: activation "${n}" has widths ${perms.get(n)} and ${size}`);
    perms.set(n, size);
    return n;
  };
  for (const p of pending) {
    const shape = tensors.find((t) => t.name === p.tensor)!.shape;
    const spec = axes.get(p.tensor) ?? shape.map(() => null);
    if (p.space.some((seg) => seg.size < 0)) {
      p.space.forEach((seg) => uf.fix(seg.node));
      spec[p.axis] = null;
    } else {
      const segs = p.space.map((seg) => [{ size: seg.size, perm: nameOf(seg.node, seg.size) }]);
      spec[p.axis] = segs.every((x) => x[0].perm === null) ? null : segs;
    }
    axes.set(p.tensor, spec);
  }
  for (const [n, spec] of axes) if (spec.every((s) => s === null)) axes.delete(n);
  const spec: PermutationSpec = { perms, axes };
  return { spec, notes };
}
