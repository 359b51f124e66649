/** safetensors writer: real models round-trip byte for byte, sharded layout, spec-valid headers, atomic outputs. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { openCheckpoint } from '../../src/core/checkpoint/registry';
import type { Checkpoint } from '../../src/core/checkpoint/types';
import { halfToFloat } from '../../src/core/tensor/dtype';
import { floatToBfloat16, floatToHalf, type WritableDtype } from '../../src/core/writers/encode';
import { planShards, SHARD_INDEX_NAME, type TensorSpec, writeSafetensorsModel } from '../../src/core/writers/safetensors-writer';
import { CancelledWriteError, OutputError } from '../../src/core/writers/staged-outputs';
import { FIXTURES } from '../helpers/fixtures';

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ws-writer-'));

function specsOf(ck: Checkpoint): TensorSpec[] {
  return ck.tensors.map((t) => ({ name: t.name, dtype: t.dtype as WritableDtype, shape: [...t.shape] }));
}

/** The stored bytes of one tensor (contiguous safetensors data). */
function rawBytes(ck: Checkpoint, name: string): Buffer {
  const t = ck.tensors.find((x) => x.name === name)!;
  const fd = fs.openSync(t.file, 'r');
  try {
    const b = Buffer.alloc(t.bytes);
    fs.readSync(fd, b, 0, t.bytes, t.offset!);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

/** Checks a file against the safetensors spec by hand: header length, JSON, 8-byte padding, offsets tiling the data. */
function assertSpecValid(file: string): Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0, 'data section starts 8-byte aligned');
  const text = buf.toString('utf8', 8, 8 + n);
  assert.match(text, /^\{/);
  assert.match(text, /\} *$/);
  const header = JSON.parse(text);
  const entries = Object.entries(header).filter(([k]) => k !== '__metadata__') as [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][];
  const sorted = entries.map(([, v]) => v.data_offsets).sort((a, b) => a[0] - b[0]);
  let cursor = 0;
  for (const [b, e] of sorted) {
    assert.equal(b, cursor, 'offsets tile the data section');
    cursor = e;
  }
  assert.equal(cursor, buf.length - 8 - n, 'data section ends with the last tensor');
  if (header.__metadata__) for (const v of Object.values(header.__metadata__)) assert.equal(typeof v, 'string');
  return Object.fromEntries(entries);
}

describe('dtype encoders', () => {
  it('float16: every half value round-trips, and midpoints round to even', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = halfToFloat(h);
      if (Number.isNaN(v)) {
        assert.ok(Number.isNaN(halfToFloat(floatToHalf(v))));
        continue;
      }
      assert.equal(floatToHalf(v), h, `half 0x${h.toString(16)}`);
      // midpoint to the next half of the same sign (finite, non-max)
      if ((h & 0x7fff) < 0x7bff) {
        const mid = (v + halfToFloat(h + 1)) / 2;
        assert.equal(floatToHalf(mid), h & 1 ? h + 1 : h, `tie after 0x${h.toString(16)}`);
      }
    }
    assert.equal(floatToHalf(65520), 0x7c00, 'past the largest half rounds to Inf');
    assert.equal(floatToHalf(2 ** -26), 0, 'below half the smallest subnormal is zero');
  });

  it('bfloat16: nearest of the two neighbours, ties to even', () => {
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    let seed = 12345;
    for (let i = 0; i < 20000; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      u[0] = seed & 0x7f7fffff;
      const x = f[0];
      const lo = u[0] >>> 16;
      const b = floatToBfloat16(x);
      const rest = u[0] & 0xffff;
      const expect = rest > 0x8000 || (rest === 0x8000 && lo & 1) ? lo + 1 : lo;
      assert.equal(b, expect);
    }
  });
});

describe('writeSafetensorsModel', () => {
  it('rewrites st_mixed (F32/F16/BF16/F64/I32, 0-d) with identical tensor bytes, spec-valid, readable', async () => {
    const src = await openCheckpoint(path.join(FIXTURES, 'converted/st_mixed.safetensors'));
    const dir = tmpDir();
    const out = path.join(dir, 'copy.safetensors');
    try {
      const specs = specsOf(src);
      const order: number[] = [];
      const res = await writeSafetensorsModel(out, specs, async (s, i) => (order.push(i), src.read(s.name)), {
        metadata: { made_by: 'test', source: 'st_mixed' },
      });
      assert.deepEqual(res.files, [out]);
      assert.deepEqual(order, specs.map((_, i) => i), 'produce() is called once per tensor, in spec order');
      const header = assertSpecValid(out);
      assert.deepEqual(Object.keys(header), specs.map((s) => s.name));
      const back = await openCheckpoint(out);
      try {
        assert.deepEqual(back.metadata, { format: 'pt', made_by: 'test', source: 'st_mixed' }, 'format "pt" added for transformers');
        for (const t of src.tensors) {
          const b = back.tensors.find((x) => x.name === t.name)!;
          assert.equal(b.storedDtype, t.storedDtype);
          assert.deepEqual(b.shape, t.shape);
          assert.ok(rawBytes(back, t.name).equals(rawBytes(src, t.name)), `${t.name} bytes`);
        }
      } finally {
        await back.close();
      }
      assert.deepEqual(fs.readdirSync(dir), ['copy.safetensors'], 'no temporary file left');
    } finally {
      await src.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes the Hugging Face sharded layout that our reader opens as one model', async () => {
    const src = await openCheckpoint(path.join(FIXTURES, 'converted/sharded/model.safetensors.index.json'));
    const dir = tmpDir();
    const out = path.join(dir, 'model');
    try {
      const specs = specsOf(src);
      const total = src.tensors.reduce((a, t) => a + t.bytes, 0);
      const res = await writeSafetensorsModel(out, specs, async (s) => src.read(s.name), { shardBytes: Math.ceil(total / 3), metadata: { k: 'v' } });
      const index = JSON.parse(fs.readFileSync(path.join(out, SHARD_INDEX_NAME), 'utf8'));
      assert.equal(res.files[0], path.join(out, SHARD_INDEX_NAME));
      assert.equal(index.metadata.total_size, total);
      const shards = [...new Set(Object.values(index.weight_map))] as string[];
      assert.ok(shards.length >= 3, `${shards.length} shards`);
      assert.deepEqual(shards, shards.map((_, k) => `model-${String(k + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`));
      for (const s of shards) {
        const h = assertSpecValid(path.join(out, s));
        const bytes = Object.values(h).reduce((a, v) => a + v.data_offsets[1] - v.data_offsets[0], 0);
        assert.ok(bytes <= Math.ceil(total / 3) || Object.keys(h).length === 1);
      }
      for (const opened of [path.join(out, SHARD_INDEX_NAME), path.join(out, shards[1])]) {
        const back = await openCheckpoint(opened);
        try {
          assert.equal(back.tensors.length, src.tensors.length);
          for (const t of src.tensors) assert.deepEqual(await back.read(t.name), await src.read(t.name), t.name);
        } finally {
          await back.close();
        }
      }
    } finally {
      await src.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('plans shards greedily in order; an oversize tensor gets its own shard', () => {
    const s = (n: number): TensorSpec => ({ name: `t${n}`, dtype: 'float32', shape: [n] });
    assert.deepEqual(planShards([s(10), s(10), s(30), s(1), s(1)], 80), [[0, 1], [2], [3, 4]]);
    assert.deepEqual(planShards([], 80), [[]]);
  });

  it('copies config.json and tokenizer files beside the output', async () => {
    const dir = tmpDir();
    try {
      const model = path.join(dir, 'in');
      fs.mkdirSync(model);
      fs.writeFileSync(path.join(model, 'config.json'), '{"model_type":"x"}');
      fs.writeFileSync(path.join(model, 'tokenizer.json'), '{}');
      fs.writeFileSync(path.join(model, 'notes.txt'), 'not copied');
      fs.mkdirSync(path.join(dir, 'out'));
      const out = path.join(dir, 'out', 'w.safetensors');
      const res = await writeSafetensorsModel(out, [{ name: 'w', dtype: 'float32', shape: [2] }], async () => new Float32Array([1, 2]), {
        copySidecarsFrom: path.join(model, 'model.safetensors'),
        extraFiles: [{ path: path.join(dir, 'out', 'w.manifest.json'), content: '{"ranks":{}}' }],
      });
      assert.deepEqual(fs.readdirSync(path.join(dir, 'out')).sort(), ['config.json', 'tokenizer.json', 'w.manifest.json', 'w.safetensors']);
      assert.equal(res.files.length, 4);
      assert.equal(fs.readFileSync(path.join(dir, 'out', 'w.manifest.json'), 'utf8'), '{"ranks":{}}');
      assert.equal(fs.readFileSync(path.join(dir, 'out', 'config.json'), 'utf8'), '{"model_type":"x"}');
      // writing beside the input model: its own config.json is the same file and is left alone
      const beside = path.join(model, 'w.safetensors');
      const r2 = await writeSafetensorsModel(beside, [{ name: 'w', dtype: 'float32', shape: [1] }], async () => new Float32Array([1]), { copySidecarsFrom: model });
      assert.deepEqual(r2.files, [beside]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never replaces an existing file without force, nor an input even with force', async () => {
    const dir = tmpDir();
    try {
      const out = path.join(dir, 'a.safetensors');
      fs.writeFileSync(out, 'mine');
      const spec: TensorSpec[] = [{ name: 'w', dtype: 'float16', shape: [3] }];
      const produce = async () => new Float64Array([1, 2, 3]);
      await assert.rejects(writeSafetensorsModel(out, spec, produce), (e: Error) => e instanceof OutputError && /already exists/.test(e.message));
      assert.equal(fs.readFileSync(out, 'utf8'), 'mine');
      await assert.rejects(writeSafetensorsModel(out, spec, produce, { force: true, inputs: [out] }), /input files/);
      const link = path.join(dir, 'link.safetensors');
      fs.linkSync(out, link);
      await assert.rejects(writeSafetensorsModel(link, spec, produce, { force: true, inputs: [out] }), /input files/, 'a hard link to an input is the input');
      assert.equal(fs.readFileSync(out, 'utf8'), 'mine');
      await writeSafetensorsModel(out, spec, produce, { force: true });
      const back = await openCheckpoint(out);
      assert.deepEqual([...(await back.read('w'))], [1, 2, 3]);
      await back.close();
      // sharded: an existing shard name in the folder is refused before anything is written
      const folder = path.join(dir, 'sh');
      fs.mkdirSync(folder);
      fs.writeFileSync(path.join(folder, SHARD_INDEX_NAME), 'old');
      await assert.rejects(writeSafetensorsModel(folder, spec, produce, { shardBytes: 4 }), /already exists/);
      assert.deepEqual(fs.readdirSync(folder), [SHARD_INDEX_NAME]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves no partial file when produce fails, a tensor has the wrong length, or the job is cancelled', async () => {
    const dir = tmpDir();
    try {
      const specs: TensorSpec[] = [0, 1, 2].map((i) => ({ name: `t${i}`, dtype: 'float32', shape: [1000] }));
      const good = async () => new Float32Array(1000);
      const out = path.join(dir, 'x.safetensors');
      await assert.rejects(
        writeSafetensorsModel(out, specs, async (_s, i) => {
          if (i === 2) throw new Error('disk on fire');
          return good();
        }),
        /disk on fire/,
      );
      await assert.rejects(writeSafetensorsModel(out, specs, async (_s, i) => new Float32Array(i === 1 ? 999 : 1000)), /should have 1000 values/);
      const signal = { aborted: false };
      await assert.rejects(
        writeSafetensorsModel(out, specs, async (_s, i) => ((signal.aborted = i === 1), good()), { signal }),
        (e: Error) => e instanceof CancelledWriteError,
      );
      await assert.rejects(
        writeSafetensorsModel(path.join(dir, 'shards'), specs, async (_s, i) => ((signal.aborted = i === 2), good()), { signal, shardBytes: 4000 }),
        (e: Error) => e instanceof CancelledWriteError,
      );
      assert.deepEqual(fs.readdirSync(dir), [], 'nothing left: no target, no temporary file, no created folder');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad specs with an OutputError', async () => {
    const dir = tmpDir();
    try {
      const out = path.join(dir, 'x.safetensors');
      const p = async () => new Float32Array(1);
      await assert.rejects(writeSafetensorsModel(out, [{ name: 'a', dtype: 'float32', shape: [1] }, { name: 'a', dtype: 'float32', shape: [1] }], p), /listed twice/);
      await assert.rejects(writeSafetensorsModel(out, [{ name: '__metadata__', dtype: 'float32', shape: [1] }], p), /invalid tensor name/);
      await assert.rejects(writeSafetensorsModel(out, [{ name: 'a', dtype: 'float32', shape: [-1] }], p), /invalid shape/);
      await assert.rejects(writeSafetensorsModel(path.join(dir, 'no', 'x.safetensors'), [], p), /does not exist/);
      assert.deepEqual(fs.readdirSync(dir), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
