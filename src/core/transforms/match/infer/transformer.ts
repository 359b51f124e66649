/**
 * Permutation spec for transformer blocks from names and shapes (Ainsworth et al. 2023 appendix; Verma & Elbayad
 * 2024, "Merging text transformer models from different initializations", for the attention heads):
 * - the residual stream: one permutation `res` shared by every block, the embeddings, every norm and the final head
 *   inputs (LayerNorm/RMSNorm commute with a permutation of their features);
 * - attention in block i: `attn<i>.heads` permutes whole heads in q, k, v and the input of o; within a head,
 *   `attn<i>.qk` permutes the head dimension of q and k together and `attn<i>.vo` that of v and the input of o
 *   (one within-head permutation shared by all heads). Omitted for rotary position embeddings (RoPE pairs
 *   dimensions), with grouped-query attention, and when the head count is unknown (then the attention inner axes
 *   stay fixed);
 * - MLP in block i: `mlp<i>` permutes the hidden units of up, gate and down together.
 */
import { guessKind, type TensorKind } from '../../../checkpoint/kind';
import type { FormatId } from '../../../checkpoint/types';
import { SpecError, wholeAxis, type AxisSegment, type AxisSpec, type PermutationSpec } from '../spec';
import type { InferredSpec } from './cnn';
import { connections, layerPrefix, type Connection, type TensorShape } from './layers';

export interface TransformerOptions {
  /** Attention heads per block (config.json num_attention_heads / n_head), if known. */
  heads?: number;
}

const BLOCK = /^(.*?[./_](?:layers?|h|blocks?|block|layer)[./_]\d+)[./_]/i;

function blockOf(name: string): string | undefined {
  return BLOCK.exec(name)?.[1] ?? /^(.*?[./]\d+)[./]/.exec(name)?.[1];
}

export function inferTransformerSpec(tensors: readonly TensorShape[], format: FormatId, opts: TransformerOptions = {}): InferredSpec {
  const conns = connections(tensors, format);
  const kindOf = new Map<string, TensorKind>();
  for (const c of conns) kindOf.set(c.name, guessKind(c.name, c.shape));
  const kernels = conns.filter((c): c is Extract<Connection, { type: 'kernel' }> => c.type === 'kernel');
  const q = kernels.find((c) => kindOf.get(c.name) === 'attention_q' || kindOf.get(c.name) === 'attention_qkv');
  if (!q) throw new SpecError('transformer spec: no attention query weights found by name (q_proj, query, attn.q, qkv, c_attn)');
  const D = q.shape[q.inAxis];
  const notes: string[] = [];
  const perms = new Map<string, number>([['res', D]]);
  const axes = new Map<string, AxisSpec[]>();
  const rope = tensors.some((t) => /rotary|rope|inv_freq/i.test(t.name)) || tensors.some((t) => /[./]q_proj[./]/.test(t.name));
  if (rope) notes.push('rotary position embeddings assumed (LLaMA-style names): no within-head permutation of q/k');
  if (!opts.heads) notes.push('head count unknown (no --heads, no config.json): attention inner axes stay fixed');

  // Block structure: q/k/v/o and MLP widths per block.
  const blocks = new Map<string, Extract<Connection, { type: 'kernel' }>[]>();
  for (const k of kernels) {
    const b = blockOf(k.name);
    if (b) blocks.set(b, [...(blocks.get(b) ?? []), k]);
  }
  /** Output-axis spec per weight prefix, for the biases. */
  const outSpecOf = new Map<string, AxisSpec>();
  let bi = 0;
  for (const [block, ks] of blocks) {
    const find = (kind: TensorKind) => ks.filter((k) => kindOf.get(k.name) === kind);
    const [qs, kk, vs, os, qkv] = (['attention_q', 'attention_k', 'attention_v', 'attention_o', 'attention_qkv'] as const).map(find);
    const ups = [...find('mlp_up'), ...find('mlp_gate')];
    const downs = find('mlp_down');
    let attnOut: AxisSpec = null;
    let vOut: AxisSpec = null;
    let qkOut: AxisSpec = null;
    const inner = qs[0]?.shape[qs[0].outAxis] ?? (qkv[0] ? qkv[0].shape[qkv[0].outAxis] / 3 : 0);
    const gqa = kk.length > 0 && qs.length > 0 && kk[0].shape[kk[0].outAxis] !== inner;
    if (gqa) notes.push(`${block}: grouped-query attention: attention inner axes stay fixed`);
    const H = opts.heads;
    if (H && inner % H === 0 && !gqa) {
      const d = inner / H;
      const heads = `attn${bi}.heads`;
      perms.set(heads, H);
      const qkPerm = rope ? null : `attn${bi}.qk`;
      if (qkPerm) perms.set(qkPerm, d);
      perms.set(`attn${bi}.vo`, d);
      const seg = (within: string | null): AxisSegment => [
        { size: H, perm: heads },
        { size: d, perm: within },
      ];
      qkOut = [seg(qkPerm)];
      vOut = [seg(`attn${bi}.vo`)];
      attnOut = vOut;
    } else if (H && inner % H !== 0) {
      notes.push(`${block}: attention width ${inner} is not a multiple of ${H} heads: attention inner axes stay fixed`);
    }
    const set = (k: Extract<Connection, { type: 'kernel' }>, inSpec: AxisSpec, outSpec: AxisSpec) => {
      const spec: AxisSpec[] = k.shape.map(() => null);
      spec[k.inAxis] = inSpec;
      spec[k.outAxis] = outSpec;
      axes.set(k.name, spec);
      outSpecOf.set(layerPrefix(k.name), outSpec);
    };
    const res = (w: number) => (w === D ? wholeAxis('res', D) : null);
    for (const k of [...qs, ...kk]) set(k, res(k.shape[k.inAxis]), qkOut);
    for (const k of vs) set(k, res(k.shape[k.inAxis]), vOut);
    for (const k of qkv) set(k, res(k.shape[k.inAxis]), qkOut && vOut ? [...qkOut, ...qkOut, ...vOut] : null);
    for (const k of os) set(k, attnOut, res(k.shape[k.outAxis]));
    const F = ups[0]?.shape[ups[0].outAxis] ?? downs[0]?.shape[downs[0].inAxis];
    const mlp = F && ups.every((u) => u.shape[u.outAxis] === F) && downs.every((x) => x.shape[x.inAxis] === F) ? `mlp${bi}` : null;
    if (mlp) perms.set(mlp, F);
    else if (ups.length + downs.length > 0) notes.push(`${block}: MLP widths disagree: hidden units stay fixed`);
    for (const k of ups) set(k, res(k.shape[k.inAxis]), wholeAxis(mlp, k.shape[k.outAxis]));
    for (const k of downs) set(k, wholeAxis(mlp, k.shape[k.inAxis]), res(k.shape[k.outAxis]));
    bi++;
  }
  // Everything else: embeddings and heads first, then vectors (biases follow their kernel; norms of width D the stream).
  for (const c of conns) {
    if (axes.has(c.name) || c.type === 'vector') continue;
    const kind = kindOf.get(c.name);
    const spec: AxisSpec[] = c.shape.map(() => null);
    if (kind === 'embedding' && c.shape.length === 2) {
      // [vocab or positions, D], also tied or untied output heads [vocab, D].
      const ax = c.shape[1] === D ? 1 : c.shape[0] === D ? 0 : -1;
      if (ax < 0) throw new SpecError(`transformer spec: embedding "${c.name}" ${JSON.stringify(c.shape)} has no axis of the model width ${D}`);
      spec[ax] = wholeAxis('res', D);
    } else if (c.type === 'kernel') {
      const inW = c.shape[c.inAxis];
      const outW = c.shape[c.outAxis];
      if (inW === D) spec[c.inAxis] = wholeAxis('res', D); // a head or pooler reading the stream
      else if (outW === D) spec[c.outAxis] = wholeAxis('res', D); // a patch/input projection writing into it
      outSpecOf.set(layerPrefix(c.name), spec[c.outAxis]);
    } else if (c.shape.some((s) => s === D)) {
      throw new SpecError(`transformer spec: cannot tell how "${c.name}" ${JSON.stringify(c.shape)} relates to the residual stream; give --spec FILE`);
    }
    if (spec.some((s) => s !== null)) axes.set(c.name, spec);
  }
  for (const c of conns) {
    if (c.type !== 'vector') continue;
    const parent = outSpecOf.get(layerPrefix(c.name));
    if (parent !== undefined) {
      if (parent !== null) axes.set(c.name, [parent]);
    } else if (c.shape[0] === D) axes.set(c.name, [wholeAxis('res', D)]);
  }
  return { spec: { perms, axes } as PermutationSpec, notes };
}
