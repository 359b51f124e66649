import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { guessKind } from '../../src/core/checkpoint/kind';
import { decodeElements, halfToFloat } from '../../src/core/tensor/dtype';
import { contiguousStrides, gatherStrided, stridedExtent } from '../../src/core/tensor/layout';
import { extractMatrix, matrixLayout } from '../../src/core/tensor/matrix-view';
import { sampleIndices, tensorStats } from '../../src/core/tensor/stats';

describe('dtype decoding', () => {
  it('float16 covers subnormals, infinities and NaN', () => {
    assert.equal(halfToFloat(0x3c00), 1);
    assert.equal(halfToFloat(0xc000), -2);
    assert.equal(halfToFloat(0x0001), 2 ** -24);
    assert.equal(halfToFloat(0x7bff), 65504);
    assert.equal(halfToFloat(0x7c00), Infinity);
    assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  });

  it('bfloat16 is the upper half of a float32, at any byte alignment', () => {
    const f = new Float32Array([1.5, -3.25, 1e-20]);
    const u32 = new Uint32Array(f.buffer);
    const bytes = new Uint8Array(7);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < 3; i++) dv.setUint16(1 + 2 * i, u32[i] >>> 16, true);
    const out = decodeElements(bytes.subarray(1), 'bfloat16', 3);
    assert.equal(out[0], 1.5);
    assert.equal(out[1], -3.25);
    assert.equal(out[2], new Float32Array(new Uint32Array([u32[2] & 0xffff0000]).buffer)[0]);
  });

  it('float8 e4m3fn and e5m2 follow the OCP definitions', () => {
    const e4 = decodeElements(new Uint8Array([0x38, 0x7e, 0x7f, 0x01, 0xb8]), 'float8_e4m3fn', 5);
    assert.equal(e4[0], 1);
    assert.equal(e4[1], 448);
    assert.ok(Number.isNaN(e4[2]));
    assert.equal(e4[3], 2 ** -9);
    assert.equal(e4[4], -1);
    const e5 = decodeElements(new Uint8Array([0x3c, 0x7b, 0x7c]), 'float8_e5m2', 3);
    assert.deepEqual([...e5], [1, 57344, Infinity]);
  });

  it('int64 and big-endian values decode exactly', () => {
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    dv.setBigInt64(0, -5n, true);
    dv.setBigInt64(8, 2n ** 40n, true);
    assert.deepEqual([...decodeElements(b, 'int64', 2)], [-5, 2 ** 40]);
    const be = new Uint8Array(4);
    new DataView(be.buffer).setFloat32(0, 3.5, false);
    assert.equal(decodeElements(be, 'float32', 1, false)[0], 3.5);
  });

  it('refuses a buffer shorter than numel × size', () => {
    assert.throws(() => decodeElements(new Uint8Array(3), 'float32', 1), RangeError);
  });
});

describe('strided layout', () => {
  it('gathers a transposed view into row-major order', () => {
    const src = Float32Array.from({ length: 6 }, (_, i) => i); // storage of a 2×3 matrix
    const t = gatherStrided(src, [3, 2], [1, 3], 0); // its transpose
    assert.deepEqual([...t], [0, 3, 1, 4, 2, 5]);
    assert.equal(stridedExtent([3, 2], [1, 3], 0), 6);
  });
  it('honours a storage offset and 3-D permutations', () => {
    const src = Float64Array.from({ length: 30 }, (_, i) => i);
    const shape = [2, 3, 4];
    const out = gatherStrided(src, shape, contiguousStrides(shape), 5);
    assert.deepEqual([...out], Array.from({ length: 24 }, (_, i) => i + 5));
    const perm = gatherStrided(src, [4, 2, 3], [1, 12, 4], 0); // permute(2,0,1) of contiguous [2,3,4]
    assert.equal(perm[1 * 6 + 1 * 3 + 2], src[1 * 12 + 2 * 4 + 1]);
  });
});

describe('stats', () => {
  it('population std, l2, nonfinite excluded, eight samples', () => {
    const s = tensorStats(new Float32Array([1, 2, 3, 4, NaN, Infinity]));
    assert.equal(s.mean, 2.5);
    assert.equal(s.std, Math.sqrt(1.25));
    assert.equal(s.l2, Math.sqrt(30));
    assert.equal(s.nonfinite, 2);
    assert.deepEqual(sampleIndices(100), [0, 14, 28, 42, 56, 70, 84, 99]);
    assert.deepEqual(sampleIndices(3), [0, 1, 2]);
    assert.deepEqual(sampleIndices(1), [0]);
  });
});

describe('kind guess and matrix views', () => {
  it('names from common model families', () => {
    assert.equal(guessKind('model.layers.3.self_attn.q_proj.weight', [4096, 4096]), 'attention_q');
    assert.equal(guessKind('model.layers.3.self_attn.o_proj.weight', [4096, 4096]), 'attention_o');
    assert.equal(guessKind('model.layers.3.mlp.gate_proj.weight', [11008, 4096]), 'mlp_gate');
    assert.equal(guessKind('model.layers.3.mlp.down_proj.weight', [4096, 11008]), 'mlp_down');
    assert.equal(guessKind('transformer.h.0.attn.c_attn.weight', [768, 2304]), 'attention_qkv');
    assert.equal(guessKind('transformer.h.0.mlp.c_fc.weight', [768, 3072]), 'mlp_up');
    assert.equal(guessKind('bert.embeddings.word_embeddings.weight', [30522, 768]), 'embedding');
    assert.equal(guessKind('blk.0.attn_k.weight', [512, 4096]), 'attention_k');
    assert.equal(guessKind('blk.0.ffn_down.weight', [4096, 11008]), 'mlp_down');
    assert.equal(guessKind('encoder.0.reparam_conv.weight', [128, 129, 3]), 'conv');
    assert.equal(guessKind('F_0/kernel', [3, 3, 3, 32]), 'conv');
    assert.equal(guessKind('decoder.rnn.weight_ih', [512, 128]), 'recurrent');
    assert.equal(guessKind('model.norm.weight', [4096]), 'norm');
    assert.equal(guessKind('layers.0.attn.qkv.bias', [768]), 'bias');
    assert.equal(guessKind('classifier.weight', [10, 768]), 'linear');
  });

  it('conv kernels slice per spatial position in both layouts', () => {
    const oihw = matrixLayout([4, 3, 2, 2], 'conv', 'pytorch')!;
    assert.deepEqual(oihw, { type: 'conv2d', order: 'oihw', rows: 4, cols: 3, count: 4 });
    const data = Float32Array.from({ length: 48 }, (_, i) => i);
    const m = extractMatrix(data, oihw, 1); // W[:, :, 0, 1]
    assert.equal(m.data[0], 1);
    assert.equal(m.data[1], 5); // W[0,1,0,1] = 0*12 + 1*4 + 0*2 + 1
    assert.equal(m.data[3], 13); // W[1,0,0,1]
    const hwio = matrixLayout([3, 3, 16, 32], 'conv', 'tfjs')!;
    assert.deepEqual(hwio, { type: 'conv2d', order: 'hwio', rows: 16, cols: 32, count: 9 });
    assert.equal(matrixLayout([768], 'bias', 'pytorch'), undefined);
    assert.deepEqual(matrixLayout([1, 512, 128], 'recurrent', 'onnx'), { type: 'stack', rows: 512, cols: 128, count: 1 });
  });
});

describe('readElements widens narrow types in place', () => {
  it('matches decodeElements for every narrow type, odd and even counts, with and without a target', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { RandomAccessFile } = await import('../../src/core/io/random-access-file');
    const { readElements } = await import('../../src/core/tensor/read-elements');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ws-')), 'bytes.bin');
    const bytes = new Uint8Array(4099);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37 + 11) & 255;
    fs.writeFileSync(file, bytes);
    const f = await RandomAccessFile.open(file);
    try {
      for (const type of ['bfloat16', 'float16', 'int8', 'uint8', 'int16', 'uint16', 'float32', 'float64'] as const) {
        for (const numel of [1, 2, 7, 100, 511]) {
          const size = { bfloat16: 2, float16: 2, int8: 1, uint8: 1, int16: 2, uint16: 2, float32: 4, float64: 8 }[type];
          const expected = decodeElements(bytes.subarray(3, 3 + numel * size), type, numel);
          const fresh = await readElements(f, 3, type, numel, 'test');
          assert.deepEqual([...fresh], [...expected], `${type} × ${numel}`);
          const buf = new Float32Array(numel + 5).fill(99);
          const into = await readElements(f, 3, type, numel, 'test', buf.subarray(2, 2 + numel));
          assert.deepEqual([...Float32Array.from(into)], [...Float32Array.from(expected)], `${type} × ${numel} into a target`);
          assert.equal(buf[1], 99);
          assert.equal(buf[numel + 2], 99);
        }
      }
    } finally {
      await f.close();
    }
  });
});
