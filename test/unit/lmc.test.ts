/** Linear mode connectivity on the real Silero VAD v5/v6 pair (same ONNX graph, independently trained) in onnxruntime. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { barrier, crossEntropy, outputDeviation } from '../../src/core/transforms/lmc/loss';
import { runLmcJob } from '../../src/core/transforms/lmc/run-lmc';
import { FIXTURES } from '../helpers/fixtures';

const V5 = path.join(FIXTURES, 'shipped/silero_vad_v5.onnx');
const V6 = path.join(FIXTURES, 'pairs/silero_vad_v6.onnx');
const INPUTS = path.join(FIXTURES, 'pairs/silero_inputs.npz');
const LABELS = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'pairs/silero_labels.json'), 'utf8')) as number[];

describe('lmc losses', () => {
  it('barrier = max over λ of the loss above the straight line between the endpoint losses', () => {
    assert.deepEqual(barrier([0, 0.5, 1], [1, 3, 2]), { barrier: 1.5, at: 0.5 });
    assert.deepEqual(barrier([0, 0.25, 0.5, 0.75, 1], [2, 1.5, 1, 0.5, 0]), { barrier: 0, at: 0 });
  });

  it('cross-entropy: softmax over the last axis; binary probabilities; output deviation is 0 on the line', () => {
    const ce = crossEntropy({ all: new Float64Array(), first: Float64Array.of(0, Math.log(3), 0, 0), firstShape: [2, 2] }, [1, 0]);
    assert.ok(Math.abs(ce - (-Math.log(3 / 4) - Math.log(1 / 2)) / 2) < 1e-12);
    const bce = crossEntropy({ all: new Float64Array(), first: Float64Array.of(0.9, 0.2), firstShape: [2, 1] }, [1, 0]);
    assert.ok(Math.abs(bce - -(Math.log(0.9) + Math.log(0.8)) / 2) < 1e-12);
    assert.equal(outputDeviation(Float64Array.of(1.5), Float64Array.of(1), Float64Array.of(2), 0.5), 0);
  });
});

describe('lmc on Silero VAD v5 → v6', () => {
  it('cross-entropy curve on real inputs: endpoints are the two real models, a positive barrier in between', async () => {
    const r = await runLmcJob(V5, V6, { steps: 5, inputs: INPUTS, labels: LABELS });
    assert.equal(r.loss_kind, 'cross-entropy');
    assert.deepEqual(r.lambdas, [0, 0.25, 0.5, 0.75, 1]);
    assert.equal(r.loss!.length, 5);
    assert.ok(r.loss!.every(Number.isFinite));
    assert.equal(r.output_distance_to_a![0], 0);
    assert.equal(r.output_distance_to_b![4], 0);
    assert.ok(r.output_distance_to_a![4] > 0.01, 'v5 and v6 disagree');
    assert.ok(r.barrier! >= 0 && r.barrier! === Math.max(...r.loss!.map((l, i) => l - ((1 - r.lambdas[i]) * r.loss![0] + r.lambdas[i] * r.loss![4]))));
    assert.ok(r.distance_before > 1);
  });

  it('--rebasin: matching first lowers the weight distance; without labels the output-deviation curve is 0 at both ends', async () => {
    const r = await runLmcJob(V5, V6, { steps: 3, inputs: INPUTS, rebasin: true, seed: 1 });
    assert.equal(r.loss_kind, 'output-deviation');
    assert.equal(r.loss![0], 0);
    assert.equal(r.loss![2], 0);
    assert.ok(r.loss![1] > 0);
    assert.ok(r.distance_after < r.distance_before, `${r.distance_after} < ${r.distance_before}`);
    // The matched endpoint computes what v6 computes.
    const plain = await runLmcJob(V5, V6, { steps: 2, inputs: INPUTS });
    assert.ok(Math.abs(r.output_distance_to_a![2] - plain.output_distance_to_a![1]) < 1e-6);
  });

  it('non-ONNX models get the weight-space figures and a note', async () => {
    const face = path.join(FIXTURES, 'shipped/face_landmark_68/face_landmark_68_model-weights_manifest.json');
    const r = await runLmcJob(face, face, { steps: 3 });
    assert.equal(r.loss, null);
    assert.equal(r.distance_before, 0);
    assert.match(r.notes.join('\n'), /weight-space figures only/);
  });
});
