import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { before, describe, it } from 'node:test';
import {
  arange,
  layerSupport,
  linspace,
  metricsFromSpectrum,
  mpFit,
  fminNelderMead,
  sliceSummary,
  type LayerMetrics,
  type SliceSummary,
  wwConv2dNorm,
} from '../../src/core/analysis';
import { conv2dSlices, jacobiSquaredSingularValues, loadOracle, loadOracleTensors } from '../helpers-analysis-svd';

const oracle = loadOracle();
const analysed = Object.entries(oracle.matrices).filter(([, m]) => m.weightwatcher);

function rel(a: number, b: number): number {
  return b === 0 ? Math.abs(a) : Math.abs(a / b - 1);
}

/** WeightWatcher columns and the tolerance each must meet. */
const MP_KEYS = ['sigma_mp', 'mp_softrank', 'W_scale', 'bulk_max', 'bulk_min'] as const;
const EXACT_KEYS = ['layer_type', 'N', 'M', 'rf', 'num_evals', 'has_esd', 'rank_loss', 'weak_rank_loss', 'num_pl_spikes', 'status', 'warning', 'matrix_rank', 'num_spikes'] as const;
const CLOSE_KEYS = ['Q', 'sv_max', 'sv_min', 'lambda_max', 'alpha', 'xmin', 'xmax', 'D', 'sigma', 'norm', 'log_norm', 'spectral_norm', 'log_spectral_norm', 'alpha_weighted', 'log_alpha_norm', 'stable_rank', 'entropy'] as const;

describe('metricsFromSpectrum reproduces the WeightWatcher row (analyze(mp_fit=True))', () => {
  let tensors: Map<string, Float64Array>;
  const convSlices = new Map<string, SliceSummary[]>();
  before(async () => {
    tensors = await loadOracleTensors();
    for (const [name, m] of analysed) {
      if (m.weightwatcher.layer_type !== 'conv2d') continue;
      const { rows, cols, slices } = conv2dSlices(tensors.get(name) as Float64Array, m.shape);
      // conv2d_norm: every float32 slice times sqrt(1/2) before the SVD (apply_normalize_Wmats)
      convSlices.set(name, slices.map((s) => sliceSummary(jacobiSquaredSingularValues(wwConv2dNorm(s), rows, cols), rows)));
    }
  });

  for (const [name, m] of analysed) {
    it(`${name}: every column`, () => {
      const ww = m.weightwatcher;
      const row: LayerMetrics = metricsFromSpectrum(Float64Array.from(m.evals_ww), {
        N: ww.N,
        M: ww.M,
        rf: ww.rf,
        layerType: ww.layer_type,
        slices: convSlices.get(name),
      });
      for (const key of EXACT_KEYS) assert.equal(row[key], ww[key], key);
      for (const key of CLOSE_KEYS) assert.ok(rel(row[key], ww[key]) < 1e-6, `${key}: ${row[key]} vs ${ww[key]}`);
      for (const key of MP_KEYS) {
        const got = row[key] as number;
        assert.ok(rel(got, ww[key]) < 1e-4 || (Number.isNaN(got) && ww[key] === 0) || (got === 0 && ww[key] === 0), `${key}: ${got} vs ${ww[key]}`);
      }
      assert.equal(row.fit_k, m.spec_reimplementation.k);
    });
  }

  it('conv.0: pooled slice eigenvalues from the test SVD agree with the oracle ESD', () => {
    const m = oracle.matrices['conv.0.weight'];
    const { rows, cols, slices } = conv2dSlices(tensors.get('conv.0.weight') as Float64Array, m.shape);
    const pooled = Float64Array.from(slices.flatMap((s) => [...jacobiSquaredSingularValues(wwConv2dNorm(s), rows, cols)])).sort();
    assert.equal(pooled.length, m.evals_ww.length);
    for (let i = 0; i < pooled.length; i++) assert.ok(rel(pooled[i], m.evals_ww[i]) < 1e-12, `eval ${i}`);
  });

  it('conditioning columns match the oracle: sigma_max, sigma_min, condition_number', () => {
    for (const [name, m] of analysed) {
      if (m.weightwatcher.layer_type !== 'dense') continue;
      const ww = m.weightwatcher;
      const row = metricsFromSpectrum(Float64Array.from(m.evals_ww), { N: ww.N, M: ww.M, rf: 1, layerType: 'dense' }, { mpFit: false });
      assert.ok(rel(row.sigma_max, m.sigma_max) < 1e-9, name);
      assert.ok(rel(row.sigma_min, m.sigma_min) < 1e-6, name);
      assert.ok(rel(row.condition_number, m.condition_number) < 1e-6, `${name}: ${row.condition_number} vs ${m.condition_number}`);
      assert.equal(row.numerically_singular, name === 'edge.rankdef.weight', name);
      assert.equal(row.num_spikes, undefined);
    }
  });

  it('edge.rankdef: rank measures see the rank 16 that float64 matrix_rank does not', () => {
    const m = oracle.matrices['edge.rankdef.weight'];
    const row = metricsFromSpectrum(Float64Array.from(m.evals_ww), { N: 128, M: 64, rf: 1, layerType: 'dense' }, { mpFit: false });
    assert.equal(row.matrix_rank, 64); // WeightWatcher: float64 tolerance, round-off counts as rank
    assert.equal(row.numerical_rank, 64);
    assert.equal(row.storage_rank, 16); // float32 tolerance
    assert.ok(row.effective_rank < 16 && row.effective_rank > 1);
    assert.ok(row.energy_rank_99 <= 16);
    assert.equal(row.welore.class, 'LRC');
    assert.equal(row.welore.keep_rank, 64 - row.welore.k);
  });
});

describe('layer filter (layer_supported with pool=True)', () => {
  it('edge.small is skipped for the reason WeightWatcher gives (M < min_evals)', () => {
    const m = oracle.matrices['edge.small.weight'];
    assert.equal(m.weightwatcher, null);
    const s = layerSupport(m.shape);
    assert.equal(s.supported, false);
    assert.match(!s.supported ? s.reason : '', /min_evals 10/);
  });

  it('the analysed oracle layers are supported with WeightWatcher N, M, rf', () => {
    for (const [name, m] of analysed) {
      const s = layerSupport(m.shape);
      assert.ok(s.supported, name);
      assert.deepEqual([s.N, s.M, s.rf, s.layerType], [m.weightwatcher.N, m.weightwatcher.M, m.weightwatcher.rf, m.weightwatcher.layer_type], name);
    }
  });

  it('1-D tensors, norms, and the max_evals / max_N limits (settable)', () => {
    assert.match((layerSupport([256]) as { reason: string }).reason, /1-D/);
    assert.equal(layerSupport([64, 64], {}, 'norm').supported, false);
    assert.match((layerSupport([16000, 16000]) as { reason: string }).reason, /max_evals 15000/);
    assert.equal(layerSupport([16000, 16000], { max_evals: 20000 }).supported, true);
    assert.match((layerSupport([128256, 4096]) as { reason: string }).reason, /max_N 50000/);
    assert.equal(layerSupport([4096, 11008]).supported, true);
    assert.equal(layerSupport([2000, 1000, 3, 3]).supported, true); // M·rf = 9000
    assert.match((layerSupport([2000, 2000, 3, 3]) as { reason: string }).reason, /M·rf = 18000 eigenvalues > max_evals/);
    const keras = layerSupport([3, 3, 32, 64]);
    assert.ok(keras.supported && keras.conv_layout === 'channels_first' && keras.N === 64 && keras.M === 32 && keras.rf === 9);
  });
});

describe('Marchenko–Pastur fit', () => {
  for (const [name, m] of analysed) {
    it(`${name}: brute grid as scipy.optimize.brute sees it, then the fmin polish`, () => {
      const ww = m.weightwatcher;
      const spec = m.spec_reimplementation;
      const fit = mpFit(Float64Array.from(m.evals_ww), ww.N, ww.M);
      assert.ok(rel(fit.sigma_grid.start, spec.mp_sigma_grid_start) < 1e-6);
      assert.ok(rel(fit.sigma_grid.step, spec.mp_sigma_grid_step) < 1e-6);
      assert.ok(rel(fit.sigma_grid.best, spec.mp_sigma_grid_best) < 1e-6, `best grid point ${fit.sigma_grid.best} vs ${spec.mp_sigma_grid_best}`);
      assert.ok(rel(fit.sigma_mp, ww.sigma_mp) < 1e-4, `sigma_mp ${fit.sigma_mp} vs ${ww.sigma_mp}`);
      assert.equal(fit.num_spikes, ww.num_spikes);
    });
  }

  it('numpy arange and linspace semantics', () => {
    // numpy: len(np.arange(0.05*s, 2*s, 0.01*s)) is 196 for some s (float rounding), 195 for others
    const s = 0.9870760580598563;
    assert.equal(arange(0.05 * s, 2.0 * s, 0.01 * s).length, Math.ceil((2.0 * s - 0.05 * s) / (0.01 * s)));
    const a = arange(0.1, 0.5, 0.1);
    assert.deepEqual([...a], [0.1, 0.2, 0.1 + 2 * (0.1 + 0.1 - 0.1), 0.1 + 3 * (0.1 + 0.1 - 0.1)]);
    const l = linspace(0, 3.7, 1000);
    assert.equal(l[999], 3.7);
    assert.equal(l[1], 3.7 / 999);
  });
});

describe('scipy.optimize.fmin port (Nelder–Mead)', () => {
  const fixture = JSON.parse(readFileSync(nodePath.join(__dirname, '..', 'fixtures', 'analysis', 'scipy-fmin.json'), 'utf8')) as {
    cases: { f: string; x0: number[]; x: number[]; fun: number; iterations: number; fcalls: number; warnflag: number; first_calls: number[][] }[];
  };
  const fns: Record<string, (x: number[]) => number> = {
    rosen: (x) => 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2,
    quartic: (x) => (x[0] - 0.3) ** 4 + 0.1 * Math.sin(5 * x[0]),
    flat: () => 1,
    absf: (x) => Math.abs(x[0] - 2.5) + 0.01 * x[0] ** 2,
  };
  for (const c of fixture.cases) {
    it(`${c.f} from [${c.x0}]: same simplex, same path, same counts as SciPy`, () => {
      const calls: number[][] = [];
      const res = fminNelderMead((x) => {
        const v = fns[c.f](x);
        calls.push([...x, v]);
        return v;
      }, c.x0);
      assert.equal(res.iterations, c.iterations);
      assert.equal(res.fcalls, c.fcalls);
      assert.equal(res.warnflag, c.warnflag);
      res.x.forEach((v, i) => assert.ok(Math.abs(v - c.x[i]) < 1e-12, `x[${i}] ${v} vs ${c.x[i]}`));
      c.first_calls.forEach((call, i) => call.forEach((v, j) => assert.ok(Math.abs(calls[i][j] - v) <= 1e-15 * Math.max(1, Math.abs(v)), `call ${i}`)));
    });
  }
});
