/** merge and lmc from the command line (in process) on the real Silero VAD v5/v6 pair: ONNX out, runs in onnxruntime. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import type * as Ort from 'onnxruntime-node';
import { UsageError } from '../../src/cli/args';
import { runLmc } from '../../src/cli/commands/lmc';
import { runMerge } from '../../src/cli/commands/merge';
import { openCheckpoint } from '../../src/core/checkpoint/registry';
import { FIXTURES } from '../helpers/fixtures';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ort = require('onnxruntime-node') as typeof Ort;

const V5 = path.join(FIXTURES, 'shipped/silero_vad_v5.onnx');
const V6 = path.join(FIXTURES, 'pairs/silero_vad_v6.onnx');
const INPUTS = path.join(FIXTURES, 'pairs/silero_inputs.npz');
const LABELS = path.join(FIXTURES, 'pairs/silero_labels.json');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-merge-real-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.text += chunk.toString();
    cb();
  }
}

async function cli(run: typeof runMerge, ...argv: string[]) {
  const out = new Sink();
  const err = new Sink();
  const code = await run(argv, out, err);
  return { code, out: out.text, err: err.text };
}

async function speechProbabilities(model: string): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model);
  const c = await openCheckpoint(INPUTS);
  try {
    const r = await s.run({
      input: new ort.Tensor('float32', (await c.read('input', 'float32')) as Float32Array, [8, 512]),
      state: new ort.Tensor('float32', new Float32Array(2 * 8 * 128), [2, 8, 128]),
      sr: new ort.Tensor('int64', BigInt64Array.of(16000n), []),
    });
    return r.output.data as Float32Array;
  } finally {
    await s.release();
    await c.close();
  }
}

describe('merge on Silero VAD v5 + v6', () => {
  it('linear → ONNX: one JSON document; the merged model holds the mean weights and runs in onnxruntime', async () => {
    const target = path.join(tmp, 'linear.onnx');
    const r = await cli(runMerge, V5, V6, '--method', 'linear', '--out', target, '--json');
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out);
    assert.equal(doc.method, 'linear');
    assert.deepEqual(doc.inputs, [V5, V6]);
    assert.equal(doc.layers.length, 34);
    assert.deepEqual(doc.files, [target]);
    const [m, a, b] = await Promise.all([target, V5, V6].map(openCheckpoint));
    try {
      const name = 'If_0_then_branch__Inline_0__decoder.rnn.weight_ih';
      const [x, y, z] = await Promise.all([m, a, b].map((c) => c.read(name, 'float32')));
      for (let k = 0; k < x.length; k += 97) assert.ok(Math.abs(x[k] - (y[k] + z[k]) / 2) < 1e-6);
    } finally {
      await Promise.all([m, a, b].map((c) => c.close()));
    }
    const p = await speechProbabilities(target);
    assert.equal(p.length, 8);
    assert.ok([...p].every((v) => v >= 0 && v <= 1));
  });

  it('task vectors on a base (dare, ties, opcm) and slerp, to ONNX and to safetensors', async () => {
    for (const [method, extra, ext] of [
      ['dare', ['--base', V5, '--density', '0.7', '--seed', '3'], '.onnx'],
      ['ties', ['--base', V5, '--density', '0.3'], '.safetensors'],
      ['opcm', ['--base', V5, '--alpha', '0.5'], '.onnx'],
      ['slerp', ['--t', '0.25'], '.onnx'],
    ] as const) {
      const target = path.join(tmp, `${method}${ext}`);
      const models = method === 'slerp' ? [V5, V6] : [V6, V6];
      const r = await cli(runMerge, ...models, '--method', method, '--out', target, ...extra, '--json');
      assert.equal(r.code, 0, `${method}: ${r.err}`);
      const doc = JSON.parse(r.out);
      assert.equal(doc.method, method);
      assert.ok(fs.existsSync(target));
      if (ext === '.onnx') assert.equal((await speechProbabilities(target)).length, 8);
      else {
        const c = await openCheckpoint(target);
        assert.equal(c.format, 'safetensors');
        await c.close();
      }
      if (method === 'opcm') {
        const w = doc.layers.find((l: { name: string }) => l.name.endsWith('then_branch__Inline_0__decoder.rnn.weight_ih'));
        assert.equal(w.split_ranks.length, 1, 'one projection step for the second model');
      }
    }
  });

  it('rebasin merge: matched, then interpolated; per-layer matching figures in the JSON', async () => {
    const target = path.join(tmp, 'rebasin.onnx');
    const r = await cli(runMerge, V5, V6, '--method', 'rebasin', '--out', target, '--json', '--seed', '2');
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out);
    const l = doc.layers.find((x: { name: string }) => x.name.endsWith('then_branch__Inline_0__encoder.2.reparam_conv.weight'));
    assert.ok(l.match[0].distance_after < l.match[0].distance_before);
    assert.equal((await speechProbabilities(target)).length, 8);
  });

  it('usage and input errors: exit codes, stderr, nothing written', async () => {
    await assert.rejects(cli(runMerge, V5, V6, '--method', 'linear'), UsageError);
    await assert.rejects(cli(runMerge, V5, V6, '--method', 'soup', '--out', path.join(tmp, 'z.onnx')), /--method must be one of/);
    await assert.rejects(cli(runMerge, V5, V6, '--method', 'ties', '--density', '2', '--base', V5, '--out', path.join(tmp, 'z.onnx')), /--density must be 0…1/);
    const r = await cli(runMerge, V5, V6, '--method', 'ties', '--out', path.join(tmp, 'z.onnx'), '--json');
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    assert.match(r.err, /error \(input\): ties needs --base/);
    const face = path.join(FIXTURES, 'shipped/face_landmark_68/face_landmark_68_model-weights_manifest.json');
    const r2 = await cli(runMerge, V5, face, '--method', 'linear', '--out', path.join(tmp, 'z.safetensors'));
    assert.equal(r2.code, 1);
    assert.match(r2.err, /error \(architecture\): different architectures: tensor "If_0_else_branch__Inline_0__stft.forward_basis_buffer"/);
    const r3 = await cli(runMerge, V5, face, '--method', 'linear', '--out', path.join(tmp, 'z.onnx'));
    assert.match(r3.err, /same ONNX graph/);
    assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.startsWith('z.') || f.includes('.tmp')), []);
  });
});

describe('lmc from the command line', () => {
  it('--json prints lambdas, loss and barrier; labels give cross-entropy', async () => {
    const r = await cli(runLmc, V5, V6, '--steps', '3', '--inputs', INPUTS, '--labels', LABELS, '--json');
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out);
    assert.deepEqual(doc.lambdas, [0, 0.5, 1]);
    assert.equal(doc.loss.length, 3);
    assert.equal(typeof doc.barrier, 'number');
    assert.equal(doc.loss_kind, 'cross-entropy');
    const human = await cli(runLmc, V5, V6, '--steps', '2', '--inputs', INPUTS);
    assert.equal(human.code, 0, human.err);
    assert.match(human.out, /output-deviation on .* inputs; barrier/);
  });
});
