/**
 * A strict parser for the Python literal subset an npy header uses (what numpy writes with repr() and
 * reads back with ast.literal_eval): dicts, tuples, lists, str, int, True/False/None. Never evaluates.
 */

export type PyValue = string | bigint | boolean | null | PyTuple | PyValue[] | PyDict;

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

export class PyDict {
  constructor(readonly entries: Map<string, PyValue>) {}
}

export class LiteralError extends Error {}

/** Deepest nesting we follow; a header needs 3 (dict → list → tuple) even for structured dtypes. */
const MAX_DEPTH = 32;

const WHITESPACE = new Set([' ', '\t', '\n', '\r', '\f', '\v']);

/** Parses exactly one literal, allowing only whitespace around it. */
export function parsePyLiteral(text: string): PyValue {
  const p = new Parser(text);
  p.skipSpace();
  const v = p.value(0);
  p.skipSpace();
  if (!p.atEnd()) throw p.error('unexpected text after the literal');
  return v;
}

class Parser {
  private pos = 0;

  constructor(private readonly s: string) {}

  atEnd(): boolean {
    return this.pos >= this.s.length;
  }

  error(problem: string): LiteralError {
    const near = JSON.stringify(this.s.slice(this.pos, this.pos + 20));
    return new LiteralError(`${problem} at character ${this.pos} (near ${near})`);
  }

  skipSpace(): void {
    while (this.pos < this.s.length && WHITESPACE.has(this.s[this.pos])) this.pos++;
  }

  value(depth: number): PyValue {
    if (depth > MAX_DEPTH) throw this.error(`nesting deeper than ${MAX_DEPTH}`);
    const c = this.s[this.pos];
    if (c === undefined) throw this.error('unexpected end of text');
    if (c === '{') return this.dict(depth);
    if (c === '(') return this.parenthesized(depth);
    if (c === '[') return this.list(depth);
    if (c === "'" || c === '"') return this.string();
    if (c === '-' || c === '+' || (c >= '0' && c <= '9')) return this.integer();
    for (const [word, v] of [['True', true], ['False', false], ['None', null]] as const) {
      if (this.s.startsWith(word, this.pos) && !/[A-Za-z0-9_]/.test(this.s[this.pos + word.length] ?? '')) {
        this.pos += word.length;
        return v;
      }
    }
    throw this.error('unexpected character');
  }

  private expect(ch: string): void {
    if (this.s[this.pos] !== ch) throw this.error(`expected "${ch}"`);
    this.pos++;
  }

  private dict(depth: number): PyDict {
    this.expect('{');
    const entries = new Map<string, PyValue>();
    this.skipSpace();
    while (this.s[this.pos] !== '}') {
      const key = this.value(depth + 1);
      if (typeof key !== 'string') throw this.error('dictionary key is not a string');
      if (entries.has(key)) throw this.error(`dictionary key '${key}' appears twice`);
      this.skipSpace();
      this.expect(':');
      this.skipSpace();
      entries.set(key, this.value(depth + 1));
      if (!this.separator('}')) break;
    }
    this.expect('}');
    return new PyDict(entries);
  }

  /** `(x)` is x itself; `()`, `(x,)` and `(x, y)` are tuples, as in Python. */
  private parenthesized(depth: number): PyValue {
    this.expect('(');
    const items: PyValue[] = [];
    let sawComma = false;
    this.skipSpace();
    while (this.s[this.pos] !== ')') {
      items.push(this.value(depth + 1));
      const more = this.separator(')');
      if (more) sawComma = true;
      else break;
    }
    this.expect(')');
    return items.length === 1 && !sawComma ? items[0] : new PyTuple(items);
  }

  private list(depth: number): PyValue[] {
    this.expect('[');
    const items: PyValue[] = [];
    this.skipSpace();
    while (this.s[this.pos] !== ']') {
      items.push(this.value(depth + 1));
      if (!this.separator(']')) break;
    }
    this.expect(']');
    return items;
  }

  /** After an item: consumes `,` (true: another item may follow) or stops before `close` (false). */
  private separator(close: string): boolean {
    this.skipSpace();
    if (this.s[this.pos] === ',') {
      this.pos++;
      this.skipSpace();
      return true;
    }
    if (this.s[this.pos] !== close) throw this.error(`expected "," or "${close}"`);
    return false;
  }

  private string(): string {
    const quote = this.s[this.pos++];
    let out = '';
    for (;;) {
      const c = this.s[this.pos++];
      if (c === undefined || c === '\n') throw this.error('unterminated string');
      if (c === quote) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.s[this.pos++];
      const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', '0': '\0' };
      if (e !== undefined && e in simple) out += simple[e];
      else if (e === 'x' || e === 'u') {
        const n = e === 'x' ? 2 : 4;
        const hex = this.s.slice(this.pos, this.pos + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw this.error('bad escape in string');
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += n;
      } else throw this.error('unsupported escape in string');
    }
  }

  /** Decimal integer; an `L` suffix (Python 2 longs, which old numpy wrote in shapes) is accepted. */
  private integer(): bigint {
    const m = /^[-+]?(0|[1-9][0-9]*)[lL]?/.exec(this.s.slice(this.pos, this.pos + 64));
    if (!m || /[0-9A-Za-z_.]/.test(this.s[this.pos + m[0].length] ?? '')) throw this.error('not an integer');
    this.pos += m[0].length;
    return BigInt(m[0].replace(/[lL]$/, '').replace(/^\+/, ''));
  }
}
