/**
 * A restricted pickle reader: an opcode machine for protocols 0-5 (opcode table: CPython Lib/pickletools.py)
 * that never imports or calls anything. GLOBAL, REDUCE, NEWOBJ, BUILD and persistent ids are handed to a
 * `PickleHost`, which allows a short list of globals and answers with inert records.
 * Stack, memo, nesting and string sizes are bounded; malformed input is a CheckpointError.
 */
import { type ErrorFactory, LIMITS } from '../../../errors';
import {
  depthOf,
  PyBytes,
  PyDict,
  PyList,
  PyObject,
  PySet,
  PyTuple,
  type PyValue,
  TensorRef,
} from './values';

/** What GLOBAL, REDUCE/NEWOBJ and persistent ids mean; the host decides what is allowed. */
export interface PickleHost {
  /** The value of global `module.name`, or a thrown 'unsafe_pickle' error. */
  global(module: string, name: string): PyValue;
  /** Applies an allowed callable (from `global`) to arguments, as REDUCE / NEWOBJ / INST / OBJ do. */
  call(callable: PyValue, args: readonly PyValue[]): PyValue;
  persistentLoad(pid: PyValue): PyValue;
}

/** Thrown when a pickle runs past the bytes given and more of the file exists; the caller retries with more. */
export class NeedMoreBytes extends Error {
  constructor() {
    super('pickle continues past the bytes read so far');
  }
}

export interface UnpickleOptions {
  /** True when `data` ends where the pickle's container ends (zip member); false for a window into a longer file. */
  complete: boolean;
  /** How to name this pickle in messages ("data.pkl", "the legacy storage key list"). */
  what: string;
}

/** Most stack entries and memo slots one pickle may hold (real state_dicts use well under a million). */
export const MAX_STACK = 1 << 24;
export const MAX_MEMO = 1 << 24;

/** Python 2 module names CPython's unpickler maps for protocols < 3 (Lib/_compat_pickle.py), the ones we allow. */
const PY2_MODULES: Readonly<Record<string, string>> = { __builtin__: 'builtins' };

const OP = {
  MARK: 0x28, // (
  STOP: 0x2e, // .
  POP: 0x30, // 0
  POP_MARK: 0x31, // 1
  DUP: 0x32, // 2
  FLOAT: 0x46, // F
  INT: 0x49, // I
  BININT: 0x4a, // J
  BININT1: 0x4b, // K
  LONG: 0x4c, // L
  BININT2: 0x4d, // M
  NONE: 0x4e, // N
  PERSID: 0x50, // P
  BINPERSID: 0x51, // Q
  REDUCE: 0x52, // R
  STRING: 0x53, // S
  BINSTRING: 0x54, // T
  SHORT_BINSTRING: 0x55, // U
  UNICODE: 0x56, // V
  BINUNICODE: 0x58, // X
  APPEND: 0x61, // a
  BUILD: 0x62, // b
  GLOBAL: 0x63, // c
  DICT: 0x64, // d
  EMPTY_DICT: 0x7d, // }
  APPENDS: 0x65, // e
  GET: 0x67, // g
  BINGET: 0x68, // h
  INST: 0x69, // i
  LONG_BINGET: 0x6a, // j
  LIST: 0x6c, // l
  EMPTY_LIST: 0x5d, // ]
  OBJ: 0x6f, // o
  PUT: 0x70, // p
  BINPUT: 0x71, // q
  LONG_BINPUT: 0x72, // r
  SETITEM: 0x73, // s
  TUPLE: 0x74, // t
  EMPTY_TUPLE: 0x29, // )
  SETITEMS: 0x75, // u
  BINFLOAT: 0x47, // G
  // protocol 2
  PROTO: 0x80,
  NEWOBJ: 0x81,
  EXT1: 0x82,
  EXT2: 0x83,
  EXT4: 0x84,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  LONG4: 0x8b,
  // protocol 3
  BINBYTES: 0x42, // B
  SHORT_BINBYTES: 0x43, // C
  // protocol 4
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINBYTES8: 0x8e,
  EMPTY_SET: 0x8f,
  ADDITEMS: 0x90,
  FROZENSET: 0x91,
  NEWOBJ_EX: 0x92,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
  // protocol 5
  BYTEARRAY8: 0x96,
  NEXT_BUFFER: 0x97,
  READONLY_BUFFER: 0x98,
} as const;

/** Parses one pickle starting at `start`; returns its value and the offset just past STOP. */
export function unpickle(
  data: Uint8Array,
  start: number,
  host: PickleHost,
  fail: ErrorFactory,
  options: UnpickleOptions,
): { value: PyValue; end: number } {
  return new Machine(data, start, host, fail, options).run();
}

class Machine {
  private pos: number;
  private readonly view: DataView;
  private readonly stack: PyValue[] = [];
  /** Stack lengths at each open MARK. */
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PyValue>();
  private opStart = 0;

  constructor(
    private readonly data: Uint8Array,
    start: number,
    private readonly host: PickleHost,
    private readonly fail: ErrorFactory,
    private readonly options: UnpickleOptions,
  ) {
    this.pos = start;
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  run(): { value: PyValue; end: number } {
    for (;;) {
      this.opStart = this.pos;
      const op = this.bytes(1)[0];
      if (op === OP.STOP) return { value: this.pop(), end: this.pos };
      this.step(op);
    }
  }

  private step(op: number): void {
    switch (op) {
      case OP.PROTO: {
        const proto = this.bytes(1)[0];
        if (proto > 5) throw this.fail('unsupported', `${this.options.what} uses pickle protocol ${proto}; we read protocols 0 to 5`);
        return;
      }
      case OP.FRAME:
        this.uint(8); // framing only groups opcodes; the opcodes follow inline
        return;
      case OP.MARK:
        if (this.marks.length >= LIMITS.maxDepth) throw this.tooDeep();
        this.marks.push(this.stack.length);
        return;
      case OP.POP:
        if (this.stack.length > this.floor()) this.pop();
        else this.popMark();
        return;
      case OP.POP_MARK:
        this.popMark();
        return;
      case OP.DUP:
        return this.push(this.top());

      // scalars
      case OP.NONE:
        return this.push(null);
      case OP.NEWTRUE:
        return this.push(true);
      case OP.NEWFALSE:
        return this.push(false);
      case OP.BININT:
        return this.push(this.view.getInt32(this.advance(4), true));
      case OP.BININT1:
        return this.push(this.bytes(1)[0]);
      case OP.BININT2:
        return this.push(this.view.getUint16(this.advance(2), true));
      case OP.LONG1:
        return this.push(decodeLong(this.bytes(this.bytes(1)[0])));
      case OP.LONG4:
        return this.push(decodeLong(this.bytes(this.length(this.view.getInt32(this.advance(4), true)))));
      case OP.BINFLOAT:
        return this.push(this.view.getFloat64(this.advance(8), false));
      case OP.INT:
        return this.push(this.textInt(this.line()));
      case OP.LONG:
        return this.push(this.textInt(this.line().replace(/L$/, '')));
      case OP.FLOAT:
        return this.push(this.textFloat(this.line()));

      // strings and bytes
      case OP.BINUNICODE:
        return this.push(this.utf8(this.uint(4)));
      case OP.SHORT_BINUNICODE:
        return this.push(this.utf8(this.bytes(1)[0]));
      case OP.BINUNICODE8:
        return this.push(this.utf8(this.uint(8)));
      case OP.UNICODE:
        return this.push(rawUnicodeEscape(this.line()));
      // Python 2 str: torch.load decodes these with encoding='utf-8'
      case OP.BINSTRING:
        return this.push(this.utf8(this.length(this.view.getInt32(this.advance(4), true))));
      case OP.SHORT_BINSTRING:
        return this.push(this.utf8(this.bytes(1)[0]));
      case OP.STRING:
        return this.push(Buffer.from(this.quoted(this.line())).toString('utf8'));
      case OP.BINBYTES:
        return this.push(new PyBytes(this.bytes(this.uint(4)).slice()));
      case OP.SHORT_BINBYTES:
        return this.push(new PyBytes(this.bytes(this.bytes(1)[0]).slice()));
      case OP.BINBYTES8:
      case OP.BYTEARRAY8:
        return this.push(new PyBytes(this.bytes(this.uint(8)).slice()));
      case OP.NEXT_BUFFER:
        throw this.fail('unsupported', `${this.options.what} refers to out-of-band buffers (pickle protocol 5), which a file cannot carry`);
      case OP.READONLY_BUFFER:
        this.top();
        return;

      // containers
      case OP.EMPTY_LIST:
        return this.push(new PyList());
      case OP.EMPTY_DICT:
        return this.push(new PyDict());
      case OP.EMPTY_TUPLE:
        return this.push(new PyTuple([]));
      case OP.EMPTY_SET:
        return this.push(new PySet());
      case OP.LIST:
        return this.push(this.nest(new PyList(this.popMark())));
      case OP.TUPLE:
        return this.push(this.nest(new PyTuple(this.popMark())));
      case OP.TUPLE1:
        return this.push(this.nest(new PyTuple([this.pop()])));
      case OP.TUPLE2: {
        const b = this.pop();
        return this.push(this.nest(new PyTuple([this.pop(), b])));
      }
      case OP.TUPLE3: {
        const c = this.pop();
        const b = this.pop();
        return this.push(this.nest(new PyTuple([this.pop(), b, c])));
      }
      case OP.FROZENSET:
        return this.push(this.nest(new PySet(this.popMark(), true)));
      case OP.DICT: {
        const d = new PyDict();
        this.setItems(d, this.popMark());
        return this.push(d);
      }
      case OP.APPEND: {
        const item = this.pop();
        this.appendTo(this.top(), [item]);
        return;
      }
      case OP.APPENDS: {
        const items = this.popMark();
        this.appendTo(this.top(), items);
        return;
      }
      case OP.SETITEM: {
        const value = this.pop();
        const key = this.pop();
        this.setItems(this.dictOnTop('SETITEM'), [key, value]);
        return;
      }
      case OP.SETITEMS: {
        const items = this.popMark();
        this.setItems(this.dictOnTop('SETITEMS'), items);
        return;
      }
      case OP.ADDITEMS: {
        const items = this.popMark();
        const target = this.top();
        if (!(target instanceof PySet) || target.frozen) throw this.corrupt('ADDITEMS to something that is not a set');
        target.items.push(...items);
        this.deepen(target, items);
        return;
      }

      // memo
      case OP.BINPUT:
        return this.put(this.bytes(1)[0]);
      case OP.LONG_BINPUT:
        return this.put(this.uint(4));
      case OP.PUT:
        return this.put(this.textIndex(this.line()));
      case OP.MEMOIZE:
        return this.put(this.memo.size);
      case OP.BINGET:
        return this.push(this.get(this.bytes(1)[0]));
      case OP.LONG_BINGET:
        return this.push(this.get(this.uint(4)));
      case OP.GET:
        return this.push(this.get(this.textIndex(this.line())));

      // globals, calls and persistent ids: all through the host
      case OP.GLOBAL: {
        const module = this.line();
        const name = this.line();
        return this.push(this.host.global(PY2_MODULES[module] ?? module, name));
      }
      case OP.STACK_GLOBAL: {
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw this.corrupt('STACK_GLOBAL with non-string module or name');
        return this.push(this.host.global(module, name));
      }
      case OP.INST: {
        const module = this.line();
        const name = this.line();
        const args = this.popMark();
        const cls = this.host.global(PY2_MODULES[module] ?? module, name);
        return this.push(this.checked(this.host.call(cls, args)));
      }
      case OP.OBJ: {
        const items = this.popMark();
        if (items.length === 0) throw this.corrupt('OBJ without a class');
        return this.push(this.checked(this.host.call(items[0], items.slice(1))));
      }
      case OP.REDUCE: {
        const args = this.pop();
        const callable = this.pop();
        if (!(args instanceof PyTuple)) throw this.corrupt('REDUCE arguments are not a tuple');
        return this.push(this.checked(this.host.call(callable, args.items)));
      }
      case OP.NEWOBJ: {
        const args = this.pop();
        const cls = this.pop();
        if (!(args instanceof PyTuple)) throw this.corrupt('NEWOBJ arguments are not a tuple');
        return this.push(this.checked(this.host.call(cls, args.items)));
      }
      case OP.NEWOBJ_EX: {
        this.pop(); // keyword arguments: none of the classes we allow take any that matter
        const args = this.pop();
        const cls = this.pop();
        if (!(args instanceof PyTuple)) throw this.corrupt('NEWOBJ_EX arguments are not a tuple');
        return this.push(this.checked(this.host.call(cls, args.items)));
      }
      case OP.BUILD: {
        const state = this.pop();
        const target = this.top();
        if (target instanceof PyDict || target instanceof PyObject) {
          target.state = state;
          this.deepen(target, [state]);
          return;
        }
        // tensors rebuilt by _rebuild_* carry no extra state we need; anything else cannot take state
        if (target instanceof TensorRef) return;
        throw this.corrupt('BUILD on a value that takes no state');
      }
      case OP.BINPERSID:
        return this.push(this.host.persistentLoad(this.pop()));
      case OP.PERSID:
        return this.push(this.host.persistentLoad(this.line()));
      case OP.EXT1:
      case OP.EXT2:
      case OP.EXT4: {
        const code = op === OP.EXT1 ? this.bytes(1)[0] : op === OP.EXT2 ? this.view.getUint16(this.advance(2), true) : this.uint(4);
        throw this.fail(
          'unsafe_pickle',
          `${this.options.what} names a global through extension registry code ${code}; refusing a global we cannot check against the allow-list`,
        );
      }
      default:
        throw this.fail(
          'corrupt',
          `${this.options.what}: unknown pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${this.opStart} (not a pickle, or damaged)`,
        );
    }
  }

  // ---- stack and memo

  private floor(): number {
    return this.marks.length ? this.marks[this.marks.length - 1] : 0;
  }

  private push(v: PyValue): void {
    if (this.stack.length >= MAX_STACK) throw this.fail('too_large', `${this.options.what} grows the pickle stack past ${MAX_STACK} entries`);
    this.stack.push(v);
  }

  private pop(): PyValue {
    if (this.stack.length <= this.floor()) throw this.corrupt('stack underflow');
    return this.stack.pop() as PyValue;
  }

  private top(): PyValue {
    if (this.stack.length <= this.floor()) throw this.corrupt('stack underflow');
    return this.stack[this.stack.length - 1];
  }

  private popMark(): PyValue[] {
    const mark = this.marks.pop();
    if (mark === undefined) throw this.corrupt('no MARK to pop to');
    return this.stack.splice(mark);
  }

  private put(index: number): void {
    if (!this.memo.has(index) && this.memo.size >= MAX_MEMO) {
      throw this.fail('too_large', `${this.options.what} uses more than ${MAX_MEMO} memo slots`);
    }
    this.memo.set(index, this.top());
  }

  private get(index: number): PyValue {
    if (!this.memo.has(index)) throw this.corrupt(`memo slot ${index} used before it was set`);
    return this.memo.get(index) as PyValue;
  }

  // ---- containers and nesting

  private tooDeep() {
    return this.fail('too_deep', `${this.options.what} nests containers more than ${LIMITS.maxDepth} levels deep`);
  }

  /** Sets a new container's depth from its items and refuses nesting past the limit. */
  private nest<T extends PyList | PyTuple | PySet>(c: T): T {
    this.deepen(c, c.items);
    return c;
  }

  private deepen(target: { depth: number }, items: readonly PyValue[]): void {
    let d = target.depth;
    for (const item of items) d = Math.max(d, depthOf(item) + 1);
    if (d > LIMITS.maxDepth) throw this.tooDeep();
    target.depth = d;
  }

  private checked(v: PyValue): PyValue {
    if (depthOf(v) > LIMITS.maxDepth) throw this.tooDeep();
    return v;
  }

  private appendTo(target: PyValue, items: PyValue[]): void {
    if (!(target instanceof PyList)) throw this.corrupt('APPEND to something that is not a list');
    for (const item of items) target.items.push(item);
    this.deepen(target, items);
  }

  private dictOnTop(op: string): PyDict {
    const target = this.top();
    if (!(target instanceof PyDict)) throw this.corrupt(`${op} on something that is not a dict`);
    return target;
  }

  private setItems(d: PyDict, items: PyValue[]): void {
    if (items.length % 2) throw this.corrupt('odd number of items for a dict');
    for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
    this.deepen(d, items);
  }

  // ---- reading bytes

  /** Moves past `n` bytes and returns where they start; refuses reads past the data. */
  private advance(n: number): number {
    const at = this.pos;
    if (n > this.data.length - at) {
      if (!this.options.complete) throw new NeedMoreBytes();
      throw this.fail('truncated', `${this.options.what} ends in the middle of an opcode at byte ${this.opStart} (no STOP)`);
    }
    this.pos = at + n;
    return at;
  }

  private bytes(n: number): Uint8Array {
    const at = this.advance(n);
    return this.data.subarray(at, at + n);
  }

  /** Little-endian unsigned length field of `n` bytes, checked against the string limit. */
  private uint(n: 4 | 8): number {
    const at = this.advance(n);
    const v = n === 4 ? this.view.getUint32(at, true) : Number(this.view.getBigUint64(at, true));
    return this.length(v);
  }

  private length(v: number): number {
    if (v < 0) throw this.corrupt(`negative length ${v}`);
    if (v > LIMITS.maxStringBytes) {
      throw this.fail('too_large', `${this.options.what} declares a ${v}-byte string or bytes object (limit ${LIMITS.maxStringBytes})`);
    }
    return v;
  }

  private utf8(n: number): string {
    const at = this.advance(n);
    return Buffer.from(this.data.buffer, this.data.byteOffset + at, n).toString('utf8');
  }

  /** A text-protocol argument: the bytes up to the next newline. */
  private line(): string {
    const nl = this.data.indexOf(0x0a, this.pos);
    if (nl < 0) {
      if (!this.options.complete) throw new NeedMoreBytes();
      throw this.fail('truncated', `${this.options.what} ends in the middle of an opcode at byte ${this.opStart} (no newline)`);
    }
    if (nl - this.pos > LIMITS.maxStringBytes) throw this.fail('too_large', `${this.options.what} has a text argument longer than ${LIMITS.maxStringBytes} bytes`);
    const text = Buffer.from(this.data.buffer, this.data.byteOffset + this.pos, nl - this.pos).toString('utf8');
    this.pos = nl + 1;
    return text;
  }

  private textInt(text: string): number | bigint | boolean {
    // protocol 0 spells booleans as INT "01" / "00"
    if (text === '01') return true;
    if (text === '00') return false;
    if (!/^[-+]?\d+$/.test(text.trim())) throw this.corrupt(`integer "${text.slice(0, 40)}"`);
    const big = BigInt(text.trim());
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  /** FLOAT argument: Python repr of a float, including inf and nan. */
  private textFloat(text: string): number {
    const t = text.trim().toLowerCase();
    const special: Record<string, number> = { inf: Infinity, '+inf': Infinity, '-inf': -Infinity, nan: NaN, '-nan': NaN, '+nan': NaN };
    if (t in special) return special[t];
    const v = Number(t);
    if (t === '' || Number.isNaN(v)) throw this.corrupt(`FLOAT "${text.slice(0, 40)}"`);
    return v;
  }

  private textIndex(text: string): number {
    const v = this.textInt(text);
    if (typeof v !== 'number' || v < 0) throw this.corrupt(`memo index "${text.slice(0, 40)}"`);
    return v;
  }

  /** Python 2 STRING argument: a quoted repr with backslash escapes. */
  private quoted(text: string): Uint8Array {
    const q = text[0];
    if (text.length < 2 || (q !== "'" && q !== '"') || text[text.length - 1] !== q) throw this.corrupt('STRING argument is not quoted');
    return unescapeBytes(text.slice(1, -1));
  }

  private corrupt(problem: string) {
    return this.fail('corrupt', `${this.options.what}: ${problem} (pickle opcode at byte ${this.opStart})`);
  }
}

/** Little-endian two's complement integer (LONG1/LONG4); a number when exact, otherwise a bigint. */
export function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Python `raw-unicode-escape`: \uXXXX and \UXXXXXXXX escapes, every other character as is. */
function rawUnicodeEscape(text: string): string {
  return text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u4: string | undefined, u8: string | undefined) => {
    const cp = parseInt((u4 ?? u8) as string, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
  });
}

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = { n: 10, r: 13, t: 9, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11 };

/** Unescapes a Python 2 string repr body (\\xHH, octal, \\n ...) into bytes (characters above 0xff as UTF-8). */
function unescapeBytes(body: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\' || i + 1 >= body.length) {
      out.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const e = body[++i];
    if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
      out.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (/[0-7]/.test(e)) {
      const m = /^[0-7]{1,3}/.exec(body.slice(i)) as RegExpExecArray;
      out.push(parseInt(m[0], 8) & 0xff);
      i += m[0].length - 1;
    } else if (e in SIMPLE_ESCAPES) {
      out.push(SIMPLE_ESCAPES[e]);
    } else {
      out.push(92, ...Buffer.from(e, 'utf8'));
    }
  }
  return Uint8Array.from(out);
}
