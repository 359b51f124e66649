import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  EVALS_THRESH,
  fitPowerLaw,
  fitWithSearch,
  midpointFit,
  peakWindow,
  scanCandidates,
  sortedAbove,
} from '../../src/core/analysis/powerlaw';
import { loadOracle } from '../helpers-analysis-svd';

/** Seeded uniform (0, 1) generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
}

/** Squared quarter-circle singular values: the pooled ESD of square Gaussian windows (Marchenko–Pastur, Q = 1). */
function mpSample(n: number, seed: number, scale = 4e-4): Float64Array {
  const u = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; ) {
    const x = u();
    if (u() <= Math.sqrt(1 - x * x)) out[i++] = 4 * x * x * scale;
  }
  return out.sort();
}

/** A bulk plus a Pareto(a) tail: what trained layers look like. */
function heavyTailed(n: number, seed: number, a = 1.5): Float64Array {
  const u = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = i % 3 === 0 ? Math.pow(u(), -1 / a) : 0.2 + u();
  return out.sort();
}

/**
 * The plain O(n²) WWFit scan (WW_powerlaw.py l.60-72): every candidate in [lo, hi), every term of its KS distance, first argmin.
 * Alpha uses the same compensated suffix sum as the module, so the comparison isolates the pruned D search.
 */
function referenceScan(data: Float64Array, lo = 0, hi = data.length - 1): { k: number; alpha: number; D: number } {
  const n = data.length;
  const logs = Float64Array.from(data, Math.log);
  const suffix = new Float64Array(n);
  let s = 0;
  let c = 0;
  for (let i = n - 1; i >= 0; i--) {
    const v = logs[i];
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
    suffix[i] = s + c;
  }
  const alphas = new Float64Array(n - 1);
  const Ds = new Float64Array(n - 1).fill(1);
  for (let i = lo; i < hi; i++) {
    const m = n - i;
    const alpha = 1 + m / (suffix[i] - m * logs[i]);
    alphas[i] = alpha;
    if (alpha > 1) {
      let max = 0;
      for (let j = 0; j < m; j++) {
        const r = data[i + j] / data[i];
        const p = r === 1 ? 1 : Math.pow(r, -alpha + 1);
        const v = Math.abs(1 - p - j / m);
        if (v > max) max = v;
      }
      Ds[i] = max;
    }
  }
  let k = 0;
  for (let i = 1; i < n - 1; i++) if (Ds[i] < Ds[k]) k = i;
  return { k, alpha: alphas[k], D: Ds[k] };
}

function assertSameFit(fast: { k: number; alpha: number; D: number }, ref: { k: number; alpha: number; D: number }, label: string): void {
  assert.equal(fast.k, ref.k, `${label}: k`);
  assert.ok(Object.is(fast.alpha, ref.alpha), `${label}: alpha ${fast.alpha} vs ${ref.alpha}`);
  assert.ok(Object.is(fast.D, ref.D), `${label}: D ${fast.D} vs ${ref.D}`);
}

function rel(a: number, b: number): number {
  return b === 0 ? Math.abs(a) : Math.abs(a / b - 1);
}

const oracle = loadOracle();
const analysed = Object.entries(oracle.matrices).filter(([, m]) => m.weightwatcher);

describe('power-law fit against WeightWatcher 0.7.5.5 (public oracle)', () => {
  for (const [name, m] of analysed) {
    it(`${name}: alpha, D, xmin, sigma, xmax within 1e-6 and the same candidate k`, () => {
      const ww = m.weightwatcher;
      const fit = fitPowerLaw(Float64Array.from(m.evals_ww));
      assert.equal(fit.k, m.spec_reimplementation.k, 'argmin index');
      assert.equal(fit.n_fit, m.spec_reimplementation.n_fit);
      for (const key of ['alpha', 'D', 'xmin', 'xmax', 'sigma'] as const) {
        assert.ok(rel(fit[key], ww[key]) < 1e-6, `${key}: ${fit[key]} vs ${ww[key]}`);
      }
      assert.equal(fit.num_pl_spikes, ww.num_pl_spikes);
      assert.equal(fit.status, ww.status);
      assert.equal(fit.warning, ww.warning);
    });
  }

  it('EVALS_THRESH is absolute and settable', () => {
    const m = oracle.matrices['layers.0.weight'];
    assert.equal(m.num_evals_le_EVALS_THRESH, 1);
    assert.equal(fitPowerLaw(m.evals_ww).n_fit, m.evals_ww.length - 1);
    assert.equal(fitPowerLaw(m.evals_ww, { evalsThresh: 0 }).n_fit, m.evals_ww.length);
    assert.equal(EVALS_THRESH, 1e-5);
  });

  it('fails like WeightWatcher below two fitted eigenvalues', () => {
    const fit = fitPowerLaw([1e-7, 2e-6, 0.5]);
    assert.equal(fit.status, 'failed');
    assert.equal(fit.alpha, -1);
    assert.equal(fit.D, -1);
    assert.equal(fitPowerLaw([0.5, 0.7]).status, 'success');
  });
});

describe('FARMS candidate restrictions against the FARMS oracle (no subsampling)', () => {
  for (const [name, m] of Object.entries(oracle.matrices)) {
    const f = m.farms?.alpha_peak_no_subsampling?.numpy_float64;
    if (!f) continue;
    it(`${name}: xmin_peak window, k, alpha, D`, () => {
      const sorted = Float64Array.from(m.evals_ww).sort();
      const peak = peakWindow(sorted);
      assert.ok(rel(peak.peak_xmin2, f.peak_xmin2) < 1e-9, `peak ${peak.peak_xmin2} vs ${f.peak_xmin2}`);
      assert.ok(rel(peak.xmin_search_lo, f.xmin_search_lo) < 1e-9);
      assert.ok(rel(peak.xmin_search_hi, f.xmin_search_hi) < 1e-9);
      const fit = fitWithSearch(sorted, 'xmin_peak');
      assert.equal(fit.k, f.k);
      assert.ok(rel(fit.alpha, f.alpha) < 1e-9 && rel(fit.D, f.D) < 1e-9 && rel(fit.xmin, f.xmin) < 1e-9);
    });
  }

  it('xmin_mid is one Hill estimate at int(n/2), D without the alpha > 1 guard', () => {
    const data = Float64Array.from([1, 2, 3, 4, 5, 6, 7]);
    const fit = midpointFit(data);
    assert.equal(fit.k, 3);
    const tail = [4, 5, 6, 7];
    const alpha = 1 + 4 / tail.reduce((a, x) => a + Math.log(x / 4), 0);
    assert.ok(Math.abs(fit.alpha - alpha) < 1e-14);
    const D = Math.max(...tail.map((x, j) => Math.abs(1 - Math.pow(x / 4, 1 - alpha) - j / 4)));
    assert.ok(Math.abs(fit.D - D) < 1e-14);
    assert.equal(midpointFit(data, 3).k, 2);
  });

  it('slots outside the xmin_peak window keep D = 1 and alpha = 0', () => {
    // an empty window (nothing between the bounds): np.argmin of all-ones Ds is slot 0, whose alpha was never set
    const data = Float64Array.from([1, 2, 3, 4, 5, 6]);
    const empty = scanCandidates(data, { lo: 3, hi: 3 });
    assert.deepEqual([empty.k, empty.D, empty.alpha, empty.xmin], [0, 1, 0, 1]);
    // a window that excludes slot 0 picks inside the window
    const inside = scanCandidates(data, { lo: 2, hi: 4 });
    assert.ok(inside.k >= 2 && inside.k < 4 && inside.D < 1 && inside.alpha > 1);
  });
});

describe('exactness of the pruned scan against the plain O(n²) scan', () => {
  for (const [name, m] of analysed) {
    it(`${name}: full scan and xmin_peak, bit for bit`, () => {
      const data = sortedAbove(m.evals_ww, EVALS_THRESH);
      assertSameFit(scanCandidates(data), referenceScan(data), `${name} full`);
      const all = Float64Array.from(m.evals_ww).sort();
      const peak = peakWindow(all);
      assertSameFit(scanCandidates(all, { lo: peak.lo, hi: peak.hi }), referenceScan(all, peak.lo, peak.hi), `${name} peak`);
    });
  }

  it('ties and duplicates (equal eigenvalues, pow(1, y) = 1 as in C)', () => {
    const u = rng(7);
    const data = Float64Array.from({ length: 1500 }, () => Math.round(Math.pow(u(), -1 / 2) * 20) / 20).sort();
    const fast = scanCandidates(data);
    assertSameFit(fast, referenceScan(data), 'duplicates');
    const top = Float64Array.from([0.1, 0.2, 0.3, 5, 5]);
    assertSameFit(scanCandidates(top), referenceScan(top), 'duplicate maximum');
  });

  it('heavy-tailed random data, n = 20000, full scan', () => {
    const data = heavyTailed(20000, 11);
    const fast = scanCandidates(data);
    assertSameFit(fast, referenceScan(data), 'heavy-tailed');
    assert.ok(fast.fullScans < fast.candidates / 100, `pruning: ${fast.fullScans} full scans of ${fast.candidates}`);
  });

  it('Marchenko–Pastur pooled data, n = 20000, xmin_peak window', () => {
    const data = mpSample(20000, 5);
    const peak = peakWindow(data);
    assert.ok(peak.hi - peak.lo > 10000);
    assertSameFit(scanCandidates(data, { lo: peak.lo, hi: peak.hi }), referenceScan(data, peak.lo, peak.hi), 'MP peak');
  });

  it('times the FARMS-sized fit: 450,000 pooled eigenvalues (LLaMA 11008×4096, 225 windows of 2000×2000)', (t) => {
    const data = mpSample(450_000, 3);
    let start = performance.now();
    const peakFit = fitWithSearch(data, 'xmin_peak');
    const peakMs = performance.now() - start;
    start = performance.now();
    const fullFit = scanCandidates(data);
    const fullMs = performance.now() - start;
    t.diagnostic(`xmin_peak: ${(peakMs / 1000).toFixed(2)} s, ${peakFit.candidates} candidates, ${peakFit.fullScans} full KS scans; alpha ${peakFit.alpha.toFixed(4)} D ${peakFit.D.toFixed(4)}`);
    t.diagnostic(`full scan: ${(fullMs / 1000).toFixed(2)} s, ${fullFit.candidates} candidates, ${fullFit.fullScans} full KS scans`);
    console.log(`# 450,000-eigenvalue fit: xmin_peak ${(peakMs / 1000).toFixed(2)} s, full ${(fullMs / 1000).toFixed(2)} s`);
    assert.ok(peakFit.candidates > 350_000);
    assert.ok(peakMs < 60_000 && fullMs < 60_000, 'seconds, not minutes');
  });
});
