import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { reader } from '../../src/core/checkpoint/formats/tfjs';
import { openCheckpoint, probeFile } from '../../src/core/checkpoint/registry';
import type { Checkpoint } from '../../src/core/checkpoint/types';
import { CheckpointError, type CheckpointErrorKind } from '../../src/core/errors';
import { FIXTURES, loadReference } from '../helpers/fixtures';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-tfjs-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

let dirCount = 0;
/** Writes files (name → JSON value or raw bytes) into a fresh folder and returns its path. */
function folder(files: Record<string, unknown>): string {
  const dir = path.join(root, `case${dirCount++}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content instanceof Uint8Array ? content : JSON.stringify(content));
  }
  return dir;
}

const f32 = (...v: number[]) => Buffer.from(new Float32Array(v).buffer);
const i32 = (...v: number[]) => Buffer.from(new Int32Array(v).buffer);
const u16 = (...v: number[]) => Buffer.from(new Uint16Array(v).buffer);

async function openTfjs(file: string): Promise<Checkpoint> {
  return reader.open(file, await probeFile(file));
}

async function rejectsWith(p: Promise<unknown>, kind: CheckpointErrorKind, words?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${e}`);
    assert.equal(e.kind, kind, e.message);
    if (words) assert.match(e.message, words);
    return true;
  });
}

/** Opens the manifest, reads every tensor (so refusals at read time count too) and closes. */
async function openAndReadAll(file: string): Promise<void> {
  const ckpt = await openTfjs(file);
  try {
    for (const t of ckpt.tensors) await ckpt.read(t.name);
  } finally {
    await ckpt.close();
  }
}

describe('tfjs: decoding', () => {
  it('float16 quantization decodes IEEE half values', async () => {
    const halves = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000];
    const dir = folder({
      'model.json': {
        format: 'graph-model',
        modelTopology: { node: [] },
        weightsManifest: [
          { paths: ['w.bin'], weights: [{ name: 'h', shape: [2, 3], dtype: 'float32', quantization: { dtype: 'float16' } }] },
        ],
      },
      'w.bin': u16(...halves),
    });
    const ckpt = await openCheckpoint(path.join(dir, 'model.json'));
    assert.equal(ckpt.format, 'tfjs');
    const [t] = ckpt.tensors;
    assert.deepEqual([t.dtype, t.storedDtype, t.bytes, t.numel, [...t.shape]], ['float16', 'float16', 12, 6, [2, 3]]);
    assert.deepEqual([...(await ckpt.read('h'))], [1, -2, 0.5, 65504, 2 ** -24, -0]);
    assert.equal(ckpt.metadata.format, 'graph-model');
    await ckpt.close();
  });

  it('uint16 quantization is float32(q·scale + min), rounded once', async () => {
    const codes = [0, 1, 1234, 40000, 65535];
    const scale = 0.00123456789;
    const min = -3.3;
    const dir = folder({
      'model.json': {
        modelTopology: {},
        weightsManifest: [
          {
            paths: ['w.bin'],
            weights: [{ name: 'q', shape: [5], dtype: 'float32', quantization: { dtype: 'uint16', scale, min, original_dtype: 'float32' } }],
          },
        ],
      },
      'w.bin': u16(...codes),
    });
    const ckpt = await openTfjs(path.join(dir, 'model.json'));
    const [t] = ckpt.tensors;
    assert.deepEqual([t.dtype, t.storedDtype, t.bytes], ['uint16', 'uint16', 10]);
    const values = await ckpt.read('q', 'float64');
    assert.deepEqual([...values], codes.map((q) => Math.fround(q * scale + min)));
  });

  it('uint8 quantization of an int32 weight rounds to integers as tfjs-core does', async () => {
    const dir = folder({
      'm-weights_manifest.json': [
        { paths: ['w.bin'], weights: [{ name: 'k', shape: [3], dtype: 'int32', quantization: { dtype: 'uint8', scale: 2.5, min: -10 } }] },
      ],
      'w.bin': Buffer.from([0, 3, 255]),
    });
    const ckpt = await openTfjs(path.join(dir, 'm-weights_manifest.json'));
    assert.equal(ckpt.tensors[0].dtype, 'uint8');
    assert.deepEqual([...(await ckpt.read('k'))], [-10, Math.round(-2.5), 627.5 + 0.5]);
  });

  it('int32 and bool weights', async () => {
    const dir = folder({
      'model.json': {
        weightsManifest: [
          {
            paths: ['w.bin'],
            weights: [
              { name: 'ints', shape: [4], dtype: 'int32' },
              { name: 'flags', shape: [2, 2], dtype: 'bool' },
            ],
          },
        ],
      },
      'w.bin': Buffer.concat([i32(-7, 0, 2 ** 31 - 1, -(2 ** 31)), Buffer.from([0, 1, 2, 255])]),
    });
    const ckpt = await openTfjs(path.join(dir, 'model.json'));
    const [ints, flags] = ckpt.tensors;
    assert.deepEqual([ints.dtype, ints.bytes, ints.offset, flags.dtype, flags.bytes, flags.offset], ['int32', 16, 0, 'bool', 4, 16]);
    const iv = await ckpt.read('ints');
    assert.ok(iv instanceof Float64Array, 'int32 reads exactly as float64');
    assert.deepEqual([...iv], [-7, 0, 2 ** 31 - 1, -(2 ** 31)]);
    assert.deepEqual([...(await ckpt.read('flags'))], [0, 1, 1, 1]);
  });

  it('a weight straddling two shards is read from both (an empty shard between them is skipped)', async () => {
    const all = f32(1, 2, 3, 4, 5, 6);
    const dir = folder({
      'model.json': {
        weightsManifest: [
          {
            paths: ['group1-shard1of2.bin', 'empty.bin', 'sub/group1-shard2of2.bin'],
            weights: [
              { name: 'a', shape: [1], dtype: 'float32' },
              { name: 'b', shape: [3], dtype: 'float32' },
              { name: 'c', shape: [2], dtype: 'float32' },
            ],
          },
        ],
      },
      'group1-shard1of2.bin': all.subarray(0, 6),
      'empty.bin': Buffer.alloc(0),
      'sub/group1-shard2of2.bin': all.subarray(6),
    });
    const ckpt = await openTfjs(path.join(dir, 'model.json'));
    const [a, b, c] = ckpt.tensors;
    assert.equal(b.file, path.join(dir, 'group1-shard1of2.bin'));
    assert.equal(b.offset, undefined, 'a straddling weight has no single offset');
    assert.equal(c.file, path.join(dir, 'sub/group1-shard2of2.bin'));
    assert.equal(c.offset, 10);
    assert.equal(a.offset, 0);
    assert.deepEqual([...(await ckpt.read('a'))], [1]);
    assert.deepEqual([...(await ckpt.read('b'))], [2, 3, 4]);
    assert.deepEqual([...(await ckpt.read('c'))], [5, 6]);
    assert.equal(ckpt.files.length, 4);
  });

  it('each weight group is packed over its own shards', async () => {
    const dir = folder({
      'model.json': {
        weightsManifest: [
          { paths: ['g1.bin'], weights: [{ name: 'x', shape: [2], dtype: 'float32' }] },
          { paths: ['g2.bin'], weights: [{ name: 'y', shape: [], dtype: 'float32' }, { name: 'z', shape: [0, 5], dtype: 'float32' }] },
        ],
      },
      'g1.bin': f32(1, 2),
      'g2.bin': f32(9),
    });
    const ckpt = await openTfjs(path.join(dir, 'model.json'));
    assert.deepEqual([...(await ckpt.read('x'))], [1, 2]);
    assert.deepEqual([...(await ckpt.read('y'))], [9]);
    assert.deepEqual([...(await ckpt.read('z'))], []);
    assert.deepEqual([...ckpt.tensors[1].shape], []);
  });
});

describe('tfjs: refusals', () => {
  const oneWeight = (paths: string[], weight: Record<string, unknown> = { name: 'w', shape: [4], dtype: 'float32' }) => ({
    weightsManifest: [{ paths, weights: [weight] }],
  });

  it('a missing shard → not_found naming it', async () => {
    const dir = folder({ 'model.json': oneWeight(['group1-shard1of1.bin']) });
    await rejectsWith(openAndReadAll(path.join(dir, 'model.json')), 'not_found', /group1-shard1of1\.bin/);
  });

  it('shards shorter than the weights → truncated', async () => {
    const dir = folder({ 'model.json': oneWeight(['a.bin', 'b.bin']), 'a.bin': f32(1), 'b.bin': f32(2, 3) });
    await rejectsWith(openAndReadAll(path.join(dir, 'model.json')), 'truncated', /"w"/);
  });

  it('a ../ or absolute shard path → unsafe_path', async () => {
    const dir = folder({ 'm/model.json': oneWeight(['../w.bin']), 'w.bin': f32(1, 2, 3, 4) });
    await rejectsWith(openAndReadAll(path.join(dir, 'm/model.json')), 'unsafe_path', /\.\.\/w\.bin/);
    for (const p of [path.join(dir, 'w.bin'), 'C:\\w.bin', 'sub\\..\\..\\w.bin']) {
      const d2 = folder({ 'model.json': oneWeight([p]) });
      await rejectsWith(openAndReadAll(path.join(d2, 'model.json')), 'unsafe_path');
    }
  });

  it('a negative or fractional dimension → corrupt', async () => {
    for (const shape of [[2, -2], [1.5], 'abc']) {
      const dir = folder({ 'model.json': oneWeight(['w.bin'], { name: 'neg', shape, dtype: 'float32' }), 'w.bin': f32(1, 2, 3, 4) });
      await rejectsWith(openAndReadAll(path.join(dir, 'model.json')), 'corrupt', /"neg"/);
    }
  });

  it('a huge shape → too_large, before touching the shards', async () => {
    const dir = folder({ 'model.json': oneWeight(['w.bin'], { name: 'big', shape: [1e6, 1e6], dtype: 'float32' }), 'w.bin': f32(1) });
    await rejectsWith(openAndReadAll(path.join(dir, 'model.json')), 'too_large', /"big"/);
  });

  it('string weights → unsupported naming the weight', async () => {
    const dir = folder({ 'model.json': oneWeight(['w.bin'], { name: 'vocab', shape: [3], dtype: 'string' }), 'w.bin': f32(1, 2, 3, 4) });
    await rejectsWith(openAndReadAll(path.join(dir, 'model.json')), 'unsupported', /"vocab"/);
  });

  it('unknown dtypes and quantizations → unsupported; bad scale → corrupt', async () => {
    const cases: [Record<string, unknown>, CheckpointErrorKind][] = [
      [{ name: 'c', shape: [1], dtype: 'complex64' }, 'unsupported'],
      [{ name: 'q', shape: [1], dtype: 'float32', quantization: { dtype: 'int4', scale: 1, min: 0 } }, 'unsupported'],
      [{ name: 'h', shape: [1], dtype: 'int32', quantization: { dtype: 'float16' } }, 'unsupported'],
      [{ name: 's', shape: [1], dtype: 'float32', quantization: { dtype: 'uint8', min: 0 } }, 'corrupt'],
    ];
    for (const [weight, kind] of cases) {
      const dir = folder({ 'model.json': oneWeight(['w.bin'], weight), 'w.bin': f32(1, 2) });
      await rejectsWith(openAndReadAll(path.join(dir, 'model.json')), kind, new RegExp(`"${weight.name}"`));
    }
  });

  it('model.json without weightsManifest → unknown_format; broken JSON → corrupt', async () => {
    const dir = folder({ 'model.json': { modelTopology: { layers: [] } } });
    await rejectsWith(openAndReadAll(path.join(dir, 'model.json')), 'unknown_format');
    const bad = path.join(dir, 'bad', 'model.json');
    fs.mkdirSync(path.dirname(bad));
    fs.writeFileSync(bad, '{"modelTopology": {"a": [1, 2');
    await rejectsWith(openAndReadAll(bad), 'corrupt', /JSON/);
    const list = folder({ 'x-weights_manifest.json': [{ paths: 'w.bin', weights: [] }] });
    await rejectsWith(openAndReadAll(path.join(list, 'x-weights_manifest.json')), 'corrupt', /paths/);
  });

  it('duplicate weight names → corrupt', async () => {
    const dir = folder({
      'model.json': { weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'd', shape: [1], dtype: 'float32' }, { name: 'd', shape: [1], dtype: 'float32' }] }] },
      'w.bin': f32(1, 2),
    });
    await rejectsWith(openAndReadAll(path.join(dir, 'model.json')), 'corrupt', /"d"/);
  });
});

describe('tfjs: matching', () => {
  const score = async (file: string) => reader.match(await probeFile(file));

  it('claims manifests by content, model.json by name when the manifest is past the probe', async () => {
    const topology = { layers: Array.from({ length: 4000 }, (_, i) => ({ class_name: 'Dense', config: { name: `dense_${i}` } })) };
    const dir = folder({
      'model.json': { modelTopology: topology, weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'w', shape: [1], dtype: 'float32' }] }] },
      'w.bin': f32(42),
      'renamed.json': { weightsManifest: [] },
      'weights.json': [{ paths: ['w.bin'], weights: [{ name: 'w', shape: [1], dtype: 'float32' }] }],
      'model.safetensors.index.json': { metadata: { total_size: 4 }, weight_map: { w: 'model.safetensors' } },
      'config.json': { description: 'not a model' },
      'list.json': [1, 2, 3],
    });
    assert.ok(fs.statSync(path.join(dir, 'model.json')).size > 64 * 1024, 'topology pushes the manifest past the probe');
    assert.equal(await score(path.join(dir, 'model.json')), 1);
    const ckpt = await openCheckpoint(path.join(dir, 'model.json'));
    assert.equal(ckpt.format, 'tfjs');
    assert.deepEqual([...(await ckpt.read('w'))], [42]);
    assert.equal(await score(path.join(dir, 'renamed.json')), 2);
    assert.equal(await score(path.join(dir, 'weights.json')), 2);
    assert.equal(await score(path.join(dir, 'model.safetensors.index.json')), 0);
    assert.equal(await score(path.join(dir, 'config.json')), 0);
    assert.equal(await score(path.join(dir, 'list.json')), 0);
    assert.equal(await score(path.join(FIXTURES, 'shipped/psnr-small-quant-uint8/config.json')), 0);
    assert.equal(await score(path.join(FIXTURES, 'shipped/face_landmark_68/face_landmark_68_model-weights_manifest.json')), 2);
  });
});

describe('tfjs: fixture layout', () => {
  it('offsets and byte lengths agree with reference.json', async () => {
    const ref = loadReference();
    for (const rel of [
      'shipped/face_landmark_68/face_landmark_68_model-weights_manifest.json',
      'shipped/psnr-small-quant-uint8/model.json',
      'shipped/esrgan-slim-x2/model.json',
    ]) {
      const ckpt = await openCheckpoint(path.join(FIXTURES, rel));
      const byName = new Map(ckpt.tensors.map((t) => [t.name, t]));
      for (const t of ref.files[rel].tensors as unknown as { name: string; byte_offset: number; byte_length: number }[]) {
        const info = byName.get(t.name);
        assert.ok(info, t.name);
        assert.equal(info.offset, t.byte_offset, `${rel} ${t.name} offset`);
        assert.equal(info.bytes, t.byte_length, `${rel} ${t.name} bytes`);
      }
      assert.deepEqual(
        ckpt.files.map((f) => path.relative(FIXTURES, f)),
        [rel, ...((ref.files[rel].companion_files ?? []) as string[])],
      );
      await ckpt.close();
    }
  });
});
