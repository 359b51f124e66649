/** compress end to end on real models: outputs load back in our readers and in onnxruntime, errors are Eckart–Young's. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { parseArgs, UsageError } from '../../src/cli/args';
import { parseCompressOptions, runCompress } from '../../src/cli/commands/compress';
import { openCheckpoint } from '../../src/core/checkpoint/registry';
import type { Checkpoint } from '../../src/core/checkpoint/types';
import { encodeModel, ONNX_FLOAT } from '../../src/core/linalg/ort/onnx-model-writer';
import { compressCheckpoint, type CompressReport } from '../../src/core/transforms/compress/run';
import { writeOnnxModel } from '../../src/core/writers/onnx-writer';
import { OutputError } from '../../src/core/writers/staged-outputs';
import { FIXTURES } from '../helpers/fixtures';

const ST_MIXED = path.join(FIXTURES, 'converted/st_mixed.safetensors');
const SHARDED = path.join(FIXTURES, 'converted/sharded/model.safetensors.index.json');
const SILERO = path.join(FIXTURES, 'shipped/silero_vad_v5.onnx');
const EXTERNAL = path.join(FIXTURES, 'converted/onnx_external/model.onnx');
const V5_INPUTS = path.join(FIXTURES, 'compress/silero_v5_inputs.npz');
const V6_INPUTS = path.join(FIXTURES, 'compress/silero_v6_inputs.npz');

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-compress-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => {
  const d = path.join(root, String(counter++));
  fs.mkdirSync(d);
  return d;
};

/** ‖a − b‖ / ‖ref‖. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>, ref: ArrayLike<number> = a): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / den);
}

function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) c[i * n + j] += a[i * k + p] * b[p * n + j];
  return c;
}

async function withCheckpoint<T>(file: string, fn: (ck: Checkpoint) => Promise<T>): Promise<T> {
  const ck = await openCheckpoint(file);
  try {
    return await fn(ck);
  } finally {
    await ck.close();
  }
}

/** Machine precision of a stored dtype, for comparisons after rounding. */
const ROUNDING: Record<string, number> = { float32: 1e-6, float16: 2e-3, bfloat16: 1e-2, float64: 1e-12 };

function assertEckartYoung(report: CompressReport): void {
  for (const l of report.layers) {
    if (!l.compressed) continue;
    assert.ok(l.optimal_rel_error !== undefined);
    assert.ok(Math.abs(l.rel_error - l.optimal_rel_error!) < 1e-9, `${l.name}: rel_error ${l.rel_error} vs √(Σ dropped σ²/Σ σ²) ${l.optimal_rel_error}`);
  }
}

describe('compress --emit factorized / dense', () => {
  it('st_mixed: U·V read back from the file reproduces the dense output; other tensors unchanged', async () => {
    const dir = freshDir();
    const fact = path.join(dir, 'f.safetensors');
    const dense = path.join(dir, 'd.safetensors');
    const criterion = { type: 'rank-reduction', fraction: 0.5 } as const;
    const rf = await compressCheckpoint(ST_MIXED, fact, { criterion, emit: 'factorized' });
    const rd = await compressCheckpoint(ST_MIXED, dense, { criterion, emit: 'dense' });
    assert.deepEqual(rf.files, [fact, path.join(dir, 'f.compress.json')]);
    assertEckartYoung(rf);
    assert.deepEqual(rf.layers.map((l) => [l.name, l.rank]), rd.layers.map((l) => [l.name, l.rank]));
    assert.ok(rf.totals.compressed_layers >= 3);
    assert.ok(rf.totals.params_after < rf.totals.params_before);
    for (const l of rf.layers) {
      assert.equal(l.params_after, l.compressed ? l.rank * (l.shape[0] + l.shape[1]) : l.params_before);
      if (l.compressed) assert.ok(l.rank * (l.shape[0] + l.shape[1]) < l.shape[0] * l.shape[1]);
    }
    await withCheckpoint(ST_MIXED, (src) =>
      withCheckpoint(fact, (f) =>
        withCheckpoint(dense, async (d) => {
          const manifest = JSON.parse(f.metadata['weight_spectra.compress'] as string);
          assert.equal(manifest.emit, 'factorized');
          assert.equal(f.metadata.format, 'pt');
          const sidecar = JSON.parse(fs.readFileSync(path.join(dir, 'f.compress.json'), 'utf8'));
          for (const t of src.tensors) {
            const row = rf.layers.find((l) => l.name === t.name);
            assert.deepEqual(sidecar.layers.find((x: { name: string }) => x.name === t.name)?.rank, row?.rank);
            if (!row?.compressed) {
              assert.deepEqual(await f.read(t.name), await src.read(t.name), t.name);
              assert.deepEqual(await d.read(t.name), await src.read(t.name), t.name);
              continue;
            }
            const [m, n] = t.shape;
            const r = row.rank;
            const U = f.tensors.find((x) => x.name === `${t.name}.U`)!;
            const V = f.tensors.find((x) => x.name === `${t.name}.V`)!;
            assert.deepEqual([U.shape, V.shape, U.dtype, V.dtype], [[m, r], [r, n], t.dtype, t.dtype]);
            assert.ok(!f.tensors.some((x) => x.name === t.name), 'W itself is gone');
            const uv = matmul(await f.read(U.name), await f.read(V.name), m, r, n);
            const w = await src.read(t.name);
            const dv = await d.read(t.name);
            assert.equal(d.tensors.find((x) => x.name === t.name)!.dtype, t.dtype);
            assert.ok(relDiff(uv, dv, w) < 3 * ROUNDING[t.dtype], `${t.name}: U·V vs dense ${relDiff(uv, dv, w)}`);
            assert.ok(Math.abs(relDiff(w, dv) - row.rel_error) < 2 * ROUNDING[t.dtype], `${t.name}: dense file error vs report`);
          }
        }),
      ),
    );
  });

  it('sharded conv model (ESRGAN, PyTorch OIHW) to a sharded folder: conv factors [out, r] and [r, in, kh, kw]', async () => {
    const out = path.join(freshDir(), 'model');
    const report = await compressCheckpoint(SHARDED, out, { criterion: { type: 'energy', fraction: 0.9 }, emit: 'factorized', shardBytes: 300_000 });
    assertEckartYoung(report);
    assert.equal(report.files[0], path.join(out, 'model.safetensors.index.json'));
    assert.ok(report.files.some((f) => f.endsWith('model-00002-of-00003.safetensors')) || report.files.length > 3);
    await withCheckpoint(SHARDED, (src) =>
      withCheckpoint(report.files[0], async (back) => {
        for (const row of report.layers.filter((l) => l.compressed)) {
          const [o, i, kh, kw] = row.shape;
          const U = back.tensors.find((t) => t.name === `${row.name}.U`)!;
          const V = back.tensors.find((t) => t.name === `${row.name}.V`)!;
          assert.deepEqual(U.shape, [o, row.rank]);
          assert.deepEqual(V.shape, [row.rank, i, kh, kw]);
          const uv = matmul(await back.read(U.name), await back.read(V.name), o, row.rank, i * kh * kw);
          assert.ok(Math.abs(relDiff(await src.read(row.name), uv) - row.rel_error) < 1e-5, row.name);
        }
        assert.ok(report.layers.some((l) => l.reason?.startsWith('factorizing saves nothing')));
      }),
    );
  });
});

describe('compress --svd randomized', () => {
  it('randomized factors are accepted within the tolerance of the exact optimum, else the exact SVD is used', async () => {
    const dir = freshDir();
    const criterion = { type: 'energy', fraction: 0.5 } as const;
    const loose = await compressCheckpoint(ST_MIXED, path.join(dir, 'a.safetensors'), { criterion, emit: 'dense', filter: /proj|qkv/, svd: { method: 'randomized', tolerance: 0.05 } });
    const strict = await compressCheckpoint(ST_MIXED, path.join(dir, 'b.safetensors'), { criterion, emit: 'dense', filter: /proj/, svd: { method: 'randomized', tolerance: 0 } });
    const compressed = loose.layers.filter((l) => l.compressed);
    assert.equal(compressed.length, 2);
    for (const l of compressed) {
      assert.equal(l.svd, 'randomized', l.name);
      assert.ok(l.rel_error >= l.optimal_rel_error! - 1e-12 && l.rel_error <= l.optimal_rel_error! * 1.05 + 1e-12, `${l.name}: ${l.rel_error} vs ${l.optimal_rel_error}`);
    }
    for (const l of strict.layers.filter((x) => x.compressed)) {
      assert.equal(l.svd, 'exact', `${l.name}: no randomized result is exactly optimal, so the exact SVD is used`);
    }
    assertEckartYoung(strict);
  });
});

describe('compress --emit lora', () => {
  it('PEFT adapter (PiSSA split): residual base + lora_B·lora_A = W; conv adapters in PEFT shapes', async () => {
    const out = path.join(freshDir(), 'adapter');
    const report = await compressCheckpoint(SHARDED, out, { criterion: { type: 'rank-reduction', fraction: 0.4 }, emit: 'lora' });
    assertEckartYoung(report);
    assert.deepEqual(fs.readdirSync(out).sort(), ['adapter_config.json', 'adapter_model.safetensors', 'compress.json', 'model.safetensors']);
    const config = JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8'));
    const compressed = report.layers.filter((l) => l.compressed);
    assert.ok(compressed.length > 0);
    assert.equal(config.peft_type, 'LORA');
    assert.deepEqual(config.target_modules, compressed.map((l) => l.name.replace(/\.weight$/, '')));
    for (const l of compressed) {
      const mod = l.name.replace(/\.weight$/, '');
      assert.equal(config.rank_pattern[mod], l.rank);
      assert.equal(config.alpha_pattern[mod] / config.rank_pattern[mod], 1, 'scaling α/r = 1');
    }
    await withCheckpoint(SHARDED, (src) =>
      withCheckpoint(path.join(out, 'adapter_model.safetensors'), (adapter) =>
        withCheckpoint(path.join(out, 'model.safetensors'), async (base) => {
          assert.deepEqual(base.tensors.map((t) => t.name).sort(), src.tensors.map((t) => t.name).sort());
          for (const l of report.layers) {
            const w = await src.read(l.name);
            if (!l.compressed) {
              assert.deepEqual(await base.read(l.name), w);
              continue;
            }
            const [o, i, kh, kw] = l.shape;
            const A = adapter.tensors.find((t) => t.name === `base_model.model.${l.name.replace(/\.weight$/, '')}.lora_A.weight`)!;
            const B = adapter.tensors.find((t) => t.name === `base_model.model.${l.name.replace(/\.weight$/, '')}.lora_B.weight`)!;
            assert.deepEqual(A.shape, [l.rank, i, kh, kw]);
            assert.deepEqual(B.shape, [o, l.rank, 1, 1]);
            const ba = matmul(await adapter.read(B.name), await adapter.read(A.name), o, l.rank, i * kh * kw);
            const residual = await base.read(l.name);
            const sum = ba.map((v, k) => v + residual[k]);
            assert.ok(relDiff(w, sum) < 1e-6, `${l.name}: base + B·A = W (${relDiff(w, sum)})`);
            assert.ok(Math.abs(relDiff(w, ba) - l.rel_error) < 1e-6, 'the adapter alone is the rank-r compression');
          }
        }),
      ),
    );
  });
});

/** Runs a model in onnxruntime and returns its outputs as plain arrays. */
async function runOrt(file: string, feeds: Record<string, ort.Tensor>): Promise<Record<string, number[]>> {
  const s = await ort.InferenceSession.create(file, { logSeverityLevel: 3 });
  try {
    const out = await s.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Array.from(v.data as Float32Array)]));
  } finally {
    await s.release();
  }
}

describe('compress --emit onnx', () => {
  it('Silero v5 (Constant weights inside If branches): Conv split in two; same function as Ŵ in place; checked in onnxruntime', async () => {
    const dir = freshDir();
    const split = path.join(dir, 'split.onnx');
    const dense = path.join(dir, 'dense.onnx');
    const criterion = { type: 'energy', fraction: 0.95 } as const;
    const r = await compressCheckpoint(SILERO, split, { criterion, emit: 'onnx', onnxInputs: V5_INPUTS });
    const rd = await compressCheckpoint(SILERO, dense, { criterion, emit: 'onnx', onnxInputs: V5_INPUTS, onnxDenseOnly: true });
    assertEckartYoung(r);
    const placements = Object.entries(r.onnx_placements!);
    assert.ok(placements.filter(([, p]) => p.placement === 'split').length >= 4, 'encoder convs split');
    for (const [name, p] of placements) if (name.includes('rnn.weight')) assert.deepEqual(p, { placement: 'dense', why: 'read by Slice' });
    assert.ok(r.onnx_check && 'outputs' in r.onnx_check);
    assert.deepEqual(r.onnx_check.outputs.map((o) => o.name).sort(), ['output', 'stateN']);
    for (const o of r.onnx_check.outputs) assert.ok(Number.isFinite(o.rel_error) && o.rel_error > 0, `${o.name} changed by compression`);
    // the split graph computes the same function as the dense rank-r weights
    const feeds = {
      input: new ort.Tensor('float32', Float32Array.from({ length: 512 }, (_, i) => 0.3 * Math.sin(i * 0.37) + 0.2 * Math.sin(i * 0.051)), [1, 512]),
      state: new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]),
      sr: new ort.Tensor('int64', BigInt64Array.from([16000n]), []),
    };
    const a = await runOrt(split, feeds);
    const b = await runOrt(dense, feeds);
    const o = await runOrt(SILERO, feeds);
    for (const k of ['output', 'stateN']) assert.ok(relDiff(a[k], b[k], o[k]) < 1e-4, `${k}: split vs dense ${relDiff(a[k], b[k], o[k])}`);
    assert.ok(Math.abs(relDiff(o.stateN, a.stateN) - (r.onnx_check as { outputs: { name: string; rel_error: number }[] }).outputs.find((x) => x.name === 'stateN')!.rel_error) < 1e-6);
    // the factors are Constant nodes our reader lists, in place of W
    await withCheckpoint(split, async (back) => {
      const names = new Set(back.tensors.map((t) => t.name));
      for (const [w, p] of placements) {
        assert.equal(names.has(w), p.placement === 'dense', w);
        assert.equal(names.has(`${w}.U`) && names.has(`${w}.V`), p.placement === 'split', w);
      }
    });
  });

  it('external-data model (initializers read from If branches): factors added as initializers, new data file, runs', async () => {
    const dir = freshDir();
    const out = path.join(dir, 'model.onnx');
    const criterion = { type: 'rank-reduction', fraction: 0.3 } as const;
    const r = await compressCheckpoint(EXTERNAL, out, { criterion, emit: 'onnx', onnxInputs: V6_INPUTS });
    assert.deepEqual(r.files, [out, path.join(dir, 'model.onnx.data')]);
    assertEckartYoung(r);
    assert.ok(r.onnx_check && 'outputs' in r.onnx_check);
    for (const o of r.onnx_check.outputs) assert.ok(Number.isFinite(o.rel_error) && o.rel_error > 0, `${o.name}: ${o.rel_error}`);
    const dense = path.join(dir, 'dense.onnx');
    const rd = await compressCheckpoint(EXTERNAL, dense, { criterion, emit: 'onnx', onnxInputs: V6_INPUTS, onnxDenseOnly: true });
    assert.ok(rd.onnx_check && 'outputs' in rd.onnx_check);
    for (const o of r.onnx_check.outputs) {
      const d = rd.onnx_check.outputs.find((x) => x.name === o.name)!;
      assert.ok(Math.abs(o.rel_error - d.rel_error) < 1e-4 * Math.max(1, d.rel_error), `${o.name}: split ${o.rel_error} vs dense ${d.rel_error}`);
    }
    await withCheckpoint(out, async (back) => {
      assert.ok(back.files.every((f) => f.startsWith(dir)));
      for (const [w, p] of Object.entries(r.onnx_placements!)) {
        if (p.placement !== 'split') continue;
        const u = back.tensors.find((t) => t.name === `${w}.U`);
        assert.ok(u && u.file === path.join(dir, 'model.onnx.data') && !back.tensors.some((t) => t.name === w), w);
      }
    });
  });

  it('MatMul (weight either side) and Gemm (transB, alpha, beta, C) on real weights: split equals dense', async () => {
    const dir = freshDir();
    // y = tanh(0.5·x·Pᵀ + 2·b)·T and z = Q·xT with real USE-lite weights P [512,256], T [512,512], Q [768,256]
    const skeleton = path.join(dir, 'skeleton.onnx');
    fs.writeFileSync(
      skeleton,
      encodeModel({
        name: 'mlp',
        nodes: [
          { opType: 'Gemm', inputs: ['x', 'P', 'b'], outputs: ['h0'], intAttributes: { transB: 1 } },
          { opType: 'Tanh', inputs: ['h0'], outputs: ['h'] },
          { opType: 'MatMul', inputs: ['h', 'T'], outputs: ['y'] },
          { opType: 'MatMul', inputs: ['Q', 'xT'], outputs: ['z'] },
        ],
        inputs: [
          { name: 'x', elemType: ONNX_FLOAT, dims: ['batch', 256] },
          { name: 'xT', elemType: ONNX_FLOAT, dims: [256, 'batch'] },
        ],
        outputs: [
          { name: 'y', elemType: ONNX_FLOAT, dims: ['batch', 512] },
          { name: 'z', elemType: ONNX_FLOAT, dims: [768, 'batch'] },
        ],
      }),
    );
    const model = path.join(dir, 'mlp.onnx');
    await withCheckpoint(ST_MIXED, async (src) => {
      const f32 = async (n: string) => Float32Array.from(await src.read(n));
      await writeOnnxModel(skeleton, model, {
        addInitializers: [
          { name: 'P', value: { dims: [512, 256], data: await f32('layers.0.proj.weight') } },
          { name: 'b', value: { dims: [512], data: await f32('layers.0.proj.bias') } },
          { name: 'T', value: { dims: [512, 512], data: await f32('head.tanh0.weight') } },
          { name: 'Q', value: { dims: [768, 256], data: await f32('layers.0.attn.qkv.weight') } },
        ],
        rewriteNode: (n) =>
          n.opType === 'Gemm'
            ? [{ ...n, attributes: [{ name: 'transB', int: 1 }, { name: 'alpha', float: 0.5 }, { name: 'beta', float: 2 }] }]
            : undefined,
      });
    });
    const split = path.join(dir, 'split.onnx');
    const dense = path.join(dir, 'dense.onnx');
    const criterion = { type: 'energy', fraction: 0.8 } as const;
    const r = await compressCheckpoint(model, split, { criterion, emit: 'onnx', inputShapes: { x: [3, 256], xT: [256, 3] }, seed: 4 });
    await compressCheckpoint(model, dense, { criterion, emit: 'onnx', onnxDenseOnly: true, check: false });
    assert.deepEqual(Object.values(r.onnx_placements!).map((p) => p.placement), ['split', 'split', 'split']);
    assert.ok(r.onnx_check && 'outputs' in r.onnx_check);
    assert.equal(r.onnx_check.inputs, 'random (seed 4)');
    assert.deepEqual(r.onnx_check.input_shapes, { x: [3, 256], xT: [256, 3] });
    const x = Float32Array.from({ length: 768 }, (_, i) => Math.sin(i * 1.3));
    const xT = new Float32Array(768);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 256; j++) xT[j * 3 + i] = x[i * 256 + j];
    const feeds = { x: new ort.Tensor('float32', x, [3, 256]), xT: new ort.Tensor('float32', xT, [256, 3]) };
    const [a, b, o] = [await runOrt(split, feeds), await runOrt(dense, feeds), await runOrt(model, feeds)];
    for (const k of ['y', 'z']) {
      assert.ok(relDiff(a[k], b[k], o[k]) < 1e-5, `${k}: split vs dense ${relDiff(a[k], b[k], o[k])}`);
      assert.ok(relDiff(o[k], a[k]) > 1e-4, `${k} is compressed`);
    }
    // z = Q·xT exactly: its error is the layer's matrix error applied to xT, bounded by it in norm
    const nodes = (await import('../../src/core/writers/onnx-writer')).scanOnnxModel(split);
    assert.deepEqual((await nodes).nodes.map((n) => n.opType), ['Gemm', 'Gemm', 'Tanh', 'MatMul', 'MatMul', 'MatMul', 'MatMul']);
  });
});

describe('compress: outputs are never partial and never over an input', () => {
  it('refuses the input as output (even with force), an existing output, and ONNX emit for other formats', async () => {
    const dir = freshDir();
    const crit = { criterion: { type: 'energy', fraction: 0.9 } as const };
    await assert.rejects(compressCheckpoint(ST_MIXED, ST_MIXED, { ...crit, emit: 'dense', force: true }), /input files/);
    await assert.rejects(compressCheckpoint(SILERO, SILERO, { ...crit, emit: 'onnx', force: true }), /input files/);
    const taken = path.join(dir, 'taken.safetensors');
    fs.writeFileSync(taken, 'mine');
    await assert.rejects(compressCheckpoint(ST_MIXED, taken, { ...crit, emit: 'factorized' }), (e: Error) => e instanceof OutputError && /already exists/.test(e.message));
    assert.equal(fs.readFileSync(taken, 'utf8'), 'mine');
    await assert.rejects(compressCheckpoint(ST_MIXED, path.join(dir, 'x.onnx'), { ...crit, emit: 'onnx' }), /needs an ONNX model/);
    assert.deepEqual(fs.readdirSync(dir), ['taken.safetensors']);
  });

  it('cancel while writing leaves nothing behind (single file, sharded folder, lora folder, onnx)', async () => {
    const dir = freshDir();
    for (const [input, out, emit, shardBytes] of [
      [ST_MIXED, path.join(dir, 'a.safetensors'), 'factorized', undefined],
      [SHARDED, path.join(dir, 'sharded'), 'dense', 100_000],
      [SHARDED, path.join(dir, 'lora'), 'lora', undefined],
      [SILERO, path.join(dir, 's.onnx'), 'onnx', undefined],
    ] as const) {
      const signal = { aborted: false };
      let kind = '';
      await assert.rejects(
        compressCheckpoint(input, out, {
          criterion: { type: 'energy', fraction: 0.9 },
          emit,
          shardBytes,
          signal,
          // once the spectra are done: the abort lands while the outputs are being written
          onProgress: (phase, done, total) => {
            if (phase === 'spectra' && done === total) setImmediate(() => (signal.aborted = true));
          },
          check: false,
        }),
        (e: Error) => ((kind = e.name), /cancel/.test(e.message)),
      );
      assert.equal(kind, 'CancelledWriteError', `${emit}: cancelled while writing`);
      assert.deepEqual(fs.readdirSync(dir), [], `${emit}: nothing left`);
    }
  });
});

describe('weight-spectra compress (CLI)', () => {
  function capture() {
    let text = '';
    return { stream: { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream, text: () => text };
  }

  it('--json prints exactly one JSON document with the per-layer figures', async () => {
    const out = path.join(freshDir(), 'c.safetensors');
    const o = capture();
    const e = capture();
    const code = await runCompress([ST_MIXED, '--out', out, '--rank-reduction', '40', '--json'], o.stream, e.stream);
    assert.equal(code, 0, e.text());
    const lines = o.text().trim().split('\n');
    assert.equal(lines.length, 1);
    const doc = JSON.parse(lines[0]);
    assert.deepEqual(doc.files, [out, out.replace(/\.safetensors$/, '.compress.json')]);
    assert.equal(doc.emit, 'factorized');
    assert.ok(doc.layers.length >= 4);
    for (const l of doc.layers) {
      for (const k of ['name', 'shape', 'rank', 'params_before', 'params_after', 'rel_error']) assert.ok(k in l, `${k} in ${JSON.stringify(l)}`);
    }
    assert.ok(doc.tau > 0);
  });

  it('usage errors are UsageErrors (exit 2 in main); bad input names the file', async () => {
    const parse = (...argv: string[]) => parseCompressOptions(parseArgs(argv, new Set(['out', 'rank-reduction', 'energy', 'welore-tau', 'emit', 'shard-size', 'inputs', 'min-ratio'])).flags);
    assert.throws(() => parse('--out', 'x', '--energy', '0.9', '--rank-reduction', '10'), UsageError);
    assert.throws(() => parse('--out', 'x'), UsageError);
    assert.throws(() => parse('--energy', '0.9'), /--out/);
    assert.throws(() => parse('--out', 'x', '--energy', '1.5'), UsageError);
    assert.throws(() => parse('--out', 'x', '--rank-reduction', '150'), UsageError);
    assert.throws(() => parse('--out', 'x', '--energy', '0.9', '--emit', 'zip'), UsageError);
    assert.throws(() => parse('--out', 'x', '--energy', '0.9', '--emit', 'lora', '--shard-size', '1GB'), UsageError);
    assert.throws(() => parse('--out', 'x', '--energy', '0.9', '--inputs', 'a.npz'), /--emit onnx/);
    assert.throws(() => parse('--out', 'x', '--energy', '0.9', '--bogus'), /unknown option/);
    assert.equal(parse('--out', 'x', '--energy', '0.9', '--shard-size', '2GB').shardBytes, 2e9);
    const e = capture();
    await assert.rejects(runCompress([path.join(FIXTURES, 'hostile/st_truncated.safetensors'), '--out', path.join(freshDir(), 'o.safetensors'), '--energy', '0.9'], capture().stream, e.stream), /st_truncated/);
  });
});
