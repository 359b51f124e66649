/**
 * A tiny ONNX ModelProto encoder for the small compute graphs we run in onnxruntime (protobuf wire format;
 * field numbers from onnx/onnx.proto). Only what our kernels need: one graph, typed inputs/outputs with
 * symbolic or fixed dims, nodes with int and float attributes.
 */

export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;
export const ONNX_DOUBLE = 11;

export interface GraphValue {
  name: string;
  elemType: number;
  /** number = fixed dim, string = symbolic dim_param */
  dims: (number | string)[];
}

export interface GraphNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  intAttributes?: Record<string, number>;
  floatAttributes?: Record<string, number>;
}

class Writer {
  private parts: number[] = [];
  varint(v: number): this {
    // Negative int64 values are sent as their 64-bit two's complement (10 bytes).
    let x = BigInt.asUintN(64, BigInt(v));
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x > 0n) b |= 0x80;
      this.parts.push(b);
    } while (x > 0n);
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    for (const x of b) this.parts.push(x);
    return this;
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, build: (w: Writer) => void): this {
    const w = new Writer();
    build(w);
    return this.bytes(field, w.finish());
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function valueInfo(w: Writer, v: GraphValue): void {
  w.string(1, v.name); // ValueInfoProto.name
  w.message(2, (t) =>
    // TypeProto.tensor_type
    t.message(1, (tt) => {
      tt.int(1, v.elemType); // elem_type
      tt.message(2, (shape) => {
        for (const d of v.dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

export function encodeModel(graph: { name: string; nodes: GraphNode[]; inputs: GraphValue[]; outputs: GraphValue[] }, opset = 17): Uint8Array {
  const w = new Writer();
  w.int(1, 8); // ir_version
  w.string(2, 'weight-spectra'); // producer_name
  w.message(7, (g) => {
    graph.nodes.forEach((n, i) =>
      g.message(1, (nw) => {
        for (const x of n.inputs) nw.string(1, x);
        for (const x of n.outputs) nw.string(2, x);
        nw.string(3, `${n.opType}_${i}`);
        nw.string(4, n.opType);
        for (const [name, value] of Object.entries(n.intAttributes ?? {})) {
          nw.message(5, (a) => a.string(1, name).int(3, value).int(20, 2)); // AttributeProto{name, i, type=INT}
        }
        for (const [name, value] of Object.entries(n.floatAttributes ?? {})) {
          nw.message(5, (a) => a.string(1, name).float(2, value).int(20, 1)); // AttributeProto{name, f, type=FLOAT}
        }
      }),
    );
    g.string(2, graph.name);
    for (const v of graph.inputs) g.message(11, (x) => valueInfo(x, v));
    for (const v of graph.outputs) g.message(12, (x) => valueInfo(x, v));
  });
  w.message(8, (o) => o.string(1, '').int(2, opset)); // opset_import
  return w.finish();
}
