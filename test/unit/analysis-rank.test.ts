import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conditioning, lipschitzUpperBound, storageEpsilon } from '../../src/core/analysis/conditioning';
import {
  effectiveRank,
  energyRank,
  minMaxNormalised,
  numericalRank,
  solveWeloreTau,
  stableRank,
  weloreLayer,
  type WeloreInput,
} from '../../src/core/analysis/rank';
import { blockOf, layerFlags, summarize, summaryAverages, type SummaryRow } from '../../src/core/analysis/summary';
import { loadOracle } from '../helpers-analysis-svd';

const close = (a: number, b: number, tol = 1e-12): boolean => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
const evalsOf = (sv: number[]): Float64Array => Float64Array.from(sv, (s) => s * s).sort();

describe('rank measures', () => {
  it('stable rank Σλ / max λ', () => {
    assert.equal(stableRank([1, 2, 3, 4]), 2.5);
  });

  it('effective rank (Roy & Vetterli): n for a flat spectrum, 1 for rank one, exp(H) otherwise', () => {
    assert.ok(close(effectiveRank(evalsOf([2, 2, 2, 2, 2])), 5));
    assert.ok(close(effectiveRank(evalsOf([3, 0, 0])), 1));
    const h = -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25));
    assert.ok(close(effectiveRank(evalsOf([3, 1])), Math.exp(h)));
  });

  it('energy ranks: smallest r keeping 90 / 95 / 99 % of Σσ²', () => {
    const evals = [1, 2, 3, 4]; // Σ = 10
    assert.equal(energyRank(evals, 0.9), 3); // 4 + 3 + 2 = 9
    assert.equal(energyRank(evals, 0.95), 4);
    assert.equal(energyRank(evals, 0.99), 4);
    assert.equal(energyRank(evals, 0.4), 1);
    assert.equal(energyRank(evals, 0.41), 2);
  });

  it('numerical rank uses σ_max · max(m, n) · eps', () => {
    const eps = 2 ** -52;
    const evals = evalsOf([1, 1e-3, 100 * eps * 0.99, 100 * eps * 1.01]);
    assert.equal(numericalRank(evals, 100, 4), 3);
    assert.equal(numericalRank(evals, 50, 4), 4);
    assert.equal(numericalRank(evals, 100, 4, 1e-4), 1);
    assert.equal(numericalRank(evals, 100, 4, 1e-6), 2);
  });
});

describe('WeLore', () => {
  it('per layer: min–max normalised σ, k = #{s̃ < τ}, LRC when k / min(m, n) > min_ratio', () => {
    const evals = evalsOf([10, 5, 1, 0.5, 0.1]);
    const s = minMaxNormalised(evals);
    assert.ok(close(s[0], 1) && close(s[4], 0) && close(s[2], 0.9 / 9.9));
    const l = weloreLayer(evals, { tau: 0.1, min_ratio: 0.5 });
    assert.deepEqual([l.k, l.keep_rank, l.class], [3, 2, 'LRC']);
    assert.equal(weloreLayer(evals, { tau: 0.05, min_ratio: 0.5 }).class, 'N-LRC'); // k = 2
    assert.equal(weloreLayer(evals, { tau: 0.05, min_ratio: 0.3 }).class, 'LRC');
  });

  /** Brute force: every threshold between distinct normalised values, smallest reduction ≥ target. */
  function bruteTau(layers: WeloreInput[], target: number, weighting: 'ranks' | 'parameters'): number {
    const norms = layers.map((l) => minMaxNormalised(l.evals));
    const w = layers.map((l) => (weighting === 'parameters' ? l.m + l.n : 1));
    const total = norms.reduce((a, s, i) => a + s.length * w[i], 0);
    const cuts = [...new Set(norms.flatMap((s) => [...s]))].sort((a, b) => a - b);
    for (let t = 0; t < cuts.length; t++) {
      const tau = t + 1 < cuts.length ? (cuts[t] + cuts[t + 1]) / 2 : cuts[t] + 1e-12;
      const red = norms.reduce((a, s, i) => a + s.filter((v) => v < tau).length * w[i], 0) / total;
      if (red >= target) return tau;
    }
    return NaN;
  }

  it('global τ: the smallest reduction reaching the target, as a brute-force search finds it', () => {
    let seed = 1;
    const u = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const layers: WeloreInput[] = [
      { evals: Float64Array.from({ length: 64 }, () => u() ** 6), m: 64, n: 256 },
      { evals: Float64Array.from({ length: 128 }, () => u()), m: 128, n: 128 },
      { evals: Float64Array.from({ length: 32 }, () => u() ** 2), m: 512, n: 32 },
    ];
    for (const weighting of ['ranks', 'parameters'] as const) {
      for (const target of [0.1, 0.3, 0.5, 0.77]) {
        const sol = solveWeloreTau(layers, target, weighting);
        assert.ok(close(sol.tau, bruteTau(layers, target, weighting)), `${weighting} ${target}: ${sol.tau}`);
        assert.ok(sol.achieved >= target);
        const ks = layers.map((l) => weloreLayer(l.evals, { tau: sol.tau }).k);
        assert.deepEqual(sol.ks, ks);
        const w = layers.map((l) => (weighting === 'parameters' ? l.m + l.n : 1));
        const achieved = ks.reduce((a, k, i) => a + k * w[i], 0) / layers.reduce((a, l, i) => a + l.evals.length * w[i], 0);
        assert.ok(close(achieved, sol.achieved));
      }
    }
    assert.equal(solveWeloreTau(layers, 0).tau, 0);
    assert.equal(solveWeloreTau(layers, 1).achieved, 1);
  });
});

describe('conditioning', () => {
  it('κ, and the singular flag at the storage precision', () => {
    const c = conditioning(evalsOf([4, 2, 1]), 10, 3);
    assert.deepEqual([c.sigma_max, c.sigma_min, c.condition_number, c.numerically_singular, c.storage_rank], [4, 1, 4, false, 3]);
    const s = conditioning(evalsOf([4, 2, 4 * 10 * 2 ** -23 * 0.5]), 10, 3);
    assert.equal(s.numerically_singular, true);
    assert.equal(s.storage_rank, 2);
    assert.equal(conditioning(evalsOf([4, 2, 4 * 10 * 2 ** -23 * 0.5]), 10, 3, 'float64').numerically_singular, false);
    assert.equal(storageEpsilon('bfloat16'), 2 ** -7);
    assert.equal(storageEpsilon('float16'), 2 ** -10);
  });

  it('oracle: only edge.rankdef is singular at float32 precision; its κ is round-off (~4e8)', () => {
    const oracle = loadOracle();
    for (const [name, m] of Object.entries(oracle.matrices)) {
      if (!m.evals_ww || m.shape.length !== 2) continue;
      const c = conditioning(Float64Array.from(m.evals_ww), m.N, m.M);
      assert.ok(close(c.condition_number, m.condition_number, 1e-6), name);
      assert.equal(c.numerically_singular, name === 'edge.rankdef.weight', name);
    }
  });

  it('Lipschitz upper bound Π σ_max, with residual blocks as 1 + σ_max', () => {
    const plain = lipschitzUpperBound([2, 3, 0.5]);
    assert.deepEqual([plain.bound, plain.factors], [3, [2, 3, 0.5]]);
    assert.ok(close(plain.log10_bound, Math.log10(3)));
    const res = lipschitzUpperBound([2, 3, 0.5], 'bound');
    assert.equal(res.bound, 18);
    const huge = lipschitzUpperBound(new Array(400).fill(10));
    assert.equal(huge.bound, Infinity);
    assert.ok(close(huge.log10_bound, 400));
  });
});

describe('model summary', () => {
  it('block index from common naming schemes', () => {
    assert.deepEqual(blockOf('model.layers.12.self_attn.q_proj.weight'), { key: 'model.layers.12', index: 12 });
    assert.deepEqual(blockOf('transformer.h.3.attn.c_attn.weight'), { key: 'transformer.h.3', index: 3 });
    assert.deepEqual(blockOf('blk.5.attn_q.weight'), { key: 'blk.5', index: 5 });
    assert.deepEqual(blockOf('bert.encoder.layer.7.attention.self.query.weight'), { key: 'bert.encoder.layer.7', index: 7 });
    assert.equal(blockOf('lm_head.weight'), undefined);
    assert.equal(blockOf('conv.0.weight'), undefined);
  });

  it('get_summary averages skip missing and non-finite values', () => {
    const avg = summaryAverages([
      { name: 'a', alpha: 2, log_norm: 1, mp_softrank: NaN },
      { name: 'b', alpha: 4, log_norm: 3 },
    ]);
    assert.deepEqual(avg, { alpha: 3, log_norm: 2 });
  });

  it('groups by kind and by block (numeric order), flags layers', () => {
    const rows: SummaryRow[] = [
      { name: 'model.layers.10.mlp.up_proj.weight', kind: 'mlp_up', alpha: 7, stable_rank: 10, condition_number: 10 },
      { name: 'model.layers.2.mlp.up_proj.weight', kind: 'mlp_up', alpha: 3, stable_rank: 20, condition_number: 1e6 },
      { name: 'model.layers.2.self_attn.q_proj.weight', kind: 'attention_q', alpha: 1.5, stable_rank: 30, numerically_singular: true, condition_number: 4e8 },
      { name: 'lm_head.weight', kind: 'embedding', alpha: 4, status: 'failed' },
    ];
    const s = summarize(rows);
    assert.equal(s.layers, 4);
    assert.equal(s.averages.alpha, (7 + 3 + 1.5 + 4) / 4);
    assert.deepEqual(s.byKind.map((g) => [g.key, g.layers, g.averages.alpha]), [['mlp_up', 2, 5], ['attention_q', 1, 1.5], ['embedding', 1, 4]]);
    assert.deepEqual(s.byBlock.map((g) => [g.key, g.layers]), [['model.layers.2', 2], ['model.layers.10', 1]]);
    assert.deepEqual(s.flagged, [
      { name: 'model.layers.10.mlp.up_proj.weight', flags: ['under-trained'] },
      { name: 'model.layers.2.mlp.up_proj.weight', flags: ['ill-conditioned'] },
      { name: 'model.layers.2.self_attn.q_proj.weight', flags: ['over-trained', 'rank-collapsed'] },
      { name: 'lm_head.weight', flags: ['fit-failed'] },
    ]);
    assert.deepEqual(layerFlags({ name: 'x', alpha: 5, condition_number: 1e6 }, { conditionThreshold: 1e7 }), []);
  });
});
