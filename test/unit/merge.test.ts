/** Every merge method against numpy values computed from the formulas of mergekit and fusion_bench (committed JSON). */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { openCheckpoint } from '../../src/core/checkpoint/registry';
import { Rng } from '../../src/core/transforms/match/rng';
import { thinSvd } from '../../src/core/transforms/match/svd';
import { projectOut } from '../../src/core/transforms/merge/methods/opcm';
import { MERGE_METHODS } from '../../src/core/transforms/merge/registry';
import { runMergeJob } from '../../src/core/transforms/merge/run-merge';
import { dropAndRescale, keepTopMagnitude } from '../../src/core/transforms/merge/sparsify';
import { FIXTURES } from '../helpers/fixtures';

const DIR = path.join(FIXTURES, 'pairs/merge');
const ref = JSON.parse(fs.readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as {
  cases: Record<string, { params: Record<string, number>; weights: number[] | null; base: boolean; models: number; seed?: number; expected: Record<string, number[]> }>;
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-merge-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('merge methods: exact values on small tensors', () => {
  for (const [method, c] of Object.entries(ref.cases)) {
    it(`${method} ${JSON.stringify(c.params)} matches the numpy reference`, async () => {
      const out = path.join(tmp, `${method}.safetensors`);
      const models = Array.from({ length: c.models }, (_, i) => path.join(DIR, `model${i}.safetensors`));
      const report = await runMergeJob(models, {
        method,
        out,
        params: c.params,
        weights: c.weights ?? undefined,
        base: c.base ? path.join(DIR, 'base.safetensors') : undefined,
        seed: c.seed,
      });
      assert.equal(report.method, method);
      assert.equal(report.layers.length, 4);
      const merged = await openCheckpoint(out);
      try {
        for (const [name, expected] of Object.entries(c.expected)) {
          const got = await merged.read(name, 'float32');
          assert.equal(got.length, expected.length);
          for (let k = 0; k < expected.length; k++) {
            assert.ok(Math.abs(got[k] - expected[k]) <= 2e-6 * Math.max(1, Math.abs(expected[k])), `${name}[${k}]: ${got[k]} vs ${expected[k]}`);
          }
        }
      } finally {
        await merged.close();
      }
      if (method === 'slerp') {
        const bias = report.layers.find((l) => l.name === 'proj.bias')!;
        assert.equal(bias.lerp_fallback, true, 'parallel tensors fall back to lerp');
        assert.equal(report.layers.find((l) => l.name === 'proj.weight')!.lerp_fallback, false);
      }
    });
  }

  it('the registry declares every method with its parameters and sources', () => {
    assert.deepEqual([...MERGE_METHODS.keys()], ['linear', 'slerp', 'task-arithmetic', 'ties', 'dare', 'opcm']);
    for (const m of MERGE_METHODS.values()) assert.ok(m.source.length > 10 && m.description.length > 5, m.name);
    assert.deepEqual(MERGE_METHODS.get('ties')!.params.map((p) => [p.name, p.default]), [['density', 0.5], ['lambda', 1]]);
  });
});

describe('merge building blocks', () => {
  it('magnitude trim keeps exactly ⌊density·n⌋ entries, the largest, lowest index first among ties', () => {
    const x = Float32Array.of(0.5, -3, 2, -0.1, 2, 1);
    assert.deepEqual([...keepTopMagnitude(x, 0.5).values], [0, -3, 2, 0, 2, 0]);
    assert.deepEqual([...keepTopMagnitude(x, 0.34).values], [0, -3, 2, 0, 0, 0]);
    assert.equal(keepTopMagnitude(x, 1).values, x);
    assert.deepEqual([...keepTopMagnitude(x, 0.1).values], [0, 0, 0, 0, 0, 0]);
  });

  it('DARE keeps about density of the entries, scaled by 1/density, reproducibly', () => {
    const x = new Float32Array(20000).fill(1);
    const a = dropAndRescale(x, 0.3, new Rng(5));
    const b = dropAndRescale(x, 0.3, new Rng(5));
    assert.deepEqual(a.values, b.values);
    assert.ok(Math.abs(a.kept / x.length - 0.3) < 0.02);
    for (const v of a.values) assert.ok(v === 0 || Math.abs(v - 1 / 0.3) < 1e-6);
  });

  it('OPCM projection: the cleaned task vector has no component in the merged update top block or on its singular pairs', () => {
    const rng = new Rng(3);
    const m = 6;
    const n = 4;
    const merged = Float64Array.from({ length: m * n }, () => rng.normal());
    const tau = Float64Array.from({ length: m * n }, () => rng.normal());
    const { cleaned, rank } = projectOut(merged, tau, m, n, 0.5);
    assert.ok(rank >= 1 && rank < n);
    // Recompute the SVD-side projections of the cleaned vector: zero in the r × r block and on the diagonal.
    const s = thinSvd(merged, m, n);
    const p = (i: number, j: number) => {
      let acc = 0;
      for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) acc += s.u[i][r] * cleaned[r * n + c] * s.v[j][c];
      return acc;
    };
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      if ((i < rank && j < rank) || i === j) assert.ok(Math.abs(p(i, j)) < 1e-12, `P[${i},${j}] = ${p(i, j)}`);
    }
    assert.ok(Math.abs(p(0, rank)) > 1e-3, 'off-block entries survive');
  });
});

describe('merge refuses what it cannot do', () => {
  const m0 = path.join(DIR, 'model0.safetensors');
  const m1 = path.join(DIR, 'model1.safetensors');
  it('methods that need a base, too many models, unknown methods, parameters out of range', async () => {
    await assert.rejects(runMergeJob([m0, m1], { method: 'ties', out: path.join(tmp, 'x.safetensors') }), /needs --base/);
    await assert.rejects(runMergeJob([m0, m1, m0], { method: 'slerp', out: path.join(tmp, 'x.safetensors') }), /exactly 2 models/);
    await assert.rejects(runMergeJob([m0, m1], { method: 'soup', out: path.join(tmp, 'x.safetensors') }), /unknown merge method/);
    await assert.rejects(runMergeJob([m0, m1], { method: 'slerp', params: { t: 2 }, out: path.join(tmp, 'x.safetensors') }), /--t must be 0…1/);
    assert.equal(fs.readdirSync(tmp).filter((f) => f.startsWith('x.')).length, 0);
  });

  it('different architectures: the first mismatching tensor is named', async () => {
    const face = path.join(FIXTURES, 'shipped/face_landmark_68/face_landmark_68_model-weights_manifest.json');
    await assert.rejects(runMergeJob([m0, face], { method: 'linear', out: path.join(tmp, 'y.safetensors') }), /tensor "proj.weight" of .* is not in/);
  });
});
