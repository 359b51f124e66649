import { throwIfCancelled } from '../cancel';
import { bandIndex, bandToTridiagonal, lowerBand, type LowerBand } from './band-to-tridiagonal';
import { panelQr } from './panel-qr';
import { tridiagonalEigenvalues } from './symmetric-eigen';
import { wasmKernels } from './wasm/kernels';
import { giveWork, takeWork } from './workspace';

/**
 * The matrix products of the dense → band reduction, run by a GEMM engine (onnxruntime). All arrays row-major float64.
 * Notation of one panel step (A₀ = the trailing matrix at the last refresh, c×c; the panel's reflectors act on rows
 * s..c−1, m = c − s; U = [U₁ … U_j], S = [S₁ … S_j] = the V and Y blocks of the j earlier panels since the refresh,
 * rows s..c−1, each passed as a view of its own array):
 *   X = (A₀[s:, s:] V − U (Sᵀ V) − S (Uᵀ V)) T,   Y = X − ½ V Tᵀ (Vᵀ X)
 *   next = A₀[s:, s:s+bb] − [U V] [S Y][0:bb]ᵀ − [S Y] [U V][0:bb]ᵀ        (the next panel's strip)
 */
export interface BandReductionKernels {
  step(args: {
    /** Rows s..c−1 of A₀, all c columns (a view; columns < s meet the zero rows of vp). */
    a: Float64Array;
    m: number;
    c: number;
    /** V padded with zeros to c rows (c×k); V itself is its last m rows. */
    vp: Float64Array;
    k: number;
    t: Float64Array;
    /** Per earlier panel: its V and Y rows s..c−1 (m×ks[i]). */
    u: Float64Array[];
    s: Float64Array[];
    ks: number[];
    bb: number;
  }): Promise<{ y: Float64Array; next: Float64Array }>;
  /** out (c2×c2) = A₀[q:, q:] − U Sᵀ − S Uᵀ, a = rows q.. of A₀ (c2×c), u/s = rows q.. of every panel's V and Y. */
  refresh(args: { a: Float64Array; c2: number; c: number; q: number; u: Float64Array[]; s: Float64Array[]; ks: number[]; out: Float64Array }): Promise<void>;
}

export interface TwoStageOptions {
  /** Band width of the first stage (its panel width). */
  bandwidth?: number;
  /** Panels whose trailing updates are accumulated before the trailing matrix is rewritten. */
  panelsPerRefresh?: number;
  /** The non-GEMM kernels: WebAssembly (default, where available) or the TypeScript reference versions. */
  kernels?: 'wasm' | 'typescript';
}

interface Panel {
  /** First row (in A₀ coordinates) of the reflectors. */
  s: number;
  k: number;
  /** m×k each, rows s..c−1. */
  v: Float64Array;
  y: Float64Array;
}

/**
 * Eigenvalues of a symmetric n×n matrix (row-major, both triangles; overwritten) by the two-stage reduction:
 * dense → band with blocked Householder QR panels whose two-sided updates are GEMMs (LAPACK dsytrd_sy2sb, with the
 * trailing updates delayed over several panels as in dlatrd), band → tridiagonal by bulge chasing (dsytrd_sb2st),
 * then implicit QL. Backward stable like the one-stage dsytrd: the same float64 accuracy, ascending order.
 */
export async function symmetricEigenvaluesTwoStage(a: Float64Array, n: number, kernels: BandReductionKernels, opts: TwoStageOptions = {}): Promise<Float64Array> {
  const band = await reduceToBand(a, n, kernels, opts);
  const wasm = opts.kernels === 'typescript' ? undefined : wasmKernels();
  const { d, e } = wasm ? wasm.bandToTridiagonal(band) : bandToTridiagonal(band);
  return wasm ? wasm.tridiagonalEigenvalues(d, e) : tridiagonalEigenvalues(d, e);
}

/**
 * Narrower bands below order 3072: the bulge chase costs O(n²b) and the smaller GEMMs gain little from wider panels
 * (measured on one thread: order 768, 56 ms at b = 24 vs 63 ms at 32; order 2000, 615 vs 657 ms); 4096 keeps 32.
 */
function defaultBandwidth(n: number): number {
  return n < 3072 ? 24 : 32;
}

export async function reduceToBand(a: Float64Array, n: number, kernels: BandReductionKernels, opts: TwoStageOptions = {}): Promise<LowerBand> {
  const b = Math.max(2, Math.min(opts.bandwidth ?? defaultBandwidth(n), n));
  const perRefresh = opts.panelsPerRefresh ?? 8;
  const band = lowerBand(n, b);
  let a0: Float64Array = a;
  let c = n;
  let q = 0; // global index of A₀'s first row
  let spare: Float64Array | undefined;
  let p = 0; // the current panel's first column, in A₀ coordinates
  let panels: Panel[] = [];
  let bw = Math.min(b, c);
  let strip: Float64Array = new Float64Array(c * bw); // A_current[p:, p:p+bw]
  for (let i = 0; i < c; i++) for (let j = 0; j < bw; j++) strip[i * bw + j] = a0[i * c + j];
  const T = new Float64Array(b * b);
  const wasm = opts.kernels === 'typescript' ? undefined : wasmKernels();
  const qrWork = wasm ? undefined : takeWork(n * b + b + b * b);
  const vpBuf = takeWork(n * b);
  // V of the panels since the last refresh (at most perRefresh + 1 of them), slot by slot.
  const vSlab = takeWork((perRefresh + 1) * n * b);
  try {
    for (;;) {
      // A safe point between onnxruntime runs: a cancelled job unwinds here instead of finishing a large layer.
      throwIfCancelled();
      const rows = c - p;
      bw = Math.min(b, rows);
      for (let i = 0; i < bw; i++) for (let j = 0; j <= i; j++) band.data[bandIndex(band, q + p + i, q + p + j)] = strip[i * bw + j];
      const m = rows - bw;
      if (m <= 0) break;
      const s = p + bw;
      const panel = strip.subarray(bw * bw, rows * bw);
      const v = vSlab.subarray(panels.length * n * b, panels.length * n * b + m * Math.min(m, bw));
      const k = wasm ? wasm.panelQr(panel, m, bw, v, T) : panelQr(panel, m, bw, v, T, qrWork);
      for (let i = 0; i < k; i++) for (let j = i; j < bw; j++) band.data[bandIndex(band, q + s + i, q + p + j)] = panel[i * bw + j];
      const vp = vpBuf.subarray(0, c * k);
      vp.fill(0, 0, s * k);
      vp.set(v, s * k);
      const bb = Math.min(b, m);
      const { y, next } = await kernels.step({
        a: a0.subarray(s * c, c * c),
        m,
        c,
        vp,
        k,
        t: T.subarray(0, k * k),
        u: rowsFrom(panels, 'v', s),
        s: rowsFrom(panels, 'y', s),
        ks: panels.map((x) => x.k),
        bb,
      });
      panels.push({ s, k, v, y });
      strip = next;
      p = s;
      if (panels.length >= perRefresh && c - p > b) {
        // Rewrite the trailing matrix with every delayed update: A₀ ← (A₀ − U Sᵀ − S Uᵀ)[p:, p:].
        const c2 = c - p;
        spare ??= takeWork(c2 * c2);
        const out = spare.subarray(0, c2 * c2);
        const ks = panels.map((x) => x.k);
        await kernels.refresh({ a: a0.subarray(p * c, c * c), c2, c, q: p, u: rowsFrom(panels, 'v', p), s: rowsFrom(panels, 'y', p), ks, out });
        spare = a0;
        a0 = out;
        q += p;
        c = c2;
        p = 0;
        panels = [];
      }
    }
  } finally {
    // `a` is the caller's; the refresh buffers that are not `a` go back to the pool.
    const ownA0 = a0.buffer !== a.buffer ? new Float64Array(a0.buffer) : undefined;
    const ownSpare = spare && spare.buffer !== a.buffer ? new Float64Array(spare.buffer) : undefined;
    giveWork(qrWork, vpBuf, vSlab, ownA0, ownSpare);
  }
  return band;
}

/** Views of rows from..c−1 of every panel's V (or Y) block (each panel's rows start at its own s). */
function rowsFrom(panels: Panel[], which: 'v' | 'y', from: number): Float64Array[] {
  return panels.map((p) => {
    const src = p[which];
    const start = (from - p.s) * p.k;
    return src.subarray(start, start + (src.length / p.k - (from - p.s)) * p.k);
  });
}
