/**
 * analyze on every real checkpoint in the fixtures (all formats): every weight matrix analysed without error, and
 * the eigenvalues of real layers equal numpy's LAPACK SVD (test/fixtures/analysis/real-evals.json).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openCheckpoint } from '../../src/core/checkpoint/registry';
import { DEFAULT_ANALYZE_OPTIONS } from '../../src/core/jobs/analyze/options';
import { analyzeCheckpoint } from '../../src/core/jobs/analyze/run';
import { createOrtGram, type OrtGram } from '../../src/core/linalg/ort/gram-session';
import { FIXTURES, loadReference } from '../helpers/fixtures';

const realEvals = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'analysis', 'real-evals.json'), 'utf8')) as {
  cases: { file: string; tensor: string; evals: number[] }[];
};

describe('analyze real checkpoints in every format', () => {
  let gram: OrtGram;
  before(async () => {
    gram = await createOrtGram('cpu');
  });
  after(() => gram.release());

  const files = Object.keys(loadReference().files).filter((f) => !/-of-\d+\.safetensors$/.test(f));
  for (const rel of files) {
    it(`${rel}: every weight matrix analysed, none failed`, async () => {
      const ckpt = await openCheckpoint(path.join(FIXTURES, rel));
      try {
        const report = await analyzeCheckpoint(ckpt, { ...DEFAULT_ANALYZE_OPTIONS, minEvals: 0 }, { gram: gram.backend, provider: gram.provider });
        const failed = report.layers.filter((l) => l.error);
        assert.deepEqual(failed.map((l) => `${l.name}: ${l.error}`), []);
        const matrices = ckpt.tensors.filter((t) => t.shape.length >= 2 && t.shape.every((d) => d > 0) && !/^(u?int|bool)/.test(t.dtype));
        assert.ok(report.layers.length > 0 || matrices.length === 0, 'some layers were analysed');
        for (const l of report.layers.filter((x) => !x.skipped)) {
          assert.ok(Number.isFinite(l.lambda_max) && l.lambda_max! >= 0, `${l.name}: lambda_max ${l.lambda_max}`);
          assert.equal(l.num_evals, l.M * l.rf, `${l.name}: one eigenvalue per min dimension per slice`);
        }
      } finally {
        await ckpt.close();
      }
    });
  }

  for (const c of realEvals.cases) {
    it(`${c.file} ${c.tensor}: eigenvalues equal numpy's SVD (1e-9 relative above 1e-6·λmax)`, async () => {
      const ckpt = await openCheckpoint(path.join(FIXTURES, c.file));
      try {
        const esc = c.tensor.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
        const report = await analyzeCheckpoint(
          ckpt,
          { ...DEFAULT_ANALYZE_OPTIONS, minEvals: 0, eigenvalues: true, filter: new RegExp(`^${esc}$`) },
          { gram: gram.backend, provider: gram.provider },
        );
        const layer = report.layers.find((l) => l.name === c.tensor);
        assert.ok(layer?.eigenvalues, `${c.tensor} analysed (${layer?.skipped ?? layer?.error ?? 'missing'})`);
        const got = layer.eigenvalues;
        assert.equal(got.length, c.evals.length);
        const top = c.evals[c.evals.length - 1];
        for (let i = 0; i < got.length; i++) {
          if (c.evals[i] < 1e-6 * top) continue;
          const r = Math.abs(got[i] - c.evals[i]) / c.evals[i];
          assert.ok(r <= 1e-9, `${c.tensor} eigenvalue ${i}: ${got[i]} vs numpy ${c.evals[i]} (rel ${r})`);
        }
      } finally {
        await ckpt.close();
      }
    });
  }
});
