import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  FARMS_IMGCLS,
  FARMS_LLM_PAPER,
  FARMS_MAIN_DEFAULTS,
  analyzeEsd,
  farmsConfig,
  farmsConv2d,
  farmsLinear,
  planWindows,
  pyFloorDiv,
  pySlice,
  type FarmsConfig,
  type FarmsFit,
} from '../../src/core/analysis/farms';
import { conv2dSlices, loadOracle, loadOracleTensors, squaredSingularValues, subMatrix } from '../helpers-analysis-svd';

const oracle = loadOracle();
const withFarms = Object.entries(oracle.matrices).filter(([, m]) => m.farms);

function rel(a: number, b: number): number {
  return b === 0 ? Math.abs(a) : Math.abs(a / b - 1);
}

/* eslint-disable @typescript-eslint/no-explicit-any */
function configOf(c: any): Partial<FarmsConfig> {
  return { num_row_samples: c.num_row_samples, Q_ratio: c.Q_ratio, sampling_ops_per_dim: c.sampling_ops_per_dim, fix_fingers: c.fix_fingers };
}

/** alpha, D, xmin within 1e-4 of FARMS in float64 (the same candidate k), the plain statistics within 1e-6. */
function assertMatchesFarms(got: FarmsFit, want: any, label: string): void {
  assert.equal(got.n_eigs, want.n_eigs, `${label}: n_eigs`);
  assert.equal(got.k, want.k, `${label}: k`);
  for (const key of ['alpha', 'D', 'xmin'] as const) assert.ok(rel(got[key], want[key]) < 1e-4, `${label}: ${key} ${got[key]} vs ${want[key]}`);
  for (const key of ['spectral_norm', 'alpha_hat', 'stable_rank', 'norm'] as const) {
    assert.ok(rel(got[key], want[key]) < 1e-6, `${label}: ${key} ${got[key]} vs ${want[key]}`);
  }
  if (want.peak_xmin2 !== undefined) {
    assert.ok(rel(got.peak_xmin2 as number, want.peak_xmin2) < 1e-4, `${label}: peak_xmin2`);
    assert.ok(rel(got.xmin_search_hi as number, want.xmin_search_hi) < 1e-4, `${label}: xmin_search_hi`);
  }
}

describe('FARMS window planning (sampling.py fixed_sampling)', () => {
  for (const [name, m] of withFarms) {
    for (const [configName, f] of Object.entries<any>(m.farms)) {
      if (!f.windows) continue;
      it(`${name} ${configName}: r, c, steps, counts and every offset`, () => {
        const plan = planWindows(m.shape[0], m.shape[1], farmsConfig(configOf(f.config)));
        const w = f.windows;
        assert.deepEqual(
          [plan.r, plan.c, plan.row_step, plan.col_step, plan.n_row_windows, plan.n_col_windows],
          [w.r, w.c, w.row_step, w.col_step, w.n_row_windows, w.n_col_windows],
        );
        assert.deepEqual(plan.windows.map((x) => [x.row_start, x.col_start]), w.starts);
      });
    }
  }

  it('the negative-offset corner case wraps like a Python slice (edge.rankdef, Q_ratio 2)', () => {
    const plan = planWindows(128, 64, FARMS_MAIN_DEFAULTS);
    assert.equal(plan.c, 128);
    assert.equal(plan.windows[0].col_start, -64);
    assert.deepEqual([plan.windows[0].colStart, plan.windows[0].colEnd], [0, 64]); // W[:, -64:64] is all 64 columns
  });

  it('without the r clamp (Image_Classification/sampling.py) rows wrap too', () => {
    const plan = planWindows(50, 80, { ...FARMS_IMGCLS, clamp_row_samples: false });
    assert.deepEqual([plan.r, plan.c, plan.row_step, plan.col_step, plan.n_row_windows, plan.n_col_windows], [100, 100, 1, 1, 1, 1]);
    const w = plan.windows[0];
    assert.deepEqual([w.row_start, w.col_start, w.rowStart, w.rowEnd, w.colStart, w.colEnd], [-50, -20, 0, 50, 60, 80]);
  });

  it('Python reference plans (computed with CPython)', () => {
    const a = planWindows(300, 40, { num_row_samples: 100, Q_ratio: 2, sampling_ops_per_dim: 4, clamp_row_samples: true });
    assert.deepEqual([a.r, a.c, a.row_step, a.col_step, a.n_row_windows, a.n_col_windows], [40, 80, 86, 1, 4, 1]);
    assert.deepEqual(a.windows.map((w) => [w.row_start, w.col_start, w.rowStart, w.rowEnd, w.colStart, w.colEnd]), [
      [0, -40, 0, 40, 0, 40], [86, -40, 86, 126, 0, 40], [172, -40, 172, 212, 0, 40], [258, -40, 258, 298, 0, 40],
    ]);
    const b = planWindows(1000, 700, { num_row_samples: 100, Q_ratio: 1.5, sampling_ops_per_dim: 5, clamp_row_samples: true });
    assert.deepEqual([b.r, b.c, b.row_step, b.col_step, b.n_row_windows, b.n_col_windows], [100, 150, 225, 137, 5, 5]);
    assert.deepEqual(b.windows[24], { row_start: 900, col_start: 548, rowStart: 900, rowEnd: 1000, colStart: 548, colEnd: 698 });
  });

  it('LLaMA paper defaults: 2000×2000 windows, 15 per dimension (11008×4096 → 225 windows)', () => {
    assert.deepEqual(farmsConfig(), FARMS_LLM_PAPER);
    const plan = planWindows(11008, 4096, FARMS_LLM_PAPER);
    assert.deepEqual([plan.r, plan.c, plan.row_step, plan.col_step, plan.windows.length], [2000, 2000, 643, 149, 225]);
    assert.throws(() => planWindows(100, 100, { ...FARMS_LLM_PAPER, sampling_ops_per_dim: 1 }), RangeError);
  });

  it('CPython float floor division and slices', () => {
    assert.deepEqual([pyFloorDiv(1, 0.1), pyFloorDiv(-7, 2), pyFloorDiv(7, -2), pyFloorDiv(7.5, 2), pyFloorDiv(-0.5, 1), pyFloorDiv(32, 2), pyFloorDiv(33, 1 / 0.5)], [9, -4, -4, 3, -1, 16, 16]);
    assert.deepEqual(pySlice(-64, 64, 64), { start: 0, end: 64 });
    assert.deepEqual(pySlice(-200, -150, 64), { start: 0, end: 0 });
    assert.deepEqual(pySlice(10, 500, 64), { start: 10, end: 64 });
  });
});

describe('FARMS fits against the authors\' algorithm in float64 (oracle numpy_float64)', () => {
  let tensors: Map<string, Float64Array>;
  before(async () => {
    tensors = await loadOracleTensors();
  });

  for (const [name, m] of withFarms) {
    it(`${name}: every config`, () => {
      const [rows, cols] = m.shape;
      const W = tensors.get(name) as Float64Array;
      const cache = new Map<string, Float64Array>();
      // Jacobi (high relative accuracy) where tiny singular values matter, the Gram route elsewhere
      const jacobiUpTo = name === 'edge.rankdef.weight' ? 128 : 64;
      const eigsOf = (r0: number, c0: number, r: number, c: number): Float64Array => {
        const key = `${r0},${c0},${r},${c}`;
        let e = cache.get(key);
        if (!e) {
          e = squaredSingularValues(subMatrix(W, cols, r0, c0, r, c), r, c, jacobiUpTo);
          cache.set(key, e);
        }
        return e;
      };
      for (const [configName, f] of Object.entries<any>(m.farms)) {
        if (configName === 'alpha_peak_no_subsampling') {
          // use_sliding_window=False: the whole matrix's eigenvalues, xmin_peak (AlphaPruning's alpha_peak)
          assertMatchesFarms(analyzeEsd(m.evals_ww, farmsConfig({ fix_fingers: 'xmin_peak' })), f.numpy_float64, `${name} ${configName}`);
          continue;
        }
        const out = farmsLinear(rows, cols, eigsOf, configOf(f.config));
        assert.equal(out.skipped, false);
        if (out.skipped) continue;
        assert.equal(out.result.num_windows, f.windows.starts.length);
        assertMatchesFarms(out.result, f.numpy_float64, `${name} ${configName}`);
        // the authors' float32 torch code lands within the f32-vs-f64 spread the oracle reports
        assert.ok(rel(out.result.alpha, f.farms_code_torch_float32.alpha) < 0.01, `${name} ${configName}: torch f32`);
      }
    });
  }

  it('conv.0: Conv2D blocks, per-block fits and the mean alpha', async () => {
    const m = oracle.matrices['conv.0.weight'];
    const { rows, cols, slices } = conv2dSlices(tensors.get('conv.0.weight') as Float64Array, m.shape);
    for (const [configName, c] of Object.entries<any>(m.farms_code_conv2d_branch)) {
      const want = c.numpy_float64;
      const fix = configName === 'llm_paper_fullsearch' ? null : 'xmin_peak';
      const got = farmsConv2d(rows, cols, slices.length, (s, r0, c0, r, cc) => squaredSingularValues(subMatrix(slices[s], cols, r0, c0, r, cc), r, cc), { fix_fingers: fix });
      assert.deepEqual([got.block_rows, got.block_cols, got.n_blocks], [want.block_rows, want.block_cols, want.n_blocks]);
      assert.ok(rel(got.alpha, want.alpha) < 1e-4, `${configName}: alpha ${got.alpha} vs ${want.alpha}`);
      assert.ok(rel(got.D, want.D) < 1e-4, `${configName}: D`);
      got.per_block.forEach((b, i) => assertMatchesFarms(b, want.per_block[i], `${configName} block ${i}`));
    }
  });

  it('Conv2D block shapes for Q_ratio > 1 and < 1 (cols//Q × cols, cols × cols//(1/Q))', () => {
    const seen: number[][] = [];
    const eigs = (s: number, r0: number, c0: number, r: number, c: number): Float64Array => {
      seen.push([s, r0, c0, r, c]);
      return Float64Array.from({ length: Math.min(r, c) }, (_, i) => i + 1);
    };
    const q2 = farmsConv2d(64, 32, 2, eigs, { Q_ratio: 2 });
    assert.deepEqual([q2.block_rows, q2.block_cols, q2.n_blocks], [16, 32, 2]);
    assert.deepEqual(seen.slice(0, 4), [[0, 0, 0, 16, 32], [1, 0, 0, 16, 32], [0, 16, 0, 16, 32], [1, 16, 0, 16, 32]]);
    const qh = farmsConv2d(96, 32, 1, () => Float64Array.from([1, 2, 3, 4, 5, 6]), { Q_ratio: 0.5 });
    assert.deepEqual([qh.block_rows, qh.block_cols, qh.n_blocks], [32, 16, 3]);
    // eigenvalues are scaled by conv_norm before fitting
    assert.equal(qh.per_block[0].spectral_norm, 6 * 0.5);
  });

  it('skips a layer with fewer than eigs_num_thresh pooled eigenvalues', () => {
    const out = farmsLinear(2, 3, (_r0, _c0, r, c) => new Float64Array(Math.min(r, c)).fill(1), { sampling_ops_per_dim: 2 });
    assert.equal(out.skipped, true);
    if (out.skipped) assert.match(out.reason, /eigs_num_thresh 5/);
    const ok = farmsLinear(2, 3, (_r0, _c0, r, c) => Float64Array.from({ length: Math.min(r, c) }, (_, i) => i + 1), { sampling_ops_per_dim: 2, eigs_num_thresh: 3 });
    assert.equal(ok.skipped, false);
  });

  it('filter_zeros drops eigenvalues ≤ EVALS_THRESH before the fit (FARMS default keeps them)', () => {
    const eigs = [1e-9, 2e-9, 0.1, 0.2, 0.3, 0.5, 0.8, 1.3, 2.1, 3.4];
    const kept = analyzeEsd(eigs, { ...FARMS_LLM_PAPER, fix_fingers: null });
    const dropped = analyzeEsd(eigs, { ...FARMS_LLM_PAPER, fix_fingers: null, filter_zeros: true });
    const above = analyzeEsd(eigs.slice(2), { ...FARMS_LLM_PAPER, fix_fingers: null });
    assert.deepEqual([dropped.alpha, dropped.D, dropped.xmin, dropped.k], [above.alpha, above.D, above.xmin, above.k]);
    assert.equal(kept.n_eigs, 10); // norm, spectral norm and stable rank use every eigenvalue either way
    assert.equal(dropped.n_eigs, 10);
    assert.equal(kept.norm, dropped.norm);
    assert.equal(kept.k, dropped.k + 2); // k indexes the fitted sample: here the same xmin, two slots later
    assert.equal(kept.xmin, dropped.xmin);
  });
});
