import type * as Ort from 'onnxruntime-node';
import type { BandReductionKernels } from '../two-stage-eigen';
import { encodeModel, ONNX_DOUBLE, ONNX_FLOAT, ONNX_INT64, type GraphNode } from './onnx-model-writer';
import { i64, ort } from './runtime';

/** float64 everywhere on the CPU; float32 only for the GPU check (bench/gpu-check.ts), which tolerates its error. */
export type GemmPrecision = 'float64' | 'float32';

const I = (name: string) => ({ name, elemType: ONNX_INT64, dims: [1] });
const valueOf = (elemType: number) => (name: string, dims: string[]) => ({ name, elemType, dims });

/** The panel step of two-stage-eigen.ts as one graph (all products in float64 GEMMs). */
function stepModel(withHistory: boolean, elemType: number): Uint8Array {
  const D = valueOf(elemType);
  const nodes: GraphNode[] = [{ opType: 'MatMul', inputs: ['A', 'Vp'], outputs: ['AV'] }];
  if (withHistory) {
    nodes.push(
      { opType: 'Gemm', inputs: ['S', 'V'], outputs: ['StV'], intAttributes: { transA: 1 } },
      { opType: 'Gemm', inputs: ['U', 'V'], outputs: ['UtV'], intAttributes: { transA: 1 } },
      { opType: 'Gemm', inputs: ['U', 'StV', 'AV'], outputs: ['X1'], floatAttributes: { alpha: -1, beta: 1 } },
      { opType: 'Gemm', inputs: ['S', 'UtV', 'X1'], outputs: ['X2'], floatAttributes: { alpha: -1, beta: 1 } },
      { opType: 'MatMul', inputs: ['X2', 'T'], outputs: ['X'] },
    );
  } else {
    nodes.push({ opType: 'MatMul', inputs: ['AV', 'T'], outputs: ['X'] });
  }
  nodes.push(
    { opType: 'Gemm', inputs: ['V', 'X'], outputs: ['VtX'], intAttributes: { transA: 1 } },
    { opType: 'Gemm', inputs: ['T', 'VtX'], outputs: ['Z'], intAttributes: { transA: 1 }, floatAttributes: { alpha: 0.5 } },
    { opType: 'Gemm', inputs: ['V', 'Z', 'X'], outputs: ['Y'], floatAttributes: { alpha: -1, beta: 1 } },
  );
  const [up, sp] = withHistory ? ['Up', 'Sp'] : ['V', 'Y'];
  if (withHistory) {
    nodes.push(
      { opType: 'Concat', inputs: ['U', 'V'], outputs: ['Up'], intAttributes: { axis: 1 } },
      { opType: 'Concat', inputs: ['S', 'Y'], outputs: ['Sp'], intAttributes: { axis: 1 } },
    );
  }
  nodes.push(
    { opType: 'Slice', inputs: [up, 'zero', 'bb', 'zero'], outputs: ['Uh'] },
    { opType: 'Slice', inputs: [sp, 'zero', 'bb', 'zero'], outputs: ['Sh'] },
    { opType: 'Gemm', inputs: [up, 'Sh', 'Blk'], outputs: ['P1'], intAttributes: { transB: 1 }, floatAttributes: { alpha: -1, beta: 1 } },
    { opType: 'Gemm', inputs: [sp, 'Uh', 'P1'], outputs: ['Next'], intAttributes: { transB: 1 }, floatAttributes: { alpha: -1, beta: 1 } },
  );
  const inputs = [D('A', ['m', 'c']), D('Vp', ['c', 'k']), D('V', ['m', 'k']), D('T', ['k', 'k']), D('Blk', ['m', 'bb']), I('zero'), I('bb')];
  if (withHistory) inputs.push(D('U', ['m', 'j']), D('S', ['m', 'j']));
  return encodeModel({ name: withHistory ? 'band_step' : 'band_step_first', nodes, inputs, outputs: [D('Y', ['m', 'k']), D('Next', ['m', 'bb'])] });
}

/**
 * out = A[:, q:] − US · SUᵀ: the delayed trailing update, GEMMs of inner dimension 2J. The result is symmetric, so with
 * p > 1 blocks only the blocks on and below the diagonal are multiplied and the others are their transposes.
 */
function refreshModel(elemType: number, p: number): Uint8Array {
  const D = valueOf(elemType);
  const nodes: GraphNode[] = [];
  const inputs = [D('A', ['c2', 'c']), D('US', ['c2', 'j2']), D('SU', ['c2', 'j2']), I('ax0')];
  if (p === 1) {
    inputs.push(I('q'), I('c'), I('one'));
    nodes.push(
      { opType: 'Slice', inputs: ['A', 'q', 'c', 'one'], outputs: ['As'] },
      { opType: 'Gemm', inputs: ['US', 'SU', 'As'], outputs: ['Out'], intAttributes: { transB: 1 }, floatAttributes: { alpha: -1, beta: 1 } },
    );
  } else {
    inputs.push({ name: 'ax01', elemType: ONNX_INT64, dims: [2] });
    for (let i = 0; i <= p; i++) inputs.push(I(`r${i}`));
    for (let i = 0; i < p; i++) {
      nodes.push({ opType: 'Slice', inputs: ['US', `r${i}`, `r${i + 1}`, 'ax0'], outputs: [`US${i}`] }, { opType: 'Slice', inputs: ['SU', `r${i}`, `r${i + 1}`, 'ax0'], outputs: [`SU${i}`] });
    }
    for (let i = 0; i < p; i++) {
      const row: string[] = [];
      for (let j = 0; j < p; j++) {
        if (j <= i) {
          inputs.push({ name: `s${i}_${j}`, elemType: ONNX_INT64, dims: [2] }, { name: `t${i}_${j}`, elemType: ONNX_INT64, dims: [2] });
          nodes.push(
            { opType: 'Slice', inputs: ['A', `s${i}_${j}`, `t${i}_${j}`, 'ax01'], outputs: [`A${i}_${j}`] },
            { opType: 'Gemm', inputs: [`US${i}`, `SU${j}`, `A${i}_${j}`], outputs: [`O${i}_${j}`], intAttributes: { transB: 1 }, floatAttributes: { alpha: -1, beta: 1 } },
          );
          row.push(`O${i}_${j}`);
        } else {
          nodes.push({ opType: 'Transpose', inputs: [`O${j}_${i}`], outputs: [`OT${i}_${j}`] });
          row.push(`OT${i}_${j}`);
        }
      }
      nodes.push({ opType: 'Concat', inputs: row, outputs: [`R${i}`], intAttributes: { axis: 1 } });
    }
    nodes.push({ opType: 'Concat', inputs: Array.from({ length: p }, (_, i) => `R${i}`), outputs: ['Out'], intAttributes: { axis: 0 } });
  }
  return encodeModel({ name: `band_refresh_${p}`, nodes, inputs, outputs: [D('Out', ['c2', 'c2'])] });
}

/** Symmetric blocking of the refresh pays once the trailing matrix is large. */
function refreshBlocks(c2: number): number {
  return c2 >= 1024 ? 4 : c2 >= 512 ? 2 : 1;
}

export interface OrtBandKernels extends BandReductionKernels {
  release(): Promise<void>;
}

/** The dense → band kernels on onnxruntime sessions (one per graph) for the given execution providers. */
export async function createOrtBandKernels(options: Ort.InferenceSession.SessionOptions, precision: GemmPrecision = 'float64'): Promise<OrtBandKernels> {
  const create = (model: Uint8Array) => ort().InferenceSession.create(model, options);
  const elemType = precision === 'float32' ? ONNX_FLOAT : ONNX_DOUBLE;
  const models = [stepModel(false, elemType), stepModel(true, elemType), refreshModel(elemType, 1), refreshModel(elemType, 2), refreshModel(elemType, 4)];
  const [first, step, refresh1, refresh2, refresh4] = await Promise.all(models.map(create));
  const refreshes = new Map([[1, refresh1], [2, refresh2], [4, refresh4]]);
  const f64 = (data: Float64Array, dims: number[]) =>
    precision === 'float32' ? new (ort().Tensor)('float32', Float32Array.from(data), dims) : new (ort().Tensor)('float64', data, dims);
  const back = (t: Ort.Tensor) => (t.data instanceof Float64Array ? t.data : Float64Array.from(t.data as Float32Array));
  return {
    async step({ a, m, c, vp, k, t, u, s, j, blk, bb }) {
      const feeds: Record<string, Ort.Tensor> = {
        A: f64(a, [m, c]),
        Vp: f64(vp, [c, k]),
        V: f64(vp.subarray((c - m) * k), [m, k]),
        T: f64(t, [k, k]),
        Blk: f64(blk, [m, bb]),
        zero: i64([0]),
        bb: i64([bb]),
      };
      if (j > 0) {
        feeds.U = f64(u, [m, j]);
        feeds.S = f64(s, [m, j]);
      }
      const out = await (j > 0 ? step : first).run(feeds);
      return { y: back(out.Y), next: back(out.Next) };
    },
    async refresh({ a, c2, c, q, us, su, j, out }) {
      const p = refreshBlocks(c2);
      const feeds: Record<string, Ort.Tensor> = { A: f64(a, [c2, c]), US: f64(us, [c2, 2 * j]), SU: f64(su, [c2, 2 * j]), ax0: i64([0]) };
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
      const session = refreshes.get(p)!;
      if (precision === 'float64') await session.run(feeds, { Out: f64(out, [c2, c2]) });
      else out.set(back((await session.run(feeds)).Out));
    },
    async release() {
      await Promise.all([first, step, ...refreshes.values()].map((x) => x.release()));
    },
  };
}
