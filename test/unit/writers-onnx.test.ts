/** ONNX writer: wire-level rewrite of real models (Constants in If branches, external data), run in onnxruntime. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { openCheckpoint } from '../../src/core/checkpoint/registry';
import { encodeModel, ONNX_FLOAT } from '../../src/core/linalg/ort/onnx-model-writer';
import { type OnnxNodeView, writeOnnxModel } from '../../src/core/writers/onnx-writer';
import { CancelledWriteError } from '../../src/core/writers/staged-outputs';
import { FIXTURES } from '../helpers/fixtures';

const SILERO = path.join(FIXTURES, 'shipped/silero_vad_v5.onnx');
const EXTERNAL = path.join(FIXTURES, 'converted/onnx_external/model.onnx');
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ws-onnx-writer-'));

/** Silero VAD on a fixed pseudo-random 512-sample chunk at 16 kHz (its then-branch). */
async function runSilero(file: string): Promise<{ output: Float32Array; stateN: Float32Array }> {
  const session = await ort.InferenceSession.create(file);
  try {
    const x = new Float32Array(512);
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * 0.3 + Math.sin(i * 0.051) * 0.2;
    const out = await session.run({
      input: new ort.Tensor('float32', x, [1, 512]),
      state: new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]),
      sr: new ort.Tensor('int64', BigInt64Array.from([16000n]), []),
    });
    return { output: out.output.data as Float32Array, stateN: out.stateN.data as Float32Array };
  } finally {
    await session.release();
  }
}

describe('writeOnnxModel', () => {
  it('without edits reproduces an inline model byte for byte', async () => {
    const dir = tmpDir();
    try {
      const out = path.join(dir, 'same.onnx');
      const res = await writeOnnxModel(SILERO, out, {});
      assert.deepEqual(res.files, [out]);
      assert.ok(fs.readFileSync(out).equals(fs.readFileSync(SILERO)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replaces Constant-node weights inside If branches; onnxruntime runs the result', async () => {
    const src = await openCheckpoint(SILERO);
    const dir = tmpDir();
    try {
      const name = 'If_0_then_branch__Inline_0__decoder.decoder.2.weight';
      const original = (await src.read(name)) as Float32Array;
      const seen: string[] = [];
      // 1. every float Constant re-encoded from our reader's values: outputs identical
      const same = path.join(dir, 'same.onnx');
      await writeOnnxModel(SILERO, same, {
        replaceTensor: async (t) => {
          if (t.dtype !== 'float32') return undefined;
          seen.push(t.name);
          assert.equal(t.kind, 'constant');
          return { dims: t.dims, data: (await src.read(t.name)) as Float32Array };
        },
      });
      assert.equal(seen.length, 34);
      const ref = await runSilero(SILERO);
      assert.deepEqual(await runSilero(same), ref);
      // 2. one weight doubled: our reader sees the new values and the output changes
      const doubled = path.join(dir, 'doubled.onnx');
      await writeOnnxModel(SILERO, doubled, {
        replaceTensor: (t) => (t.name === name ? { dims: t.dims, data: original.map((v) => v * 2) } : undefined),
      }, { metadata: { made_by: 'weight-spectra test' } });
      const back = await openCheckpoint(doubled);
      try {
        assert.deepEqual([...(await back.read(name))], [...original].map((v) => v * 2));
        assert.equal(back.tensors.length, src.tensors.length);
        assert.deepEqual((back.metadata.metadataProps as Record<string, string>).made_by, 'weight-spectra test');
        const other = 'If_0_else_branch__Inline_0__decoder.decoder.2.weight';
        assert.deepEqual(await back.read(other), await src.read(other));
      } finally {
        await back.close();
      }
      const changed = await runSilero(doubled);
      assert.notDeepEqual(changed.output, ref.output);
    } finally {
      await src.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('external data: copies unchanged tensors into its own data file, never pointing into the input', async () => {
    const src = await openCheckpoint(EXTERNAL);
    const dir = tmpDir();
    try {
      const out = path.join(dir, 'model.onnx');
      const name = 'If_0_then_branch__Inline_0__encoder.1.reparam_conv.weight';
      const w = (await src.read(name)) as Float32Array;
      const res = await writeOnnxModel(EXTERNAL, out, { replaceTensor: (t) => (t.name === name ? { dims: t.dims, data: w.map((v) => -v) } : undefined) });
      assert.deepEqual(res.files, [out, path.join(dir, 'model.onnx.data')]);
      const back = await openCheckpoint(out);
      try {
        assert.ok(back.files.every((f) => f.startsWith(dir)), `${back.files}`);
        for (const t of src.tensors) {
          const got = await back.read(t.name);
          if (t.name === name) assert.deepEqual([...got], [...w].map((v) => -v));
          else assert.deepEqual(got, await src.read(t.name), t.name);
          assert.equal(back.tensors.find((x) => x.name === t.name)?.storedDtype, t.storedDtype);
        }
      } finally {
        await back.close();
      }
      const session = await ort.InferenceSession.create(out);
      await session.release();
      // inline instead: one self-contained file
      const inline = path.join(dir, 'inline.onnx');
      assert.deepEqual((await writeOnnxModel(EXTERNAL, inline, {}, { externalData: false })).files, [inline]);
      const b2 = await openCheckpoint(inline);
      assert.deepEqual(b2.files, [inline]);
      await b2.close();
    } finally {
      await src.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rewrites nodes and adds initializers: a MatMul split into two runs and matches', async () => {
    const dir = tmpDir();
    try {
      // x[1,4] · W[4,3] built from an empty graph plus initializers
      const base = path.join(dir, 'base.onnx');
      fs.writeFileSync(
        base,
        encodeModel({
          name: 'mlp',
          nodes: [{ opType: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] }],
          inputs: [{ name: 'x', elemType: ONNX_FLOAT, dims: [1, 4] }],
          outputs: [{ name: 'y', elemType: ONNX_FLOAT, dims: [1, 3] }],
        }),
      );
      const W = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      const model = path.join(dir, 'model.onnx');
      await writeOnnxModel(base, model, { addInitializers: [{ name: 'W', value: { dims: [4, 3], data: W } }] });
      // W = A·B with A = W, B = I3 (exact), via two MatMuls in place of the first
      const views: OnnxNodeView[] = [];
      const split = path.join(dir, 'split.onnx');
      await writeOnnxModel(model, split, {
        replaceTensor: (t) => (t.name === 'W' ? null : undefined),
        addInitializers: [
          { name: 'W.A', value: { dims: [4, 3], data: W } },
          { name: 'W.B', value: async () => ({ dims: [3, 3], data: Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) }) },
        ],
        rewriteNode: (n) => {
          views.push(n);
          return n.opType === 'MatMul'
            ? [
                { opType: 'MatMul', inputs: [n.inputs[0], 'W.A'], outputs: ['t'], name: 'mm_a' },
                { opType: 'MatMul', inputs: ['t', 'W.B'], outputs: n.outputs, name: 'mm_b' },
              ]
            : undefined;
        },
      });
      assert.deepEqual(views.map((v) => [v.opType, v.inputs, v.outputs, v.depth]), [['MatMul', ['x', 'W'], ['y'], 0]]);
      const x = new ort.Tensor('float32', Float32Array.from([1, -1, 2, 0.5]), [1, 4]);
      const run = async (f: string) => {
        const s = await ort.InferenceSession.create(f);
        const r = (await s.run({ x })).y.data as Float32Array;
        await s.release();
        return [...r];
      };
      assert.deepEqual(await run(split), await run(model));
      assert.deepEqual(await run(model), [1 - 4 + 14 + 5, 2 - 5 + 16 + 5.5, 3 - 6 + 18 + 6]);
      const back = await openCheckpoint(split);
      assert.deepEqual(back.tensors.map((t) => t.name), ['W.A', 'W.B']);
      await back.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to write over an input or its external data, even with force; cancel leaves nothing', async () => {
    const dir = tmpDir();
    try {
      const copyDir = path.join(dir, 'm');
      fs.mkdirSync(copyDir);
      for (const f of ['model.onnx', 'model.onnx.data']) fs.copyFileSync(path.join(path.dirname(EXTERNAL), f), path.join(copyDir, f));
      const input = path.join(copyDir, 'model.onnx');
      const before = fs.readFileSync(path.join(copyDir, 'model.onnx.data'));
      await assert.rejects(writeOnnxModel(input, input, {}, { force: true }), /input files/);
      // a differently named model whose data file would be the input's: the input's data is refused
      const sneaky = path.join(copyDir, 'model.onnx.data');
      await assert.rejects(writeOnnxModel(input, sneaky, {}, { force: true }), /input files/);
      fs.writeFileSync(path.join(dir, 'taken.onnx'), 'x');
      await assert.rejects(writeOnnxModel(SILERO, path.join(dir, 'taken.onnx'), {}), /already exists/);
      const signal = { aborted: false };
      await assert.rejects(
        writeOnnxModel(input, path.join(dir, 'c.onnx'), { replaceTensor: () => ((signal.aborted = true), undefined) }, { signal }),
        (e: Error) => e instanceof CancelledWriteError,
      );
      await assert.rejects(writeOnnxModel(SILERO, path.join(dir, 'bad.onnx'), { replaceTensor: (t) => (t.dtype === 'float32' ? { dims: [1], data: new Float32Array(2) } : undefined) }), /2 values/);
      await assert.rejects(writeOnnxModel(path.join(FIXTURES, 'hostile/onnx_nested_10000.onnx'), path.join(dir, 'deep.onnx'), {}), (e: Error) => e.name === 'CheckpointError' && /nested/.test(e.message));
      await assert.rejects(writeOnnxModel(path.join(FIXTURES, 'hostile/st_truncated.safetensors'), path.join(dir, 'st.onnx'), {}), (e: Error) => e.name === 'CheckpointError');
      assert.deepEqual(fs.readdirSync(dir).sort(), ['m', 'taken.onnx']);
      assert.deepEqual(fs.readdirSync(copyDir).sort(), ['model.onnx', 'model.onnx.data']);
      assert.ok(fs.readFileSync(path.join(copyDir, 'model.onnx.data')).equals(before));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
