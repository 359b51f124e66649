/**
 * The two-stage eigen-solver, its WebAssembly kernels and the shared FARMS Grams (issue 5) against the one-stage
 * TypeScript reference and the WeightWatcher oracle. Written for test/unit/ (same relative paths from there).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openCheckpoint } from '../../src/core/checkpoint/registry';
import { farmsForLayer } from '../../src/core/jobs/analyze/farms-runner';
import type { LayerPlan } from '../../src/core/jobs/analyze/plan';
import { bandIndex, bandToTridiagonal, lowerBand } from '../../src/core/linalg/band-to-tridiagonal';
import { singularValues } from '../../src/core/linalg/bidiagonal-svd';
import { createOrtBandKernels, type OrtBandKernels } from '../../src/core/linalg/ort/band-session';
import { createOrtGram, type OrtGram } from '../../src/core/linalg/ort/gram-session';
import { encodeModel, ONNX_DOUBLE } from '../../src/core/linalg/ort/onnx-model-writer';
import { linalgSessionOptions } from '../../src/core/linalg/ort/session-options';
import { panelQr } from '../../src/core/linalg/panel-qr';
import { matrixSpectrum } from '../../src/core/linalg/spectrum';
import { symmetricEigenvalues, tridiagonalEigenvalues } from '../../src/core/linalg/symmetric-eigen';
import { symmetricEigenvaluesTwoStage } from '../../src/core/linalg/two-stage-eigen';
import { wasmKernels } from '../../src/core/linalg/wasm/kernels';
import { extractMatrix, matrixLayout } from '../../src/core/tensor/matrix-view';

const ORACLE = path.resolve(__dirname, '../../test/fixtures/oracle');

/** A reproducible pseudo-random stream in [−0.5, 0.5). */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32 - 0.5;
  };
}

function randomSymmetric(n: number, seed: number): Float64Array {
  const r = random(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const x = r();
      a[i * n + j] = x;
      a[j * n + i] = x;
    }
  }
  return a;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('band → tridiagonal bulge chase', () => {
  for (const [n, b] of [[3, 2], [10, 3], [300, 8], [257, 32], [100, 99]]) {
    it(`n=${n} b=${b}: same eigenvalues as the dense one-stage reduction, TypeScript and WebAssembly`, () => {
      const r = random(n * 31 + b);
      const band = lowerBand(n, b);
      const dense = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        for (let j = Math.max(0, i - b); j <= i; j++) {
          const x = r();
          band.data[bandIndex(band, i, j)] = x;
          dense[i * n + j] = x;
          dense[j * n + i] = x;
        }
      }
      const ref = symmetricEigenvalues(dense, n);
      const ts = bandToTridiagonal({ ...band, data: Float64Array.from(band.data) });
      assert.ok(maxAbsDiff(tridiagonalEigenvalues(ts.d, ts.e), ref) < 1e-12);
      const wasm = wasmKernels();
      assert.ok(wasm, 'WebAssembly kernels load');
      const w = wasm.bandToTridiagonal({ ...band, data: Float64Array.from(band.data) });
      assert.ok(maxAbsDiff(wasm.tridiagonalEigenvalues(w.d, w.e), ref) < 1e-12);
    });
  }
});

describe('panel QR (compact WY)', () => {
  for (const [m, b] of [[40, 8], [5, 8], [300, 32]]) {
    it(`${m}×${b}: P = (I − V T Vᵀ) R, TypeScript and WebAssembly agree`, () => {
      const r = random(m + b);
      const p0 = Float64Array.from({ length: m * b }, r);
      const k = Math.min(m, b);
      for (const impl of ['typescript', 'wasm'] as const) {
        const p = Float64Array.from(p0);
        const V = new Float64Array(m * k);
        const T = new Float64Array(k * k);
        const got = impl === 'wasm' ? wasmKernels()!.panelQr(p, m, b, V, T) : panelQr(p, m, b, V, T);
        assert.equal(got, k);
        // Q R = R − V T (Vᵀ R), R = upper trapezoid of p.
        let worst = 0;
        for (let j = 0; j < b; j++) {
          const vtr = new Float64Array(k);
          for (let i = 0; i < Math.min(m, j + 1); i++) for (let t = 0; t < k; t++) vtr[t] += V[i * k + t] * p[i * b + j];
          const tv = new Float64Array(k);
          for (let t = 0; t < k; t++) for (let u = 0; u < k; u++) tv[t] += T[t * k + u] * vtr[u];
          for (let i = 0; i < m; i++) {
            let x = i <= j ? p[i * b + j] : 0;
            for (let t = 0; t < k; t++) x -= V[i * k + t] * tv[t];
            worst = Math.max(worst, Math.abs(x - p0[i * b + j]));
          }
        }
        assert.ok(worst < 1e-13, `${impl}: reconstruction error ${worst}`);
      }
    });
  }
});

describe('two-stage symmetric eigenvalues on onnxruntime', () => {
  let kernels: OrtBandKernels;
  before(async () => {
    kernels = await createOrtBandKernels(linalgSessionOptions('cpu'));
  });
  after(() => kernels.release());
  // Small and odd sizes, single panels, refreshes of 1, 2 and 4 symmetric blocks, a last panel narrower than b.
  for (const [n, b, K] of [[5, 2, 2], [40, 4, 2], [64, 32, 8], [301, 16, 1], [700, 16, 8], [1300, 32, 4]]) {
    it(`n=${n} bandwidth ${b}, ${K} panels per refresh: matches the one-stage reduction`, async () => {
      const a = randomSymmetric(n, n + b + K);
      const ref = symmetricEigenvalues(Float64Array.from(a), n);
      for (const impl of ['wasm', 'typescript'] as const) {
        const ev = await symmetricEigenvaluesTwoStage(Float64Array.from(a), n, kernels, { bandwidth: b, panelsPerRefresh: K, kernels: impl });
        const err = maxAbsDiff(ev, ref);
        assert.ok(err < 1e-11 * Math.sqrt(n), `${impl}: ${err}`);
      }
    });
  }
});

describe('ill-conditioned path', () => {
  it('WebAssembly bidiagonal SVD equals the TypeScript one, wide and tall', () => {
    for (const [m, n] of [[7, 3], [3, 7], [120, 90]]) {
      const a = Float64Array.from({ length: m * n }, (_, i) => Math.cos(i * 0.7) * (1 + (i % 5)));
      assert.ok(maxAbsDiff(singularValues(Float64Array.from(a), m, n, 'wasm'), singularValues(Float64Array.from(a), m, n, 'typescript')) < 1e-12);
    }
  });
  it('QL converges on the zero-diagonal Golub–Kahan matrix of a rank-deficient matrix (was: "did not converge")', () => {
    const [m, n] = [300, 120];
    const a = Float64Array.from({ length: m * n }, (_, i) => Math.sin(i * 1.3) * (1 + (i % 7)));
    for (const impl of ['wasm', 'typescript'] as const) {
      const sv = singularValues(Float64Array.from(a), m, n, impl);
      assert.equal(sv.length, n);
      assert.ok(sv[n - 1] > 0 && sv.every((x) => x >= 0));
    }
  });
});

describe('onnxruntime backend on the oracle matrices', () => {
  let gram: OrtGram;
  before(async () => {
    gram = await createOrtGram('cpu');
  });
  after(() => gram.release());
  it('every eigenvalue ≥ 1e-6·λmax within 1e-9 of WeightWatcher (two-stage path for n ≥ 192)', async () => {
    const ref = JSON.parse(fs.readFileSync(path.join(ORACLE, 'public-reference.json'), 'utf8')) as { matrices: Record<string, { evals_ww?: number[] }> };
    const ckpt = await openCheckpoint(path.join(ORACLE, 'public.safetensors'));
    try {
      for (const [name, m] of Object.entries(ref.matrices)) {
        if (!m.evals_ww) continue;
        const info = ckpt.tensors.find((t) => t.name === name)!;
        const data = await ckpt.read(name, 'float32');
        const layout = matrixLayout(info.shape, info.shape.length === 4 ? 'conv' : 'linear', 'safetensors')!;
        const all: number[] = [];
        for (let s = 0; s < layout.count; s++) all.push(...(await matrixSpectrum(extractMatrix(data, layout, s), { scale: layout.type === 'conv2d' ? Math.SQRT1_2 : 1, gram: gram.backend })).evals);
        all.sort((x, y) => x - y);
        const e = m.evals_ww;
        const top = e[e.length - 1];
        for (let i = 0; i < e.length; i++) if (e[i] >= 1e-6 * top) assert.ok(Math.abs(all[i] - e[i]) / e[i] <= 1e-9, `${name}[${i}]: ${all[i]} vs ${e[i]}`);
      }
    } finally {
      await ckpt.close();
    }
  });
  it('FARMS with shared row-range Grams gives the per-window result', async () => {
    const r = random(7);
    const [rows, cols] = [700, 300];
    const data = Float32Array.from({ length: rows * cols }, () => r() * 0.04);
    const plan: LayerPlan = { name: 'w', layerId: 1, shape: [rows, cols], kind: 'linear', dtype: 'float32', layout: { type: 'dense', rows, cols, count: 1 }, N: rows, M: cols, rf: 1 };
    const config = { num_row_samples: 280, Q_ratio: 1, sampling_ops_per_dim: 4, fix_fingers: 'xmin_peak' as const };
    const shared = await farmsForLayer(plan, data, config, gram.backend);
    const perWindow = await farmsForLayer(plan, data, config, Object.assign((m: Parameters<OrtGram['backend']>[0]) => gram.backend(m), { eigenvalues: gram.backend.eigenvalues }));
    assert.ok(!('skipped' in shared) && !('skipped' in perWindow));
    assert.equal(shared.n_eigs, perWindow.n_eigs);
    assert.ok(Math.abs(shared.alpha - perWindow.alpha) <= 1e-9 * perWindow.alpha, `${shared.alpha} vs ${perWindow.alpha}`);
  });
});

describe('ONNX model writer', () => {
  it('encodes float attributes and negative integers (two’s complement varints) that onnxruntime accepts', async () => {
    const { ort } = await import('../../src/core/linalg/ort/runtime');
    const model = encodeModel({
      name: 'g',
      nodes: [
        { opType: 'Gemm', inputs: ['A', 'B'], outputs: ['G0'], floatAttributes: { alpha: -0.5 } },
        { opType: 'Concat', inputs: ['G0', 'G0'], outputs: ['G'], intAttributes: { axis: -1 } },
      ],
      inputs: [{ name: 'A', elemType: ONNX_DOUBLE, dims: [1, 1] }, { name: 'B', elemType: ONNX_DOUBLE, dims: [1, 1] }],
      outputs: [{ name: 'G', elemType: ONNX_DOUBLE, dims: [1, 2] }],
    });
    const s = await ort().InferenceSession.create(model);
    const T = ort().Tensor;
    const out = await s.run({ A: new T('float64', new Float64Array([3]), [1, 1]), B: new T('float64', new Float64Array([4]), [1, 1]) });
    assert.deepEqual([...(out.G.data as Float64Array)], [-6, -6]);
    await s.release();
  });
});
