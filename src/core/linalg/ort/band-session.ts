import type * as Ort from 'onnxruntime-node';
import type { BandReductionKernels } from '../two-stage-eigen';
import { encodeModel, ONNX_DOUBLE, ONNX_FLOAT, ONNX_INT64, type GraphNode, type GraphValue } from './onnx-model-writer';
import { mirrorBlockUpper } from '../symmetric-blocks';
import { giveWork, takeWork } from '../workspace';
import { i64, ort } from './runtime';

/** float64 everywhere on the CPU; float32 only for the GPU check (bench/gpu-check.ts), which tolerates its error. */
export type GemmPrecision = 'float64' | 'float32';

const int64 = (name: string, length = 1): GraphValue => ({ name, elemType: ONNX_INT64, dims: [length] });
const valueOf = (elemType: number) => (name: string, dims: (string | number)[]) => ({ name, elemType, dims });

/**
 * The earlier panels' V (or Y) blocks side by side, U = [U1 … Uj], each given as its own input (a view of the caller's
 * array, no copy). The graph has `slots` such inputs; unused ones are fed as m×0 tensors, so one session (one
 * onnxruntime memory arena) serves every j.
 */
function concatHistory(nodes: GraphNode[], inputs: GraphValue[], D: ReturnType<typeof valueOf>, prefix: string, slots: number, rows: string): string {
  const names = Array.from({ length: slots }, (_, i) => `${prefix}${i}`);
  names.forEach((n, i) => inputs.push(D(n, [rows, `k${prefix}${i}`])));
  nodes.push({ opType: 'Concat', inputs: names, outputs: [prefix], intAttributes: { axis: 1 } });
  return prefix;
}

/**
 * Below this trailing size a step runs on one thread: its GEMMs are too small for onnxruntime's thread hand-offs
 * (without spinning) to pay (measured: n = 768 steps 0.7 ms on one thread vs 1.0–1.3 ms on two).
 */
const SINGLE_THREAD_STEP_BELOW = 1536;

/** History inputs of the step graph: panelsPerRefresh (8 by default) fits. */
const HISTORY_SLOTS = 8;

/** The panel step of two-stage-eigen.ts as one graph, with j = 0 or up to `j` earlier panels (GEMMs in float64). */
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
  if (j > 0) nodes.push({ opType: 'Concat', inputs: ['S', 'Y'], outputs: ['Sp'], intAttributes: { axis: 1 } });
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
 * One block-row of the delayed trailing update of j panels: rows r0..r1 of out = A₀[q:, q:] − U Sᵀ − S Uᵀ, columns
 * 0..r1 only (the block lower triangle; the rest is its mirror image), one GEMM of inner dimension 2J. Computing
 * block-rows separately bounds onnxruntime's intermediates to one block-row, and skips 37.5% of the flops at 4 blocks.
 */
function refreshRowModel(j: number, elemType: number): Uint8Array {
  const D = valueOf(elemType);
  const inputs: GraphValue[] = [D('A', ['rows', 'c']), int64('q'), int64('qe'), int64('one')];
  const Ur = Array.from({ length: j }, (_, i) => `Ur${i}`);
  const Sr = Array.from({ length: j }, (_, i) => `Sr${i}`);
  const Uc = Array.from({ length: j }, (_, i) => `Uc${i}`);
  const Sc = Array.from({ length: j }, (_, i) => `Sc${i}`);
  for (let i = 0; i < j; i++) inputs.push(D(Ur[i], ['rows', `k${i}`]), D(Sr[i], ['rows', `k${i}`]), D(Uc[i], ['cols', `k${i}`]), D(Sc[i], ['cols', `k${i}`]));
  const nodes: GraphNode[] = [
    { opType: 'Slice', inputs: ['A', 'q', 'qe', 'one'], outputs: ['As'] },
    { opType: 'Concat', inputs: [...Ur, ...Sr], outputs: ['US'], intAttributes: { axis: 1 } },
    { opType: 'Concat', inputs: [...Sc, ...Uc], outputs: ['SU'], intAttributes: { axis: 1 } },
    { opType: 'Gemm', inputs: ['US', 'SU', 'As'], outputs: ['Out'], intAttributes: { transB: 1 }, floatAttributes: { alpha: -1, beta: 1 } },
  ];
  return encodeModel({ name: `band_refresh_row_${j}`, nodes, inputs, outputs: [D('Out', ['rows', 'cols'])] });
}

/**
 * Block-rows of the refresh: one below 512 rows, else blocks of at most 3·2²⁰ elements (24 MB, below glibc's largest
 * mmap threshold, so onnxruntime's freed intermediates are reused instead of page-faulted again); the lower-triangle
 * saving is 1 − (p+1)/2p of the flops.
 */
function refreshBlocks(c2: number): number {
  if (c2 < 512) return 1;
  return Math.max(2, Math.ceil(c2 / Math.max(256, Math.floor((3 * 2 ** 20) / c2))));
}

export interface OrtBandKernels extends BandReductionKernels {
  release(): Promise<void>;
}

/** The dense → band kernels on onnxruntime sessions, one per graph variant, created on first use. */
export async function createOrtBandKernels(options: Ort.InferenceSession.SessionOptions, precision: GemmPrecision = 'float64'): Promise<OrtBandKernels> {
  const elemType = precision === 'float32' ? ONNX_FLOAT : ONNX_DOUBLE;
  const sessions = new Map<string, Promise<Ort.InferenceSession>>();
  const session = (key: string, model: () => Uint8Array, single = false) => {
    const k = single ? `${key}/1` : key;
    let s = sessions.get(k);
    if (!s) sessions.set(k, (s = ort().InferenceSession.create(model(), single ? { ...options, intraOpNumThreads: 1 } : options)));
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
      const slots = j === 0 ? 0 : Math.max(HISTORY_SLOTS, j);
      const none = new Float64Array(0);
      for (let i = 0; i < slots; i++) {
        feeds[`U${i}`] = i < j ? tensor(u[i], [m, ks[i]]) : tensor(none, [m, 0]);
        feeds[`S${i}`] = i < j ? tensor(s[i], [m, ks[i]]) : tensor(none, [m, 0]);
      }
      const out = await (await session(`step${slots}`, () => stepModel(slots, elemType), c < SINGLE_THREAD_STEP_BELOW)).run(feeds);
      return { y: back(out.Y), next: back(out.Next) };
    },
    async refresh({ a, c2, c, q, u, s, ks, out }) {
      const j = u.length;
      const p = refreshBlocks(c2);
      const e = Array.from({ length: p + 1 }, (_, i) => Math.round((i * c2) / p));
      const run = await session(`refresh${j}`, () => refreshRowModel(j, elemType));
      const scratch = takeWork(Math.max(...e.slice(1).map((x, i) => x - e[i])) * c2);
      try {
        for (let i = 0; i < p; i++) {
          const [r0, r1] = [e[i], e[i + 1]];
          const rows = r1 - r0;
          const feeds: Record<string, Ort.Tensor> = { A: tensor(a.subarray(r0 * c, r1 * c), [rows, c]), q: i64([q]), qe: i64([q + r1]), one: i64([1]) };
          for (let t = 0; t < j; t++) {
            const k = ks[t];
            feeds[`Ur${t}`] = tensor(u[t].subarray(r0 * k, r1 * k), [rows, k]);
            feeds[`Sr${t}`] = tensor(s[t].subarray(r0 * k, r1 * k), [rows, k]);
            feeds[`Uc${t}`] = tensor(u[t].subarray(0, r1 * k), [r1, k]);
            feeds[`Sc${t}`] = tensor(s[t].subarray(0, r1 * k), [r1, k]);
          }
          const block = scratch.subarray(0, rows * r1);
          if (precision === 'float64') await run.run(feeds, { Out: tensor(block, [rows, r1]) });
          else block.set(back((await run.run(feeds)).Out));
          for (let r = 0; r < rows; r++) out.set(block.subarray(r * r1, (r + 1) * r1), (r0 + r) * c2);
        }
      } finally {
        giveWork(scratch);
      }
      mirrorBlockUpper(out, c2, e);
    },
    async release() {
      const all = await Promise.all(sessions.values());
      await Promise.all(all.map((x) => x.release()));
    },
  };
}
