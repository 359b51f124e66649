/**
 * npy / npz readers: header versions, dtypes and byte orders, Fortran order, 0-d and empty arrays,
 * malformed and hostile headers, stored and deflated npz members, zip bombs.
 * Files are written to a temporary folder by the tests themselves.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { npyReader, npzReader } from '../../src/core/checkpoint/formats/numpy';
import { parsePyLiteral, PyDict, PyTuple } from '../../src/core/checkpoint/formats/numpy/literal';
import { probeFile } from '../../src/core/checkpoint/registry';
import type { Checkpoint, FormatReader } from '../../src/core/checkpoint/types';
import { CheckpointError, type CheckpointErrorKind } from '../../src/core/errors';
import { tensorStats } from '../../src/core/tensor/stats';
import { FIXTURES } from '../helpers/fixtures';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-numpy-'));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

let fileCounter = 0;
function writeTmp(name: string, bytes: Uint8Array): string {
  const dir = path.join(TMP, String(fileCounter++));
  fs.mkdirSync(dir);
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** An npy stream as numpy writes it: preamble, dict header padded with spaces to 64 bytes, newline, data. */
function npy(opts: { descr?: string; shape?: readonly number[]; fortran?: boolean; data?: Uint8Array; version?: 1 | 2 | 3; header?: string }): Buffer {
  const version = opts.version ?? 1;
  const dict =
    opts.header ??
    `{'descr': '${opts.descr ?? '<f4'}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': ${shapeRepr(opts.shape ?? [])}, }`;
  const preamble = version === 1 ? 10 : 12;
  const text = Buffer.from(dict, version === 3 ? 'utf8' : 'latin1');
  const padded = Math.ceil((preamble + text.length + 1) / 64) * 64 - preamble;
  const header = Buffer.concat([text, Buffer.alloc(padded - text.length - 1, 0x20), Buffer.from('\n')]);
  const pre = Buffer.alloc(preamble);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(pre);
  if (version === 1) pre.writeUInt16LE(header.length, 8);
  else pre.writeUInt32LE(header.length, 8);
  return Buffer.concat([pre, header, opts.data ?? Buffer.alloc(0)]);
}

const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

interface ZipInput {
  name: string;
  data: Uint8Array;
  method?: 'stored' | 'deflate';
  /** Compressed bytes to store instead of deflating `data` (for broken streams). */
  compressed?: Uint8Array;
  /** Uncompressed size to declare instead of data.length (for lying entries). */
  declaredSize?: number;
}

/** A minimal zip (APPNOTE 4.3): local headers + data, central directory, end record. No zip64. */
function zip(members: readonly ZipInput[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const method = m.method === 'stored' ? 0 : 8;
    const body = Buffer.from(m.compressed ?? (method === 0 ? m.data : zlib.deflateRawSync(m.data)));
    const name = Buffer.from(m.name, 'utf8');
    const crc = zlib.crc32(m.data);
    const size = m.declaredSize ?? m.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(0x0800, 8);
    dir.writeUInt16LE(method, 10);
    dir.writeUInt16LE(0x21, 14);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(body.length, 20);
    dir.writeUInt32LE(size, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(offset, 42);
    parts.push(local, name, body);
    central.push(dir, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

async function open(reader: FormatReader, file: string): Promise<Checkpoint> {
  return reader.open(file, await probeFile(file));
}

/** Opens and reads everything; returns the first tensor's values. */
async function readOnly(reader: FormatReader, file: string): Promise<{ ckpt: Checkpoint; values: number[] }> {
  const ckpt = await open(reader, file);
  try {
    assert.equal(ckpt.tensors.length, 1);
    return { ckpt, values: [...(await ckpt.read(ckpt.tensors[0].name, 'float64'))] };
  } finally {
    await ckpt.close();
  }
}

async function refuses(reader: FormatReader, file: string, kind: CheckpointErrorKind, message?: RegExp): Promise<void> {
  await assert.rejects(
    (async () => {
      const ckpt = await open(reader, file);
      try {
        for (const t of ckpt.tensors) await ckpt.read(t.name);
      } finally {
        await ckpt.close();
      }
    })(),
    (e: unknown) => {
      assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${e}`);
      assert.equal(e.kind, kind, `kind (message: ${e.message})`);
      assert.ok(e.message.includes(file), 'message names the file');
      if (message) assert.match(e.message, message);
      return true;
    },
  );
}

describe('Python literal parser (npy header)', () => {
  it('parses dicts, tuples, strings, ints, booleans and Python 2 long suffixes', () => {
    const v = parsePyLiteral(`{'descr': '<f4', "fortran_order": True, 'shape': (3L, 4,), 'x': [(), (1,), (2)], 'n': None}  \n`);
    assert.ok(v instanceof PyDict);
    assert.equal(v.entries.get('descr'), '<f4');
    assert.equal(v.entries.get('fortran_order'), true);
    const shape = v.entries.get('shape');
    assert.ok(shape instanceof PyTuple);
    assert.deepEqual(shape.items, [3n, 4n]);
    const x = v.entries.get('x') as unknown[];
    assert.ok(x[0] instanceof PyTuple && x[0].items.length === 0);
    assert.ok(x[1] instanceof PyTuple && x[1].items.length === 1);
    assert.equal(x[2], 2n, '(2) is an int, not a tuple');
    assert.equal(v.entries.get('n'), null);
  });

  for (const bad of [
    "{'descr': '<f4'",
    "{'descr': '<f4',, }",
    "{'a': 1, 'a': 2}",
    "{1: 2}",
    "__import__('os').system('echo hi')",
    "{'shape': (1.5,)}",
    "{'shape': (0x10,)}",
    "{'descr': '<f4'} extra",
    "{'descr': 'abc}",
    '('.repeat(100) + ')'.repeat(100),
  ]) {
    it(`refuses ${JSON.stringify(bad.slice(0, 40))}`, () => {
      assert.throws(() => parsePyLiteral(bad), /at character/);
    });
  }
});

describe('npy reader', () => {
  it('reads the golden fixture lazily with name, dtypes and data offset', async () => {
    const file = path.join(FIXTURES, 'converted', 'use_lite_tanh_layer_0_weights.npy');
    const ckpt = await open(npyReader, file);
    try {
      const [t] = ckpt.tensors;
      assert.equal(t.name, 'use_lite_tanh_layer_0_weights');
      assert.equal(t.dtype, 'float32');
      assert.equal(t.storedDtype, '<f4');
      assert.deepEqual(t.shape, [512, 512]);
      assert.equal(t.offset, 128);
      assert.equal(t.bytes, 512 * 512 * 4);
      assert.deepEqual(ckpt.metadata, { npy_version: '1.0', fortran_order: false });
    } finally {
      await ckpt.close();
    }
  });

  it('matches by content (score 2), by name only (1), or not at all (0)', () => {
    const head = npy({ shape: [1], data: new Uint8Array(4) });
    assert.equal(npyReader.match({ path: 'x.bin', size: head.length, head }), 2);
    assert.equal(npyReader.match({ path: 'x.npy', size: 4, head: Buffer.from('junk') }), 1);
    assert.equal(npyReader.match({ path: 'x.bin', size: 4, head: Buffer.from('junk') }), 0);
  });

  const little: [string, string, ArrayBufferView, number[]][] = [
    ['<f8', 'float64', new Float64Array([1.5, -2.25, 1e300]), [1.5, -2.25, 1e300]],
    ['<f4', 'float32', new Float32Array([0.5, -3, 7]), [0.5, -3, 7]],
    ['<f2', 'float16', new Uint16Array([0x3c00, 0xc000, 0x7bff]), [1, -2, 65504]],
    ['|u1', 'uint8', new Uint8Array([0, 128, 255]), [0, 128, 255]],
    ['|i1', 'int8', new Int8Array([-128, 0, 127]), [-128, 0, 127]],
    ['<i2', 'int16', new Int16Array([-32768, 1, 32767]), [-32768, 1, 32767]],
    ['<i4', 'int32', new Int32Array([-(2 ** 31), 5, 2 ** 31 - 1]), [-(2 ** 31), 5, 2 ** 31 - 1]],
    ['<i8', 'int64', new BigInt64Array([-(2n ** 53n), 0n, 2n ** 53n]), [-(2 ** 53), 0, 2 ** 53]],
    ['<u2', 'uint16', new Uint16Array([0, 1, 65535]), [0, 1, 65535]],
    ['<u4', 'uint32', new Uint32Array([0, 1, 2 ** 32 - 1]), [0, 1, 2 ** 32 - 1]],
    ['<u8', 'uint64', new BigUint64Array([0n, 1n, 2n ** 53n]), [0, 1, 2 ** 53]],
    ['|b1', 'bool', new Uint8Array([1, 0, 1]), [1, 0, 1]],
  ];
  for (const [descr, dtype, data, expected] of little) {
    it(`reads ${descr} as ${dtype}`, async () => {
      const file = writeTmp('a.npy', npy({ descr, shape: [3], data: bytesOf(data) }));
      const { ckpt, values } = await readOnly(npyReader, file);
      assert.equal(ckpt.tensors[0].dtype, dtype);
      assert.equal(ckpt.tensors[0].storedDtype, descr);
      assert.equal(ckpt.tensors[0].name, 'a');
      assert.deepEqual(values, expected);
    });
  }

  it('reads big-endian descrs by byte-swapping', async () => {
    const cases: [string, number, (v: DataView, i: number, x: number) => void, number[]][] = [
      ['>f8', 8, (v, i, x) => v.setFloat64(i * 8, x), [1.5, -2.25, 1e-300]],
      ['>f4', 4, (v, i, x) => v.setFloat32(i * 4, x), [0.5, -3, 1024]],
      ['>i2', 2, (v, i, x) => v.setInt16(i * 2, x), [-300, 2, 32767]],
      ['>u4', 4, (v, i, x) => v.setUint32(i * 4, x), [1, 65536, 4000000000]],
      ['>i8', 8, (v, i, x) => v.setBigInt64(i * 8, BigInt(x)), [-5, 1, 2 ** 40]],
      ['>f2', 2, (v, i, x) => v.setUint16(i * 2, x), [0x3c00, 0xc000, 0x3800]],
    ];
    for (const [descr, size, set, input] of cases) {
      const data = new DataView(new ArrayBuffer(size * 3));
      input.forEach((x, i) => set(data, i, x));
      const file = writeTmp('be.npy', npy({ descr, shape: [3], data: new Uint8Array(data.buffer) }));
      const { ckpt, values } = await readOnly(npyReader, file);
      assert.equal(ckpt.tensors[0].storedDtype, descr);
      assert.deepEqual(values, descr === '>f2' ? [1, -2, 0.5] : input, descr);
    }
  });

  for (const version of [2, 3] as const) {
    it(`reads a version ${version}.0 header (u32 header length)`, async () => {
      const file = writeTmp('v.npy', npy({ version, descr: '<i4', shape: [2, 2], data: bytesOf(new Int32Array([1, 2, 3, 4])) }));
      const buf = fs.readFileSync(file);
      assert.equal(buf[6], version);
      const dataStart = buf.readUInt32LE(8) + 12; // the header length is a u32 after the version bytes
      assert.equal(dataStart % 64, 0);
      const { ckpt, values } = await readOnly(npyReader, file);
      assert.deepEqual(values, [1, 2, 3, 4]);
      assert.deepEqual(ckpt.metadata, { npy_version: `${version}.0`, fortran_order: false });
      assert.equal(ckpt.tensors[0].offset, dataStart);
    });
  }

  it('reads a version 2.0 header longer than 64 KiB', async () => {
    const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }${' '.repeat(70000)}`;
    const file = writeTmp('long.npy', npy({ version: 2, header, data: bytesOf(new Float32Array([3, 4])) }));
    assert.deepEqual((await readOnly(npyReader, file)).values, [3, 4]);
  });

  it('reads a Fortran-order 3-D array into row-major order', async () => {
    const shape = [2, 3, 4];
    // Column-major bytes of a[i, j, k] = 100 i + 10 j + k: i varies fastest.
    const colMajor: number[] = [];
    for (let k = 0; k < 4; k++) for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) colMajor.push(100 * i + 10 * j + k);
    const rowMajor: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) rowMajor.push(100 * i + 10 * j + k);
    for (const descr of ['<f4', '>f8'] as const) {
      const data = new DataView(new ArrayBuffer(colMajor.length * (descr === '<f4' ? 4 : 8)));
      colMajor.forEach((x, n) => (descr === '<f4' ? data.setFloat32(n * 4, x, true) : data.setFloat64(n * 8, x, false)));
      const file = writeTmp('f.npy', npy({ descr, shape, fortran: true, data: new Uint8Array(data.buffer) }));
      const { ckpt, values } = await readOnly(npyReader, file);
      assert.deepEqual(ckpt.tensors[0].shape, shape);
      assert.deepEqual(values, rowMajor, descr);
    }
  });

  it('reads a 0-d array (shape ())', async () => {
    const file = writeTmp('scalar.npy', npy({ descr: '<f8', shape: [], data: bytesOf(new Float64Array([42.5])) }));
    const { ckpt, values } = await readOnly(npyReader, file);
    assert.deepEqual(ckpt.tensors[0].shape, []);
    assert.equal(ckpt.tensors[0].numel, 1);
    assert.deepEqual(values, [42.5]);
  });

  it('reads empty arrays (a zero dimension), C and Fortran order', async () => {
    for (const fortran of [false, true]) {
      const file = writeTmp('empty.npy', npy({ descr: '<f4', shape: [3, 0, 2], fortran }));
      const { ckpt, values } = await readOnly(npyReader, file);
      assert.deepEqual(ckpt.tensors[0].shape, [3, 0, 2]);
      assert.equal(ckpt.tensors[0].numel, 0);
      assert.equal(ckpt.tensors[0].bytes, 0);
      assert.deepEqual(values, []);
    }
    // A zero dimension empties the array however large the others are.
    const huge = writeTmp('empty-huge.npy', npy({ descr: '<f4', shape: [2 ** 52, 2 ** 52, 2 ** 52, 0] }));
    assert.deepEqual((await readOnly(npyReader, huge)).values, []);
  });

  it('passes NaN and ±Inf through; statistics count them as non-finite', async () => {
    const input = [1, NaN, Infinity, -Infinity, 3];
    const file = writeTmp('nan.npy', npy({ descr: '<f4', shape: [5], data: bytesOf(new Float32Array(input)) }));
    const { values } = await readOnly(npyReader, file);
    assert.deepEqual(values, input);
    const s = tensorStats(Float64Array.from(values));
    assert.equal(s.nonfinite, 3);
    assert.equal(s.mean, 2);
    assert.equal(s.max, 3);
  });

  it('refuses malformed header dicts as corrupt', async () => {
    const bad = [
      "{'descr': '<f4', 'fortran_order': False}", // no shape
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", // (2) is an int
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}",
      "{'descr': '<f4', 'fortran_order': 'no', 'shape': (2,)}",
      "{'descr': 4, 'fortran_order': False, 'shape': (2,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
      "['descr', '<f4']",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (__import__('os'),)}",
    ];
    for (const header of bad) await refuses(npyReader, writeTmp('bad.npy', npy({ header, data: Buffer.alloc(8) })), 'corrupt');
    await refuses(npyReader, writeTmp('nomagic.npy', Buffer.from('\x93NUMPZ\x01\x00')), 'corrupt', /magic/);
  });

  it('refuses object, void (bfloat16), complex and structured dtypes as unsupported', async () => {
    const cases: [string, RegExp][] = [
      ["'|O'", /pickle/],
      ["'<V2'", /bfloat16/],
      ["'<c8'", /dtype '<c8'/],
      ["'<U4'", /dtype '<U4'/],
      ["[('a', '<f4'), ('b', '<i4')]", /structured/],
    ];
    for (const [descr, message] of cases) {
      const header = `{'descr': ${descr}, 'fortran_order': False, 'shape': (1,), }`;
      await refuses(npyReader, writeTmp('u.npy', npy({ header, data: Buffer.alloc(16) })), 'unsupported', message);
    }
  });

  it('refuses unknown format versions as unsupported', async () => {
    const buf = npy({ shape: [1], data: Buffer.alloc(4) });
    buf[6] = 4;
    await refuses(npyReader, writeTmp('v4.npy', buf), 'unsupported', /version 4\.0/);
  });

  it('refuses a file shorter than its data as truncated', async () => {
    const file = writeTmp('short.npy', npy({ descr: '<f8', shape: [10], data: Buffer.alloc(79) }));
    await refuses(npyReader, file, 'truncated', /needs 80 bytes/);
    await refuses(npyReader, writeTmp('tiny.npy', Buffer.from([0x93, 0x4e, 0x55])), 'truncated');
  });

  it('refuses a header length past the end of the file', async () => {
    const buf = npy({ shape: [1], data: Buffer.alloc(4) }).subarray(0, 40);
    await refuses(npyReader, writeTmp('hdr.npy', buf), 'header_out_of_bounds');
  });

  it('refuses shapes beyond the limits as too_large before allocating', async () => {
    await refuses(npyReader, path.join(FIXTURES, 'hostile', 'npy_huge_shape.npy'), 'too_large');
    const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000000000000,), }`;
    await refuses(npyReader, writeTmp('dim.npy', npy({ header, data: Buffer.alloc(16) })), 'too_large');
    await refuses(npyReader, writeTmp('rank.npy', npy({ shape: new Array(65).fill(1), data: Buffer.alloc(4) })), 'too_large');
  });
});

describe('npz reader', () => {
  const a = new Float32Array([1, 2, 3, 4, 5, 6]);
  const b = new Float64Array([0.25, -8]);
  const c = new Uint8Array([7, 8, 9]);

  function sampleNpz(method: 'stored' | 'deflate'): Buffer {
    return zip([
      { name: 'README.txt', data: Buffer.from('not an array'), method },
      { name: 'layer/0/kernel.npy', data: npy({ descr: '<f4', shape: [2, 3], data: bytesOf(a) }), method },
      { name: 'layer/0/bias.npy', data: npy({ descr: '>f8', shape: [2], data: Buffer.from(Float64Array.from(b).buffer).swap64() }), method },
      { name: 'codes.npy', data: npy({ descr: '|u1', shape: [3], data: c, version: 2 }), method },
    ]);
  }

  for (const method of ['stored', 'deflate'] as const) {
    it(`reads ${method} members; names are member names without .npy`, async () => {
      const file = writeTmp('w.npz', sampleNpz(method));
      const ckpt = await open(npzReader, file);
      try {
        assert.equal(ckpt.format, 'npz');
        assert.deepEqual(ckpt.tensors.map((t) => t.name), ['layer/0/kernel', 'layer/0/bias', 'codes']);
        assert.deepEqual(ckpt.metadata, { other_members: ['README.txt'] });
        const [k, bias, codes] = ckpt.tensors;
        assert.deepEqual([k.dtype, k.storedDtype, k.shape, k.bytes], ['float32', '<f4', [2, 3], 24]);
        assert.deepEqual([bias.dtype, bias.storedDtype], ['float64', '>f8']);
        assert.deepEqual([codes.dtype, codes.storedDtype], ['uint8', '|u1']);
        assert.deepEqual([...(await ckpt.read('layer/0/kernel'))], [...a]);
        assert.deepEqual([...(await ckpt.read('layer/0/bias'))], [...b]);
        assert.deepEqual([...(await ckpt.read('codes'))], [...c]);
        if (method === 'stored') {
          // A stored member's data is one contiguous range of the file, read by position.
          const bytes = fs.readFileSync(file);
          assert.ok(k.offset !== undefined);
          assert.deepEqual(new Float32Array(Uint8Array.from(bytes.subarray(k.offset, k.offset + 24)).buffer), a);
        } else {
          assert.equal(k.offset, undefined);
        }
      } finally {
        await ckpt.close();
      }
    });
  }

  it('matches zips with an .npy member by content, and nothing else', async () => {
    const head = sampleNpz('deflate');
    assert.equal(npzReader.match({ path: 'w.bin', size: head.length, head }), 2);
    const other = zip([{ name: 'archive/data.pkl', data: Buffer.from('x') }]);
    assert.equal(npzReader.match({ path: 'model.pt', size: other.length, head: other }), 0);
    assert.equal(npzReader.match({ path: 'weights.npz', size: other.length, head: other }), 1);
    const plain = npy({ shape: [1], data: Buffer.alloc(4) });
    assert.equal(npzReader.match({ path: 'a.npy', size: plain.length, head: plain }), 0);
  });

  it('lists a compressed member from its header only (the rest of the stream is not inflated)', async () => {
    const data = new Float32Array(4096).map((_, i) => Math.sin(i) * 1e3);
    const member = npy({ descr: '<f4', shape: [4096], data: bytesOf(data) });
    const deflated = zlib.deflateRawSync(member, { level: 0 }); // stored deflate blocks: 1:1 in size
    const cut = deflated.subarray(0, deflated.length - 100); // the stream breaks off before its end
    const file = writeTmp('cut.npz', zip([{ name: 'x.npy', data: member, compressed: cut }]));
    const ckpt = await open(npzReader, file);
    try {
      assert.deepEqual(ckpt.tensors[0].shape, [4096]);
      await assert.rejects(ckpt.read('x'), (e: unknown) => e instanceof CheckpointError && e.kind === 'corrupt' && /x\.npy/.test(e.message));
    } finally {
      await ckpt.close();
    }
  });

  it('refuses a member whose data does not match its CRC-32', async () => {
    const member = npy({ descr: '<f4', shape: [2], data: bytesOf(new Float32Array([1, 2])) });
    const archive = zip([{ name: 'x.npy', data: member }]);
    archive.writeUInt32LE((archive.readUInt32LE(14) ^ 1) >>> 0, 14); // local header CRC
    const cdCrc = archive.length - 22 - 46 - 5 + 16;
    archive.writeUInt32LE((archive.readUInt32LE(cdCrc) ^ 1) >>> 0, cdCrc);
    await refuses(npzReader, writeTmp('crc.npz', archive), 'corrupt', /CRC/);
  });

  it('refuses bad members with a typed error naming the member', async () => {
    const notNpy = zip([{ name: 'x.npy', data: Buffer.from('hello, this is no array') }]);
    await refuses(npzReader, writeTmp('a.npz', notNpy), 'corrupt', /member "x\.npy".*magic/);
    const object = zip([{ name: 'o.npy', data: npy({ header: "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", data: Buffer.alloc(8) }) }]);
    await refuses(npzReader, writeTmp('b.npz', object), 'unsupported', /member "o\.npy"/);
    const short = zip([{ name: 's.npy', data: npy({ descr: '<f8', shape: [4], data: Buffer.alloc(16) }), method: 'stored' }]);
    await refuses(npzReader, writeTmp('c.npz', short), 'truncated');
    const sizes = zip([{ name: 'z.npy', data: npy({ shape: [1], data: Buffer.alloc(4) }), method: 'stored', declaredSize: 200 }]);
    await refuses(npzReader, writeTmp('sizes.npz', sizes), 'corrupt', /size mismatch/);
    const garbage = zip([{ name: 'g.npy', data: npy({ shape: [1], data: Buffer.alloc(4) }), compressed: Buffer.alloc(50, 0xff) }]);
    await refuses(npzReader, writeTmp('d.npz', garbage), 'corrupt', /g\.npy/);
    const dotdot = zip([{ name: '../evil.npy', data: npy({ shape: [1], data: Buffer.alloc(4) }) }]);
    await refuses(npzReader, writeTmp('e.npz', dotdot), 'unsafe_path');
  });

  describe('zip bombs are refused without inflating them', () => {
    const zeros = 48 * 1024 * 1024;
    const header = npy({ descr: '|u1', shape: [zeros] });
    // header + 48 MiB of zeros: deflate squeezes this about 1029:1
    const member = Buffer.concat([header, Buffer.alloc(zeros)]);
    const deflated = zlib.deflateRawSync(member, { level: 9 });

    async function refusedWithoutGrowth(file: string, kinds: CheckpointErrorKind[]): Promise<void> {
      const rssBefore = process.memoryUsage().rss;
      await assert.rejects(
        (async () => {
          const ckpt = await open(npzReader, file);
          try {
            for (const t of ckpt.tensors) await ckpt.read(t.name);
          } finally {
            await ckpt.close();
          }
        })(),
        (e: unknown) => {
          assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${e}`);
          assert.ok(kinds.includes(e.kind), `kind ${e.kind} (message: ${e.message})`);
          return true;
        },
      );
      const grew = process.memoryUsage().rss - rssBefore;
      assert.ok(grew < 32 * 1024 * 1024, `RSS grew ${grew} bytes`);
    }

    it('an honest member inflating beyond the sane ratio → too_large', async () => {
      assert.ok(member.length > deflated.length * 1000, 'the test member must exceed a 1000:1 ratio');
      const file = writeTmp('bomb.npz', zip([{ name: 'bomb.npy', data: member, compressed: deflated }]));
      await refusedWithoutGrowth(file, ['too_large']);
    });

    it('a member declaring 4 GiB from a few bytes → too_large', async () => {
      const big = npy({ descr: '<f4', shape: [2 ** 30 - 32] });
      const file = writeTmp('bomb4g.npz', zip([{ name: 'b.npy', data: big, declaredSize: 2 ** 32 - 2 }]));
      await refusedWithoutGrowth(file, ['too_large']);
    });

    it('a member lying about its uncompressed size (declares 144 bytes, inflates to 48 MiB) → corrupt', async () => {
      const lie = npy({ descr: '|u1', shape: [16], data: Buffer.alloc(16) });
      const file = writeTmp('liar.npz', zip([{ name: 'l.npy', data: lie, compressed: deflated }]));
      await refusedWithoutGrowth(file, ['corrupt', 'too_large']);
    });
  });
});
