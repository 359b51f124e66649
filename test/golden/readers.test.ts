/**
 * Every real fixture read exactly as the independent decoders read it (reference.json):
 * names, shapes, dtypes, float64 statistics and row-major position samples.
 * WS_FORMAT=gguf limits the run to one format while developing.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { openCheckpoint } from '../../src/core/checkpoint/registry';
import { tensorStats } from '../../src/core/tensor/stats';
import { close, FIXTURES, loadReference, ourFormat } from '../helpers/fixtures';

const ref = loadReference();
const only = process.env.WS_FORMAT;

describe('golden: real checkpoints read like the independent decoders', () => {
  for (const [rel, file] of Object.entries(ref.files)) {
    const format = ourFormat(file.expected_format);
    if (only && only !== format) continue;
    it(`${rel} (${format}, ${file.tensor_count} tensors)`, async () => {
      const ckpt = await openCheckpoint(path.join(FIXTURES, rel));
      try {
        assert.equal(ckpt.format, format);
        const byName = new Map(ckpt.tensors.map((t) => [t.name, t]));
        // A single shard of a sharded model opens the whole model (the index's tensors), a superset.
        if (!/-of-\d+\.safetensors$/.test(rel)) {
          assert.equal(ckpt.tensors.length, file.tensor_count, 'tensor count');
        }
        for (const t of file.tensors) {
          const info = byName.get(t.name);
          assert.ok(info, `missing tensor "${t.name}"; have ${[...byName.keys()].slice(0, 5).join(', ')}…`);
          assert.deepEqual([...info.shape], t.shape, `${t.name}: shape`);
          assert.equal(info.numel, t.numel, `${t.name}: numel`);
          assert.equal(info.dtype, t.dtype_canonical, `${t.name}: dtype`);
          const values = await ckpt.read(t.name, 'float64');
          assert.equal(values.length, t.numel, `${t.name}: decoded length`);
          const s = tensorStats(values);
          for (const k of ['mean', 'std', 'min', 'max', 'l2'] as const) {
            assert.ok(close(s[k], t[k], 1e-6, 1e-9), `${t.name}: ${k} ${s[k]} vs reference ${t[k]}`);
          }
          assert.equal(s.nonfinite, t.nonfinite, `${t.name}: nonfinite`);
          assert.deepEqual(
            s.samples.map(([i]) => i),
            t.samples.map(([i]) => i),
            `${t.name}: sample indices`,
          );
          for (let k = 0; k < t.samples.length; k++) {
            const [i, v] = t.samples[k];
            assert.ok(close(s.samples[k][1], v, 1e-6, 1e-12), `${t.name}: value at flat index ${i} is ${s.samples[k][1]}, reference ${v}`);
          }
        }
      } finally {
        await ckpt.close();
      }
    });
  }
});
