/** Compression math: eigenvectors, truncated SVD factors against numpy's SVD of real weights, rank decisions. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { energyRank, solveWeloreTau } from '../../src/core/analysis/rank';
import { openCheckpoint } from '../../src/core/checkpoint/registry';
import { matrixSpectrum } from '../../src/core/linalg/spectrum';
import { decideRanks } from '../../src/core/transforms/compress/ranks';
import { EigenError, symmetricEigen } from '../../src/core/transforms/compress/symmetric-eigenvectors';
import { optimalRelativeError, reconstruct, relativeFrobeniusError, truncatedSvd } from '../../src/core/transforms/compress/truncated-svd';
import { FIXTURES } from '../helpers/fixtures';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5;
}

function checkEigen(a: Float64Array, n: number, tol: number): void {
  const { values, vectors } = symmetricEigen(a, n);
  for (let k = 1; k < n; k++) assert.ok(values[k] >= values[k - 1], 'ascending');
  let scale = 1;
  for (const v of values) scale = Math.max(scale, Math.abs(v));
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      let av = 0;
      for (let j = 0; j < n; j++) av += a[i * n + j] * vectors[k * n + j];
      assert.ok(Math.abs(av - values[k] * vectors[k * n + i]) < tol * scale, `A·v = λ·v (n ${n}, k ${k})`);
    }
    for (let l = 0; l <= k; l++) {
      let d = 0;
      for (let i = 0; i < n; i++) d += vectors[k * n + i] * vectors[l * n + i];
      assert.ok(Math.abs(d - (k === l ? 1 : 0)) < tol, `orthonormal (n ${n}, ${k}·${l} = ${d})`);
    }
  }
}

describe('symmetricEigen (tred2 + tql2)', () => {
  it('random symmetric matrices: A·v = λ·v and orthonormal vectors', () => {
    const r = rng(7);
    for (const n of [1, 2, 3, 10, 41]) {
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = r();
      checkEigen(a, n, 1e-12);
    }
  });

  it('degenerate spectra: zero, identity, repeated and rank-one matrices', () => {
    const n = 12;
    checkEigen(new Float64Array(n * n), n, 1e-12);
    const eye = new Float64Array(n * n);
    for (let i = 0; i < n; i++) eye[i * n + i] = 1;
    checkEigen(eye, n, 1e-12);
    const r = rng(3);
    const u = Float64Array.from({ length: n }, r);
    const rank1 = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rank1[i * n + j] = u[i] * u[j] + (i === j ? 2 : 0);
    checkEigen(rank1, n, 1e-12);
    assert.throws(() => symmetricEigen(Float64Array.from([1, NaN, NaN, 1]), 2), EigenError);
  });
});

describe('truncatedSvd', () => {
  it('matches numpy.linalg.svd on a real 512×512 weight (Eckart–Young errors at several ranks)', async () => {
    const oracle = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'compress/svd_oracle.json'), 'utf8'));
    const rel = 'converted/use_lite_tanh_layer_0_weights.npy';
    const ref = oracle.matrices[rel];
    const ck = await openCheckpoint(path.join(FIXTURES, rel));
    try {
      const w = (await ck.read(ck.tensors[0].name, 'float64')) as Float64Array;
      const m = { rows: 512, cols: 512, data: w };
      for (const r of [1, 64, 256]) {
        const f = await truncatedSvd(m, r);
        assert.equal(f.rank, r);
        for (let i = 0; i < r; i++) assert.ok(Math.abs(f.singularValues[i] - ref.singular_values[i]) < 1e-9 * ref.singular_values[0], `σ_${i}`);
        const err = relativeFrobeniusError(w, reconstruct(f));
        assert.ok(Math.abs(err - ref.rel_error_at_rank[String(r)]) < 1e-10, `rank ${r}: ${err} vs numpy ${ref.rel_error_at_rank[String(r)]}`);
      }
      const evals = (await matrixSpectrum(m)).evals;
      for (const r of [8, 500]) assert.ok(Math.abs(optimalRelativeError(evals, r) - ref.rel_error_at_rank[String(r)]) < 1e-10);
    } finally {
      await ck.close();
    }
  });

  it('tall and wide orientations give the same factors; U·V has the singular values split evenly', async () => {
    const ck = await openCheckpoint(path.join(FIXTURES, 'converted/st_mixed.safetensors'));
    try {
      const w = (await ck.read('layers.0.attn.qkv.weight', 'float64')) as Float64Array; // [768, 256]
      const wt = new Float64Array(w.length);
      for (let i = 0; i < 768; i++) for (let j = 0; j < 256; j++) wt[j * 768 + i] = w[i * 256 + j];
      const evals = (await matrixSpectrum({ rows: 768, cols: 256, data: w })).evals;
      for (const r of [1, 40, 200]) {
        const tall = await truncatedSvd({ rows: 768, cols: 256, data: w }, r);
        const wide = await truncatedSvd({ rows: 256, cols: 768, data: wt }, r);
        const opt = optimalRelativeError(evals, r);
        assert.ok(Math.abs(relativeFrobeniusError(w, reconstruct(tall)) - opt) < 1e-10);
        assert.ok(Math.abs(relativeFrobeniusError(wt, reconstruct(wide)) - opt) < 1e-10);
        // ‖column i of U·√S‖² = σ_i = ‖row i of √S·Vᵀ‖²
        for (const i of [0, r - 1]) {
          let lc = 0;
          let rr = 0;
          for (let p = 0; p < 768; p++) lc += tall.left[p * r + i] ** 2;
          for (let q = 0; q < 256; q++) rr += tall.right[i * 256 + q] ** 2;
          assert.ok(Math.abs(lc - tall.singularValues[i]) < 1e-9 * tall.singularValues[0]);
          assert.ok(Math.abs(rr - tall.singularValues[i]) < 1e-9 * tall.singularValues[0]);
        }
      }
    } finally {
      await ck.close();
    }
  });

  it('rank-deficient input: the missing directions get zero factors and the error is exact', async () => {
    const r = rng(11);
    const rows = 30;
    const cols = 20;
    const a = Float64Array.from({ length: rows * 3 }, r);
    const b = Float64Array.from({ length: 3 * cols }, r);
    const w = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let k = 0; k < 3; k++) for (let j = 0; j < cols; j++) w[i * cols + j] += a[i * 3 + k] * b[k * cols + j];
    const f = await truncatedSvd({ rows, cols, data: w }, 5);
    assert.ok(relativeFrobeniusError(w, reconstruct(f)) < 1e-12);
    assert.ok(f.singularValues[4] < 1e-12 * f.singularValues[0]);
  });
});

describe('decideRanks', () => {
  const r = rng(5);
  const layer = (rows: number, cols: number, decay: number) => {
    const n = Math.min(rows, cols);
    return { rows, cols, evals: Float64Array.from({ length: n }, (_, i) => Math.exp(-decay * i) * (1 + 0.01 * r())) };
  };
  const layers = [layer(64, 64, 0.2), layer(128, 32, 0.05), layer(16, 16, 0.01), layer(200, 10, 0.5)];

  it('energy: the smallest rank keeping the energy, dense where factors save nothing', () => {
    const plan = decideRanks(layers, { type: 'energy', fraction: 0.9 });
    layers.forEach((l, i) => {
      const d = plan.decisions[i];
      assert.equal(d.rank, Math.max(1, energyRank(l.evals, 0.9)));
      assert.equal(d.compressed, d.rank < Math.min(l.rows, l.cols) && d.rank * (l.rows + l.cols) < l.rows * l.cols);
      if (!d.compressed && d.rank < d.fullRank && d.reason?.startsWith('factorizing')) assert.ok(d.rank * (l.rows + l.cols) >= l.rows * l.cols);
    });
    assert.equal(plan.decisions[2].compressed, false, '16×16 at high rank saves nothing');
  });

  it('rank-reduction: the global WeLore τ solved from the target; min-ratio leaves small reductions dense', () => {
    const plan = decideRanks(layers, { type: 'rank-reduction', fraction: 0.5 });
    const solved = solveWeloreTau(layers.map((l) => ({ evals: l.evals, m: l.rows, n: l.cols })), 0.5);
    assert.equal(plan.tau, solved.tau);
    layers.forEach((l, i) => assert.equal(plan.decisions[i].rank, Math.max(1, Math.min(l.rows, l.cols) - solved.ks[i])));
    const removed = plan.decisions.reduce((a, d) => a + d.fullRank - d.rank, 0);
    const total = plan.decisions.reduce((a, d) => a + d.fullRank, 0);
    assert.ok(removed / total >= 0.5 - 1e-12);
    const strict = decideRanks(layers, { type: 'rank-reduction', fraction: 0.5 }, 0.9);
    strict.decisions.forEach((d) => assert.ok(!d.compressed || 1 - d.rank / d.fullRank > 0.9));
  });

  it('welore-tau 0 keeps every rank; tau 1 keeps one', () => {
    assert.ok(decideRanks(layers, { type: 'welore-tau', tau: 0 }).decisions.every((d) => !d.compressed && d.rank === d.fullRank));
    assert.ok(decideRanks(layers, { type: 'welore-tau', tau: 1 }).decisions.every((d) => d.rank === 1));
  });
});
