/**
 * Weight matching on real checkpoints: a copy whose hidden units were permuted by a known permutation is matched back
 * exactly, and the written, permuted ONNX model computes what the original computes in onnxruntime.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import type * as Ort from 'onnxruntime-node';
import { runMatch } from '../../src/cli/commands/match';
import { openCheckpoint } from '../../src/core/checkpoint/registry';
import { emitModel } from '../../src/core/transforms/match/emit';
import { loadParameters } from '../../src/core/transforms/match/load';
import { permuteAll } from '../../src/core/transforms/match/permute';
import { Rng } from '../../src/core/transforms/match/rng';
import { buildSpec, runMatchJob } from '../../src/core/transforms/match/run-match';
import { FIXTURES } from '../helpers/fixtures';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ort = require('onnxruntime-node') as typeof Ort;

const SILERO = path.join(FIXTURES, 'shipped/silero_vad_v5.onnx');
const FACE = path.join(FIXTURES, 'shipped/face_landmark_68/face_landmark_68_model-weights_manifest.json');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-match-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function inverse(p: Int32Array): number[] {
  const q = new Array<number>(p.length);
  p.forEach((v, i) => (q[v] = i));
  return q;
}

/** Writes the checkpoint at `src` with its spec's permutations drawn at random; returns the planted permutations. */
async function plantPermutation(src: string, target: string, seed: number) {
  const ckpt = await openCheckpoint(src);
  try {
    const { spec } = buildSpec(ckpt, { spec: 'auto' });
    const rng = new Rng(seed);
    const planted = new Map([...spec.perms].map(([n, size]) => [n, rng.permutation(size)]));
    const permuted = permuteAll(await loadParameters(ckpt), spec, planted);
    await emitModel(target, ckpt, async (t) => permuted.get(t.name)?.data);
    return planted;
  } finally {
    await ckpt.close();
  }
}

/** Silero VAD v5 on 16 kHz audio-like input, 3 chunks with its recurrent state carried. */
async function runSilero(model: string): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(model);
  const rng = new Rng(99);
  let state: Ort.Tensor = new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]);
  const outs: Float32Array[] = [];
  for (let chunk = 0; chunk < 3; chunk++) {
    const audio = Float32Array.from({ length: 512 }, (_, i) => 0.3 * Math.sin((i + chunk * 512) / 7) + 0.05 * rng.normal());
    const r = await session.run({
      input: new ort.Tensor('float32', audio, [1, 512]),
      state,
      sr: new ort.Tensor('int64', BigInt64Array.of(16000n), []),
    });
    outs.push(Float32Array.from(r.output.data as Float32Array), Float32Array.from(r.stateN.data as Float32Array));
    state = r.stateN;
  }
  await session.release();
  return outs;
}

function maxAbsDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.text += chunk.toString();
    cb();
  }
}

describe('match on real models', () => {
  it('silero v5 (ONNX, weights in Constant nodes inside If branches): permuted copy runs the same in onnxruntime and is matched back exactly', async () => {
    const permutedPath = path.join(tmp, 'silero_permuted.onnx');
    const planted = await plantPermutation(SILERO, permutedPath, 5);
    assert.deepEqual([...planted.keys()], ['ch64']);
    const reference = await runSilero(SILERO);
    const permutedOut = await runSilero(permutedPath);
    reference.forEach((r, i) => assert.ok(maxAbsDiff(r, permutedOut[i]) < 1e-5, `output ${i} of the permuted model`));

    const alignedPath = path.join(tmp, 'silero_aligned.onnx');
    const report = await runMatchJob(SILERO, permutedPath, { spec: 'auto', out: alignedPath, seed: 1 });
    assert.ok(report.distance_before > 1);
    assert.equal(report.distance_after, 0);
    assert.deepEqual(report.permutations.ch64.perm, inverse(planted.get('ch64')!));
    const enc2 = report.layers.find((l) => l.name.endsWith('then_branch__Inline_0__encoder.2.reparam_conv.weight'))!;
    assert.ok(enc2.distance_before > 0 && enc2.distance_after === 0);
    assert.ok(enc2.sv_alignment!.after.u > 0.9999 && enc2.sv_alignment!.before.u < 0.9);
    const alignedOut = await runSilero(alignedPath);
    reference.forEach((r, i) => assert.ok(maxAbsDiff(r, alignedOut[i]) < 1e-5, `output ${i} of the aligned model`));
  });

  it('face_landmark_68 (TF.js, uint8-quantized depthwise-separable dense blocks): every channel permutation is recovered', async () => {
    const permutedPath = path.join(tmp, 'face_permuted.safetensors');
    const planted = await plantPermutation(FACE, permutedPath, 6);
    assert.deepEqual([...planted.keys()].sort(), ['ch128', 'ch256', 'ch32', 'ch64']);
    const out = new Sink();
    const err = new Sink();
    const alignedPath = path.join(tmp, 'face_aligned.safetensors');
    const code = await runMatch([FACE, permutedPath, '--json', '--out', alignedPath, '--seed', '3'], out, err);
    assert.equal(code, 0, err.text);
    const doc = JSON.parse(out.text);
    assert.ok(doc.distance_before > 1);
    assert.ok(doc.distance_after < 1e-9, `distance after ${doc.distance_after}`);
    for (const [name, p] of planted) assert.deepEqual(doc.permutations[name].perm, inverse(p), name);
    assert.ok(doc.layers.length >= 49 && doc.layers.every((l: { name: string; distance_before: number; distance_after: number }) => typeof l.distance_after === 'number'));
    // The aligned copy holds A's values again (float32 of the dequantized uint8 weights).
    const a = await openCheckpoint(FACE);
    const c = await openCheckpoint(alignedPath);
    try {
      for (const t of a.tensors) assert.deepEqual(await c.read(t.name, 'float32'), await a.read(t.name, 'float32'), t.name);
    } finally {
      await a.close();
      await c.close();
    }
  });

  it('different architectures are refused with the first mismatching tensor named; outputs are never overwritten', async () => {
    const out = new Sink();
    const err = new Sink();
    const code = await runMatch([SILERO, FACE, '--json'], out, err);
    assert.equal(code, 1);
    assert.equal(out.text, '');
    assert.match(err.text, /error \(architecture\): different architectures: tensor "If_0_else_branch__Inline_0__stft.forward_basis_buffer"/);
    const existing = path.join(tmp, 'exists.onnx');
    fs.writeFileSync(existing, 'keep');
    await assert.rejects(runMatch([SILERO, SILERO, '--out', existing], new Sink(), new Sink()), /already exists/);
    assert.equal(fs.readFileSync(existing, 'utf8'), 'keep');
  });
});
