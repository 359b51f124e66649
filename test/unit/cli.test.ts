/** The built CLI (dist/cli.js) as a user runs it: one JSON document on stdout, errors on stderr with a non-zero exit. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { close, FIXTURES, loadReference } from '../helpers/fixtures';

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');

function run(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('weight-spectra inspect', () => {
  it('--json --stats prints exactly one JSON document matching the reference', () => {
    const rel = 'converted/st_mixed.safetensors';
    const r = run('inspect', path.join(FIXTURES, rel), '--json', '--stats');
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.format, 'safetensors');
    assert.deepEqual(doc.files, [path.join(FIXTURES, rel)]);
    const ref = loadReference().files[rel];
    assert.equal(doc.tensors.length, ref.tensor_count);
    const expectedParams = ref.tensors.filter((t) => t.dtype_canonical !== 'int32').reduce((n, t) => n + t.numel, 0);
    assert.equal(doc.parameters, expectedParams);
    for (const t of ref.tensors) {
      const row = doc.tensors.find((x: { name: string }) => x.name === t.name);
      assert.ok(row, t.name);
      assert.deepEqual(Object.keys(row).sort(), ['bytes', 'dtype', 'kind', 'name', 'shape', 'stats']);
      assert.deepEqual(row.shape, t.shape);
      assert.ok(close(row.stats.l2, t.l2), `${t.name} l2`);
      assert.deepEqual(row.stats.samples, t.samples);
    }
    assert.equal(doc.tensors.find((x: { name: string }) => x.name === 'layers.0.attn.qkv.weight').kind, 'attention_qkv');
  });

  it('human output lists format, counts and a table', () => {
    const r = run('inspect', path.join(FIXTURES, 'converted/sharded/model.safetensors.index.json'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^format\s+safetensors/m);
    assert.match(r.stdout, /^tensors\s+24$/m);
    assert.match(r.stdout, /F_0\.weight\s+float32\s+\[64, 64, 3, 3\]/);
  });

  it('a hostile file fails with a typed message on stderr and exit code 1', () => {
    const file = path.join(FIXTURES, 'hostile/st_header_len_past_eof.safetensors');
    const r = run('inspect', file, '--json');
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /header_out_of_bounds/);
    assert.ok(r.stderr.includes(file));
  });

  it('a file in no format we read is named in the error', () => {
    const file = path.join(FIXTURES, 'LICENSES/NOTICE.md');
    const r = run('inspect', file);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unknown_format/);
  });

  it('a missing path and bad usage fail cleanly', () => {
    assert.equal(run('inspect', '/nonexistent/model.safetensors').status, 1);
    assert.equal(run('inspect').status, 2);
    assert.equal(run('inspect', 'x', '--bogus').status, 2);
    assert.equal(run('frobnicate').status, 2);
  });
});

describe('weight-spectra analyze', () => {
  const oracle = path.join(FIXTURES, 'oracle', 'public.safetensors');

  it('--json - prints one JSON document with the model block and WeightWatcher keys per layer', () => {
    const r = run('analyze', oracle, '--json', '-', '--mp-fit');
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(doc).sort(), ['layers', 'model']);
    for (const k of ['path', 'format', 'parameters', 'provider', 'seconds', 'summary']) assert.ok(k in doc.model, k);
    const l = doc.layers.find((x: { name: string }) => x.name === 'layers.6.weight');
    for (const k of ['name', 'shape', 'kind', 'N', 'M', 'alpha', 'xmin', 'xmax', 'D', 'sigma', 'num_pl_spikes', 'lambda_max', 'log_norm', 'log_spectral_norm', 'alpha_weighted', 'log_alpha_norm', 'stable_rank', 'matrix_rank', 'entropy', 'warning', 'num_spikes', 'sigma_mp', 'mp_softrank', 'bulk_max', 'bulk_min', 'sigma_max', 'sigma_min', 'condition_number', 'effective_rank', 'energy_rank_90', 'energy_rank_99', 'welore']) {
      assert.ok(k in l, `layer key ${k}`);
    }
    assert.ok(Math.abs(l.alpha - 2.54085447163662) < 1e-9);
    assert.equal(l.eigenvalues, undefined, 'eigenvalues only with --eigenvalues');
    assert.equal(doc.layers.find((x: { name: string }) => x.name === 'edge.small.weight').skipped, 'M·rf = 8 < min_evals (10)');
  });

  it('--html writes one self-contained report, atomically, and never over an existing file or the input', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-cli-'));
    const html = path.join(dir, 'report.html');
    const r = run('analyze', oracle, '--html', html, '--filter', '^layers\\.');
    assert.equal(r.status, 0, r.stderr);
    const text = fs.readFileSync(html, 'utf8');
    assert.match(text, /^<!DOCTYPE html>/i);
    assert.doesNotMatch(text, /<script[^>]+src=["']https?:/);
    assert.deepEqual(fs.readdirSync(dir), ['report.html'], 'no temporary files left');
    const again = run('analyze', oracle, '--html', html);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already exists/);
    const copy = path.join(dir, 'model.safetensors');
    fs.copyFileSync(oracle, copy);
    const over = run('analyze', copy, '--json', copy, '--force');
    assert.equal(over.status, 1);
    assert.match(over.stderr, /input/);
    assert.equal(fs.readFileSync(copy).length, fs.statSync(oracle).size, 'the input is untouched');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the table goes to stdout unless stdout carries the JSON; its FARMS column only when FARMS ran', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-cli-'));
    const json = path.join(dir, 'report.json');
    const withFarms = run('analyze', oracle, '--farms', '--json', json);
    assert.equal(withFarms.status, 0, withFarms.stderr);
    const doc = JSON.parse(fs.readFileSync(json, 'utf8'));
    const header = withFarms.stdout.split('\n').find((l) => l.startsWith('layer '))!;
    assert.match(header, /WeLore\s+FARMS α\s+flags/);
    const farmsAlpha = doc.layers.find((l: { name: string }) => l.name === 'layers.0.weight').farms.alpha as number;
    assert.match(withFarms.stdout.split('\n').find((l) => l.startsWith('layers.0.weight '))!, new RegExp(`\\s${farmsAlpha.toFixed(3)}\\s`));
    const plain = run('analyze', oracle);
    assert.doesNotMatch(plain.stdout, /FARMS/);
    assert.match(plain.stdout, /WeLore\s+flags/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('bad options and bad files fail with clear messages', () => {
    assert.equal(run('analyze', oracle, '--filter', '(').status, 2);
    assert.equal(run('analyze', oracle, '--provider', 'tpu').status, 2);
    const bad = run('analyze', path.join(FIXTURES, 'hostile', 'st_overlapping_offsets.safetensors'));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /invalid_offsets/);
  });
});

describe('weight-spectra analyze --welore-target', () => {
  it('solves one model-wide τ that reaches the requested rank reduction', () => {
    const r = run('analyze', path.join(FIXTURES, 'oracle', 'public.safetensors'), '--welore-target', '40', '--json', '-');
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    const w = doc.model.summary.welore;
    assert.equal(w.target, 0.4);
    const rows = doc.layers.filter((l: { welore?: unknown }) => l.welore);
    const k = rows.reduce((a: number, l: { welore: { k: number } }) => a + l.welore.k, 0);
    const full = rows.reduce((a: number, l: { welore: { k: number; keep_rank: number } }) => a + l.welore.k + l.welore.keep_rank, 0);
    assert.ok(Math.abs(k / full - w.achieved) < 1e-12, 'achieved = Σk / Σmin(m, n)');
    assert.ok(w.achieved >= 0.4 && w.achieved < 0.41, `achieved ${w.achieved}`);
    assert.equal(run('analyze', path.join(FIXTURES, 'oracle', 'public.safetensors'), '--welore-target', '140').status, 2);
  });
});
