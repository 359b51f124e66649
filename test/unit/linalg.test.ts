/** Linear algebra against the oracle: every eigenvalue WeightWatcher (float64 LAPACK SVD) computed. */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import { openCheckpoint } from '../../src/core/checkpoint/registry';
import { singularValues } from '../../src/core/linalg/bidiagonal-svd';
import { matrixSpectrum } from '../../src/core/linalg/spectrum';
import { symmetricEigenvalues, tridiagonalEigenvalues } from '../../src/core/linalg/symmetric-eigen';
import { extractMatrix, matrixLayout } from '../../src/core/tensor/matrix-view';
import { FIXTURES } from '../helpers/fixtures';

const ORACLE = path.join(FIXTURES, 'oracle');
const ref = JSON.parse(fs.readFileSync(path.join(ORACLE, 'public-reference.json'), 'utf8')) as {
  matrices: Record<string, { shape: number[]; evals_ww?: number[]; condition_number?: number; sigma_min?: number }>;
};

/** Relative error ≤ tol for eigenvalues ≥ floor·λmax (the criterion: 1e-9 above 1e-6·λmax). */
function assertEvalsClose(actual: Float64Array, expected: number[], tol: number, floor: number, label: string) {
  assert.equal(actual.length, expected.length, `${label}: count`);
  const top = expected[expected.length - 1];
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    if (expected[i] < floor * top) continue;
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / expected[i]);
  }
  assert.ok(worst <= tol, `${label}: worst relative error ${worst}`);
}

describe('linalg against the WeightWatcher oracle', async () => {
  const ckpt = await openCheckpoint(path.join(ORACLE, 'public.safetensors'));
  for (const [name, m] of Object.entries(ref.matrices)) {
    if (!m.evals_ww) continue;
    it(`${name} ${JSON.stringify(m.shape)}: eigenvalues of WᵀW`, async () => {
      const info = ckpt.tensors.find((t) => t.name === name)!;
      const data = await ckpt.read(name, 'float32');
      const layout = matrixLayout(info.shape, info.shape.length === 4 ? 'conv' : 'linear', 'safetensors')!;
      const all: number[] = [];
      for (let s = 0; s < layout.count; s++) {
        const spec = await matrixSpectrum(extractMatrix(data, layout, s), { scale: layout.type === 'conv2d' ? Math.SQRT1_2 : 1 });
        all.push(...spec.evals);
        if (name === 'edge.rankdef.weight') assert.equal(spec.method, 'svd', 'rank-deficient layer takes the SVD path');
      }
      all.sort((a, b) => a - b);
      assertEvalsClose(Float64Array.from(all), m.evals_ww!, 1e-9, 1e-6, name);
      if (m.condition_number && layout.type === 'dense') {
        const cond = Math.sqrt(all[all.length - 1] / all[0]);
        const rel = Math.abs(cond - m.condition_number) / m.condition_number;
        // Well-conditioned within 1e-6; the rank-deficient one only in magnitude (its σmin is round-off of the float32 data).
        assert.ok(m.condition_number < 1e6 ? rel < 1e-6 : rel < 1e-3, `${name}: condition number ${cond} vs ${m.condition_number}`);
      }
    });
  }
});

describe('eigen and SVD kernels', () => {
  it('diagonal, 1×1 and repeated eigenvalues', () => {
    assert.deepEqual([...symmetricEigenvalues(new Float64Array([5]), 1)], [5]);
    assert.deepEqual([...symmetricEigenvalues(new Float64Array([3, 0, 0, 0, 1, 0, 0, 0, 2]), 3)], [1, 2, 3]);
    const ev = tridiagonalEigenvalues(new Float64Array([2, 2, 2]), new Float64Array([0, 0]));
    assert.deepEqual([...ev], [2, 2, 2]);
  });
  it('a known tridiagonal spectrum: eigenvalues of the 1-D Laplacian are 2 − 2cos(kπ/(n+1))', () => {
    const n = 50;
    const ev = tridiagonalEigenvalues(new Float64Array(n).fill(2), new Float64Array(n - 1).fill(-1));
    for (let k = 1; k <= n; k++) assert.ok(Math.abs(ev[k - 1] - (2 - 2 * Math.cos((k * Math.PI) / (n + 1)))) < 1e-13);
  });
  it('singular values of a matrix with known σ, wide and tall, including exact zeros', () => {
    // A = diag(3, 2, 0) embedded in 4×3, then transposed for the wide case.
    const tall = new Float64Array([3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual([...singularValues(Float64Array.from(tall), 4, 3)].map((x) => +x.toFixed(14)), [0, 2, 3]);
    const wide = new Float64Array([3, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual([...singularValues(wide, 3, 4)].map((x) => +x.toFixed(14)), [0, 2, 3]);
  });
});

describe('onnxruntime Gram kernel (real onnxruntime-node, CPU provider here)', () => {
  it('matches the float64 TypeScript Gram on tall and wide matrices, and falls back to CPU from auto', async () => {
    const { createOrtGram } = await import('../../src/core/linalg/ort/gram-session');
    const { gramSmallSide } = await import('../../src/core/linalg/gram');
    const g = await createOrtGram('auto');
    try {
      assert.ok(['webgpu', 'cuda', 'cpu'].includes(g.provider));
      if (g.provider === 'cpu') assert.equal(g.fallbacks.length, 2, 'auto tried WebGPU and CUDA first');
      for (const [r, c] of [[7, 3], [3, 7], [300, 120]]) {
        const data = Float32Array.from({ length: r * c }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
        const a = await g.backend({ rows: r, cols: c, data });
        const b = gramSmallSide({ rows: r, cols: c, data });
        assert.equal(a.n, Math.min(r, c));
        for (let i = 0; i < b.gram.length; i++) {
          assert.ok(Math.abs(a.gram[i] - b.gram[i]) <= 1e-12 * (1 + Math.abs(b.gram[i])), `${r}×${c} entry ${i}`);
        }
      }
    } finally {
      await g.release();
    }
  });
});
