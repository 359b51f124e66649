import type * as Ort from 'onnxruntime-node';
import type { BandReductionKernels } from '../two-stage-eigen';
import { encodeModel, ONNX_DOUBLE, ONNX_FLOAT, ONNX_INT64, type GraphNode, type GraphValue } from './onnx-model-writer';
import { i64, ort } from './runtime';

/** float64 everywhere on the CPU; float32 only for the GPU check (bench/gpu-check.ts), which tolerates its error. */
export type GemmPrecision = 'float64' | 'float32';

const int64 = (name: string, length = 1): GraphValue => ({ name, elemType: ONNX_INT64, dims: [length] });
const valueOf = (elemType: number) => (name: string, dims: (string | number)[]) => ({ name, elemType, dims });

/**
 * The earlier panels' V (or Y) blocks, each given as its own input (a view of the caller's array, no copy), side by
 * side: U = [U1 … Uj].
 */
function concatHistory(nodes: GraphNode[], inputs: GraphValue[], D: ReturnType<typeof valueOf>, prefix: string, j: number, rows: string): string {
  const names = Array.from({ length: j }, (_, i) => `${prefix}${i}`);
  names.forEach((n, i) => inputs.push(D(n, [rows, `k${prefix}${i}`])));
  if (j === 1) return names[0];
  nodes.push({ opType: 'Concat', inputs: names, outputs: [prefix], intAttributes: { axis: 1 } });
  return prefix;
}

/** The panel step of two-stage-eigen.ts as one graph, for j earlier panels since the refresh (GEMMs in float64). */
function stepModel(j: number, elemType: number): Uint8Array {
  const D = valueOf(elemType);
  const inputs: GraphValue[] = [D('A', ['m', 'c']), D('Vp', ['c', 'k']), D('V', ['m', 'k']), D('T', ['k', 'k']), int64('zero'), int64('bb'), int64('blk0', 2), int64('blk1', 2), int64('ax01', 2)];
  const nodes: GraphNode[] = [
    { opType: 'MatMul', inputs: ['A', 'Vp'], outputs: ['AV'] },
    // The next panel's strip before this step's updates: A₀[s:, s:s+bb].
    { opType: 'Slice', inputs: ['A', 'blk0', 'blk1', 'ax01'], outputs: ['Blk'] },
  ];
  if (j > 0) {
    const U = concatHistory(nodes, inputs, D, 'U', j, 'm');
    const S = concatHistory(nodes, inputs, D, 'S', j, 'm');
    nodes.push(
      { opType: 'Gemm', inputs: [S, 'V'], outputs: ['StV'], intAttributes: { transA: 1 } },
      { opType: 'Gemm', inputs: [U, 'V'], outputs: ['UtV'], intAttributes: { transA: 1 } },
      { opType: 'Gemm', inputs: [U, 'StV', 'AV'], outputs: ['X1'], floatAttributes: { alpha: -1, beta: 1 } },
      { opType: 'Gemm', inputs: [S, 'UtV', 'X1'], outputs: ['X2'], floatAttributes: { alpha: -1, beta: 1 } },
      { opType: 'MatMul', inputs: ['X2', 'T'], outputs: ['X'] },
      { opType: 'Concat', inputs: [U, 'V'], outputs: ['Up'], intAttributes: { axis: 1 } },
    );
  } else {
    nodes.push({ opType: 'MatMul', inputs: ['AV', 'T'], outputs: ['X'] });
  }
  nodes.push(
    { opType: 'Gemm', inputs: ['V', 'X'], outputs: ['VtX'], intAttributes: { transA: 1 } },
    { opType: 'Gemm', inputs: ['T', 'VtX'], outputs: ['Z'], intAttributes: { transA: 1 }, floatAttributes: { alpha: 0.5 } },
    { opType: 'Gemm', inputs: ['V', 'Z', 'X'], outputs: ['Y'], floatAttributes: { alpha: -1, beta: 1 } },
  );
  if (j > 0) nodes.push({ opType: 'Concat', inputs: [j === 1 ? 'S0' : 'S', 'Y'], outputs: ['Sp'], intAttributes: { axis: 1 } });
  const [up, sp] = j > 0 ? ['Up', 'Sp'] : ['V', 'Y'];
  nodes.push(
    { opType: 'Slice', inputs: [up, 'zero', 'bb', 'zero'], outputs: ['Uh'] },
    { opType: 'Slice', inputs: [sp, 'zero', 'bb', 'zero'], outputs: ['Sh'] },
    { opType: 'Gemm', inputs: [up, 'Sh', 'Blk'], outputs: ['P1'], intAttributes: { transB: 1 }, floatAttributes: { alpha: -1, beta: 1 } },
    { opType: 'Gemm', inputs: [sp, 'Uh', 'P1'], outputs: ['Next'], intAttributes: { transB: 1 }, floatAttributes: { alpha: -1, beta: 1 } },
  );
  return encodeModel({ name: `band_step_${j}`, nodes, inputs, outputs: [D('Y', ['m', 'k']), D('Next', ['m', 'bb'])] });
}

/**
 * out = A[:, q:] − [U S] [S U]ᵀ: the delayed trailing update of j panels, GEMMs of inner dimension 2J. The result is
 * symmetric, so with p > 1 blocks only the blocks on and below the diagonal are multiplied, the others transposed.
 */
function refreshModel(j: number, p: number, elemType: number): Uint8Array {
  const D = valueOf(elemType);
  const nodes: GraphNode[] = [];
  const inputs: GraphValue[] = [D('A', ['c2', 'c']), int64('ax0')];
  const U = Array.from({ length: j }, (_, i) => `U${i}`);
  const S = Array.from({ length: j }, (_, i) => `S${i}`);
  U.forEach((n, i) => inputs.push(D(n, ['c2', `k${i}`])));
  S.forEach((n, i) => inputs.push(D(n, ['c2', `k${i}`])));
  nodes.push({ opType: 'Concat', inputs: [...U, ...S], outputs: ['US'], intAttributes: { axis: 1 } }, { opType: 'Concat', inputs: [...S, ...U], outputs: ['SU'], intAttributes: { axis: 1 } });
  if (p === 1) {
    inputs.push(int64('q'), int64('c'), int64('one'));
    nodes.push(
      { opType: 'Slice', inputs: ['A', 'q', 'c', 'one'], outputs: ['As'] },
      { opType: 'Gemm', inputs: ['US', 'SU', 'As'], outputs: ['Out'], intAttributes: { transB: 1 }, floatAttributes: { alpha: -1, beta: 1 } },
    );
  } else {
    inputs.push(int64('ax01', 2));
    for (let i = 0; i <= p; i++) inputs.push(int64(`r${i}`));
    for (let i = 0; i < p; i++) {
      nodes.push({ opType: 'Slice', inputs: ['US', `r${i}`, `r${i + 1}`, 'ax0'], outputs: [`US${i}`] }, { opType: 'Slice', inputs: ['SU', `r${i}`, `r${i + 1}`, 'ax0'], outputs: [`SU${i}`] });
    }
    for (let i = 0; i < p; i++) {
      const row: string[] = [];
      for (let k = 0; k < p; k++) {
        if (k <= i) {
          inputs.push(int64(`s${i}_${k}`, 2), int64(`t${i}_${k}`, 2));
          nodes.push(
            { opType: 'Slice', inputs: ['A', `s${i}_${k}`, `t${i}_${k}`, 'ax01'], outputs: [`A${i}_${k}`] },
            { opType: 'Gemm', inputs: [`US${i}`, `SU${k}`, `A${i}_${k}`], outputs: [`O${i}_${k}`], intAttributes: { transB: 1 }, floatAttributes: { alpha: -1, beta: 1 } },
          );
          row.push(`O${i}_${k}`);
        } else {
          nodes.push({ opType: 'Transpose', inputs: [`O${k}_${i}`], outputs: [`OT${i}_${k}`] });
          row.push(`OT${i}_${k}`);
        }
      }
      nodes.push({ opType: 'Concat', inputs: row, outputs: [`R${i}`], intAttributes: { axis: 1 } });
    }
    nodes.push({ opType: 'Concat', inputs: Array.from({ length: p }, (_, i) => `R${i}`), outputs: ['Out'], intAttributes: { axis: 0 } });
  }
  return encodeModel({ name: `band_refresh_${j}_${p}`, nodes, inputs, outputs: [D('Out', ['c2', 'c2'])] });
}

/** Symmetric blocking of the refresh pays once the trailing matrix is large. */
function refreshBlocks(c2: number): number {
  return c2 >= 1024 ? 4 : c2 >= 512 ? 2 : 1;
}

export interface OrtBandKernels extends BandReductionKernels {
  release(): Promise<void>;
}

/** The dense → band kernels on onnxruntime sessions, one per graph variant, created on first use. */
export async function createOrtBandKernels(options: Ort.InferenceSession.SessionOptions, precision: GemmPrecision = 'float64'): Promise<OrtBandKernels> {
  const elemType = precision === 'float32' ? ONNX_FLOAT : ONNX_DOUBLE;
  const sessions = new Map<string, Promise<Ort.InferenceSession>>();
  const session = (key: string, model: () => Uint8Array) => {
    let s = sessions.get(key);
    if (!s) sessions.set(key, (s = ort().InferenceSession.create(model(), options)));
    return s;
  };
  const tensor = (data: Float64Array, dims: number[]) =>
    precision === 'float32' ? new (ort().Tensor)('float32', Float32Array.from(data), dims) : new (ort().Tensor)('float64', data, dims);
  const back = (t: Ort.Tensor) => (t.data instanceof Float64Array ? t.data : Float64Array.from(t.data as Float32Array));
  // Fails here, not in the middle of a layer, when the provider cannot run these graphs.
  await session('step0', () => stepModel(0, elemType));
  return {
    async step({ a, m, c, vp, k, t, u, s, ks, bb }) {
      const j = u.length;
      const col = c - m;
      const feeds: Record<string, Ort.Tensor> = {
        A: tensor(a, [m, c]),
        Vp: tensor(vp, [c, k]),
        V: tensor(vp.subarray(col * k, c * k), [m, k]),
        T: tensor(t, [k, k]),
        zero: i64([0]),
        bb: i64([bb]),
        blk0: i64([0, col]),
        blk1: i64([m, col + bb]),
        ax01: i64([0, 1]),
      };
      for (let i = 0; i < j; i++) {
        feeds[`U${i}`] = tensor(u[i], [m, ks[i]]);
        feeds[`S${i}`] = tensor(s[i], [m, ks[i]]);
      }
      const out = await (await session(`step${j}`, () => stepModel(j, elemType))).run(feeds);
      return { y: back(out.Y), next: back(out.Next) };
    },
    async refresh({ a, c2, c, q, u, s, ks, out }) {
      const j = u.length;
      const p = refreshBlocks(c2);
      const feeds: Record<string, Ort.Tensor> = { A: tensor(a, [c2, c]), ax0: i64([0]) };
      for (let i = 0; i < j; i++) {
        feeds[`U${i}`] = tensor(u[i], [c2, ks[i]]);
        feeds[`S${i}`] = tensor(s[i], [c2, ks[i]]);
      }
      if (p === 1) Object.assign(feeds, { q: i64([q]), c: i64([c]), one: i64([1]) });
      else {
        const e = Array.from({ length: p + 1 }, (_, i) => Math.round((i * c2) / p));
        feeds.ax01 = i64([0, 1]);
        for (let i = 0; i <= p; i++) feeds[`r${i}`] = i64([e[i]]);
        for (let i = 0; i < p; i++) {
          for (let k = 0; k <= i; k++) {
            feeds[`s${i}_${k}`] = i64([e[i], q + e[k]]);
            feeds[`t${i}_${k}`] = i64([e[i + 1], q + e[k + 1]]);
          }
        }
      }
      const run = await session(`refresh${j}_${p}`, () => refreshModel(j, p, elemType));
      if (precision === 'float64') await run.run(feeds, { Out: tensor(out, [c2, c2]) });
      else out.set(back((await run.run(feeds)).Out));
    },
    async release() {
      const all = await Promise.all(sessions.values());
      await Promise.all(all.map((x) => x.release()));
    },
  };
}
