import type { Checkpoint } from '../../checkpoint/types';
import type { GramBackend } from '../../linalg/spectrum';
import { type OnnxAttribute, type OnnxNode, type OnnxNodeView, type OnnxModelScan, type OnnxTensorValue, scanOnnxModel, writeOnnxModel } from '../../writers/onnx-writer';
import type { OutputPolicy } from '../../writers/staged-outputs';
import { LEFT_SUFFIX, RIGHT_SUFFIX } from './emit-safetensors';
import { leftShape, rightShape } from './factor-layout';
import { type CompressLayerResult, compressedRow, factorizeLayer, type Factorized, type LayerWork, outputDtype, type SvdChoice, unchangedRow } from './layers';
import { reconstruct } from './truncated-svd';

export interface OnnxEmitOptions extends OutputPolicy {
  manifest: (layers: readonly CompressLayerResult[]) => Record<string, unknown>;
  gram?: GramBackend;
  svd?: SvdChoice;
  /** Called after each compressed layer's factors are computed. */
  onFactorized?: (name: string) => void;
  /** Ŵ in place of every compressed weight (no node is split). */
  denseOnly?: boolean;
}

/** How a compressed weight goes into the graph: its consumers split in two (factors), or Ŵ in place (dense). */
type Placement = 'split' | 'dense';

/**
 * Why a node cannot take the factors of weight `w` in place of w: undefined when it can. MatMul (w either side, 2-D),
 * Gemm (w as B, opset ≥ 11 so the first Gemm may go without C), Conv (w as the kernel, group 1).
 */
function splitBlocker(n: OnnxNodeView, w: string, l: LayerWork, opset: number): string | undefined {
  const at = n.inputs.indexOf(w);
  if (n.inputs.lastIndexOf(w) !== at) return `${n.opType} reads it twice`;
  if (n.domain !== '' && n.domain !== 'ai.onnx') return `custom op ${n.domain}.${n.opType}`;
  if (n.opType === 'MatMul' && l.layout?.kind === 'matrix') return undefined;
  if (n.opType === 'Gemm' && at === 1 && l.layout?.kind === 'matrix') return opset >= 11 ? undefined : `Gemm in opset ${opset} needs C`;
  if (n.opType === 'Conv' && at === 1 && l.layout?.kind === 'conv-oi') {
    const group = n.attributes.get('group');
    return group === undefined || group === 1 ? undefined : `grouped Conv (group ${group})`;
  }
  return `read by ${n.opType}`;
}

const CONV_INT_LISTS = new Set(['dilations', 'kernel_shape', 'pads', 'strides']);

function convAttributes(n: OnnxNodeView): OnnxAttribute[] {
  const out: OnnxAttribute[] = [];
  for (const [name, v] of n.attributes) {
    if (name === 'auto_pad' && typeof v === 'string') out.push({ name, string: v });
    else if (name === 'group' && typeof v === 'number') out.push({ name, int: v });
    else if (CONV_INT_LISTS.has(name) && Array.isArray(v)) out.push({ name, ints: v });
  }
  return out;
}

/** The two nodes that replace `n`, reading factor names u (left, W's rows side) and v (right). */
function splitNodes(n: OnnxNodeView, w: string, u: string, v: string, spatial: number): OnnxNode[] {
  const y = n.outputs[0];
  const mid = `${y}__lowrank`;
  const name = (k: number) => `${n.name || y}__lowrank_${k}`;
  const at = n.inputs.indexOf(w);
  if (n.opType === 'MatMul') {
    // x·W = (x·U)·V; W·x = U·(V·x)
    return at === 1
      ? [
          { opType: 'MatMul', inputs: [n.inputs[0], u], outputs: [mid], name: name(0) },
          { opType: 'MatMul', inputs: [mid, v], outputs: n.outputs, name: name(1) },
        ]
      : [
          { opType: 'MatMul', inputs: [v, n.inputs[1]], outputs: [mid], name: name(0) },
          { opType: 'MatMul', inputs: [u, mid], outputs: n.outputs, name: name(1) },
        ];
  }
  if (n.opType === 'Gemm') {
    // Y = α·op(A)·op(W) + β·C; op(W) = U·V, or Wᵀ = Vᵀ·Uᵀ with transB.
    const transA = n.attributes.get('transA');
    const transB = n.attributes.get('transB') === 1;
    const alpha = n.attributes.get('alpha');
    const beta = n.attributes.get('beta');
    const c = n.inputs[2] ? [n.inputs[2]] : [];
    const first: OnnxAttribute[] = [];
    if (typeof transA === 'number') first.push({ name: 'transA', int: transA });
    if (typeof alpha === 'number') first.push({ name: 'alpha', float: alpha });
    const second: OnnxAttribute[] = [];
    if (c.length && typeof beta === 'number') second.push({ name: 'beta', float: beta });
    if (transB) {
      first.push({ name: 'transB', int: 1 });
      second.push({ name: 'transB', int: 1 });
    }
    return [
      { opType: 'Gemm', inputs: [n.inputs[0], transB ? v : u], outputs: [mid], name: name(0), attributes: first },
      { opType: 'Gemm', inputs: [mid, transB ? u : v, ...c], outputs: n.outputs, name: name(1), attributes: second },
    ];
  }
  // Conv: the kernel [out, in, k…] ≈ U[out, r]·V[r, in, k…]: conv with V (W's geometry), then a 1×1 conv with U.
  const bias = n.inputs[2] ? [n.inputs[2]] : [];
  const ones = Array.from({ length: spatial }, () => 1);
  return [
    { opType: 'Conv', inputs: [n.inputs[0], v], outputs: [mid], name: name(0), attributes: convAttributes(n) },
    { opType: 'Conv', inputs: [mid, u, ...bias], outputs: n.outputs, name: name(1), attributes: n.attributes.has('kernel_shape') ? [{ name: 'kernel_shape', ints: ones }] : [] },
  ];
}

/**
 * Rewrites an ONNX model: each compressed weight whose every reader is a MatMul/Gemm/Conv we can split becomes two
 * factors (initializers `<w>.U`/`<w>.V` in the main graph, or two Constant nodes where w was a Constant, e.g. inside
 * an If branch) and each reader becomes two nodes; a weight with other readers (LSTM, Cast, …) gets Ŵ = U·S·Vᵀ in
 * place. Everything else is kept byte for byte.
 */
export async function emitOnnx(ck: Checkpoint, layers: readonly LayerWork[], out: string, opts: OnnxEmitOptions): Promise<{ files: string[]; rows: CompressLayerResult[]; placements: Map<string, { placement: Placement; why?: string }> }> {
  const scan: OnnxModelScan = await scanOnnxModel(ck.path);
  const readers = new Map<string, OnnxNodeView[]>();
  for (const n of scan.nodes) for (const x of new Set(n.inputs)) if (x) (readers.get(x) ?? readers.set(x, []).get(x)!).push(n);
  const byName = new Map(layers.filter((l) => l.decision?.compressed).map((l) => [l.info.name, l]));
  const placements = new Map<string, { placement: Placement; why?: string }>();
  const graphOutputs = new Set(scan.outputs.map((o) => o.name));
  for (const [w, l] of byName) {
    const rs = readers.get(w) ?? [];
    const why = opts.denseOnly
      ? 'dense placement requested'
      : graphOutputs.has(w)
      ? 'a graph output'
      : rs.length === 0
        ? 'no node reads it'
        : rs.map((n) => splitBlocker(n, w, l, scan.opset)).find((x) => x !== undefined);
    placements.set(w, { placement: why ? 'dense' : 'split', why });
  }
  const splitReaders = new Map<OnnxNodeView['outputs'][0], string>();
  for (const [w, p] of placements) if (p.placement === 'split') for (const n of readers.get(w) ?? []) splitReaders.set(n.outputs[0], w);

  const rows = new Map<string, CompressLayerResult>();
  const factorsOf = async (w: string): Promise<Factorized> => {
    const l = byName.get(w)!;
    const f = await factorizeLayer(ck, l, opts.gram, opts.svd, opts.onFactorized);
    const split = placements.get(w)!.placement === 'split';
    rows.set(w, compressedRow(l, f, split ? l.decision!.rank * (l.layout!.rows + l.layout!.cols) : l.info.numel));
    return f;
  };
  const factorValues = (w: string, f: Factorized): [OnnxTensorValue, OnnxTensorValue] => {
    const l = byName.get(w)!;
    const r = l.decision!.rank;
    const dtype = outputDtype(l.info.dtype);
    const lay = l.layout!;
    const spatial = lay.shape.slice(2).map(() => 1);
    const left = lay.kind === 'conv-oi' ? [...leftShape(lay, r), ...spatial] : leftShape(lay, r);
    return [
      { dims: left, dtype, data: f.factors.left },
      { dims: rightShape(lay, r), dtype, data: f.factors.right },
    ];
  };
  // Initializer factors are produced when the main graph's new initializers are written: U then V of each weight.
  let pending: { w: string; right: OnnxTensorValue } | undefined;
  const addInitializers: { name: string; value: () => Promise<OnnxTensorValue> }[] = [];
  for (const [w, p] of placements) {
    if (p.placement !== 'split' || !scan.initializers.has(w)) continue;
    addInitializers.push({
      name: w + LEFT_SUFFIX,
      value: async () => {
        const [left, right] = factorValues(w, await factorsOf(w));
        pending = { w, right };
        return left;
      },
    });
    addInitializers.push({
      name: w + RIGHT_SUFFIX,
      value: async () => {
        const right = pending!.w === w ? pending!.right : factorValues(w, await factorsOf(w))[1];
        pending = undefined;
        return right;
      },
    });
  }

  const { files } = await writeOnnxModel(
    ck.path,
    out,
    {
      replaceTensor: async (t) => {
        const p = placements.get(t.name);
        if (!p) return undefined;
        if (p.placement === 'split') return t.kind === 'initializer' ? null : undefined;
        const f = await factorsOf(t.name);
        return { dims: t.dims, data: reconstruct(f.factors) };
      },
      rewriteNode: async (n) => {
        const p = placements.get(n.outputs[0]);
        if (n.opType === 'Constant' && p?.placement === 'split') {
          const w = n.outputs[0];
          const [left, right] = factorValues(w, await factorsOf(w));
          return [
            { opType: 'Constant', inputs: [], outputs: [w + LEFT_SUFFIX], name: `${w}${LEFT_SUFFIX}__const`, attributes: [{ name: 'value', tensor: left }] },
            { opType: 'Constant', inputs: [], outputs: [w + RIGHT_SUFFIX], name: `${w}${RIGHT_SUFFIX}__const`, attributes: [{ name: 'value', tensor: right }] },
          ];
        }
        const w = splitReaders.get(n.outputs[0]);
        if (!w) return undefined;
        const l = byName.get(w)!;
        return splitNodes(n, w, w + LEFT_SUFFIX, w + RIGHT_SUFFIX, l.layout!.shape.length - 2);
      },
      addInitializers,
    },
    {
      force: opts.force,
      inputs: [...(opts.inputs ?? []), ...ck.files],
      signal: opts.signal,
      metadata: () => ({ 'weight_spectra.compress': JSON.stringify(opts.manifest(layers.filter((l) => l.layout).map((l) => rows.get(l.info.name) ?? unchangedRow(l)))) }),
    },
  );
  return { files, rows: layers.filter((l) => l.layout).map((l) => rows.get(l.info.name) ?? unchangedRow(l)), placements };
}
