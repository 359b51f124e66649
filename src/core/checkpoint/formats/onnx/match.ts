import type { Probe } from '../../types';
import { MODEL } from './schema';
import { asUint, decodeVarint, type Varint, WIRE } from './wire';

/** Wire type of each ModelProto field (onnx.proto3); any other field number at the top level is not ONNX. */
const MODEL_FIELD_WIRE: Readonly<Record<number, number>> = {
  [MODEL.irVersion]: WIRE.varint,
  [MODEL.producerName]: WIRE.len,
  [MODEL.producerVersion]: WIRE.len,
  [MODEL.domain]: WIRE.len,
  [MODEL.modelVersion]: WIRE.varint,
  [MODEL.docString]: WIRE.len,
  [MODEL.graph]: WIRE.len,
  [MODEL.opsetImport]: WIRE.len,
  [MODEL.metadataProps]: WIRE.len,
  [MODEL.trainingInfo]: WIRE.len,
  [MODEL.functions]: WIRE.len,
};

/**
 * Sniffs a serialized ModelProto: ir_version (field 1, a small varint) first, as every ONNX writer emits it, then
 * only known ModelProto fields with their wire types until the graph (field 7).
 * 'graph': the graph field was reached; 'cut': the head ended inside valid fields before it; 'no': not ONNX.
 */
function sniffModelProto(head: Buffer, size: number): 'graph' | 'cut' | 'no' {
  const v: Varint = { lo: 0, hi: 0, next: 0 };
  if (head[0] !== 0x08) return 'no';
  decodeVarint(head, 1, head.length, v);
  if (v.next < 0 || v.hi !== 0 || v.lo < 1 || v.lo > 100) return 'no';
  let pos = v.next;
  const cut = head.length < size ? 'cut' : 'no';
  while (pos < head.length) {
    decodeVarint(head, pos, head.length, v);
    if (v.next === -1) return cut;
    if (v.next < 0) return 'no';
    const key = asUint(v);
    const no = Math.floor(key / 8);
    if (MODEL_FIELD_WIRE[no] !== key % 8) return 'no';
    decodeVarint(head, v.next, head.length, v);
    if (v.next === -1) return no === MODEL.graph ? 'graph' : cut;
    if (v.next < 0) return 'no';
    if (no === MODEL.graph) return 'graph';
    pos = key % 8 === WIRE.len ? v.next + asUint(v) : v.next;
  }
  return pos > head.length ? cut : 'no';
}

/** 2 when the content is a ModelProto, 1 for a .onnx name alone. */
export function match(p: Probe): number {
  const hint = /\.onnx$/i.test(p.path);
  const sniffed = sniffModelProto(p.head, p.size);
  if (sniffed === 'graph') return 2;
  if (sniffed === 'cut') return hint ? 2 : 1;
  return hint ? 1 : 0;
}
