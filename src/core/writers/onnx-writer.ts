import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExternalFiles } from '../checkpoint/formats/onnx/external';
import { DATA_TYPES } from '../checkpoint/formats/onnx/schema';
import { asInt64, BufferCursor, WIRE } from '../checkpoint/formats/onnx/wire';
import { CheckpointError, errorFactory, LIMITS } from '../errors';
import { ELEMENT_BYTES } from '../tensor/dtype';
import type { WritableDtype } from './encode';
import { ProtoOut } from './onnx/proto-out';
import { DTYPE_OF_ONNX_TYPE, externalTensorProto, inlineTensorProto, ONNX_TYPE_OF, TP, tensorBytes } from './onnx/tensor-proto';
import { OutputError, type OutputPolicy, type StagedFile, StagedOutputs } from './staged-outputs';

/** New values for a tensor. `dtype` defaults to the replaced tensor's stored type (float32 for a new tensor). */
export interface OnnxTensorValue {
  dims: readonly number[];
  dtype?: WritableDtype;
  data: Float32Array | Float64Array;
}

/** A tensor of the input model, named as our reader lists it (initializer name, or a Constant node's output). */
export interface OnnxTensorRef {
  name: string;
  kind: 'initializer' | 'constant';
  dims: readonly number[];
  /** Canonical dtype (float32, float16, int64, ...). */
  dtype: string;
  /** 0 = main graph, 1 = inside an If/Loop/Scan body, ... */
  depth: number;
}

export type OnnxAttribute =
  | { name: string; int: number }
  | { name: string; float: number }
  | { name: string; string: string }
  | { name: string; ints: readonly number[] }
  | { name: string; floats: readonly number[] }
  | { name: string; tensor: OnnxTensorValue };

/** A node to emit in place of a rewritten one (no subgraph attributes). */
export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  domain?: string;
  attributes?: readonly OnnxAttribute[];
}

/** A node of the input model as the rewrite callback sees it; scalar and list attributes decoded. */
export interface OnnxNodeView {
  opType: string;
  domain: string;
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
  depth: number;
  attributes: ReadonlyMap<string, number | string | number[]>;
}

export interface OnnxEdits {
  /** Per tensor: new values, null to remove it (an initializer also leaves the graph's inputs), undefined to keep it. */
  replaceTensor?: (t: OnnxTensorRef) => Promise<OnnxTensorValue | null | undefined> | OnnxTensorValue | null | undefined;
  /**
   * Per node (every graph, subgraphs included): nodes to emit instead, in order ('self' = the original node, its
   * subgraphs and Constant value still edited), or undefined to keep it. Called before replaceTensor for Constants.
   */
  rewriteNode?: (node: OnnxNodeView) => Promise<(OnnxNode | 'self')[] | undefined> | (OnnxNode | 'self')[] | undefined;
  /** Initializers appended to the main graph (subgraphs may read them by name, as outer-scope values). */
  addInitializers?: readonly { name: string; value: OnnxTensorValue | (() => Promise<OnnxTensorValue>) }[];
}

export interface WriteOnnxOptions extends OutputPolicy {
  /**
   * Store initializers of at least `externalThreshold` bytes in `<target>.data` beside the model (onnx external data:
   * location relative to the model's folder). Default: when the input keeps any tensor externally. Tensors the input
   * kept externally are copied into the new data file, so the output never points into the input's files.
   */
  externalData?: boolean;
  externalThreshold?: number;
  /** Added to ModelProto.metadata_props (same keys replaced): how the file was made. A function is called after the graph is written. */
  metadata?: Record<string, string> | (() => Record<string, string>);
}

/** Field numbers (onnx/onnx.proto3). */
const M = { graph: 7, opsetImport: 8, metadataProps: 14 } as const;
const G = { node: 1, initializer: 5, input: 11, output: 12 } as const;
const N = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
const A = { name: 1, f: 2, i: 3, s: 4, t: 5, g: 6, floats: 7, ints: 8, graphs: 11, type: 20 } as const;
/** AttributeProto.AttributeType */
const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;
const CONSTANT_VALUE_ATTRS = new Set(['value', 'value_float', 'value_floats', 'value_int', 'value_ints']);

interface ParsedTensor {
  name: string;
  dims: number[];
  dataType: number;
  external?: Map<string, string>;
  dataLocation: number;
}

interface ParsedAttr {
  name: string;
  start: number;
  end: number;
  hasGraph: boolean;
  value?: number | string | number[];
  tensor?: { start: number; end: number };
}

interface ParsedNode {
  opType: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: ParsedAttr[];
  /** Every field as a byte range, in order; attributes point to their parse. */
  fields: { start: number; end: number; attr?: ParsedAttr }[];
}

/** A graph input or output as declared (ValueInfoProto): elem_type and dims (number, or a symbolic name). */
export interface OnnxValueInfo {
  name: string;
  elemType: number;
  dims: (number | string)[];
}

/** The structure of a model, for planning edits: every node (subgraphs included), graph inputs/outputs, the default opset. */
export interface OnnxModelScan {
  nodes: OnnxNodeView[];
  /** Main-graph inputs that are not initializers. */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** Initializer names (any graph). */
  initializers: Set<string>;
  /** Version of the default ('' / ai.onnx) opset. */
  opset: number;
}

export async function scanOnnxModel(input: string): Promise<OnnxModelScan> {
  const rewriter = await OnnxRewriter.open(input, input, {}, {});
  try {
    return rewriter.scan();
  } finally {
    await rewriter.close();
  }
}

/** Writes `input` to `target` with the edits applied: same graph, new initializers/Constant values, rewritten nodes. */
export async function writeOnnxModel(input: string, target: string, edits: OnnxEdits, opts: WriteOnnxOptions = {}): Promise<{ files: string[] }> {
  const rewriter = await OnnxRewriter.open(input, target, edits, opts);
  try {
    return await rewriter.write();
  } finally {
    await rewriter.close();
  }
}

class OnnxRewriter {
  private outputs!: StagedOutputs;
  private data: StagedFile | undefined;
  private readonly dataName: string;
  private readonly fail: (problem: string) => CheckpointError;

  private constructor(
    private readonly input: string,
    private readonly target: string,
    private readonly buf: Buffer,
    private readonly external: ExternalFiles,
    private readonly hasExternal: boolean,
    private readonly edits: OnnxEdits,
    private readonly opts: WriteOnnxOptions,
  ) {
    this.dataName = `${path.basename(target)}.data`;
    this.fail = (problem) => new CheckpointError('corrupt', input, 'onnx', problem);
  }

  static async open(input: string, target: string, edits: OnnxEdits, opts: WriteOnnxOptions): Promise<OnnxRewriter> {
    let buf: Buffer;
    try {
      buf = await fs.promises.readFile(input);
    } catch (e) {
      throw new CheckpointError('not_found', input, 'onnx', `cannot read the model (${(e as NodeJS.ErrnoException).code ?? e})`);
    }
    const external = new ExternalFiles(path.dirname(path.resolve(input)), errorFactory(input, 'onnx'));
    const ext = externalInitializers(buf, input, (problem) => new CheckpointError('corrupt', input, 'onnx', problem));
    await external.openAll(ext);
    return new OnnxRewriter(input, target, buf, external, ext.length > 0, edits, opts);
  }

  async close(): Promise<void> {
    await this.external.close();
  }

  async write(): Promise<{ files: string[] }> {
    const useExternal = this.opts.externalData ?? this.hasExternal;
    const inputs = [...(this.opts.inputs ?? []), this.input, ...this.external.paths];
    this.outputs = new StagedOutputs({ ...this.opts, inputs });
    const dataPath = path.join(path.dirname(path.resolve(this.target)), this.dataName);
    this.outputs.check(this.target);
    if (useExternal) this.outputs.check(dataPath);
    const files = await this.outputs.run(async () => {
      if (useExternal) this.data = await this.outputs.open(dataPath);
      const model = await this.model();
      await this.outputs.checkCancel(this.target);
      const out = await this.outputs.open(this.target);
      for (const p of model.finish()) await out.write(p);
      if (this.data && this.data.position === 0) await this.outputs.drop(this.data);
    });
    return { files: [path.resolve(this.target), ...files.filter((f) => f !== path.resolve(this.target))] };
  }

  scan(): OnnxModelScan {
    const result: OnnxModelScan = { nodes: [], inputs: [], outputs: [], initializers: new Set(), opset: 0 };
    const buf = this.buf;
    const c = new BufferCursor(buf, 0, this.fail);
    const walkGraph = (start: number, end: number, depth: number): void => {
      if (depth > LIMITS.maxDepth) throw new CheckpointError('too_deep', this.input, 'onnx', `subgraphs are nested more than ${LIMITS.maxDepth} levels deep`);
      const g = new BufferCursor(buf, start, this.fail);
      while (g.pos < end) {
        const { no, wire } = g.tag(end);
        if (wire !== WIRE.len) {
          g.skip(wire, end);
          continue;
        }
        const e = g.payload(end);
        const s = g.pos;
        g.pos = e;
        if (no === G.node) {
          const n = this.parseNode(s, e);
          result.nodes.push(this.view(n, depth));
          for (const a of n.attrs) if (a.hasGraph) this.subgraphs(a).forEach(([gs, ge]) => walkGraph(gs, ge, depth + 1));
        } else if (no === G.initializer) result.initializers.add(this.parseTensor(s, e).name);
        else if (depth === 0 && (no === G.input || no === G.output)) (no === G.input ? result.inputs : result.outputs).push(this.valueInfo(s, e));
      }
    };
    while (c.pos < buf.length) {
      const { no, wire } = c.tag(buf.length);
      if (wire === WIRE.len && (no === M.graph || no === M.opsetImport)) {
        const e = c.payload(buf.length);
        if (no === M.graph) walkGraph(c.pos, e, 0);
        else if (this.stringField(c.pos, e, 1) === '' || this.stringField(c.pos, e, 1) === 'ai.onnx') result.opset = this.intField(c.pos, e, 2);
        c.pos = e;
      } else c.skip(wire, buf.length);
    }
    result.inputs = result.inputs.filter((i) => !result.initializers.has(i.name));
    return result;
  }

  private intField(start: number, end: number, field: number): number {
    const c = new BufferCursor(this.buf, start, this.fail);
    while (c.pos < end) {
      const { no, wire } = c.tag(end);
      if (no === field && wire === WIRE.varint) return int64(c, end);
      c.skip(wire, end);
    }
    return 0;
  }

  /** The payload ranges of an attribute's g / graphs fields. */
  private subgraphs(a: ParsedAttr): [number, number][] {
    const c = new BufferCursor(this.buf, a.start, this.fail);
    c.tag(a.end);
    const end = c.payload(a.end);
    const out: [number, number][] = [];
    while (c.pos < end) {
      const { no, wire } = c.tag(end);
      if ((no === A.g || no === A.graphs) && wire === WIRE.len) {
        const e = c.payload(end);
        out.push([c.pos, e]);
        c.pos = e;
      } else c.skip(wire, end);
    }
    return out;
  }

  /** ValueInfoProto{name=1, type=2: TypeProto{tensor_type=1: {elem_type=1, shape=2: {dim=1: {dim_value=1 | dim_param=2}}}}}. */
  private valueInfo(start: number, end: number): OnnxValueInfo {
    const v: OnnxValueInfo = { name: this.stringField(start, end, 1), elemType: 0, dims: [] };
    const sub = (s: number, e: number, field: number): [number, number] | undefined => {
      const c = new BufferCursor(this.buf, s, this.fail);
      while (c.pos < e) {
        const { no, wire } = c.tag(e);
        if (no === field && wire === WIRE.len) {
          const pe = c.payload(e);
          return [c.pos, pe];
        }
        c.skip(wire, e);
      }
      return undefined;
    };
    const type = sub(start, end, 2);
    const tensor = type && sub(type[0], type[1], 1);
    if (!tensor) return v;
    v.elemType = this.intField(tensor[0], tensor[1], 1);
    const shape = sub(tensor[0], tensor[1], 2);
    if (!shape) return v;
    const c = new BufferCursor(this.buf, shape[0], this.fail);
    while (c.pos < shape[1]) {
      const { no, wire } = c.tag(shape[1]);
      if (no === 1 && wire === WIRE.len) {
        const e = c.payload(shape[1]);
        const param = this.stringField(c.pos, e, 2);
        const hasValue = this.hasField(c.pos, e, 1);
        v.dims.push(hasValue ? this.intField(c.pos, e, 1) : param);
        c.pos = e;
      } else c.skip(wire, shape[1]);
    }
    return v;
  }

  private hasField(start: number, end: number, field: number): boolean {
    const c = new BufferCursor(this.buf, start, this.fail);
    while (c.pos < end) {
      const { no, wire } = c.tag(end);
      if (no === field) return true;
      c.skip(wire, end);
    }
    return false;
  }

  private view(n: ParsedNode, depth: number): OnnxNodeView {
    return {
      opType: n.opType,
      domain: n.domain,
      name: n.name,
      inputs: n.inputs,
      outputs: n.outputs,
      depth,
      attributes: new Map(n.attrs.filter((a) => a.value !== undefined).map((a) => [a.name, a.value as number | string | number[]])),
    };
  }

  // ---- ModelProto ----

  private async model(): Promise<ProtoOut> {
    const buf = this.buf;
    const c = new BufferCursor(buf, 0, this.fail);
    const out = new ProtoOut();
    const end = buf.length;
    let graphs = 0;
    const meta = this.opts.metadata;
    const keys = new Set(Object.keys(typeof meta === 'function' ? {} : (meta ?? {})));
    const dropped: { start: number; end: number; key: string }[] = [];
    while (c.pos < end) {
      const start = c.pos;
      const { no, wire } = c.tag(end);
      if (no === M.graph && wire === WIRE.len) {
        const gEnd = c.payload(end);
        if (graphs++) throw this.fail('the model holds more than one main graph');
        out.message(M.graph, await this.graph(c.pos, gEnd, 0));
        c.pos = gEnd;
        continue;
      }
      c.skip(wire, end);
      if (no === M.metadataProps && wire === WIRE.len && meta) {
        const key = this.entryKey(start, c.pos);
        if (typeof meta === 'function') {
          // keys known only after the graph: keep the entry aside until then
          dropped.push({ start, end: c.pos, key });
          continue;
        }
        if (keys.has(key)) continue; // replaced below
      }
      out.raw(buf.subarray(start, c.pos));
    }
    if (!graphs) throw this.fail('the model has no graph');
    const props = typeof meta === 'function' ? meta() : (meta ?? {});
    for (const d of dropped) if (!(d.key in props)) out.raw(buf.subarray(d.start, d.end));
    for (const [k, v] of Object.entries(props)) out.message(M.metadataProps, new ProtoOut().string(1, k).string(2, v));
    return out;
  }

  private entryKey(start: number, end: number): string {
    const c = new BufferCursor(this.buf, start, this.fail);
    c.tag(end);
    const e = c.payload(end);
    while (c.pos < e) {
      const { no, wire } = c.tag(e);
      if (no === 1 && wire === WIRE.len) {
        const s = c.payload(e);
        return this.buf.toString('utf8', c.pos, s);
      }
      c.skip(wire, e);
    }
    return '';
  }

  // ---- GraphProto ----

  private async graph(start: number, end: number, depth: number): Promise<ProtoOut> {
    if (depth > LIMITS.maxDepth) throw new CheckpointError('too_deep', this.input, 'onnx', `subgraphs are nested more than ${LIMITS.maxDepth} levels deep`);
    const buf = this.buf;
    const c = new BufferCursor(buf, start, this.fail);
    // Fields are kept in order; graph inputs are filtered at the end, once every removed initializer is known.
    const items: ({ kind: 'out'; out: ProtoOut } | { kind: 'input'; name: string; bytes: Uint8Array })[] = [];
    const removed = new Set<string>();
    while (c.pos < end) {
      const fieldStart = c.pos;
      const { no, wire } = c.tag(end);
      if (wire !== WIRE.len || (no !== G.node && no !== G.initializer && no !== G.input)) {
        c.skip(wire, end);
        items.push({ kind: 'out', out: new ProtoOut().raw(buf.subarray(fieldStart, c.pos)) });
        continue;
      }
      const payloadEnd = c.payload(end);
      const payloadStart = c.pos;
      c.pos = payloadEnd;
      if (no === G.input) {
        items.push({ kind: 'input', name: this.stringField(payloadStart, payloadEnd, 1), bytes: buf.subarray(fieldStart, payloadEnd) });
      } else if (no === G.node) {
        for (const n of await this.node(payloadStart, payloadEnd, depth)) items.push({ kind: 'out', out: new ProtoOut().message(G.node, n) });
      } else {
        const t = await this.initializer(payloadStart, payloadEnd, depth);
        if (t === null) removed.add(this.parseTensor(payloadStart, payloadEnd).name);
        else items.push({ kind: 'out', out: new ProtoOut().message(G.initializer, t) });
      }
      await this.outputs.checkCancel(this.target);
    }
    const out = new ProtoOut();
    for (const it of items) {
      if (it.kind === 'out') out.append(it.out);
      else if (!removed.has(it.name)) out.raw(it.bytes);
    }
    if (depth === 0) {
      for (const add of this.edits.addInitializers ?? []) {
        const value = typeof add.value === 'function' ? await add.value() : add.value;
        out.message(G.initializer, await this.newTensor(add.name, value, 'float32', true));
        await this.outputs.checkCancel(this.target);
      }
    }
    return out;
  }

  private stringField(start: number, end: number, field: number): string {
    return stringField(this.buf, start, end, field, this.fail);
  }

  // ---- TensorProto ----

  private parseTensor(start: number, end: number): ParsedTensor {
    return parseTensor(this.buf, start, end, this.fail);
  }

  private ref(t: ParsedTensor, name: string, kind: OnnxTensorRef['kind'], depth: number): OnnxTensorRef {
    return { name, kind, dims: t.dims, dtype: DATA_TYPES[t.dataType]?.dtype ?? `onnx_type_${t.dataType}`, depth };
  }

  /** An initializer: replaced, removed (null), copied as it is, or (external in the input) copied into our data file. */
  private async initializer(start: number, end: number, depth: number): Promise<ProtoOut | null> {
    const t = this.parseTensor(start, end);
    const value = await this.edits.replaceTensor?.(this.ref(t, t.name, 'initializer', depth));
    if (value === null) return null;
    if (value) return this.newTensor(t.name, value, this.storedDtype(t), true);
    if (t.dataLocation === 1) return this.copyExternal(t);
    return new ProtoOut().raw(this.buf.subarray(start, end));
  }

  private storedDtype(t: ParsedTensor): WritableDtype | undefined {
    return DTYPE_OF_ONNX_TYPE[t.dataType];
  }

  private async newTensor(name: string | undefined, value: OnnxTensorValue, fallback: WritableDtype | undefined, mayExternal: boolean): Promise<ProtoOut> {
    const dtype = value.dtype ?? fallback;
    if (!dtype) throw new OutputError(this.target, `tensor "${name}": its stored type cannot be written; give the new value a dtype`);
    if (!value.dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new OutputError(this.target, `tensor "${name}" has invalid dims [${value.dims}]`);
    let tb;
    try {
      tb = tensorBytes(value.dims, dtype, value.data);
    } catch (e) {
      throw new OutputError(this.target, `tensor "${name}": ${(e as Error).message}`);
    }
    if (mayExternal && this.data && tb.bytes.length >= (this.opts.externalThreshold ?? 1024)) {
      const offset = this.data.position;
      await this.data.write(tb.bytes);
      return externalTensorProto(name, value.dims, ONNX_TYPE_OF[dtype], this.dataName, offset, tb.bytes.length);
    }
    return inlineTensorProto(name, tb);
  }

  private async copyExternal(t: ParsedTensor): Promise<ProtoOut> {
    const element = DATA_TYPES[t.dataType]?.element;
    if (!element) throw new CheckpointError('unsupported', this.input, 'onnx', `external tensor "${t.name}" has a data type we do not copy (${t.dataType})`);
    const bytes = t.dims.reduce((a, b) => a * b, 1) * ELEMENT_BYTES[element];
    const ext = this.external.extent(t.name, t.external, bytes);
    if (!this.data) {
      // inline it: the output must not point into the input's files
      const b = await ext.file.read(ext.offset, ext.length, 'onnx');
      return inlineTensorProto(t.name, { dims: t.dims, dtype: DTYPE_OF_ONNX_TYPE[t.dataType] ?? 'uint8', bytes: b });
    }
    const offset = this.data.position;
    const chunk = 4 << 20;
    for (let done = 0; done < ext.length; done += chunk) {
      await this.data.write(await ext.file.read(ext.offset + done, Math.min(chunk, ext.length - done), 'onnx'));
    }
    return externalTensorProto(t.name, t.dims, t.dataType, this.dataName, offset, ext.length);
  }

  // ---- NodeProto ----

  private parseNode(start: number, end: number): ParsedNode {
    const c = new BufferCursor(this.buf, start, this.fail);
    const n: ParsedNode = { opType: '', domain: '', name: '', inputs: [], outputs: [], attrs: [], fields: [] };
    while (c.pos < end) {
      const fieldStart = c.pos;
      const { no, wire } = c.tag(end);
      if (wire !== WIRE.len) {
        c.skip(wire, end);
        n.fields.push({ start: fieldStart, end: c.pos });
        continue;
      }
      const e = c.payload(end);
      const s = c.pos;
      c.pos = e;
      const text = () => this.buf.toString('utf8', s, e);
      if (no === N.attribute) {
        const attr = this.parseAttr(fieldStart, s, e);
        n.attrs.push(attr);
        n.fields.push({ start: fieldStart, end: e, attr });
      } else {
        n.fields.push({ start: fieldStart, end: e });
        if (no === N.input) n.inputs.push(text());
        else if (no === N.output) n.outputs.push(text());
        else if (no === N.name) n.name = text();
        else if (no === N.opType) n.opType = text();
        else if (no === N.domain) n.domain = text();
      }
    }
    return n;
  }

  private parseAttr(fieldStart: number, start: number, end: number): ParsedAttr {
    const c = new BufferCursor(this.buf, start, this.fail);
    const a: ParsedAttr = { name: '', start: fieldStart, end, hasGraph: false };
    const ints: number[] = [];
    const floats: number[] = [];
    while (c.pos < end) {
      const { no, wire } = c.tag(end);
      if (no === A.i && wire === WIRE.varint) a.value = int64(c, end);
      else if (no === A.f && wire === WIRE.i32) a.value = this.buf.readFloatLE(c.fixed(4, end));
      else if (no === A.ints && wire === WIRE.varint) ints.push(int64(c, end));
      else if (no === A.floats && wire === WIRE.i32) floats.push(this.buf.readFloatLE(c.fixed(4, end)));
      else if (wire === WIRE.len) {
        const e = c.payload(end);
        const s = c.pos;
        c.pos = e;
        if (no === A.name) a.name = this.buf.toString('utf8', s, e);
        else if (no === A.s) a.value = this.buf.toString('utf8', s, e);
        else if (no === A.t) a.tensor = { start: s, end: e };
        else if (no === A.g || no === A.graphs) a.hasGraph = true;
        else if (no === A.ints) {
          const cc = new BufferCursor(this.buf, s, this.fail);
          while (cc.pos < e) ints.push(int64(cc, e));
        } else if (no === A.floats) for (let p = s; p + 4 <= e; p += 4) floats.push(this.buf.readFloatLE(p));
      } else c.skip(wire, end);
    }
    if (ints.length) a.value = ints;
    if (floats.length) a.value = floats;
    return a;
  }

  /** The node's replacement: zero or more encoded NodeProtos. */
  private async node(start: number, end: number, depth: number): Promise<ProtoOut[]> {
    const n = this.parseNode(start, end);
    const plan = (await this.edits.rewriteNode?.(this.view(n, depth))) ?? ['self'];
    const result: ProtoOut[] = [];
    for (const item of plan) {
      if (item === 'self') {
        const self = await this.selfNode(n, start, end, depth);
        if (self) result.push(self);
      } else result.push(await this.newNode(item));
    }
    return result;
  }

  /** The original node with its Constant value replaced and its subgraphs rewritten; null when its value is removed. */
  private async selfNode(n: ParsedNode, start: number, end: number, depth: number): Promise<ProtoOut | null> {
    const isConstant = n.opType === 'Constant' && (n.domain === '' || n.domain === 'ai.onnx');
    let newValue: ProtoOut | undefined;
    if (isConstant && n.outputs[0]) {
      const valueAttr = n.attrs.find((a) => CONSTANT_VALUE_ATTRS.has(a.name));
      const parsed = valueAttr?.tensor ? this.parseTensor(valueAttr.tensor.start, valueAttr.tensor.end) : undefined;
      const ref: OnnxTensorRef = parsed
        ? this.ref(parsed, n.outputs[0], 'constant', depth)
        : { name: n.outputs[0], kind: 'constant', dims: Array.isArray(valueAttr?.value) ? [valueAttr.value.length] : [], dtype: valueAttr?.name.includes('float') ? 'float32' : 'int64', depth };
      const value = await this.edits.replaceTensor?.(ref);
      if (value === null) return null;
      if (value) {
        const fallback = parsed ? this.storedDtype(parsed) : valueAttr?.name.includes('float') ? 'float32' : 'int64';
        const tensor = await this.newTensor(parsed?.name || undefined, value, fallback, false);
        newValue = new ProtoOut().string(A.name, 'value').message(A.t, tensor).int(A.type, ATTR_TYPE.tensor);
      }
    }
    if (!newValue && !n.attrs.some((a) => a.hasGraph)) return new ProtoOut().raw(this.buf.subarray(start, end));
    const out = new ProtoOut();
    for (const { start: s, end: e, attr: a } of n.fields) {
      if (!a) out.raw(this.buf.subarray(s, e));
      else if (newValue && CONSTANT_VALUE_ATTRS.has(a.name)) out.message(N.attribute, newValue);
      else if (a.hasGraph) out.message(N.attribute, await this.attrWithGraphs(a, depth));
      else out.raw(this.buf.subarray(a.start, a.end));
    }
    return out;
  }

  private async attrWithGraphs(a: ParsedAttr, depth: number): Promise<ProtoOut> {
    const c = new BufferCursor(this.buf, a.start, this.fail);
    c.tag(a.end);
    const end = c.payload(a.end);
    const out = new ProtoOut();
    while (c.pos < end) {
      const fieldStart = c.pos;
      const { no, wire } = c.tag(end);
      if ((no === A.g || no === A.graphs) && wire === WIRE.len) {
        const e = c.payload(end);
        out.message(no, await this.graph(c.pos, e, depth + 1));
        c.pos = e;
      } else {
        c.skip(wire, end);
        out.raw(this.buf.subarray(fieldStart, c.pos));
      }
    }
    return out;
  }

  private async newNode(n: OnnxNode): Promise<ProtoOut> {
    const out = new ProtoOut();
    for (const x of n.inputs) out.string(N.input, x);
    for (const x of n.outputs) out.string(N.output, x);
    if (n.name) out.string(N.name, n.name);
    out.string(N.opType, n.opType);
    for (const a of n.attributes ?? []) {
      const w = new ProtoOut().string(A.name, a.name);
      if ('int' in a) w.int(A.i, a.int).int(A.type, ATTR_TYPE.int);
      else if ('float' in a) w.float(A.f, a.float).int(A.type, ATTR_TYPE.float);
      else if ('string' in a) w.string(A.s, a.string).int(A.type, ATTR_TYPE.string);
      else if ('ints' in a) w.packedVarints(A.ints, a.ints).int(A.type, ATTR_TYPE.ints);
      else if ('floats' in a) w.packedFloats(A.floats, a.floats).int(A.type, ATTR_TYPE.floats);
      else w.message(A.t, await this.newTensor(undefined, a.tensor, 'float32', false)).int(A.type, ATTR_TYPE.tensor);
      out.message(N.attribute, w);
    }
    if (n.domain) out.string(N.domain, n.domain);
    return out;
  }
}

/** Initializers (main graph and subgraphs) whose data the input keeps in external files. */
function externalInitializers(buf: Buffer, file: string, fail: (problem: string) => Error): { name: string; external?: Map<string, string> }[] {
  const found: { name: string; external?: Map<string, string> }[] = [];
  let graphDepth = 0;
  const scan = (start: number, end: number, level: number): void => {
    // ModelProto(0) → GraphProto(1) → NodeProto/TensorProto → AttributeProto → GraphProto ...
    const c = new BufferCursor(buf, start, fail);
    while (c.pos < end) {
      const { no, wire } = c.tag(end);
      if (wire !== WIRE.len) {
        c.skip(wire, end);
        continue;
      }
      const e = c.payload(end);
      const s = c.pos;
      c.pos = e;
      if (level === 0 && no === M.graph) scan(s, e, 1);
      else if (level === 1 && no === G.initializer) {
        const t = parseTensor(buf, s, e, fail);
        if (t.dataLocation === 1) found.push({ name: t.name, external: t.external });
      } else if (level === 1 && no === G.node) scan(s, e, 2);
      else if (level === 2 && no === N.attribute) scan(s, e, 3);
      else if (level === 3 && (no === A.g || no === A.graphs)) {
        if (++graphDepth > LIMITS.maxDepth) throw new CheckpointError('too_deep', file, 'onnx', `subgraphs are nested more than ${LIMITS.maxDepth} levels deep`);
        scan(s, e, 1);
        graphDepth--;
      }
    }
  };
  scan(0, buf.length, 0);
  return found;
}


function parseTensor(buf: Buffer, start: number, end: number, fail: (problem: string) => Error): ParsedTensor {
  const c = new BufferCursor(buf, start, fail);
  const t: ParsedTensor = { name: '', dims: [], dataType: 0, dataLocation: 0 };
  while (c.pos < end) {
    const { no, wire } = c.tag(end);
    if (no === TP.dims && wire === WIRE.varint) t.dims.push(int64(c, end));
    else if (no === TP.dims && wire === WIRE.len) {
      const e = c.payload(end);
      while (c.pos < e) t.dims.push(int64(c, e));
    } else if (no === TP.dataType && wire === WIRE.varint) t.dataType = c.varint(end).lo;
    else if (no === TP.name && wire === WIRE.len) {
      const e = c.payload(end);
      t.name = buf.toString('utf8', c.pos, e);
      c.pos = e;
    } else if (no === TP.dataLocation && wire === WIRE.varint) t.dataLocation = c.varint(end).lo;
    else if (no === TP.externalData && wire === WIRE.len) {
      const e = c.payload(end);
      const s = c.pos;
      c.pos = e;
      t.external ??= new Map();
      t.external.set(stringField(buf, s, e, 1, fail), stringField(buf, s, e, 2, fail));
    } else c.skip(wire, end);
  }
  return t;
}


function stringField(buf: Buffer, start: number, end: number, field: number, fail: (problem: string) => Error): string {
  const c = new BufferCursor(buf, start, fail);
  while (c.pos < end) {
    const { no, wire } = c.tag(end);
    if (no === field && wire === WIRE.len) {
      const e = c.payload(end);
      return buf.toString('utf8', c.pos, e);
    }
    c.skip(wire, end);
  }
  return '';
}


/** A varint field as a signed int64 (dims, int attributes). */
function int64(c: BufferCursor, end: number): number {
  return asInt64(c.varint(end));
}
