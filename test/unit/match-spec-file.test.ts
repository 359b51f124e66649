/** A spec file with concatenation segments on a real model: ESRGAN-slim x2 (RDN blocks) as its TF.js topology wires it. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { openCheckpoint } from '../../src/core/checkpoint/registry';
import { emitModel } from '../../src/core/transforms/match/emit';
import { loadParameters } from '../../src/core/transforms/match/load';
import { permuteAll } from '../../src/core/transforms/match/permute';
import { Rng } from '../../src/core/transforms/match/rng';
import { buildSpec, runMatchJob } from '../../src/core/transforms/match/run-match';
import { specToJson } from '../../src/core/transforms/match/spec-file';
import { esrganSlimX2Forward } from '../fixtures/pairs/forward';
import { FIXTURES } from '../helpers/fixtures';

const ESRGAN = path.join(FIXTURES, 'shipped/esrgan-slim-x2/model.json');
const SPEC = path.join(FIXTURES, 'pairs/esrgan-slim.spec.json');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-spec-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('spec file on ESRGAN-slim x2', () => {
  it('width-keyed cnn inference refuses the concatenations; auto reads the TF.js topology and finds the hand-written spec', async () => {
    const ckpt = await openCheckpoint(ESRGAN);
    try {
      assert.throws(() => buildSpec(ckpt, { spec: 'cnn' }), /concatenation; describe it in a spec file/);
      const auto = buildSpec(ckpt, { spec: 'auto' });
      assert.equal(auto.kind, 'graph (TF.js topology)');
      const rename: Record<string, string> = { F_m1: 'shallow', F_0: 'trunk', F_1_1: 'growth1', F_2_1: 'growth2', GFF_1: 'fused', UPN1: 'up1', UPN2: 'up2', UPN3: 'up3' };
      const renamed = JSON.parse(JSON.stringify(specToJson(auto.spec)), (k, v) => (typeof v === 'string' && v in rename ? rename[v] : v));
      renamed.perms = Object.fromEntries(Object.entries(renamed.perms).map(([k, v]) => [rename[k], v]));
      assert.deepEqual(renamed, JSON.parse(fs.readFileSync(SPEC, 'utf8')));
    } finally {
      await ckpt.close();
    }
  });

  it('the spec file permutes the concatenations consistently (same upscaled image); matching recovers the planted permutation', async () => {
    const ckpt = await openCheckpoint(ESRGAN);
    try {
      const { spec } = buildSpec(ckpt, { spec: { file: SPEC } });
      const rng = new Rng(8);
      const planted = new Map([...spec.perms].map(([n, s]) => [n, rng.permutation(s)]));
      const a = await loadParameters(ckpt);
      const b = permuteAll(a, spec, planted);
      // Same function: the image upscaled by the original and by the permuted weights.
      const img = Float64Array.from({ length: 5 * 4 * 3 }, () => rng.next());
      const ya = esrganSlimX2Forward(a, img, 5, 4);
      const yb = esrganSlimX2Forward(b, img, 5, 4);
      assert.equal(ya.length, 10 * 8 * 3);
      let worst = 0;
      ya.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - yb[i]))));
      assert.ok(worst < 1e-4, `max difference ${worst}`);
      const permuted = path.join(tmp, 'esrgan_permuted.safetensors');
      await emitModel(permuted, ckpt, async (t) => b.get(t.name)?.data);
      const report = await runMatchJob(ESRGAN, permuted, { spec: { file: SPEC }, seed: 4 });
      assert.ok(report.distance_after < 1e-9 && report.distance_before > 1);
      for (const [name, p] of planted) {
        const inv = new Array<number>(p.length);
        p.forEach((v, i) => (inv[v] = i));
        assert.deepEqual(report.permutations[name].perm, inv, name);
      }
    } finally {
      await ckpt.close();
    }
  });
});
