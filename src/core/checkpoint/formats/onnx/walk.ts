import { type ErrorFactory, LIMITS } from '../../../errors';
import { ATTRIBUTE, ENTRY, GRAPH, MODEL, NODE, OPSET, TENSOR, TYPED_FIELD_ENCODING, type ValueEncoding } from './schema';
import { fieldNo, WIRE, type WireReader, wireType } from './wire';

/** The values of one repeated numeric field (or one scalar field) of a message, located but not read. */
export interface FieldValues {
  /** Field number inside the message that holds them. */
  field: number;
  encoding: ValueEncoding;
  /** Packed payloads (wire type 2) and lone elements seen. */
  runs: number;
  singles: number;
  /** Bytes of the values as stored (payloads and lone elements, without keys and lengths). */
  bytes: number;
  /** The first payload or lone element: the data's one contiguous range when it is the only one. */
  first: { offset: number; length: number };
  /** Element count when known at open (fixed-width fields, counted attribute ints). */
  count?: number;
}

/** A tensor found in the model: where its metadata says its data lives. Nothing of the data is read. */
export interface TensorSource {
  name: string;
  kind: 'initializer' | 'constant';
  /** Byte range of the message holding the values (a TensorProto, or the Constant's AttributeProto). */
  message: { start: number; end: number };
  dims: number[];
  dataType: number;
  raw: { offset: number; length: number } | undefined;
  /** Typed value fields present (float_data, int32_data, ...), usually none or one. */
  typed: FieldValues[];
  /** external_data key/value pairs, when any. */
  external: Map<string, string> | undefined;
  dataLocation: number;
  segmented: boolean;
  /** The field holding the values when it is not the data type's TensorProto field (Constant value_float(s)/value_int(s)). */
  valueField: number | undefined;
}

/** Every source is built by this one literal, so all share one object shape (thousands of Constants are common). */
function newSource(start: number, end: number): TensorSource {
  return {
    name: '',
    kind: 'initializer',
    message: { start, end },
    dims: [],
    dataType: 0,
    raw: undefined,
    typed: [],
    external: undefined,
    dataLocation: 0,
    segmented: false,
    valueField: undefined,
  };
}

export interface ModelWalk {
  tensors: TensorSource[];
  metadata: Record<string, unknown>;
  /** Things we saw but do not list as tensors (sparse initializers, functions, ...), the first 100 of them. */
  skipped: string[];
}

const MAX_DIMS = 4096;
const MAX_ENTRIES = 100_000;
const MAX_SKIPPED_LISTED = 100;

const WIDTH: Record<ValueEncoding, number> = { fixed32: 4, fixed64: 8, varint: 0 };
const SCALAR_WIRE: Record<ValueEncoding, number> = { fixed32: WIRE.i32, fixed64: WIRE.i64, varint: WIRE.varint };

/** Constant attributes that hold a numeric value, and what they become (onnx Operators.md, Constant). */
const CONSTANT_ATTRIBUTES: Record<string, { field: number; encoding: ValueEncoding; dataType: number; scalar: boolean } | 'tensor'> = {
  value: 'tensor',
  value_float: { field: ATTRIBUTE.f, encoding: 'fixed32', dataType: 1, scalar: true },
  value_floats: { field: ATTRIBUTE.floats, encoding: 'fixed32', dataType: 1, scalar: false },
  value_int: { field: ATTRIBUTE.i, encoding: 'varint', dataType: 7, scalar: true },
  value_ints: { field: ATTRIBUTE.ints, encoding: 'varint', dataType: 7, scalar: false },
};

interface AttributeWalk {
  name: string;
  start: number;
  end: number;
  tensor: TensorSource | undefined;
  values: FieldValues[];
}

/**
 * Walks ModelProto → GraphProto → NodeProto → AttributeProto → TensorProto on the wire, recording initializers and
 * Constant node values (main graph and every GRAPH/GRAPHS attribute: If branches, Loop/Scan bodies).
 */
export class ModelWalker {
  private readonly tensors: TensorSource[] = [];
  private readonly skipped: string[] = [];
  private skippedCount = 0;

  constructor(
    private readonly r: WireReader,
    private readonly fail: ErrorFactory,
  ) {}

  walk(): ModelWalk {
    const r = this.r;
    const end = r.size;
    const metadata: Record<string, unknown> = {};
    const opsets: { domain: string; version: number }[] = [];
    const props: Record<string, string> = {};
    let graphs = 0;
    r.pos = 0;
    while (r.pos < end) {
      const key = r.key(end);
      const no = fieldNo(key);
      const wire = wireType(key);
      switch (no) {
        case MODEL.irVersion:
          metadata.irVersion = this.int(wire, end, 'ModelProto.ir_version');
          break;
        case MODEL.producerName:
          metadata.producerName = this.str(wire, end, 'ModelProto.producer_name');
          break;
        case MODEL.producerVersion:
          metadata.producerVersion = this.str(wire, end, 'ModelProto.producer_version');
          break;
        case MODEL.domain:
          metadata.domain = this.str(wire, end, 'ModelProto.domain');
          break;
        case MODEL.modelVersion:
          metadata.modelVersion = this.int(wire, end, 'ModelProto.model_version');
          break;
        case MODEL.graph: {
          const graphEnd = this.message(wire, end, 'the main graph (ModelProto.graph)');
          if (++graphs > 1) throw this.fail('corrupt', 'the model holds more than one main graph');
          metadata.graphName = this.graph(graphEnd, 0);
          break;
        }
        case MODEL.opsetImport:
          this.countEntry(opsets.length);
          opsets.push(this.opset(this.message(wire, end, 'ModelProto.opset_import')));
          break;
        case MODEL.metadataProps: {
          this.countEntry(Object.keys(props).length);
          const [k, v] = this.entry(this.message(wire, end, 'ModelProto.metadata_props'));
          props[k] = v;
          break;
        }
        case MODEL.functions:
        case MODEL.trainingInfo:
          this.skip(no === MODEL.functions ? 'model-local function (not read)' : 'training info graph (not read)');
          r.skip(wire, end, 'ModelProto field');
          break;
        default:
          r.skip(wire, end, `ModelProto field ${no}`);
      }
    }
    if (graphs === 0) throw this.fail('corrupt', 'the model has no graph (ModelProto.graph is missing)');
    metadata.opsetImport = opsets;
    if (Object.keys(props).length) metadata.metadataProps = props;
    return { tensors: this.tensors, metadata, skipped: this.skipped };
  }

  /** Walks one graph; subgraphs recurse with `depth` + 1 up to LIMITS.maxDepth. Returns its name. */
  private graph(end: number, depth: number): string {
    if (depth > LIMITS.maxDepth) {
      throw this.fail('too_deep', `subgraphs (If/Loop/Scan bodies) are nested more than ${LIMITS.maxDepth} levels deep`);
    }
    const r = this.r;
    let name = '';
    while (r.pos < end) {
      const key = r.key(end);
      const no = fieldNo(key);
      const wire = wireType(key);
      if (no === GRAPH.node) {
        this.node(this.message(wire, end, 'GraphProto.node'), depth);
      } else if (no === GRAPH.initializer) {
        const t = this.tensorProto(this.message(wire, end, 'GraphProto.initializer'));
        if (!t.name) throw this.fail('corrupt', `an initializer at byte ${t.message.start} has no name`);
        this.add(t);
      } else if (no === GRAPH.name) {
        name = this.str(wire, end, 'GraphProto.name');
      } else if (no === GRAPH.sparseInitializer) {
        this.skip('sparse initializer (not read)');
        r.skip(wire, end, 'GraphProto.sparse_initializer');
      } else {
        r.skip(wire, end, `GraphProto field ${no}`);
      }
    }
    return name;
  }

  private node(end: number, depth: number): void {
    const r = this.r;
    let output: string | undefined;
    let opType = '';
    let domain = '';
    const attributes: AttributeWalk[] = [];
    while (r.pos < end) {
      const key = r.key(end);
      const no = fieldNo(key);
      const wire = wireType(key);
      if (no === NODE.output) {
        if (output === undefined) output = this.str(wire, end, 'NodeProto.output');
        else r.skip(wire, end, 'NodeProto.output');
      } else if (no === NODE.opType) {
        opType = this.str(wire, end, 'NodeProto.op_type');
      } else if (no === NODE.domain) {
        domain = this.str(wire, end, 'NodeProto.domain');
      } else if (no === NODE.attribute) {
        const a = this.attribute(this.message(wire, end, 'NodeProto.attribute'), depth);
        if (CONSTANT_ATTRIBUTES[a.name]) attributes.push(a);
      } else {
        r.skip(wire, end, `NodeProto field ${no}`);
      }
    }
    if (opType !== 'Constant' || (domain !== '' && domain !== 'ai.onnx')) return;
    if (!output) throw this.fail('corrupt', `a Constant node at byte ${end} has no output name`);
    const value = attributes[0];
    if (!value) {
      this.skip(`${output} (Constant without a numeric value attribute)`);
      return;
    }
    const source = constantSource(value);
    if (!source) throw this.fail('corrupt', `Constant "${output}" has an attribute "${value.name}" without a value`);
    source.name = output;
    source.kind = 'constant';
    this.add(source);
  }

  private attribute(end: number, depth: number): AttributeWalk {
    const r = this.r;
    const a: AttributeWalk = { name: '', start: r.pos, end, tensor: undefined, values: [] };
    while (r.pos < end) {
      const key = r.key(end);
      const no = fieldNo(key);
      const wire = wireType(key);
      switch (no) {
        case ATTRIBUTE.name:
          a.name = this.str(wire, end, 'AttributeProto.name');
          break;
        case ATTRIBUTE.t:
          a.tensor = this.tensorProto(this.message(wire, end, 'AttributeProto.t'));
          break;
        case ATTRIBUTE.g:
        case ATTRIBUTE.graphs:
          this.graph(this.message(wire, end, 'a subgraph (AttributeProto.g)'), depth + 1);
          break;
        case ATTRIBUTE.f:
        case ATTRIBUTE.floats:
          this.values(a.values, no, 'fixed32', wire, end);
          break;
        case ATTRIBUTE.i:
        case ATTRIBUTE.ints:
          this.values(a.values, no, 'varint', wire, end, no === ATTRIBUTE.ints);
          break;
        default:
          r.skip(wire, end, `AttributeProto field ${no}`);
      }
    }
    return a;
  }

  /** A TensorProto's storage; `name` is the TensorProto's own (initializers keep it, Constants replace it). */
  private tensorProto(end: number): TensorSource {
    const r = this.r;
    const source = newSource(r.pos, end);
    while (r.pos < end) {
      const key = r.key(end);
      const no = fieldNo(key);
      const wire = wireType(key);
      switch (no) {
        case TENSOR.dims:
          this.dims(source.dims, wire, end);
          break;
        case TENSOR.dataType:
          source.dataType = this.int(wire, end, 'TensorProto.data_type');
          break;
        case TENSOR.name:
          source.name = this.str(wire, end, 'TensorProto.name');
          break;
        case TENSOR.rawData: {
          const payloadEnd = this.message(wire, end, 'TensorProto.raw_data');
          source.raw = { offset: r.pos, length: payloadEnd - r.pos };
          r.pos = payloadEnd;
          break;
        }
        case TENSOR.floatData:
        case TENSOR.int32Data:
        case TENSOR.int64Data:
        case TENSOR.doubleData:
        case TENSOR.uint64Data:
          this.values(source.typed, no, TYPED_FIELD_ENCODING[no], wire, end);
          break;
        case TENSOR.externalData: {
          source.external ??= new Map();
          if (source.external.size >= 64) throw this.fail('too_large', 'a tensor has more than 64 external_data entries');
          const [k, v] = this.entry(this.message(wire, end, 'TensorProto.external_data'));
          source.external.set(k, v);
          break;
        }
        case TENSOR.dataLocation:
          source.dataLocation = this.int(wire, end, 'TensorProto.data_location');
          break;
        case TENSOR.segment:
          source.segmented = true;
          r.skip(wire, end, 'TensorProto.segment');
          break;
        default:
          r.skip(wire, end, `TensorProto field ${no}`);
      }
    }
    return source;
  }

  /** Reads dims, packed or not; each is an int64 (negative and huge values are judged later). */
  private dims(out: number[], wire: number, end: number): void {
    const r = this.r;
    if (wire === WIRE.varint) {
      out.push(r.int64(end, 'TensorProto.dims'));
    } else if (wire === WIRE.len) {
      const payloadEnd = r.payload(end, 'TensorProto.dims');
      while (r.pos < payloadEnd) {
        if (out.length >= MAX_DIMS) break;
        out.push(r.int64(payloadEnd, 'TensorProto.dims'));
      }
    } else {
      throw this.fail('corrupt', `TensorProto.dims has wire type ${wire}`);
    }
    if (out.length >= MAX_DIMS) throw this.fail('too_large', `a tensor declares ${MAX_DIMS} or more dimensions`);
  }

  /** Locates the values of a repeated numeric field (packed, or one element per key) without reading them. */
  private values(into: FieldValues[], field: number, encoding: ValueEncoding, wire: number, end: number, countVarints = false): void {
    const r = this.r;
    if (wire === WIRE.len) {
      const payloadEnd = r.payload(end, 'a packed numeric field');
      const offset = r.pos;
      const length = payloadEnd - offset;
      const width = WIDTH[encoding];
      if (width && length % width !== 0) {
        throw this.fail('corrupt', `packed ${encoding} values at byte ${offset} take ${length} bytes, not a multiple of ${width}`);
      }
      const count = width ? length / width : countVarints ? r.countVarints(payloadEnd, 'a packed varint field') : undefined;
      r.pos = payloadEnd;
      record(into, field, encoding, offset, length, true, count);
      return;
    }
    if (wire !== SCALAR_WIRE[encoding]) {
      throw this.fail('corrupt', `field ${field} at byte ${r.pos} has wire type ${wire}, expected ${encoding} values`);
    }
    const offset = r.pos;
    r.skip(wire, end, 'a numeric value');
    record(into, field, encoding, offset, r.pos - offset, false, 1);
  }

  private message(wire: number, end: number, what: string): number {
    if (wire !== WIRE.len) throw this.fail('corrupt', `${what} has wire type ${wire}, expected a length-delimited message`);
    return this.r.payload(end, what);
  }

  private str(wire: number, end: number, what: string): string {
    return this.r.string(this.message(wire, end, what), what);
  }

  private int(wire: number, end: number, what: string): number {
    if (wire !== WIRE.varint) throw this.fail('corrupt', `${what} has wire type ${wire}, expected a varint`);
    return this.r.int64(end, what);
  }

  private entry(end: number): [string, string] {
    const r = this.r;
    let name = '';
    let value = '';
    while (r.pos < end) {
      const key = r.key(end);
      const no = fieldNo(key);
      const wire = wireType(key);
      if (no === ENTRY.key) name = this.str(wire, end, 'a key/value entry key');
      else if (no === ENTRY.value) value = this.str(wire, end, 'a key/value entry value');
      else r.skip(wire, end, 'a key/value entry field');
    }
    return [name, value];
  }

  private opset(end: number): { domain: string; version: number } {
    const r = this.r;
    const o = { domain: '', version: 0 };
    while (r.pos < end) {
      const key = r.key(end);
      const no = fieldNo(key);
      const wire = wireType(key);
      if (no === OPSET.domain) o.domain = this.str(wire, end, 'OperatorSetIdProto.domain');
      else if (no === OPSET.version) o.version = this.int(wire, end, 'OperatorSetIdProto.version');
      else r.skip(wire, end, 'OperatorSetIdProto field');
    }
    return o;
  }

  private add(t: TensorSource): void {
    if (this.tensors.length >= LIMITS.maxTensorCount) {
      throw this.fail('too_large', `the model declares more than ${LIMITS.maxTensorCount} tensors`);
    }
    this.tensors.push(t);
  }

  private skip(what: string): void {
    if (this.skippedCount++ < MAX_SKIPPED_LISTED) this.skipped.push(what);
  }

  private countEntry(n: number): void {
    if (n >= MAX_ENTRIES) throw this.fail('too_large', `the model has more than ${MAX_ENTRIES} opset or metadata entries`);
  }
}

function record(
  into: FieldValues[],
  field: number,
  encoding: ValueEncoding,
  offset: number,
  length: number,
  packed: boolean,
  count: number | undefined,
): void {
  let f = into.find((v) => v.field === field);
  if (!f) {
    f = { field, encoding, runs: 0, singles: 0, bytes: 0, first: { offset, length }, count: 0 };
    into.push(f);
  }
  if (packed) f.runs++;
  else f.singles++;
  f.bytes += length;
  f.count = f.count === undefined || count === undefined ? undefined : f.count + count;
}

/** The tensor a Constant node's value attribute describes (value, value_float(s), value_int(s)). */
function constantSource(a: AttributeWalk): TensorSource | undefined {
  const spec = CONSTANT_ATTRIBUTES[a.name];
  if (spec === 'tensor') return a.tensor;
  const values = a.values.find((v) => v.field === spec.field);
  const count = values ? values.count : 0;
  if (count === undefined) return undefined;
  if (spec.scalar && count !== 1) return undefined;
  const source = newSource(a.start, a.end);
  if (!spec.scalar) source.dims.push(count);
  source.dataType = spec.dataType;
  if (values) source.typed.push(values);
  source.valueField = spec.field;
  return source;
}
