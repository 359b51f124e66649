/**
 * ONNX reader edge cases the fixtures do not cover, on ModelProto bytes built here with a tiny wire-format encoder.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { reader } from '../../src/core/checkpoint/formats/onnx';
import { openCheckpoint, probeFile } from '../../src/core/checkpoint/registry';
import type { Checkpoint } from '../../src/core/checkpoint/types';
import { CheckpointError, type CheckpointErrorKind } from '../../src/core/errors';
import { FIXTURES, loadReference } from '../helpers/fixtures';

// --- protobuf wire encoding (protobuf.dev/programming-guides/encoding) ---
type Bytes = number[];
function varint(n: number | bigint): Bytes {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: Bytes = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? b | 0x80 : b);
  } while (v);
  return out;
}
const key = (no: number, wire: number) => varint(no * 8 + wire);
const vint = (no: number, n: number | bigint): Bytes => [...key(no, 0), ...varint(n)];
const len = (no: number, payload: ArrayLike<number>): Bytes => [...key(no, 2), ...varint(payload.length), ...Array.from(payload)];
const str = (no: number, s: string): Bytes => len(no, Buffer.from(s, 'utf8'));
const f32 = (...v: number[]): Bytes => Array.from(Buffer.from(new Float32Array(v).buffer));
const packedVarints = (no: number, values: (number | bigint)[]): Bytes => len(no, values.flatMap((v) => varint(v)));

// --- ONNX messages (onnx.proto3 field numbers) ---
interface TensorSpec {
  name?: string;
  dataType: number;
  dims: (number | bigint)[];
  raw?: ArrayLike<number>;
  fields?: Bytes;
  external?: Record<string, string>;
}
function tensorProto(t: TensorSpec): Bytes {
  return [
    ...packedVarints(1, t.dims),
    ...vint(2, t.dataType),
    ...(t.name !== undefined ? str(8, t.name) : []),
    ...(t.raw ? len(9, t.raw) : []),
    ...(t.fields ?? []),
    ...Object.entries(t.external ?? {}).flatMap(([k, v]) => len(13, [...str(1, k), ...str(2, v)])),
    ...(t.external ? vint(14, 1) : []),
  ];
}
const attribute = (name: string, ...parts: Bytes[]): Bytes => len(5, [...str(1, name), ...parts.flat()]);
const node = (opType: string, outputs: string[], ...attributes: Bytes[]): Bytes =>
  len(1, [...outputs.flatMap((o) => str(2, o)), ...str(4, opType), ...attributes.flat()]);
const constant = (output: string, t: TensorSpec): Bytes => node('Constant', [output], attribute('value', len(5, tensorProto(t)), vint(20, 4)));
const graph = (parts: { nodes?: Bytes[]; initializers?: TensorSpec[] }): Bytes => [
  ...(parts.nodes ?? []).flat(),
  ...str(2, 'g'),
  ...(parts.initializers ?? []).flatMap((t) => len(5, tensorProto(t))),
];
const model = (g: Bytes): Buffer =>
  Buffer.from([...vint(1, 8), ...str(2, 'unit-test'), ...len(7, g), ...len(8, [...str(1, ''), ...vint(2, 17)])]);

const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;
const INT16 = 5;
const INT32 = 6;
const INT64 = 7;
const BOOL = 9;
const FLOAT16 = 10;
const DOUBLE = 11;
const UINT32 = 12;
const BFLOAT16 = 16;

// --- files ---
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-onnx-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let counter = 0;
function folder(): string {
  const dir = path.join(root, `m${counter++}`);
  fs.mkdirSync(dir);
  return dir;
}
function write(bytes: Buffer, extra: Record<string, Buffer> = {}, name = 'model.onnx'): string {
  const dir = folder();
  for (const [n, b] of Object.entries(extra)) fs.writeFileSync(path.join(dir, n), b);
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

async function withModel<T>(file: string, fn: (c: Checkpoint) => Promise<T>): Promise<T> {
  const c = await openCheckpoint(file);
  try {
    assert.equal(c.format, 'onnx');
    return await fn(c);
  } finally {
    await c.close();
  }
}

async function values(file: string, name: string): Promise<number[]> {
  return withModel(file, async (c) => Array.from(await c.read(name)));
}

async function refuses(file: string, kind: CheckpointErrorKind, pattern?: RegExp): Promise<void> {
  await assert.rejects(
    (async () => {
      const c = await openCheckpoint(file);
      try {
        for (const t of c.tensors) await c.read(t.name);
      } finally {
        await c.close();
      }
    })(),
    (e: unknown) => {
      assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${e}`);
      assert.equal(e.kind, kind, e.message);
      if (pattern) assert.match(e.message, pattern);
      return true;
    },
  );
}

describe('onnx: typed value fields', () => {
  it('reads FLOAT from packed float_data, as one contiguous range', async () => {
    const file = write(model(graph({ initializers: [{ name: 'w', dataType: FLOAT, dims: [2, 2], fields: len(4, f32(1.5, -2, 0.25, 8)) }] })));
    await withModel(file, async (c) => {
      const t = c.tensors[0];
      assert.deepEqual([t.name, t.dtype, t.storedDtype, [...t.shape], t.bytes], ['w', 'float32', 'FLOAT', [2, 2], 16]);
      assert.equal(fs.readFileSync(file).subarray(t.offset!, t.offset! + 4).readFloatLE(0), 1.5);
      assert.deepEqual(Array.from(await c.read('w')), [1.5, -2, 0.25, 8]);
    });
  });

  it('reads FLOAT from unpacked float_data (one key per value)', async () => {
    const fields = [1, 2, 3].flatMap((v) => [...key(4, 5), ...f32(v)]);
    const file = write(model(graph({ initializers: [{ name: 'w', dataType: FLOAT, dims: [3], fields }] })));
    assert.deepEqual(await values(file, 'w'), [1, 2, 3]);
  });

  it('reads FLOAT16 and BFLOAT16 bit patterns from int32_data, packed or not', async () => {
    const unpacked = [0x3c00, 0xc000].flatMap((v) => vint(5, v));
    const file = write(
      model(
        graph({
          initializers: [
            { name: 'h', dataType: FLOAT16, dims: [3], fields: packedVarints(5, [0x3c00, 0xc000, 0x7bff]) },
            { name: 'h2', dataType: FLOAT16, dims: [2], fields: unpacked },
            { name: 'b', dataType: BFLOAT16, dims: [2], fields: packedVarints(5, [0x3fc0, 0xc050]) },
          ],
        }),
      ),
    );
    await withModel(file, async (c) => {
      assert.equal(c.tensors[0].dtype, 'float16');
      assert.equal(c.tensors[0].storedDtype, 'FLOAT16');
      assert.equal(c.tensors[0].offset, undefined, 'varints are not a contiguous element range');
      assert.deepEqual(Array.from(await c.read('h')), [1, -2, 65504]);
      assert.deepEqual(Array.from(await c.read('h2')), [1, -2]);
      assert.deepEqual(Array.from(await c.read('b')), [1.5, -3.25]);
    });
  });

  it('reads the integer types from int32_data, int64_data, uint64_data and DOUBLE from double_data', async () => {
    const file = write(
      model(
        graph({
          initializers: [
            { name: 'i8', dataType: INT8, dims: [3], fields: packedVarints(5, [-128, 5, 127]) },
            { name: 'u8', dataType: UINT8, dims: [2], fields: packedVarints(5, [0, 255]) },
            { name: 'i16', dataType: INT16, dims: [2], fields: packedVarints(5, [-32768, 300]) },
            { name: 'i32', dataType: INT32, dims: [2], fields: packedVarints(5, [-2147483648, 2147483647]) },
            { name: 'b', dataType: BOOL, dims: [3], fields: packedVarints(5, [1, 0, 1]) },
            { name: 'i64', dataType: INT64, dims: [3], fields: packedVarints(7, [-1, 2n ** 40n, -(2n ** 50n)]) },
            { name: 'u32', dataType: UINT32, dims: [1], fields: packedVarints(11, [4294967295]) },
            { name: 'f64', dataType: DOUBLE, dims: [2], fields: len(10, Buffer.from(new Float64Array([Math.PI, -1e300]).buffer)) },
          ],
        }),
      ),
    );
    await withModel(file, async (c) => {
      const dtypes = Object.fromEntries(c.tensors.map((t) => [t.name, t.dtype]));
      assert.deepEqual(dtypes, { i8: 'int8', u8: 'uint8', i16: 'int16', i32: 'int32', b: 'bool', i64: 'int64', u32: 'uint32', f64: 'float64' });
      assert.deepEqual(Array.from(await c.read('i8')), [-128, 5, 127]);
      assert.deepEqual(Array.from(await c.read('u8')), [0, 255]);
      assert.deepEqual(Array.from(await c.read('i16')), [-32768, 300]);
      assert.deepEqual(Array.from(await c.read('i32')), [-2147483648, 2147483647]);
      assert.deepEqual(Array.from(await c.read('b')), [1, 0, 1]);
      assert.deepEqual(Array.from(await c.read('i64')), [-1, 2 ** 40, -(2 ** 50)]);
      assert.deepEqual(Array.from(await c.read('u32')), [4294967295]);
      assert.deepEqual(Array.from(await c.read('f64')), [Math.PI, -1e300]);
    });
  });

  it('reads little-endian raw_data of every decoded dtype', async () => {
    const bf16 = Buffer.alloc(4);
    bf16.writeUInt16LE(0x3fc0, 0);
    bf16.writeUInt16LE(0xc050, 2);
    const i64 = Buffer.from(new BigInt64Array([-5n, 1n << 40n]).buffer);
    const file = write(
      model(
        graph({
          initializers: [
            { name: 'bf', dataType: BFLOAT16, dims: [2], raw: bf16 },
            { name: 'i64', dataType: INT64, dims: [2], raw: i64 },
            { name: 'i8', dataType: INT8, dims: [2], raw: [0xff, 0x7f] },
          ],
        }),
      ),
    );
    await withModel(file, async (c) => {
      assert.deepEqual(Array.from(await c.read('bf')), [1.5, -3.25]);
      assert.deepEqual(Array.from(await c.read('i64')), [-5, 2 ** 40]);
      assert.deepEqual(Array.from(await c.read('i8')), [-1, 127]);
    });
  });

  it('refuses values in the wrong typed field, and value counts that disagree with the shape', async () => {
    const wrongField = write(model(graph({ initializers: [{ name: 'h', dataType: FLOAT16, dims: [1], fields: len(4, f32(1)) }] })));
    await refuses(wrongField, 'corrupt', /float_data/);
    const tooFew = write(model(graph({ initializers: [{ name: 'w', dataType: FLOAT, dims: [3], fields: len(4, f32(1, 2)) }] })));
    await refuses(tooFew, 'corrupt', /2 values/);
    const fewVarints = write(model(graph({ initializers: [{ name: 'i', dataType: INT64, dims: [3], fields: packedVarints(7, [1000, 1000]) }] })));
    await refuses(fewVarints, 'corrupt', /2 values/);
    const noData = write(model(graph({ initializers: [{ name: 'w', dataType: FLOAT, dims: [3] }] })));
    await refuses(noData, 'corrupt', /no data/);
  });

  it('skips STRING tensors, lists undecodable types and refuses to read them', async () => {
    const file = write(
      model(
        graph({
          initializers: [
            { name: 's', dataType: 8, dims: [1], fields: str(6, 'text') },
            { name: 'q', dataType: 22 /* INT4 */, dims: [4], raw: [0x12, 0x34] },
            { name: 'w', dataType: FLOAT, dims: [1], raw: f32(1) },
          ],
        }),
      ),
    );
    await withModel(file, async (c) => {
      assert.deepEqual(c.tensors.map((t) => `${t.name}:${t.dtype}:${t.storedDtype}:${t.bytes}`), ['q:int4:INT4:2', 'w:float32:FLOAT:4']);
      assert.deepEqual(c.metadata.skipped, ['s (STRING tensor)']);
      assert.deepEqual([c.metadata.irVersion, c.metadata.producerName, c.metadata.opsetImport], [8, 'unit-test', [{ domain: '', version: 17 }]]);
      await assert.rejects(c.read('q'), (e: unknown) => e instanceof CheckpointError && e.kind === 'unsupported');
    });
  });

  it('refuses raw_data whose length disagrees with dtype × shape', async () => {
    const file = write(model(graph({ initializers: [{ name: 'w', dataType: FLOAT, dims: [3], raw: f32(1, 2) }] })));
    await refuses(file, 'invalid_offsets', /8 bytes of raw_data/);
  });
});

describe('onnx: Constant nodes', () => {
  it('names a Constant by its output, also inside a Loop body and a GRAPHS list attribute', async () => {
    const body = graph({ nodes: [constant('loop/c', { name: 'proto-name', dataType: FLOAT, dims: [2], raw: f32(3, 4) })] });
    const listed = graph({ nodes: [constant('listed/c', { dataType: INT64, dims: [1], fields: packedVarints(7, [-7]) })] });
    const g = graph({
      nodes: [
        node('Loop', ['out'], attribute('body', len(6, body), vint(20, 5))),
        node('Scan', ['out2'], attribute('bodies', len(11, listed), vint(20, 10))),
      ],
    });
    const file = write(model(g));
    await withModel(file, async (c) => {
      assert.deepEqual(c.tensors.map((t) => t.name).sort(), ['listed/c', 'loop/c']);
      assert.deepEqual(Array.from(await c.read('loop/c')), [3, 4]);
      assert.deepEqual(Array.from(await c.read('listed/c')), [-7]);
      assert.equal(c.metadata.constants, 2);
    });
  });

  it('reads value_float, value_floats, value_int and value_ints Constants', async () => {
    const g = graph({
      nodes: [
        node('Constant', ['vf'], attribute('value_float', [...key(2, 5), ...f32(2.5)])),
        node('Constant', ['vfs'], attribute('value_floats', len(7, f32(1, -1, 0.5)))),
        node('Constant', ['vi'], attribute('value_int', vint(3, -9))),
        node('Constant', ['vis'], attribute('value_ints', packedVarints(8, [4, -4, 2 ** 40]))),
        node('Constant', ['vs'], attribute('value_string', str(4, 'text'))),
        node('Relu', ['r'], attribute('alpha', [...key(2, 5), ...f32(1)])),
      ],
    });
    const file = write(model(g));
    await withModel(file, async (c) => {
      const shapes = Object.fromEntries(c.tensors.map((t) => [t.name, [t.dtype, ...t.shape]]));
      assert.deepEqual(shapes, { vf: ['float32'], vfs: ['float32', 3], vi: ['int64'], vis: ['int64', 3] });
      assert.deepEqual(Array.from(await c.read('vf')), [2.5]);
      assert.deepEqual(Array.from(await c.read('vfs')), [1, -1, 0.5]);
      assert.deepEqual(Array.from(await c.read('vi')), [-9]);
      assert.deepEqual(Array.from(await c.read('vis')), [4, -4, 2 ** 40]);
    });
  });

  it('refuses subgraphs nested past the depth limit without overflowing the stack', async () => {
    const nest = (levels: number): Bytes => {
      let g = graph({ nodes: [constant('deep', { dataType: FLOAT, dims: [], raw: f32(1) })] });
      for (let i = 0; i < levels; i++) g = graph({ nodes: [node('If', [`o${i}`], attribute('then_branch', len(6, g)))] });
      return g;
    };
    assert.deepEqual(await values(write(model(nest(100))), 'deep'), [1]);
    await refuses(write(model(nest(300))), 'too_deep');
  });
});

describe('onnx: external data', () => {
  const data = Buffer.from([...f32(9, 9), ...f32(1, 2, 3, 4)]);
  const ext = (location: string, offset = '8', length = '16'): TensorSpec => ({
    name: 'w',
    dataType: FLOAT,
    dims: [4],
    external: { location, offset, length },
  });

  it('reads a tensor from its data file by offset and lists the file', async () => {
    const file = write(model(graph({ initializers: [ext('weights.bin')] })), { 'weights.bin': data });
    await withModel(file, async (c) => {
      const dataPath = path.join(path.dirname(file), 'weights.bin');
      assert.deepEqual(c.files, [file, dataPath]);
      assert.deepEqual([c.tensors[0].file, c.tensors[0].offset, c.tensors[0].bytes], [dataPath, 8, 16]);
      assert.deepEqual(Array.from(await c.read('w')), [1, 2, 3, 4]);
    });
  });

  it('refuses a location outside the model folder', async () => {
    const dir = folder();
    fs.writeFileSync(path.join(dir, 'secret.bin'), data);
    const sub = path.join(dir, 'model');
    fs.mkdirSync(sub);
    const escaping = path.join(sub, 'model.onnx');
    fs.writeFileSync(escaping, model(graph({ initializers: [ext('../secret.bin')] })));
    await refuses(escaping, 'unsafe_path', /outside the model's folder/);
    const absolute = write(model(graph({ initializers: [ext(path.join(dir, 'secret.bin'))] })));
    await refuses(absolute, 'unsafe_path');
    const backslashes = write(model(graph({ initializers: [ext('sub\\..\\..\\secret.bin')] })));
    await refuses(backslashes, 'unsafe_path');
  });

  it('refuses a symbolic link that leads out of the model folder', async (t) => {
    const dir = folder();
    fs.writeFileSync(path.join(dir, 'secret.bin'), data);
    const sub = path.join(dir, 'model');
    fs.mkdirSync(sub);
    try {
      fs.symlinkSync(path.join(dir, 'secret.bin'), path.join(sub, 'link.bin'));
    } catch {
      t.skip('cannot create symbolic links here');
      return;
    }
    fs.writeFileSync(path.join(sub, 'model.onnx'), model(graph({ initializers: [ext('link.bin')] })));
    await refuses(path.join(sub, 'model.onnx'), 'unsafe_path');
  });

  it('refuses extents past the end of the data file, a length that disagrees with the shape, and a missing file', async () => {
    await refuses(write(model(graph({ initializers: [ext('w.bin', '16')] })), { 'w.bin': data }), 'truncated', /cut short/);
    await refuses(write(model(graph({ initializers: [ext('w.bin', '4096')] })), { 'w.bin': data }), 'invalid_offsets');
    await refuses(write(model(graph({ initializers: [ext('w.bin', '0', '12')] })), { 'w.bin': data }), 'invalid_offsets', /needs 16/);
    await refuses(write(model(graph({ initializers: [ext('w.bin', '-8')] })), { 'w.bin': data }), 'invalid_offsets');
    await refuses(write(model(graph({ initializers: [ext('missing.bin')] }))), 'not_found');
  });
});

describe('onnx: broken and hostile models', () => {
  const good = model(graph({ initializers: [{ name: 'w', dataType: FLOAT, dims: [64], raw: f32(...new Array(64).fill(1)) }] }));

  it('refuses a model cut short', async () => {
    await refuses(write(good.subarray(0, good.length - 40)), 'truncated');
    await refuses(write(good.subarray(0, 30)), 'truncated');
  });

  it('refuses negative dims as corrupt and huge dims as too large, before allocating', async () => {
    await refuses(write(model(graph({ initializers: [{ name: 'w', dataType: FLOAT, dims: [2, -3], raw: [] }] }))), 'corrupt', /negative/);
    await refuses(write(model(graph({ initializers: [{ name: 'w', dataType: FLOAT, dims: [1e6, 1e6], raw: f32(1) }] }))), 'too_large');
    await refuses(write(model(graph({ initializers: [{ name: 'w', dataType: FLOAT, dims: [2n ** 62n], raw: f32(1) }] }))), 'too_large');
  });

  it('refuses a length that runs past its enclosing message', async () => {
    const inner = [...key(1, 2), ...varint(1000), 1, 2, 3];
    await refuses(write(Buffer.from([...vint(1, 8), ...len(7, inner), ...new Array(2000).fill(0)])), 'corrupt');
  });

  it('matches by content, not by name, and leaves other binaries alone', async () => {
    const named = write(good, {}, 'weights.bin');
    assert.equal(reader.match(await probeFile(named)), 2);
    const safetensors = path.join(FIXTURES, 'converted', 'st_mixed.safetensors');
    assert.equal(reader.match(await probeFile(safetensors)), 0);
    const random = write(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)), {}, 'noise.bin');
    assert.equal(reader.match(await probeFile(random)), 0);
    const textWithOnnxName = write(Buffer.from('hello world'), {}, 'x.onnx');
    assert.equal(reader.match(await probeFile(textWithOnnxName)), 1);
    const noGraph = write(Buffer.from([...vint(1, 8), ...str(2, 'p')]), {}, 'nograph.bin');
    assert.equal(reader.match(await probeFile(noGraph)), 0);
  });

  it('refuses a model without a graph', async () => {
    await refuses(write(Buffer.from([...vint(1, 8), ...str(2, 'p')])), 'corrupt', /no graph/);
  });

  it('reads tensor bytes at read time, not at open', async () => {
    const file = write(good);
    const c = await openCheckpoint(file);
    try {
      const { offset } = c.tensors[0];
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, Buffer.from(f32(7)), 0, 4, offset!);
      fs.closeSync(fd);
      assert.equal((await c.read('w'))[0], 7);
    } finally {
      await c.close();
    }
  });
});

describe('onnx: fixtures', () => {
  it('places the external tensors of converted/onnx_external where reference.json says', async () => {
    const ref = loadReference().files['converted/onnx_external/model.onnx'] as unknown as {
      tensors: { name: string; storage: string; external_offset?: number; external_length?: number }[];
    };
    await withModel(path.join(FIXTURES, 'converted/onnx_external/model.onnx'), async (c) => {
      const byName = new Map(c.tensors.map((t) => [t.name, t]));
      const external = ref.tensors.filter((t) => t.storage === 'external');
      assert.equal(external.length, 18);
      for (const t of external) {
        const info = byName.get(t.name)!;
        assert.ok(info.file.endsWith('model.onnx.data'), t.name);
        assert.deepEqual([info.offset, info.bytes], [t.external_offset, t.external_length], t.name);
      }
      assert.equal(c.files.length, 2);
    });
  });
});
