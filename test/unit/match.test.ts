/** Weight matching on small models with known answers: planted permutations are recovered, function is preserved. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchFigures } from '../../src/core/transforms/match/figures';
import { inferSpec } from '../../src/core/transforms/match/infer';
import { permuteAll } from '../../src/core/transforms/match/permute';
import { Rng } from '../../src/core/transforms/match/rng';
import { parseSpecJson, specToJson } from '../../src/core/transforms/match/spec-file';
import { SpecError, validateSpec, type PermutationSpec } from '../../src/core/transforms/match/spec';
import type { HeldTensor } from '../../src/core/transforms/match/tensor';
import { weightMatching } from '../../src/core/transforms/match/weight-matching';
import { cnnForward, mlpForward, transformerForward } from '../fixtures/pairs/forward';

type Model = Map<string, HeldTensor>;

function randomModel(shapes: [string, number[]][], seed: number, scale = 0.3): Model {
  const rng = new Rng(seed);
  return new Map(shapes.map(([n, s]) => [n, { shape: s, data: Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale) }]));
}

function randomPerms(spec: PermutationSpec, seed: number): Map<string, Int32Array> {
  const rng = new Rng(seed);
  return new Map([...spec.perms].map(([n, size]) => [n, rng.permutation(size)]));
}

function maxAbsDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

function shapesOf(m: Model) {
  return [...m].map(([name, t]) => ({ name, shape: t.shape }));
}

function inverse(p: Int32Array): Int32Array {
  const q = new Int32Array(p.length);
  p.forEach((v, i) => (q[v] = i));
  return q;
}

const MLP: [string, number[]][] = [
  ['fc0.weight', [32, 10]],
  ['fc0.bias', [32]],
  ['fc1.weight', [24, 32]],
  ['fc1.bias', [24]],
  ['fc2.weight', [5, 24]],
  ['fc2.bias', [5]],
];

const CNN: [string, number[]][] = [
  ['conv0.weight', [8, 3, 3, 3]],
  ['conv0.bias', [8]],
  ['conv1.weight', [8, 8, 3, 3]],
  ['conv1.bias', [8]],
  ['norm1.weight', [8]],
  ['norm1.bias', [8]],
  ['conv2.weight', [16, 8, 3, 3]],
  ['conv2.bias', [16]],
  ['fc.weight', [4, 16]],
  ['fc.bias', [4]],
];

const D = 12;
const TRANSFORMER: [string, number[]][] = [
  ['embeddings.word_embeddings.weight', [20, D]],
  ['embeddings.position_embeddings.weight', [6, D]],
  ['encoder.layers.0.ln1.weight', [D]],
  ['encoder.layers.0.ln1.bias', [D]],
  ['encoder.layers.0.attn.query.weight', [D, D]],
  ['encoder.layers.0.attn.query.bias', [D]],
  ['encoder.layers.0.attn.key.weight', [D, D]],
  ['encoder.layers.0.attn.key.bias', [D]],
  ['encoder.layers.0.attn.value.weight', [D, D]],
  ['encoder.layers.0.attn.value.bias', [D]],
  ['encoder.layers.0.attn.output.dense.weight', [D, D]],
  ['encoder.layers.0.attn.output.dense.bias', [D]],
  ['encoder.layers.0.ln2.weight', [D]],
  ['encoder.layers.0.ln2.bias', [D]],
  ['encoder.layers.0.mlp.up_proj.weight', [30, D]],
  ['encoder.layers.0.mlp.up_proj.bias', [30]],
  ['encoder.layers.0.mlp.down_proj.weight', [D, 30]],
  ['encoder.layers.0.mlp.down_proj.bias', [D]],
  ['final_norm.weight', [D]],
  ['final_norm.bias', [D]],
  ['classifier.weight', [3, D]],
  ['classifier.bias', [3]],
];

describe('permutation specs preserve the function', () => {
  it('mlp: inferred chain spec; B under random permutations computes what B computes', () => {
    const b = randomModel(MLP, 1);
    const { spec, kind } = inferSpec('auto', shapesOf(b), 'safetensors');
    assert.equal(kind, 'mlp');
    assert.deepEqual([...spec.perms], [['h0', 32], ['h1', 24]]);
    validateSpec(spec, (n) => b.get(n)?.shape);
    const pb = permuteAll(b, spec, randomPerms(spec, 2));
    const rng = new Rng(3);
    for (let t = 0; t < 5; t++) {
      const x = Float64Array.from({ length: 10 }, () => rng.normal());
      assert.ok(maxAbsDiff(mlpForward(b, ['fc0', 'fc1', 'fc2'], x), mlpForward(pb, ['fc0', 'fc1', 'fc2'], x)) < 1e-5);
    }
    assert.ok(maxAbsDiff(pb.get('fc0.weight')!.data, b.get('fc0.weight')!.data) > 0.1, 'the permutation moved something');
  });

  it('cnn: width-keyed spec with a residual add and a norm layer keeps the function; input and output stay fixed', () => {
    const b = randomModel(CNN, 4);
    const { spec, kind } = inferSpec('auto', shapesOf(b), 'safetensors');
    assert.equal(kind, 'cnn');
    assert.deepEqual([...spec.perms].sort(), [['ch16', 16], ['ch8', 8]]);
    assert.equal(spec.axes.get('conv0.weight')![1], null, 'model input fixed');
    assert.equal(spec.axes.get('fc.weight')![0], null, 'outputs fixed');
    const pb = permuteAll(b, spec, randomPerms(spec, 5));
    const rng = new Rng(6);
    const x = Float64Array.from({ length: 3 * 5 * 5 }, () => rng.normal());
    assert.ok(maxAbsDiff(cnnForward(b, x, 3, 5, 5), cnnForward(pb, x, 3, 5, 5)) < 1e-5);
  });

  it('transformer: residual, whole heads, within-head q/k and v/o, MLP units — same outputs', () => {
    const b = randomModel(TRANSFORMER, 7);
    const { spec, kind, notes } = inferSpec('auto', shapesOf(b), 'safetensors', { heads: 3 });
    assert.equal(kind, 'transformer');
    assert.deepEqual([...spec.perms].sort(), [['attn0.heads', 3], ['attn0.qk', 4], ['attn0.vo', 4], ['mlp0', 30], ['res', D]]);
    assert.deepEqual(notes, []);
    validateSpec(spec, (n) => b.get(n)?.shape);
    const pb = permuteAll(b, spec, randomPerms(spec, 8));
    const y0 = transformerForward(b, [1, 5, 7, 19], 3);
    const y1 = transformerForward(pb, [1, 5, 7, 19], 3);
    y0.forEach((y, t) => assert.ok(maxAbsDiff(y, y1[t]) < 1e-5, `token ${t}`));
    // Without a head count the attention inner axes stay fixed, and the function is still preserved.
    const fixed = inferSpec('transformer', shapesOf(b), 'safetensors');
    assert.deepEqual([...fixed.spec.perms.keys()].sort(), ['mlp0', 'res']);
    const pf = permuteAll(b, fixed.spec, randomPerms(fixed.spec, 9));
    transformerForward(pf, [2, 3], 3).forEach((y, t) => assert.ok(maxAbsDiff(y, transformerForward(b, [2, 3], 3)[t]) < 1e-5));
  });
});

describe('weight matching (Git Re-Basin)', () => {
  for (const [label, shapes, opts] of [
    ['mlp', MLP, {}],
    ['cnn', CNN, {}],
    ['transformer', TRANSFORMER, { heads: 3 }],
  ] as const) {
    it(`${label}: B = A under a planted permutation is matched back exactly (distance 0, permutation = planted⁻¹)`, async () => {
      const a = randomModel(shapes as [string, number[]][], 11);
      const { spec } = inferSpec('auto', shapesOf(a), 'safetensors', opts);
      const planted = randomPerms(spec, 12);
      const b = permuteAll(a, spec, planted);
      const r = await weightMatching(a, b, spec, { seed: 1 });
      const aligned = permuteAll(b, spec, r.perms);
      const figs = matchFigures(a, b, aligned, new Set(spec.axes.keys()), 'first');
      assert.ok(figs.distance_before > 1);
      assert.ok(figs.distance_after < 1e-6, `distance after ${figs.distance_after}`);
      for (const [name, p] of planted) assert.deepEqual([...r.perms.get(name)!], [...inverse(p)], name);
      for (const l of figs.layers) {
        if (!l.sv_alignment) continue;
        assert.ok(l.sv_alignment.after.u > 0.999 && l.sv_alignment.after.v > 0.999, `${l.name} aligned after`);
      }
    });
  }

  it('independent models: the objective only grows, the aligned B keeps its function, distance does not grow', async () => {
    const a = randomModel(MLP, 21);
    const b = randomModel(MLP, 22);
    const { spec } = inferSpec('mlp', shapesOf(a), 'safetensors');
    const r = await weightMatching(a, b, spec, { seed: 3 });
    const aligned = permuteAll(b, spec, r.perms);
    const figs = matchFigures(a, b, aligned, new Set(spec.axes.keys()), 'first');
    assert.ok(figs.distance_after < figs.distance_before);
    assert.ok(r.sweeps >= 1);
    const x = Float64Array.from({ length: 10 }, (_, i) => Math.sin(i));
    assert.ok(maxAbsDiff(mlpForward(b, ['fc0', 'fc1', 'fc2'], x), mlpForward(aligned, ['fc0', 'fc1', 'fc2'], x)) < 1e-5);
    // Same seed, same answer; the result is a local optimum: one more run from it changes nothing.
    const again = await weightMatching(a, b, spec, { seed: 3 });
    for (const [n, p] of r.perms) assert.deepEqual([...again.perms.get(n)!], [...p]);
    const from = await weightMatching(a, aligned, spec, { seed: 4 });
    for (const [n, p] of from.perms) assert.deepEqual([...p], [...Array(p.length).keys()], n);
  });
});

describe('spec files', () => {
  it('round-trips through JSON, with segments (concatenation) and factors (heads × dim)', () => {
    const text = JSON.stringify({
      perms: { P: 4, H: 2, d: 3 },
      tensors: {
        cat: [null, ['P', { fixed: 2 }, 'P']],
        heads: [[['H', 'd']], null],
        plain: ['P'],
      },
    });
    const spec = parseSpecJson(text);
    validateSpec(spec, (n) => ({ cat: [5, 10], heads: [6, 7], plain: [4] })[n]);
    assert.deepEqual(specToJson(spec), JSON.parse(text));
  });

  it('refuses bad specs with messages naming the problem', () => {
    assert.throws(() => parseSpecJson('{'), SpecError);
    assert.throws(() => parseSpecJson('{"perms": {"P": 3}, "tensors": {"w": ["Q"]}}'), /"Q" is not declared/);
    const spec = parseSpecJson('{"perms": {"P": 3}, "tensors": {"w": ["P", null]}}');
    assert.throws(() => validateSpec(spec, () => [4, 2]), /axis 0 has length 4, its segments add up to 3/);
    assert.throws(() => validateSpec(spec, () => undefined), /not in the checkpoint/);
  });
});
