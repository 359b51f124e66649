/**
 * The analysis pipeline end to end (reader → matrix views → onnxruntime Gram → eigenvalues → metrics) against what
 * the real WeightWatcher 0.7.5.5 and the FARMS authors' code computed for the oracle matrices.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FarmsConfig } from '../../src/core/analysis/farms';
import { openCheckpoint } from '../../src/core/checkpoint/registry';
import type { Checkpoint } from '../../src/core/checkpoint/types';
import { DEFAULT_ANALYZE_OPTIONS } from '../../src/core/jobs/analyze/options';
import { analyzeCheckpoint } from '../../src/core/jobs/analyze/run';
import { createOrtGram, type OrtGram } from '../../src/core/linalg/ort/gram-session';
import type { AnalysisReport } from '../../src/core/report/model';
import { FIXTURES } from '../helpers/fixtures';

const ORACLE = path.join(FIXTURES, 'oracle');
type Row = Record<string, number | string | boolean>;
const ref = JSON.parse(fs.readFileSync(path.join(ORACLE, 'public-reference.json'), 'utf8')) as {
  matrices: Record<string, { weightwatcher?: Row | null; condition_number?: number; farms?: Record<string, { config: Partial<FarmsConfig>; numpy_float64: Row }> }>;
};

const WW_KEYS = ['alpha', 'xmin', 'xmax', 'D', 'sigma', 'num_pl_spikes', 'lambda_max', 'log_norm', 'log_spectral_norm', 'alpha_weighted', 'log_alpha_norm', 'stable_rank', 'matrix_rank', 'entropy', 'sv_max', 'sv_min', 'rank_loss', 'weak_rank_loss', 'norm', 'spectral_norm', 'N', 'M', 'rf', 'num_evals'];
const MP_KEYS = ['num_spikes', 'sigma_mp', 'mp_softrank', 'bulk_max', 'bulk_min', 'W_scale'];

function rel(a: number, b: number): number {
  return a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
}

describe('analyze against WeightWatcher 0.7.5.5 and FARMS (oracle)', () => {
  let ckpt: Checkpoint;
  let gram: OrtGram;
  let report: AnalysisReport;
  before(async () => {
    ckpt = await openCheckpoint(path.join(ORACLE, 'public.safetensors'));
    gram = await createOrtGram('cpu');
    report = await analyzeCheckpoint(ckpt, { ...DEFAULT_ANALYZE_OPTIONS, mpFit: true }, { gram: gram.backend, provider: gram.provider });
  });
  after(async () => {
    await gram.release();
    await ckpt.close();
  });

  for (const [name, m] of Object.entries(ref.matrices)) {
    if (name.endsWith('.bias')) continue;
    it(`${name}: every WeightWatcher key (1e-6), MP fit (1e-4), condition number`, () => {
      const row = report.layers.find((l) => l.name === name);
      assert.ok(row, `${name} is in the report`);
      if (!m.weightwatcher) {
        assert.ok(row.skipped, `${name}: WeightWatcher skips it, so must we (got alpha ${row.alpha})`);
        return;
      }
      assert.equal(row.skipped, undefined, `${name}: analysed`);
      const ww = m.weightwatcher;
      const r = row as unknown as Row;
      for (const k of WW_KEYS) {
        const expected = ww[k] as number;
        assert.ok(rel(r[k] as number, expected) <= 1e-6, `${name}.${k}: ${r[k]} vs WeightWatcher ${expected}`);
      }
      assert.equal(row.warning, ww.warning, `${name}.warning`);
      for (const k of MP_KEYS) {
        assert.ok(rel(r[k] as number, ww[k] as number) <= 1e-4, `${name}.${k}: ${r[k]} vs WeightWatcher ${ww[k]}`);
      }
      if (m.condition_number !== undefined && m.condition_number < 1e6) {
        assert.ok(rel(row.condition_number!, m.condition_number) <= 1e-6, `${name}.condition_number ${row.condition_number} vs ${m.condition_number}`);
      }
      if (m.condition_number !== undefined && m.condition_number >= 1e6) assert.ok(row.numerically_singular, `${name}: flagged numerically singular`);
    });
  }

  for (const config of ['llm_paper', 'main_defaults', 'imgcls_like', 'llm_paper_fullsearch']) {
    it(`FARMS ${config}: alpha within 1e-4 of the float64 reference on every matrix`, async () => {
      const targets = Object.entries(ref.matrices).filter(([, m]) => m.farms?.[config]);
      assert.ok(targets.length > 0);
      const cfg = targets[0][1].farms![config].config;
      const farms: Partial<FarmsConfig> = {
        num_row_samples: cfg.num_row_samples,
        Q_ratio: cfg.Q_ratio,
        sampling_ops_per_dim: cfg.sampling_ops_per_dim,
        fix_fingers: cfg.fix_fingers ?? null,
      };
      const names = new RegExp(`^(${targets.map(([n]) => n.replace(/\./g, '\\.')).join('|')})$`);
      const r = await analyzeCheckpoint(ckpt, { ...DEFAULT_ANALYZE_OPTIONS, filter: names, minEvals: 0, farms }, { gram: gram.backend, provider: 'cpu' });
      for (const [name, m] of targets) {
        const expected = m.farms![config].numpy_float64;
        const got = r.layers.find((l) => l.name === name)?.farms;
        assert.ok(got, `${name}: FARMS result (${r.layers.find((l) => l.name === name)?.farms_skipped ?? 'missing'})`);
        assert.ok(rel(got.alpha, expected.alpha as number) <= 1e-4, `${name} ${config}: FARMS alpha ${got.alpha} vs ${expected.alpha}`);
        assert.ok(rel(got.D, expected.D as number) <= 1e-4, `${name} ${config}: FARMS D ${got.D} vs ${expected.D}`);
      }
    });
  }
});
