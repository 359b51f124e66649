/**
 * PyTorch reader edge cases the fixtures do not cover. Pickles are assembled opcode by opcode and zips byte
 * by byte here (no Python at test time), written to a temporary folder, and opened through the registry.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { openCheckpoint, probeFile } from '../../src/core/checkpoint/registry';
import { reader } from '../../src/core/checkpoint/formats/pytorch';
import { CheckpointError, type CheckpointErrorKind } from '../../src/core/errors';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-pytorch-'));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

// ---------------------------------------------------------------- pickle assembly

/** Builds a pickle opcode by opcode. */
class Pickle {
  private readonly parts: Buffer[] = [];

  raw(...bytes: (number | Buffer)[]): this {
    for (const b of bytes) this.parts.push(typeof b === 'number' ? Buffer.from([b]) : b);
    return this;
  }
  proto(n = 2): this {
    return this.raw(0x80, n);
  }
  global(module: string, name: string): this {
    return this.raw(Buffer.from(`c${module}\n${name}\n`, 'utf8'));
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return this.raw(0x58, len, b);
  }
  shortStr(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.raw(0x8c, b.length, b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.raw(0x4b, n);
    if (n >= 0 && n < 65536) return this.raw(0x4d, n & 0xff, n >> 8);
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return this.raw(0x4a, b);
  }
  ints(values: number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.raw(0x74); // TUPLE
  }
  mark(): this {
    return this.raw(0x28);
  }
  tuple(): this {
    return this.raw(0x74);
  }
  emptyTuple(): this {
    return this.raw(0x29);
  }
  emptyDict(): this {
    return this.raw(0x7d);
  }
  setitems(): this {
    return this.raw(0x75);
  }
  reduce(): this {
    return this.raw(0x52);
  }
  put(i: number): this {
    return this.raw(0x71, i);
  }
  get(i: number): this {
    return this.raw(0x68, i);
  }
  stop(): this {
    return this.raw(0x2e);
  }
  orderedDict(): this {
    return this.global('collections', 'OrderedDict').emptyTuple().reduce();
  }
  /** ('storage', torch.<cls>, key, 'cpu', numel[, None]) BINPERSID */
  storage(cls: string, key: string, numel: number, legacy = false): this {
    this.mark().str('storage').global('torch', cls).str(key).str('cpu').int(numel);
    if (legacy) this.raw(0x4e);
    return this.tuple().raw(0x51);
  }
  /** torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()) */
  tensor(t: TensorSpec, legacy = false): this {
    this.global('torch._utils', '_rebuild_tensor_v2').mark();
    this.storage(t.cls, t.key, t.numel, legacy).int(t.offset ?? 0).ints(t.shape).ints(t.stride ?? rowMajor(t.shape));
    return this.raw(0x89).orderedDict().tuple().reduce();
  }
  /** OrderedDict of name → tensor, then STOP. */
  stateDict(tensors: [string, TensorSpec][], legacy = false): this {
    this.proto().orderedDict().mark();
    for (const [name, t] of tensors) this.str(name).tensor(t, legacy);
    return this.setitems().stop();
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

interface TensorSpec {
  cls: string;
  key: string;
  numel: number;
  shape: number[];
  stride?: number[];
  offset?: number;
}

function rowMajor(shape: number[]): number[] {
  const s: number[] = [];
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

// ---------------------------------------------------------------- containers

interface ZipEntry {
  name: string;
  data: Buffer;
  deflate?: boolean;
}

/** A minimal zip (APPNOTE 4.3): local headers + data, central directory, end record. */
function zip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const body = e.deflate ? zlib.deflateRawSync(e.data) : e.data;
    const crc = zlib.crc32(e.data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(e.deflate ? 8 : 0, 8);
    lh.writeUInt16LE(0x21, 12);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(body.length, 18);
    lh.writeUInt32LE(e.data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(e.deflate ? 8 : 0, 10);
    ch.writeUInt16LE(0x21, 14);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(body.length, 20);
    ch.writeUInt32LE(e.data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, body);
    centrals.push(ch, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** torch.save's zip layout under folder `archive`: data.pkl, data/<key>, version (+ extras). */
function torchZip(pkl: Buffer, storages: Record<string, Buffer>, extra: ZipEntry[] = [], folder = 'archive'): Buffer {
  return zip([
    { name: `${folder}/data.pkl`, data: pkl },
    ...Object.entries(storages).map(([k, data]) => ({ name: `${folder}/data/${k}`, data })),
    { name: `${folder}/version`, data: Buffer.from('3\n') },
    ...extra,
  ]);
}

/** The legacy layout: magic, protocol, sys_info, object, key list pickles; then per key int64 count + bytes. */
function legacyFile(objectPickle: Buffer, storages: [string, number, Buffer][]): Buffer {
  const magic = new Pickle().proto().raw(0x8a, 10, Buffer.from('6cfc9c46f9206aa85019', 'hex')).stop().bytes();
  const version = new Pickle().proto().int(1001).stop().bytes();
  const sysInfo = new Pickle().proto().emptyDict().mark().str('protocol_version').int(1001).str('little_endian').raw(0x88).setitems().stop().bytes();
  const keys = new Pickle().proto().raw(0x5d).mark();
  for (const [k] of storages) keys.str(k);
  const parts = [magic, version, sysInfo, objectPickle, keys.raw(0x65).stop().bytes()];
  for (const [, count, data] of storages) {
    const n = Buffer.alloc(8);
    n.writeBigInt64LE(BigInt(count));
    parts.push(n, data);
  }
  return Buffer.concat(parts);
}

let fileCounter = 0;
function write(bytes: Buffer, ext = '.pt'): string {
  const p = path.join(TMP, `f${fileCounter++}${ext}`);
  fs.writeFileSync(p, bytes);
  return p;
}

const f32 = (...v: number[]) => Buffer.from(new Float32Array(v).buffer);

async function readAll(file: string): Promise<Map<string, number[]>> {
  const ckpt = await openCheckpoint(file);
  try {
    const out = new Map<string, number[]>();
    for (const t of ckpt.tensors) out.set(t.name, [...(await ckpt.read(t.name))]);
    return out;
  } finally {
    await ckpt.close();
  }
}

async function rejectsWith(promise: Promise<unknown>, kind: CheckpointErrorKind, text?: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${e instanceof Error ? e.stack : e}`);
    assert.equal(e.kind, kind, e.message);
    if (text) assert.match(e.message, text);
    return true;
  });
}

// ---------------------------------------------------------------- tests

describe('pytorch: content matching', () => {
  const probe = (head: Buffer, name: string) => reader.match({ path: name, size: head.length, head });

  it('claims torch zips by their data.pkl member whatever the folder or extension', () => {
    const z = torchZip(new Pickle().proto().emptyDict().stop().bytes(), {}, [], 'my model v2');
    assert.equal(probe(z, 'weights.data'), 2);
  });

  it('claims legacy pickles by the magic number, and only hints by extension otherwise', () => {
    const legacy = legacyFile(new Pickle().proto().emptyDict().stop().bytes(), []);
    assert.equal(probe(legacy, 'x.whatever'), 2);
    assert.equal(probe(Buffer.from('L119547037146038801333356L\n.'), 'x'), 2);
    assert.equal(probe(Buffer.from('hello world'), 'model.pth'), 1);
    assert.equal(probe(Buffer.from('hello world'), 'model.ckpt'), 1);
    assert.equal(probe(Buffer.from('hello world'), 'model.txt'), 0);
    const npzLike = zip([{ name: 'a.npy', data: Buffer.from('x') }]);
    assert.equal(probe(npzLike, 'a.npz'), 0);
  });
});

describe('pytorch: zip checkpoints', () => {
  it('reads every plain dtype, 0-d tensors and keeps state_dict order', async () => {
    const i64 = Buffer.alloc(16);
    i64.writeBigInt64LE(-5n, 0);
    i64.writeBigInt64LE(2n ** 40n, 8);
    const pkl = new Pickle()
      .stateDict([
        ['f64', { cls: 'DoubleStorage', key: '0', numel: 2, shape: [2] }],
        ['i64', { cls: 'LongStorage', key: '1', numel: 2, shape: [2] }],
        ['i32', { cls: 'IntStorage', key: '2', numel: 2, shape: [2] }],
        ['i16', { cls: 'ShortStorage', key: '3', numel: 2, shape: [2] }],
        ['i8', { cls: 'CharStorage', key: '4', numel: 2, shape: [2] }],
        ['u8', { cls: 'ByteStorage', key: '5', numel: 2, shape: [2] }],
        ['b', { cls: 'BoolStorage', key: '6', numel: 2, shape: [2] }],
        ['scalar', { cls: 'HalfStorage', key: '7', numel: 1, shape: [] }],
        ['bf16', { cls: 'BFloat16Storage', key: '8', numel: 1, shape: [1] }],
        ['empty', { cls: 'FloatStorage', key: '9', numel: 0, shape: [0, 3] }],
      ])
      .bytes();
    const file = write(
      torchZip(pkl, {
        0: Buffer.from(new Float64Array([0.1, -2.5]).buffer),
        1: i64,
        2: Buffer.from(new Int32Array([-7, 2147483647]).buffer),
        3: Buffer.from(new Int16Array([-300, 300]).buffer),
        4: Buffer.from(new Int8Array([-128, 127]).buffer),
        5: Buffer.from([0, 255]),
        6: Buffer.from([0, 1]),
        7: Buffer.from([0x00, 0x3c]), // float16 1.0
        8: Buffer.from([0xc0, 0x3f]), // bfloat16 1.5
        9: Buffer.alloc(0),
      }),
    );
    const ckpt = await openCheckpoint(file);
    try {
      assert.equal(ckpt.format, 'pytorch');
      assert.deepEqual(
        ckpt.tensors.map((t) => [t.name, t.dtype, t.storedDtype]),
        [
          ['f64', 'float64', 'torch.float64'],
          ['i64', 'int64', 'torch.int64'],
          ['i32', 'int32', 'torch.int32'],
          ['i16', 'int16', 'torch.int16'],
          ['i8', 'int8', 'torch.int8'],
          ['u8', 'uint8', 'torch.uint8'],
          ['b', 'bool', 'torch.bool'],
          ['scalar', 'float16', 'torch.float16'],
          ['bf16', 'bfloat16', 'torch.bfloat16'],
          ['empty', 'float32', 'torch.float32'],
        ],
      );
      const scalar = ckpt.tensors.find((t) => t.name === 'scalar')!;
      assert.deepEqual(scalar.shape, []);
      assert.equal(scalar.numel, 1);
      assert.equal(scalar.bytes, 2);
      assert.deepEqual([...(await ckpt.read('f64'))], [0.1, -2.5]);
      assert.ok((await ckpt.read('f64')) instanceof Float64Array);
      assert.deepEqual([...(await ckpt.read('i64'))], [-5, 2 ** 40]);
      assert.deepEqual([...(await ckpt.read('i32'))], [-7, 2147483647]);
      assert.deepEqual([...(await ckpt.read('i16'))], [-300, 300]);
      assert.deepEqual([...(await ckpt.read('i8'))], [-128, 127]);
      assert.deepEqual([...(await ckpt.read('u8'))], [0, 255]);
      assert.deepEqual([...(await ckpt.read('b'))], [0, 1]);
      assert.deepEqual([...(await ckpt.read('scalar'))], [1]);
      assert.deepEqual([...(await ckpt.read('bf16'))], [1.5]);
      assert.equal((await ckpt.read('empty')).length, 0);
    } finally {
      await ckpt.close();
    }
  });

  it('applies storage_offset and strides; shared storages; contiguous offsets point at the bytes', async () => {
    // storage: 0..11 as float32; "m" = 3x4 row-major, "t" = its transpose (4x3, stride [1, 4]),
    // "row1" = m[1] (offset 4), "col2" = m[:, 2] (offset 2, stride [4])
    const storage = f32(...Array.from({ length: 12 }, (_, i) => i));
    const s = { cls: 'FloatStorage', key: '0', numel: 12 };
    const pkl = new Pickle()
      .stateDict([
        ['m', { ...s, shape: [3, 4] }],
        ['t', { ...s, shape: [4, 3], stride: [1, 4] }],
        ['row1', { ...s, shape: [4], offset: 4 }],
        ['col2', { ...s, shape: [3], stride: [4], offset: 2 }],
        ['bcast', { ...s, shape: [2, 1, 3], stride: [0, 99, 1], offset: 9 }],
      ])
      .bytes();
    const bytes = torchZip(pkl, { 0: storage });
    const file = write(bytes);
    const values = await readAll(file);
    assert.deepEqual(values.get('m'), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.deepEqual(values.get('t'), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    assert.deepEqual(values.get('row1'), [4, 5, 6, 7]);
    assert.deepEqual(values.get('col2'), [2, 6, 10]);
    assert.deepEqual(values.get('bcast'), [9, 10, 11, 9, 10, 11]);
    const ckpt = await openCheckpoint(file);
    try {
      const byName = new Map(ckpt.tensors.map((t) => [t.name, t]));
      assert.equal(byName.get('t')!.offset, undefined, 'non-contiguous views have no single offset');
      assert.equal(byName.get('col2')!.offset, undefined);
      assert.equal(byName.get('t')!.bytes, 48);
      const row1 = byName.get('row1')!;
      assert.equal(row1.bytes, 16);
      assert.deepEqual(bytes.subarray(row1.offset!, row1.offset! + 16), f32(4, 5, 6, 7));
    } finally {
      await ckpt.close();
    }
  });

  it('flattens nested dicts and lists with dotted names and keeps scalars as metadata', async () => {
    const t = (key: string) => ({ cls: 'FloatStorage', key, numel: 1, shape: [1] });
    // {"model": {"fc.weight": T0, "blocks": [T1, T1]}, "epoch": 7, "name": "run", "optimizer": {"state": {0: {"exp_avg": T2}}}}
    const p = new Pickle().proto().emptyDict().mark();
    p.str('model').emptyDict().mark().str('fc.weight').tensor(t('0')).str('blocks').raw(0x5d).mark().tensor(t('1')).put(1).get(1).raw(0x65).setitems();
    p.str('epoch').int(7).str('name').str('run');
    p.str('optimizer').emptyDict().mark().str('state').emptyDict().mark().int(0).emptyDict().mark().str('exp_avg').tensor(t('2')).setitems().setitems().setitems();
    const pkl = p.setitems().stop().bytes();
    const file = write(torchZip(pkl, { 0: f32(1), 1: f32(2), 2: f32(3) }));
    const ckpt = await openCheckpoint(file);
    try {
      assert.deepEqual(
        ckpt.tensors.map((x) => x.name),
        ['model.fc.weight', 'model.blocks.0', 'model.blocks.1', 'optimizer.state.0.exp_avg'],
      );
      assert.deepEqual([...(await ckpt.read('model.blocks.1'))], [2]);
      assert.deepEqual((ckpt.metadata as { values: unknown }).values, { epoch: 7, name: 'run' });
    } finally {
      await ckpt.close();
    }
  });

  it('reads protocol 4 pickles (FRAME, STACK_GLOBAL, MEMOIZE) and Parameters', async () => {
    const frame = Buffer.alloc(8);
    const p = new Pickle().proto(4).raw(0x95, frame).shortStr('collections').shortStr('OrderedDict').raw(0x93, 0x94).emptyTuple().reduce().raw(0x94).mark();
    p.shortStr('w').shortStr('torch._utils').shortStr('_rebuild_parameter').raw(0x93).mark();
    p.tensor({ cls: 'FloatStorage', key: '0', numel: 2, shape: [2] }).raw(0x88).orderedDict().tuple().reduce();
    const pkl = p.setitems().stop().bytes();
    const values = await readAll(write(torchZip(pkl, { 0: f32(0.5, -0.5) })));
    assert.deepEqual(values.get('w'), [0.5, -0.5]);
  });

  it('reads _rebuild_tensor_v3 over an UntypedStorage (float8, uint16)', async () => {
    const v3 = (p: Pickle, key: string, bytes: number, dtype: string, shape: number[]) => {
      p.global('torch._utils', '_rebuild_tensor_v3').mark();
      p.mark().str('storage').global('torch.storage', 'UntypedStorage').str(key).str('cpu').int(bytes).tuple().raw(0x51);
      p.int(0).ints(shape).ints(rowMajor(shape)).raw(0x89).orderedDict().global('torch', dtype).tuple().reduce();
    };
    const p = new Pickle().proto().orderedDict().mark();
    p.str('fp8');
    v3(p, '0', 3, 'float8_e4m3fn', [3]);
    p.str('u16');
    v3(p, '1', 4, 'uint16', [2]);
    const pkl = p.setitems().stop().bytes();
    const file = write(torchZip(pkl, { 0: Buffer.from([0x38, 0x7e, 0xb8]), 1: Buffer.from(new Uint16Array([65535, 7]).buffer) }));
    const ckpt = await openCheckpoint(file);
    try {
      assert.deepEqual(ckpt.tensors.map((t) => t.dtype), ['float8_e4m3fn', 'uint16']);
      assert.deepEqual([...(await ckpt.read('fp8'))], [1, 448, -1]);
      assert.deepEqual([...(await ckpt.read('u16'))], [65535, 7]);
    } finally {
      await ckpt.close();
    }
  });

  it('inflates deflated storage members and honours a big-endian byteorder record', async () => {
    const pkl = new Pickle().stateDict([['w', { cls: 'FloatStorage', key: '0', numel: 3, shape: [3] }]]).bytes();
    const le = f32(1.5, -2, 1e10);
    const deflated = torchZip(pkl, {}, [{ name: 'archive/data/0', data: le, deflate: true }]);
    assert.deepEqual((await readAll(write(deflated))).get('w'), [1.5, -2, 1e10]);
    const ckpt = await openCheckpoint(write(deflated));
    assert.equal(ckpt.tensors[0].offset, undefined, 'a compressed member has no file offset');
    await ckpt.close();

    const be = Buffer.alloc(12);
    [1.5, -2, 1e10].forEach((v, i) => be.writeFloatBE(v, 4 * i));
    const big = torchZip(pkl, { 0: be }, [{ name: 'archive/byteorder', data: Buffer.from('big') }]);
    assert.deepEqual((await readAll(write(big))).get('w'), [1.5, -2, 1e10]);
  });

  it('lists complex tensors but refuses to decode them; lists quantized ones as skipped', async () => {
    const p = new Pickle().proto().orderedDict().mark();
    p.str('c').tensor({ cls: 'ComplexFloatStorage', key: '0', numel: 1, shape: [1] });
    p.str('q').global('torch._utils', '_rebuild_qtensor').mark().int(0).tuple().reduce();
    const pkl = p.setitems().stop().bytes();
    const ckpt = await openCheckpoint(write(torchZip(pkl, { 0: f32(1, 2) })));
    try {
      assert.deepEqual(ckpt.tensors.map((t) => [t.name, t.dtype, t.bytes]), [['c', 'complex64', 8]]);
      assert.deepEqual((ckpt.metadata as { unsupportedTensors: unknown }).unsupportedTensors, [
        { name: 'q', kind: 'torch._utils._rebuild_qtensor' },
      ]);
      await rejectsWith(ckpt.read('c'), 'unsupported', /complex64/);
    } finally {
      await ckpt.close();
    }
  });

  it('names a bare tensor "tensor"', async () => {
    const pkl = new Pickle().proto().tensor({ cls: 'FloatStorage', key: '0', numel: 1, shape: [] }).stop().bytes();
    assert.deepEqual([...(await readAll(write(torchZip(pkl, { 0: f32(4) }))))], [['tensor', [4]]]);
  });
});

describe('pytorch: legacy checkpoints', () => {
  const obj = () =>
    new Pickle()
      .stateDict(
        [
          ['a', { cls: 'FloatStorage', key: '140', numel: 4, shape: [2, 2], stride: [1, 2] }],
          ['b', { cls: 'LongStorage', key: '99', numel: 2, shape: [1], offset: 1 }],
        ],
        true,
      )
      .bytes();
  const i64 = Buffer.alloc(16);
  i64.writeBigInt64LE(11n, 0);
  i64.writeBigInt64LE(-3n, 8);
  const storages: [string, number, Buffer][] = [
    ['140', 4, f32(1, 2, 3, 4)],
    ['99', 2, i64],
  ];

  it('reads the five pickles and the counted storages that follow', async () => {
    const file = write(legacyFile(obj(), storages), '.bin');
    const values = await readAll(file);
    assert.deepEqual(values.get('a'), [1, 3, 2, 4]);
    assert.deepEqual(values.get('b'), [-3]);
    const ckpt = await openCheckpoint(file);
    assert.equal((ckpt.metadata as { container: string }).container, 'legacy');
    await ckpt.close();
  });

  it('refuses a legacy file cut short in the data or in the pickles as truncated', async () => {
    const full = legacyFile(obj(), storages);
    await rejectsWith(readAll(write(full.subarray(0, full.length - 5))), 'truncated', /cut short/);
    await rejectsWith(readAll(write(full.subarray(0, 200))), 'truncated');
  });

  it('refuses an element count that disagrees with the pickle', async () => {
    const bad: [string, number, Buffer][] = [['140', 5, f32(1, 2, 3, 4, 5)], storages[1]];
    await rejectsWith(readAll(write(legacyFile(obj(), bad))), 'corrupt', /5 elements/);
  });
});

describe('pytorch: hostile and broken pickles', () => {
  const tensorThen = (tail: (p: Pickle) => Pickle) => {
    const p = new Pickle().proto().orderedDict().mark().str('w').tensor({ cls: 'FloatStorage', key: '0', numel: 1, shape: [1] });
    return torchZip(tail(p).bytes(), { 0: f32(1) });
  };

  it('refuses globals outside the allow-list by name, through GLOBAL, STACK_GLOBAL and INST', async () => {
    const viaGlobal = tensorThen((p) => p.setitems().global('os', 'system').str('echo hi').raw(0x85).reduce().stop());
    await rejectsWith(readAll(write(viaGlobal)), 'unsafe_pickle', /"os\.system"/);
    const viaStack = tensorThen((p) => p.setitems().proto(4).shortStr('builtins').shortStr('exec').raw(0x93).stop());
    await rejectsWith(readAll(write(viaStack)), 'unsafe_pickle', /"builtins\.exec"/);
    const viaInst = tensorThen((p) => p.setitems().mark().str('x').raw(Buffer.from('isubprocess\nPopen\n')).stop());
    await rejectsWith(readAll(write(viaInst)), 'unsafe_pickle', /"subprocess\.Popen"/);
    const viaExt = tensorThen((p) => p.setitems().raw(0x82, 1).stop());
    await rejectsWith(readAll(write(viaExt)), 'unsafe_pickle', /extension registry/);
  });

  it('refuses very deep nesting with too_deep, without overflowing the stack', async () => {
    const tuples = new Pickle().proto().raw(0x29);
    for (let i = 0; i < 100_000; i++) tuples.raw(0x85); // TUPLE1 around the previous value
    await rejectsWith(readAll(write(torchZip(tuples.stop().bytes(), {}))), 'too_deep', /data\.pkl nests containers/);
    const marks = new Pickle().proto().raw(Buffer.alloc(100_000, 0x28)); // MARK MARK MARK ...
    await rejectsWith(readAll(write(torchZip(marks.stop().bytes(), {}))), 'too_deep');
    // lists nested top-down through the memo (parent first, child appended later) pass the build-time
    // depth check; walking the result still stops at the depth limit
    const topDown = new Pickle().proto().raw(0x5d).put(0).put(1);
    for (let i = 0; i < 300; i++) topDown.get(1 + (i % 2)).raw(0x5d).put(1 + ((i + 1) % 2)).raw(0x61, 0x30);
    await rejectsWith(readAll(write(torchZip(topDown.stop().bytes(), {}))), 'too_deep', /checkpoint object nests/);
  });

  it('refuses an unknown opcode, a memo miss and a stack underflow as corrupt', async () => {
    await rejectsWith(readAll(write(torchZip(new Pickle().proto().raw(0xff).stop().bytes(), {}))), 'corrupt', /unknown pickle opcode 0xff/);
    await rejectsWith(readAll(write(torchZip(new Pickle().proto().get(5).stop().bytes(), {}))), 'corrupt', /memo slot 5/);
    await rejectsWith(readAll(write(torchZip(new Pickle().proto().reduce().stop().bytes(), {}))), 'corrupt', /underflow/);
    await rejectsWith(readAll(write(torchZip(new Pickle().proto().emptyDict().bytes(), {}))), 'truncated', /no STOP/);
  });

  it('refuses a view that does not fit its storage, and a storage member shorter than declared', async () => {
    const tooLong = new Pickle().stateDict([['w', { cls: 'FloatStorage', key: '0', numel: 4, shape: [3], offset: 2 }]]).bytes();
    await rejectsWith(readAll(write(torchZip(tooLong, { 0: f32(1, 2, 3, 4) }))), 'invalid_offsets', /"w"/);
    const strided = new Pickle().stateDict([['w', { cls: 'FloatStorage', key: '0', numel: 4, shape: [2, 2], stride: [3, 1] }]]).bytes();
    await rejectsWith(readAll(write(torchZip(strided, { 0: f32(1, 2, 3, 4) }))), 'invalid_offsets');
    const short = new Pickle().stateDict([['w', { cls: 'FloatStorage', key: '0', numel: 4, shape: [4] }]]).bytes();
    await rejectsWith(readAll(write(torchZip(short, { 0: f32(1, 2) }))), 'truncated', /data\/0/);
    await rejectsWith(readAll(write(torchZip(short, {}))), 'corrupt', /no member "archive\/data\/0"/);
  });

  it('refuses a zip without data.pkl, a TorchScript archive and non-checkpoint bytes', async () => {
    await rejectsWith(readAll(write(zip([{ name: 'x/y.bin', data: Buffer.from('1') }]))), 'unknown_format');
    const ts = torchZip(new Pickle().proto().emptyDict().stop().bytes(), {}, [{ name: 'archive/code/__torch__.py', data: Buffer.from('') }]);
    await rejectsWith(readAll(write(ts)), 'unsupported', /TorchScript/);
    await rejectsWith(readAll(write(Buffer.from('definitely not a checkpoint'), '.bin')), 'unknown_format');
    const otherPickle = write(Buffer.concat([new Pickle().proto().raw(0x8a, 1, 5).stop().bytes(), Buffer.alloc(10)]), '.pkl');
    await rejectsWith(reader.open(otherPickle, await probeFile(otherPickle)), 'unknown_format');
  });
});
