/**
 * Keras HDF5 reader: layouts, dtypes, chunked/compressed data, laziness and broken files.
 * Test files are written with h5wasm itself (the library the reader uses) into a temporary folder.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { File as H5File } from 'h5wasm';
import { openCheckpoint } from '../../src/core/checkpoint/registry';
import { reader, signatureOffset } from '../../src/core/checkpoint/formats/keras-h5';
import { describeDataset, readDataset } from '../../src/core/checkpoint/formats/keras-h5/h5-dataset';
import { loadH5, type H5 } from '../../src/core/checkpoint/formats/keras-h5/h5-runtime';
import { MAX_GROUP_DEPTH } from '../../src/core/checkpoint/formats/keras-h5/h5-tree';
import { CheckpointError, errorFactory } from '../../src/core/errors';
import { FIXTURES } from '../helpers/fixtures';

const KERAS_FIXTURE = path.join(FIXTURES, 'shipped/psnr-small-quant-uint8/image-super-resolution-psnr-small.h5');
const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

let h5: H5;
let dir: string;

function tmp(name: string): string {
  return path.join(dir, name);
}

/** Writes an HDF5 file; `earliest` keeps version-1 object headers, which carry no checksums, so bytes can be patched. */
function writeH5(name: string, build: (f: H5File) => void, earliest = false): string {
  const file = tmp(name);
  const f = new h5.lib.File(file, 'w', earliest ? { libver: ['earliest', 'v108'] } : {});
  try {
    build(f);
  } finally {
    f.close();
  }
  return file;
}

/** Replaces the only occurrence of `from` in the file (a datatype or dataspace message) by `to`, same length. */
function patchOnce(file: string, from: Buffer, to: Buffer): void {
  const bytes = fs.readFileSync(file);
  const at = bytes.indexOf(from);
  assert.ok(at >= 0 && bytes.indexOf(from, at + 1) < 0, `expected exactly one ${from.toString('hex')} in ${file}`);
  to.copy(bytes, at);
  fs.writeFileSync(file, bytes);
}

async function rejectsWith(file: string, kind: string): Promise<CheckpointError> {
  let caught: unknown;
  try {
    const ckpt = await openCheckpoint(file);
    try {
      for (const t of ckpt.tensors) await ckpt.read(t.name);
    } finally {
      await ckpt.close();
    }
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof CheckpointError, `expected CheckpointError, got ${caught}`);
  assert.equal(caught.kind, kind, caught.message);
  assert.ok(caught.message.includes(file), `message names the file: ${caught.message}`);
  return caught;
}

/** A float32 dataset's datatype message as HDF5 writes it: IEEE, little-endian, 32 bits, 8-bit exponent at 23, bias 127. */
const F32LE_MESSAGE = Buffer.from('11201f000400000000002000170800177f000000', 'hex');

before(async () => {
  h5 = await loadH5();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-h5-'));
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('keras-h5: content match', () => {
  it('finds the signature at 0 or after a user block of 512·2^k bytes', () => {
    const at = (offset: number, size = 4096) => {
      const head = Buffer.alloc(size);
      HDF5_SIGNATURE.copy(head, offset);
      return head;
    };
    assert.equal(signatureOffset(at(0)), 0);
    assert.equal(signatureOffset(at(512)), 512);
    assert.equal(signatureOffset(at(2048)), 2048);
    assert.equal(signatureOffset(at(100)), -1);
    assert.equal(signatureOffset(at(768)), -1);
    assert.equal(reader.match({ path: 'x.bin', size: 4096, head: at(1024) }), 2);
    assert.equal(reader.match({ path: 'x.h5', size: 4096, head: Buffer.from('not hdf5 at all') }), 0);
  });

  it('a non-HDF5 file named .h5 is not ours: unknown_format', async () => {
    const file = tmp('not-really.h5');
    fs.writeFileSync(file, Buffer.from('{"this": "is json, not HDF5"}\n'.repeat(10)));
    await assert.rejects(openCheckpoint(file), (e: unknown) => e instanceof CheckpointError && e.kind === 'unknown_format');
  });
});

describe('keras-h5: the Keras 2.3 fixture', () => {
  it('lists weights in Keras order (kernel before bias) under their full dataset paths', async () => {
    const ckpt = await openCheckpoint(KERAS_FIXTURE);
    try {
      assert.equal(ckpt.format, 'keras-h5');
      assert.deepEqual(
        ckpt.tensors.slice(0, 3).map((t) => t.name),
        ['model_weights/F_m1/F_m1/kernel:0', 'model_weights/F_m1/F_m1/bias:0', 'model_weights/F_0/F_0/kernel:0'],
      );
      const first = ckpt.tensors[0];
      assert.equal(first.storedDtype, 'H5T_IEEE_F32LE');
      assert.equal(first.dtype, 'float32');
      assert.equal(first.bytes, 6912);
      assert.equal(ckpt.metadata.hdf5_layout, 'keras-model');
      assert.equal(ckpt.metadata.keras_version, '2.3.0-tf');
      assert.equal(ckpt.metadata.backend, 'tensorflow');
    } finally {
      await ckpt.close();
    }
  });

  it('opens without reading the file into memory, and reads one tensor by its bytes only', async () => {
    // Emscripten's NODERAWFS reads through node:fs.readSync; count what HDF5 asks for.
    const realFs: typeof fs = require('node:fs');
    const readSync = realFs.readSync;
    let bytesRead = 0;
    realFs.readSync = ((...args: Parameters<typeof fs.readSync>) => {
      const n = readSync(...args);
      bytesRead += n;
      return n;
    }) as typeof fs.readSync;
    const heapBefore = h5.mod.HEAPU8.length;
    const size = fs.statSync(KERAS_FIXTURE).size;
    try {
      const ckpt = await openCheckpoint(KERAS_FIXTURE);
      try {
        const opened = bytesRead;
        assert.ok(opened < size / 10, `open read ${opened} of ${size} bytes`);
        const t = ckpt.tensors.find((x) => x.name === 'model_weights/F_0/F_0/kernel:0');
        assert.ok(t);
        bytesRead = 0;
        await ckpt.read(t.name);
        assert.ok(bytesRead >= t.bytes && bytesRead < t.bytes + 64 * 1024, `reading ${t.bytes} bytes of data read ${bytesRead}`);
        assert.ok(h5.mod.HEAPU8.length - heapBefore < size, 'the wasm heap did not grow by the file size');
      } finally {
        await ckpt.close();
      }
    } finally {
      realFs.readSync = readSync;
    }
  });
});

describe('keras-h5: save_weights layout (layer_names at the root)', () => {
  it('orders by layer_names then weight_names, not by HDF5 name order', async () => {
    const file = writeH5('weights-only.h5', (f) => {
      f.create_attribute('layer_names', ['dense_b', 'dropout', 'dense_a'], null, 'S10');
      f.create_attribute('keras_version', '2.4.0');
      for (const [layer, scale] of [['dense_a', 1], ['dense_b', 10]] as const) {
        const g = f.create_group(layer);
        g.create_attribute('weight_names', [`${layer}/kernel:0`, `${layer}/bias:0`], null, 'S20');
        const inner = g.create_group(layer);
        inner.create_dataset({ name: 'kernel:0', data: new Float32Array([1, 2, 3, 4, 5, 6].map((v) => v * scale)), shape: [2, 3] });
        inner.create_dataset({ name: 'bias:0', data: new Float32Array([7, 8, 9].map((v) => v * scale)) });
      }
      // A layer without weights: Keras stores np.asarray([]) (float64, shape (0,)).
      f.create_group('dropout').create_attribute('weight_names', new Float64Array(0));
      // Weights owned by the model itself (tf.keras 2.13+), not named in layer_names.
      const top = f.create_group('top_level_model_weights');
      top.create_attribute('weight_names', ['scale:0'], null, 'S10');
      top.create_dataset({ name: 'scale:0', data: new Float32Array([0.5]) });
      f.create_dataset({ name: 'not_a_weight', data: new Float32Array([1]) });
    });
    const ckpt = await openCheckpoint(file);
    try {
      assert.equal(ckpt.metadata.hdf5_layout, 'keras-weights');
      assert.equal(ckpt.metadata.keras_version, '2.4.0');
      assert.deepEqual(
        ckpt.tensors.map((t) => t.name),
        [
          'dense_b/dense_b/kernel:0',
          'dense_b/dense_b/bias:0',
          'dense_a/dense_a/kernel:0',
          'dense_a/dense_a/bias:0',
          'top_level_model_weights/scale:0',
        ],
      );
      assert.deepEqual([...ckpt.tensors[0].shape], [2, 3]);
      assert.deepEqual([...(await ckpt.read('dense_b/dense_b/kernel:0'))], [10, 20, 30, 40, 50, 60]);
      assert.deepEqual([...(await ckpt.read('dense_a/dense_a/bias:0'))], [7, 8, 9]);
      assert.deepEqual([...(await ckpt.read('top_level_model_weights/scale:0'))], [0.5]);
    } finally {
      await ckpt.close();
    }
  });

  it('joins attributes Keras split into layer_names0, layer_names1, ... (variable-length strings)', async () => {
    const file = writeH5('split-attrs.h5', (f) => {
      f.create_attribute('layer_names0', ['z_last_by_name', 'b']);
      f.create_attribute('layer_names1', ['a']);
      for (const layer of ['a', 'b', 'z_last_by_name']) {
        const g = f.create_group(layer);
        g.create_attribute('weight_names', [`${layer}/w:0`]);
        g.create_group(layer).create_dataset({ name: 'w:0', data: new Float32Array([layer.length]) });
      }
    });
    const ckpt = await openCheckpoint(file);
    try {
      assert.deepEqual(
        ckpt.tensors.map((t) => t.name),
        ['z_last_by_name/z_last_by_name/w:0', 'b/b/w:0', 'a/a/w:0'],
      );
    } finally {
      await ckpt.close();
    }
  });

  it('a weight named in weight_names but missing from the file is corrupt, naming it', async () => {
    const file = writeH5('missing-weight.h5', (f) => {
      f.create_attribute('layer_names', ['dense'], null, 'S5');
      const g = f.create_group('dense');
      g.create_attribute('weight_names', ['dense/kernel:0', 'dense/gamma:0'], null, 'S20');
      g.create_group('dense').create_dataset({ name: 'kernel:0', data: new Float32Array([1, 2]) });
    });
    const e = await rejectsWith(file, 'corrupt');
    assert.match(e.message, /dense\/gamma:0/);
  });
});

describe('keras-h5: any HDF5 file of arrays', () => {
  it('lists every numeric dataset in HDF5 order, skipping strings and links', async () => {
    const file = writeH5('generic.h5', (f) => {
      f.create_dataset({ name: 'b_float64', data: new Float64Array([0.1, -2.5, 1e300]) });
      f.create_dataset({ name: 'a_int32', data: new Int32Array([2147483647, -2147483648, 0, 7]), shape: [2, 2] });
      const g = f.create_group('nested');
      g.create_dataset({ name: 'u8', data: new Uint8Array([0, 255, 128]) });
      g.create_dataset({ name: 'i64', data: new BigInt64Array([-(2n ** 40n), 3n]) });
      g.create_dataset({ name: 'i16', data: new Int16Array([-32768, 5]) });
      f.create_dataset({ name: 'scalar', data: 3.25 });
      f.create_dataset({ name: 'labels', data: ['cat', 'dog'] });
      f.create_soft_link('/b_float64', 'soft_alias');
      f.create_external_link('/nonexistent/other.h5', '/x', 'external');
    });
    const ckpt = await openCheckpoint(file);
    try {
      assert.equal(ckpt.metadata.hdf5_layout, 'hdf5');
      assert.deepEqual(
        ckpt.tensors.map((t) => [t.name, t.dtype, t.storedDtype, [...t.shape]]),
        [
          ['a_int32', 'int32', 'H5T_STD_I32LE', [2, 2]],
          ['b_float64', 'float64', 'H5T_IEEE_F64LE', [3]],
          ['nested/i16', 'int16', 'H5T_STD_I16LE', [2]],
          ['nested/i64', 'int64', 'H5T_STD_I64LE', [2]],
          ['nested/u8', 'uint8', 'H5T_STD_U8LE', [3]],
          ['scalar', 'float64', 'H5T_IEEE_F64LE', []],
        ],
      );
      const skipped = ckpt.metadata.skipped_datasets as Record<string, string>;
      assert.deepEqual(Object.keys(skipped).sort(), ['external', 'labels', 'soft_alias']);
      const f64 = await ckpt.read('b_float64');
      assert.ok(f64 instanceof Float64Array);
      assert.deepEqual([...f64], [0.1, -2.5, 1e300]);
      const i32 = await ckpt.read('a_int32');
      assert.ok(i32 instanceof Float64Array, 'int32 decodes exactly, to float64');
      assert.deepEqual([...i32], [2147483647, -2147483648, 0, 7]);
      assert.deepEqual([...(await ckpt.read('nested/u8'))], [0, 255, 128]);
      assert.deepEqual([...(await ckpt.read('nested/i64'))], [-(2 ** 40), 3]);
      assert.deepEqual([...(await ckpt.read('nested/i16'))], [-32768, 5]);
      assert.deepEqual([...(await ckpt.read('scalar'))], [3.25]);
    } finally {
      await ckpt.close();
    }
  });

  it('enters a group reached by several hard links (or a cycle) once', async () => {
    const file = writeH5('hard-links.h5', (f) => {
      f.create_group('g').create_dataset({ name: 'x', data: new Float32Array([1, 2]) });
      f.create_hard_link('/g', '/g/again');
      f.create_hard_link('/g', '/alias');
    });
    const ckpt = await openCheckpoint(file);
    try {
      assert.deepEqual(ckpt.tensors.map((t) => t.name), ['alias/x']);
    } finally {
      await ckpt.close();
    }
  });

  it('reads gzip-compressed chunked datasets, whole or in slabs', async () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => i * 0.5 - 100);
    const file = writeH5('compressed.h5', (f) => {
      f.create_dataset({ name: 'z', data: values, shape: [100, 10], chunks: [7, 10], compression: 9 });
    });
    const ckpt = await openCheckpoint(file);
    try {
      assert.deepEqual([...(await ckpt.read('z'))], [...values]);
    } finally {
      await ckpt.close();
    }
    // The same data read 3 rows (120 bytes) at a time, as datasets past SLAB_BYTES are.
    const fail = errorFactory(file, 'keras-h5');
    const id = h5.mod.open(file, h5.mod.H5F_ACC_RDONLY, false, -1, -1);
    try {
      const ds = describeDataset(h5.mod, id, '/z', fs.statSync(file).size, fail);
      assert.ok(!('unsupported' in ds) && ds.chunked);
      assert.deepEqual([...readDataset(h5.mod, id, ds, fail, 120)], [...values]);
    } finally {
      h5.mod.close_file(id);
    }
  });

  it('decodes float16 and big-endian float32 datasets', async () => {
    // h5wasm writes neither, so a float32 dataset's datatype message is rewritten in place (same length).
    const halves = [1, -2, 0.5, 65504, 2 ** -24, -0];
    const halfBits = new Uint16Array([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000]);
    const half = writeH5('float16.h5', (f) => {
      f.create_dataset({ name: 'h', data: new Float32Array(halfBits.buffer), shape: [3, 1] });
    }, true);
    patchOnce(half, F32LE_MESSAGE, Buffer.from('11200f0002000000000010000a05000a0f000000', 'hex'));
    // dims and maxdims 3 × 1 (float32) → 3 × 2 (float16): the 12 data bytes stay where they are.
    const dims = (a: number, b: number) => {
      const d = Buffer.alloc(16);
      d.writeBigUInt64LE(BigInt(a), 0);
      d.writeBigUInt64LE(BigInt(b), 8);
      return d;
    };
    patchOnce(half, Buffer.concat([dims(3, 1), dims(3, 1)]), Buffer.concat([dims(3, 2), dims(3, 2)]));
    const bigEndian = writeH5('float32be.h5', (f) => {
      const be = Buffer.alloc(12);
      [1.5, -3, 1e-20].forEach((v, i) => be.writeFloatBE(v, i * 4));
      f.create_dataset({ name: 'b', data: new Float32Array(be.buffer, be.byteOffset, 3) });
    }, true);
    patchOnce(bigEndian, F32LE_MESSAGE, Buffer.from('11211f000400000000002000170800177f000000', 'hex'));

    const h = await openCheckpoint(half);
    try {
      assert.deepEqual(
        h.tensors.map((t) => [t.dtype, t.storedDtype, [...t.shape], t.bytes]),
        [['float16', 'H5T_IEEE_F16LE', [3, 2], 12]],
      );
      assert.deepEqual([...(await h.read('h'))], halves);
    } finally {
      await h.close();
    }
    const b = await openCheckpoint(bigEndian);
    try {
      assert.equal(b.tensors[0].storedDtype, 'H5T_IEEE_F32BE');
      assert.deepEqual([...(await b.read('b'))], [...new Float32Array([1.5, -3, 1e-20])]);
    } finally {
      await b.close();
    }
  });
});

describe('keras-h5: broken and hostile files give typed errors', () => {
  it('a truncated copy of the fixture is "truncated"', async () => {
    const whole = fs.readFileSync(KERAS_FIXTURE);
    for (const cut of [whole.length / 2, 4096, 100]) {
      const file = tmp(`truncated-${cut}.h5`);
      fs.writeFileSync(file, whole.subarray(0, cut));
      const e = await rejectsWith(file, 'truncated');
      assert.match(e.message, new RegExp(`file is ${cut} bytes but its HDF5 superblock says ${whole.length}`));
    }
  });

  it('an HDF5 signature followed by garbage is "corrupt"', async () => {
    const file = tmp('garbage.h5');
    const noise = Buffer.alloc(4096);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    fs.writeFileSync(file, Buffer.concat([HDF5_SIGNATURE, noise]));
    await rejectsWith(file, 'corrupt');
  });

  it('damaged compressed data is "corrupt" when the tensor is read', async () => {
    const file = writeH5('damaged-deflate.h5', (f) => {
      const values = Float32Array.from({ length: 4000 }, (_, i) => Math.sin(i));
      f.create_dataset({ name: 'z', data: values, shape: [400, 10], chunks: [100, 10], compression: 9 });
    });
    const bytes = fs.readFileSync(file);
    const zlib = bytes.indexOf(Buffer.from([0x78, 0xda])); // zlib header of the first chunk, best compression
    assert.ok(zlib > 0);
    for (let i = zlib + 10; i < zlib + 60; i++) bytes[i] ^= 0x5a;
    fs.writeFileSync(file, bytes);
    const ckpt = await openCheckpoint(file); // the header is intact: listing works, reading fails
    try {
      await assert.rejects(ckpt.read('z'), (e: unknown) => e instanceof CheckpointError && e.kind === 'corrupt' && e.message.includes(file));
    } finally {
      await ckpt.close();
    }
  });

  it('a chunked dataset that declares far more data than the file could hold is refused before allocating', async () => {
    const file = writeH5('huge-chunked.h5', (f) => {
      f.create_dataset({ name: 'big', data: new Float32Array(10), maxshape: [null], chunks: [10] });
      (f.get('big') as unknown as { resize(shape: number[]): void }).resize([500_000_000]);
    });
    const e = await rejectsWith(file, 'too_large');
    assert.match(e.message, /"\/big"/);
  });

  it('groups nested past the depth limit are "too_deep"', async () => {
    const file = writeH5('deep.h5', (f) => {
      let g = f.create_group('level');
      for (let i = 0; i < MAX_GROUP_DEPTH; i++) g = g.create_group('level');
      g.create_dataset({ name: 'x', data: new Float32Array([1]) });
    });
    await rejectsWith(file, 'too_deep');
  });

  it('a Keras weight that is a soft link is refused, not followed', async () => {
    const file = writeH5('soft-weight.h5', (f) => {
      f.create_attribute('layer_names', ['dense'], null, 'S5');
      const g = f.create_group('dense');
      g.create_attribute('weight_names', ['dense/kernel:0'], null, 'S20');
      g.create_group('dense');
      f.create_dataset({ name: 'elsewhere', data: new Float32Array([1]) });
      f.create_soft_link('/elsewhere', '/dense/dense/kernel:0');
    });
    const e = await rejectsWith(file, 'corrupt');
    assert.match(e.message, /"dense\/dense\/kernel:0" is a soft link/);
  });

  it('the library keeps working after the errors above', async () => {
    const ckpt = await openCheckpoint(KERAS_FIXTURE);
    try {
      assert.equal(ckpt.tensors.length, 96);
      assert.equal((await ckpt.read(ckpt.tensors[1].name)).length, 64);
    } finally {
      await ckpt.close();
    }
  });
});
