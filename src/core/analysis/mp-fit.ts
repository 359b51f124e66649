/**
 * Marchenko–Pastur fit of WeightWatcher 0.7.5.5 (analyze(mp_fit=True)): weightwatcher.py apply_mp_fit l.4626 →
 * mp_fit l.4693 → RMT_Util.fit_density_with_range / resid_mp (l.725-880), with scipy.optimize.brute over a sigma
 * grid and its default finish scipy.optimize.fmin from the best grid point.
 */

import { fminNelderMead } from './nelder-mead';

export interface MpFitResult {
  num_spikes: number;
  sigma_mp: number;
  mp_softrank: number;
  /** Bulk edges in the units of the input eigenvalues (divided back by W_scale²). */
  bulk_max: number;
  bulk_min: number;
  W_scale: number;
  /** The brute-force grid (rescaled units) and its best point, before the Nelder–Mead polish. */
  sigma_grid: { start: number; stop: number; step: number; count: number; best: number };
}

/** KDE bandwidth of RMT_Util.fit_density_with_range (bw = 0.1). */
const BANDWIDTH = 0.1;
/** resid_mp drops grid points whose density is below this ("hack to try to fix fits"). */
const DENSITY_THRESH = 0.01;
const KDE_POINTS = 1000;

/** numpy.linspace(start, stop, num): i·step + start, the last point exactly stop. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** numpy.arange(start, stop, step) for floats: length ceil((stop-start)/step), values start + i·((start+step)-start). */
export function arange(start: number, stop: number, step: number): Float64Array {
  const len = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Float64Array(len);
  if (len > 0) out[0] = start;
  if (len > 1) out[1] = start + step;
  const delta = (start + step) - start;
  for (let i = 2; i < len; i++) out[i] = start + i * delta;
  return out;
}

/**
 * sklearn KernelDensity(kernel='linear', bandwidth=h).score_samples, exponentiated: f(t) = Σ max(0, 1-|t-x_i|/h) / (n h)
 * (sklearn _kd_tree kernel norm for the linear kernel in 1-D is 1/h). `sorted` must be ascending.
 */
export function linearKde(sorted: Float64Array, at: Float64Array, h: number): Float64Array {
  const n = sorted.length;
  const out = new Float64Array(at.length);
  let start = 0;
  for (let q = 0; q < at.length; q++) {
    const t = at[q];
    while (start < n && sorted[start] <= t - h) start++;
    let s = 0;
    for (let i = start; i < n && sorted[i] < t + h; i++) {
      const d = Math.abs(t - sorted[i]);
      if (d < h) s += 1 - d / h;
    }
    out[q] = s / (n * h);
  }
  return out;
}

/** numpy.nan_to_num: NaN → 0, ±inf → ±largest double. */
function nanToNum(v: number): number {
  if (Number.isNaN(v)) return 0;
  if (v === Infinity) return Number.MAX_VALUE;
  if (v === -Infinity) return -Number.MAX_VALUE;
  return v;
}

/** The part of resid_mp that does not depend on sigma: the KDE on 1000 points and the kept (density > 0.01) points. */
interface DensityTarget {
  x: Float64Array;
  y: Float64Array;
  xMax: number;
  xPeak: number;
}

function densityTarget(toFit: Float64Array): DensityTarget {
  const sorted = Float64Array.from(toFit).sort();
  const xde = linspace(0, sorted[sorted.length - 1] + 0.5, KDE_POINTS);
  const yde = linearKde(sorted, xde, BANDWIDTH);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < KDE_POINTS; i++) {
    if (yde[i] > DENSITY_THRESH) {
      xs.push(xde[i]);
      ys.push(yde[i]);
    }
  }
  let peak = 0;
  let xMax = -Infinity;
  for (let i = 0; i < ys.length; i++) {
    if (ys[i] > ys[peak]) peak = i;
    if (xs[i] > xMax) xMax = xs[i];
  }
  return { x: Float64Array.from(xs), y: Float64Array.from(ys), xMax, xPeak: xs.length ? xs[peak] : NaN };
}

/** RMT_Util.resid_mp(sigma, ..., allresid=False): Σ (model - KDE)² over the kept points; MP (Q ≠ 1) or quarter circle (Q = 1). */
function residual(sigma: number, Q: number, target: DensityTarget): number {
  const { x, y } = target;
  let sum = 0;
  if (Q === 1) {
    // quarter_circle_fun: t is not divided by sigma (WeightWatcher as is)
    const c = 1 / (Math.PI * sigma * sigma);
    for (let i = 0; i < x.length; i++) {
      const r = nanToNum(c * Math.sqrt(4 - x[i] * x[i])) - y[i];
      sum += r * r;
    }
    return sum;
  }
  const yq = 1 / Q;
  const bRoot = sigma * (1 + Math.sqrt(1 / Q));
  const aRoot = sigma * (1 - Math.sqrt(1 / Q));
  const b = bRoot * bRoot;
  const a = aRoot * aRoot;
  if (b < target.xPeak || b > target.xMax || a > target.xPeak) return x.length * 1000 * 1000;
  for (let i = 0; i < x.length; i++) {
    const t = x[i];
    const r = nanToNum((1 / (2 * Math.PI * sigma * sigma * t * yq)) * Math.sqrt((b - t) * (t - a))) - y[i];
    sum += r * r;
  }
  return sum;
}

/** WeightWatcher mp_fit (weightwatcher.py l.4693) on all eigenvalues of a layer; N, M the (slice) dimensions, Q = N/M. */
export function mpFit(evals: ArrayLike<number>, N: number, M: number): MpFitResult {
  const Q = N / M;
  const count = evals.length;
  let total = 0;
  let comp = 0;
  for (let i = 0; i < count; i++) {
    const v = evals[i];
    const t = total + v;
    comp += Math.abs(total) >= Math.abs(v) ? total - t + v : v - t + total;
    total = t;
  }
  const Wscale = Math.sqrt(count) / Math.sqrt(total + comp);
  const scale2 = Wscale * Wscale;
  const x = new Float64Array(count);
  let lambdaMax = -Infinity;
  for (let i = 0; i < count; i++) {
    x[i] = scale2 * evals[i];
    if (x[i] > lambdaMax) lambdaMax = x[i];
  }

  // RMT_Util.calc_sigma and fit_density_with_range (issue #60 grid)
  const invSqQ = 1.0 / Math.sqrt(Q);
  const s0 = Math.sqrt(lambdaMax / ((1 + invSqQ) * (1 + invSqQ)));
  const start = 0.05 * s0;
  const stop = 2.0 * s0;
  const step = 0.01 * s0;
  const grid = arange(start, stop, step);

  const toFit = Q === 1 ? x.map(Math.sqrt) : x;
  const target = densityTarget(toFit);
  const f = (s: number): number => residual(s, Q, target);

  let bestIdx = 0;
  let bestVal = Infinity;
  for (let i = 0; i < grid.length; i++) {
    const v = f(grid[i]);
    if (v < bestVal || (Number.isNaN(v) && !Number.isNaN(bestVal))) {
      bestVal = v;
      bestIdx = i;
    }
  }
  const best = grid[bestIdx];
  const polished = fminNelderMead((p) => f(p[0]), [best], { xtol: 1e-4, ftol: 1e-4 });
  const sigmaMp = polished.x[0];

  const bulkMax = (sigmaMp * (1 + 1 / Math.sqrt(Q))) ** 2;
  const bulkMin = (sigmaMp * (1 - 1 / Math.sqrt(Q))) ** 2;
  const TW = (1 / Math.sqrt(Q)) * Math.pow(bulkMax, 2 / 3) * Math.pow(M, -2 / 3);
  const cutoff = bulkMax + Math.sqrt(TW);
  let spikes = 0;
  for (let i = 0; i < count; i++) if (x[i] > cutoff) spikes++;

  return {
    num_spikes: spikes,
    sigma_mp: sigmaMp,
    mp_softrank: bulkMax / lambdaMax,
    bulk_max: bulkMax / scale2,
    bulk_min: bulkMin / scale2,
    W_scale: Wscale,
    sigma_grid: { start, stop, step, count: grid.length, best },
  };
}
