/**
 * Power-law (Pareto) tail fit of an eigenvalue spectrum, as WeightWatcher's WWFit and FARMS' analysis_esd do it,
 * with an exact speed-up: every candidate's alpha in O(1) from suffix sums, and each KS distance abandoned as soon
 * as it provably cannot beat the best candidate so far (same argmin as the plain O(n²) scan, bit for bit).
 */

/** WeightWatcher constants.py l.190: eigenvalues at or below this are left out of the fit. */
export const EVALS_THRESH = 1e-5;
/** WeightWatcher constants.py l.96-97: alpha below is 'over-trained', above is 'under-trained'. */
export const OVER_TRAINED_ALPHA = 2;
export const UNDER_TRAINED_ALPHA = 6;

/** How the candidate xmin values are restricted (FARMS esd_utils_farms.py analysis_esd l.170, l.203-239). */
export type XminSearch = 'full' | 'xmin_peak' | 'xmin_mid';

export type FitWarning = '' | 'over-trained' | 'under-trained';

/** Result of one scan over candidate xmin indices of a sorted sample. */
export interface CandidateFit {
  /** Index of the chosen xmin in the sorted sample (first argmin of D over all n-1 slots). */
  k: number;
  alpha: number;
  D: number;
  xmin: number;
  /** Number of candidates whose alpha was computed. */
  candidates: number;
  /** Number of candidates whose D was computed to the end (the rest were pruned exactly). */
  fullScans: number;
}

/** Options of the candidate scan. */
export interface ScanOptions {
  /** First candidate index (inclusive). Default 0. */
  lo?: number;
  /** Last candidate index (exclusive); clamped to n-1 because the largest value is never a candidate. */
  hi?: number;
}

/**
 * Suffix sums S[i] = Σ_{j≥i} ln x_j, accumulated from the top with Neumaier compensation
 * (so alpha_i = 1 + m/(S[i] - m ln x_i) costs O(1); WW_powerlaw.py WWFit.fit_power_law l.71 sums each suffix afresh).
 */
export function suffixLogSums(logs: Float64Array): Float64Array {
  const n = logs.length;
  const out = new Float64Array(n);
  let s = 0;
  let c = 0;
  for (let i = n - 1; i >= 0; i--) {
    const v = logs[i];
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
    out[i] = s + c;
  }
  return out;
}

/** Continuous Hill / maximum-likelihood exponent for xmin = x_i (WW_powerlaw.py l.71: alpha = 1 + n / (Σ ln x - n ln xmin)). */
export function hillAlpha(suffix: Float64Array, logs: Float64Array, i: number): number {
  const m = logs.length - i;
  return 1 + m / (suffix[i] - m * logs[i]);
}

/**
 * One-sided KS distance of WWFit (WW_powerlaw.py l.73-77): max_j |1 - (x_{i+j}/x_i)^(1-alpha) - j/m|, j < m.
 * Returns -1 as soon as the running max reaches `bound` (exceeds it when `strict`): the candidate cannot win then.
 * `scan.witness` receives the position (absolute index) of the last maximum seen.
 */
function ksDistance(data: Float64Array, i: number, alpha: number, bound: number, strict: boolean, scan: ScanState): number {
  const n = data.length;
  const m = n - i;
  const xmin = data[i];
  const e = -alpha + 1;
  let max = 0;
  let argJ = 0;
  for (let j = 0; j < m; j++) {
    const v = Math.abs(1 - cPow(data[i + j] / xmin, e) - j / m);
    if (v > max) {
      max = v;
      argJ = j;
      if (strict ? v > bound : v >= bound) {
        scan.witness = i + j;
        return -1;
      }
    }
  }
  scan.witness = i + argJ;
  return (strict ? max > bound : max >= bound) ? -1 : max;
}

/** C pow (numpy's np.power): pow(1, y) = 1 for every y, where Math.pow(1, ±Infinity or NaN) is NaN. */
function cPow(x: number, y: number): number {
  return x === 1 ? 1 : Math.pow(x, y);
}

/** The deviation term of ksDistance at one position j (identical arithmetic, so it is an exact lower bound). */
function ksTerm(data: Float64Array, i: number, alpha: number, j: number): number {
  const m = data.length - i;
  return Math.abs(1 - cPow(data[i + j] / data[i], -alpha + 1) - j / m);
}

interface ScanState {
  witness: number;
}

/**
 * First argmin over candidates i ∈ [lo, hi) of WWFit's D_i, where slots outside the range and candidates with
 * alpha ≤ 1 have D = 1 and (outside the range) alpha = 0, as in WW_powerlaw.py l.55, l.64-77 and FARMS esd_utils_farms.py l.212-239.
 * `data` must be sorted ascending and positive.
 *
 * Exactness: a candidate i can only replace the best (D*, k*) if D_i < D*, or D_i = D* and i < k*. Every term of
 * D_i's max is a lower bound of D_i computed with the very same arithmetic as the full scan, so abandoning a
 * candidate once one term reaches that bound never changes the result. The visiting order (coarse seeds, a local
 * refinement, then all candidates with probes at previous maximiser positions) only affects the speed.
 */
export function scanCandidates(data: Float64Array, options: ScanOptions = {}): CandidateFit {
  const n = data.length;
  const lo = Math.max(0, options.lo ?? 0);
  const hi = Math.min(n - 1, options.hi ?? n - 1);
  const logs = new Float64Array(n);
  for (let i = 0; i < n; i++) logs[i] = Math.log(data[i]);
  const suffix = suffixLogSums(logs);

  // Slot 0 with D = 1 is the argmin while nothing better is known (np.argmin of all ones).
  let bestD = 1;
  let bestK = 0;
  let candidates = 0;
  let fullScans = 0;
  const visited = new Uint8Array(Math.max(0, hi - lo));
  const scan: ScanState = { witness: -1 };

  const visit = (i: number): void => {
    if (i < lo || i >= hi || visited[i - lo]) return;
    visited[i - lo] = 1;
    candidates++;
    const alpha = hillAlpha(suffix, logs, i);
    if (!(alpha > 1)) {
      if (1 < bestD || (1 === bestD && i < bestK)) {
        bestD = 1;
        bestK = i;
      }
      return;
    }
    const strict = i < bestK;
    if (bestD < 1 && probe(i, alpha, strict)) return;
    const D = ksDistance(data, i, alpha, bestD, strict, scan);
    remember(scan.witness);
    if (D < 0) return;
    fullScans++;
    bestD = D;
    bestK = i;
  };

  // Most recent positions (absolute indices) where a KS term was large, most recent first.
  const witnesses: number[] = [];
  const remember = (w: number): void => {
    const at = witnesses.indexOf(w);
    if (at >= 0) witnesses.splice(at, 1);
    witnesses.unshift(w);
    if (witnesses.length > 4) witnesses.pop();
  };
  const reaches = (v: number, strict: boolean): boolean => (strict ? v > bestD : v >= bestD);

  /**
   * Looks for one KS term of candidate i that reaches the bound: first at the remembered positions, then by a short
   * hill climb of the deviation from the best of them (the deviation curve drifts slowly from one candidate to the next).
   */
  const probe = (i: number, alpha: number, strict: boolean): boolean => {
    const m = n - i;
    let j = -1;
    let v = -1;
    for (const w of witnesses) {
      if (w < i) continue;
      const t = ksTerm(data, i, alpha, w - i);
      if (reaches(t, strict)) {
        remember(w);
        return true;
      }
      if (t > v) {
        v = t;
        j = w - i;
      }
    }
    if (j < 0) {
      j = m >> 1;
      v = ksTerm(data, i, alpha, j);
      if (reaches(v, strict)) {
        remember(i + j);
        return true;
      }
    }
    let step = Math.max(1, m >> 8);
    for (let evals = 0; step >= 1 && evals < 48; ) {
      let moved = false;
      for (const jj of [j + step, j - step]) {
        if (jj < 0 || jj >= m) continue;
        const t = ksTerm(data, i, alpha, jj);
        evals++;
        if (reaches(t, strict)) {
          remember(i + jj);
          return true;
        }
        if (t > v) {
          v = t;
          j = jj;
          moved = true;
          break;
        }
      }
      step = moved ? Math.min(step * 2, m >> 2 || 1) : step >> 1;
    }
    return false;
  };

  const count = hi - lo;
  if (count > 0) {
    // Coarse seeds, then a local descent around the best seed: cheap ways to get a small bound early.
    const seeds = Math.min(count, 64);
    const stride0 = Math.max(1, Math.floor(count / seeds));
    for (let s = 0; s < seeds; s++) visit(lo + Math.floor((s * count) / seeds));
    for (let stride = stride0; stride >= 1; stride = Math.floor(stride / 2)) {
      let centre = -1;
      while (centre !== bestK && bestK >= lo && bestK < hi) {
        centre = bestK;
        visit(centre - stride);
        visit(centre + stride);
      }
    }
    for (let i = lo; i < hi; i++) visit(i);
  }

  const alpha = bestK >= lo && bestK < hi ? hillAlpha(suffix, logs, bestK) : 0;
  return { k: bestK, alpha, D: bestD, xmin: data[bestK], candidates, fullScans };
}

/** Single Hill estimate at i = int(n / xminPos) (FARMS esd_utils_farms.py l.203-210, fix_fingers='xmin_mid'); D without the alpha > 1 guard. */
export function midpointFit(data: Float64Array, xminPos = 2): CandidateFit {
  const n = data.length;
  const i = Math.trunc(n / xminPos);
  const logs = new Float64Array(n - i);
  for (let j = i; j < n; j++) logs[j - i] = Math.log(data[j]);
  let s = 0;
  let c = 0;
  for (let j = logs.length - 1; j >= 0; j--) {
    const v = logs[j];
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
  }
  const m = n - i;
  const alpha = 1 + m / (s + c - m * logs[0]);
  const D = ksDistance(data, i, alpha, Infinity, true, { witness: -1 });
  return { k: i, alpha, D, xmin: data[i], candidates: 1, fullScans: 1 };
}

/** The 'xmin_peak' search window (FARMS esd_utils_farms.py l.214-229; [sic] the lower bound is a log10 value compared with raw eigenvalues). */
export interface PeakWindow {
  /** 10^(left edge of the fullest bin of the log10 histogram). */
  peak_xmin2: number;
  xmin_search_lo: number;
  xmin_search_hi: number;
  /** Candidate index range [lo, hi) it selects in the sorted sample. */
  lo: number;
  hi: number;
}

/**
 * torch.histc(log10(x), bins, min, max) and torch.linspace(min, max, bins+1) semantics: bin = trunc((v - min) * bins / (max - min)),
 * the maximum in the last bin, min == max widened by ±1; peak = first fullest bin.
 */
export function peakWindow(data: Float64Array, bins = 100): PeakWindow {
  const n = data.length;
  const h = new Float64Array(n);
  let minE = Infinity;
  let maxE = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = Math.log10(data[i]);
    h[i] = v;
    if (v < minE) minE = v;
    if (v > maxE) maxE = v;
  }
  let left = minE;
  let right = maxE;
  if (left === right) {
    left -= 1;
    right += 1;
  }
  const counts = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const v = h[i];
    if (!(v >= left && v <= right)) continue;
    let pos = Math.trunc(((v - left) * bins) / (right - left));
    if (pos === bins) pos -= 1;
    counts[pos]++;
  }
  let ih = 0;
  for (let b = 1; b < bins; b++) if (counts[b] > counts[ih]) ih = b;
  const edge = linspaceAt(minE, maxE, bins + 1, ih);
  const xmin2 = Math.pow(10, edge);
  const xminMin = Math.log10(0.95 * xmin2);
  const xminMax = 1.5 * xmin2;
  // Ascending scan: skip while x < lower, stop at the first x > upper (contiguous because data is sorted).
  let lo = 0;
  while (lo < n - 1 && data[lo] < xminMin) lo++;
  let hi = lo;
  while (hi < n - 1 && !(data[hi] > xminMax)) hi++;
  return { peak_xmin2: xmin2, xmin_search_lo: xminMin, xmin_search_hi: xminMax, lo, hi };
}

/** Element idx of torch.linspace(start, end, steps): the first half counts up from start, the second down from end. */
function linspaceAt(start: number, end: number, steps: number, idx: number): number {
  if (steps === 1) return start;
  const step = (end - start) / (steps - 1);
  return idx < Math.floor(steps / 2) ? start + step * idx : end - step * (steps - idx - 1);
}

/** WeightWatcher's power-law row (weightwatcher.py fit_powerlaw l.4127 with WW_powerlaw.WWFit, pl_package='ww'). */
export interface PowerLawResult {
  alpha: number;
  D: number;
  xmin: number;
  xmax: number;
  sigma: number;
  num_pl_spikes: number;
  status: 'success' | 'failed';
  warning: FitWarning;
  /** Index of xmin in the fitted sample. */
  k: number;
  /** Size of the fitted sample (evals > evals_thresh). */
  n_fit: number;
}

export interface PowerLawOptions {
  /** Eigenvalues at or below are excluded from the fit (absolute). Default EVALS_THRESH = 1e-5. */
  evalsThresh?: number;
}

/** Sorted copy of the values strictly above a threshold. */
export function sortedAbove(evals: ArrayLike<number>, thresh: number): Float64Array {
  let count = 0;
  for (let i = 0; i < evals.length; i++) if (evals[i] > thresh) count++;
  const out = new Float64Array(count);
  let k = 0;
  for (let i = 0; i < evals.length; i++) if (evals[i] > thresh) out[k++] = evals[i];
  return out.sort();
}

/** 'over-trained' / 'under-trained' flag of WeightWatcher (constants.py l.96-97). */
export function alphaWarning(alpha: number): FitWarning {
  if (alpha < OVER_TRAINED_ALPHA) return 'over-trained';
  if (alpha > UNDER_TRAINED_ALPHA) return 'under-trained';
  return '';
}

/**
 * WeightWatcher 0.7.5.5 default power-law fit (weightwatcher.py fit_powerlaw l.4127 → WW_powerlaw.WWFit l.31):
 * data = sort(evals > evals_thresh); xmin = first argmin of D over all but the largest value;
 * sigma = (alpha-1)/sqrt(n-k); num_pl_spikes = #{evals ≥ xmin}; status 'failed' (alpha = D = sigma = xmin = -1) below 2 points or on NaN.
 */
export function fitPowerLaw(evals: ArrayLike<number>, options: PowerLawOptions = {}): PowerLawResult {
  const data = sortedAbove(evals, options.evalsThresh ?? EVALS_THRESH);
  const n = data.length;
  const failed: PowerLawResult = {
    alpha: -1, D: -1, xmin: -1, xmax: -1, sigma: -1, num_pl_spikes: 0,
    status: 'failed', warning: '', k: -1, n_fit: n,
  };
  if (n < 2) return failed;
  const fit = scanCandidates(data);
  if (Number.isNaN(fit.alpha)) return failed;
  let spikes = 0;
  for (let i = 0; i < evals.length; i++) if (evals[i] >= fit.xmin) spikes++;
  return {
    alpha: fit.alpha,
    D: fit.D,
    xmin: fit.xmin,
    xmax: data[n - 1],
    sigma: (fit.alpha - 1) / Math.sqrt(n - fit.k),
    num_pl_spikes: spikes,
    status: 'success',
    warning: alphaWarning(fit.alpha),
    k: fit.k,
    n_fit: n,
  };
}

/** FARMS' fit of a (pooled) sorted sample: no threshold (filter_zeros=False), candidates per `search` (analysis_esd l.170). */
export function fitWithSearch(sorted: Float64Array, search: XminSearch, opts: { bins?: number; xminPos?: number } = {}): CandidateFit & { peak?: PeakWindow } {
  if (search === 'xmin_mid') return midpointFit(sorted, opts.xminPos ?? 2);
  if (search === 'xmin_peak') {
    const peak = peakWindow(sorted, opts.bins ?? 100);
    return { ...scanCandidates(sorted, { lo: peak.lo, hi: peak.hi }), peak };
  }
  return scanCandidates(sorted);
}
