/** The built CLI (dist/cli.js) as a user runs it: one JSON document on stdout, errors on stderr with a non-zero exit. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
