/**
 * Permutation specs in the manner of Git Re-Basin (Ainsworth et al. 2023, `PermutationSpec`: which permutation acts
 * on which axis of which weight), extended so that one axis may be a concatenation of segments (DenseNet/RDN
 * concats, fused QKV) and a segment a product of factors (attention heads × head dimension).
 */

/** `size` consecutive positions of a segment, moved by permutation `perm`, or never moved (null). */
export interface AxisFactor {
  readonly size: number;
  readonly perm: string | null;
}

/** A contiguous range of an axis; its positions are the row-major product of its factors. */
export type AxisSegment = readonly AxisFactor[];

/** How one axis moves: null = fixed; otherwise the concatenation of its segments, in order. */
export type AxisSpec = readonly AxisSegment[] | null;

export interface PermutationSpec {
  /** Permutation name → how many units it permutes. */
  readonly perms: ReadonlyMap<string, number>;
  /** Tensor name → one entry per axis. Tensors not listed are never permuted. */
  readonly axes: ReadonlyMap<string, readonly AxisSpec[]>;
}

/** Where a permutation acts: tensor, axis, segment index and factor index. */
export interface PermOccurrence {
  readonly tensor: string;
  readonly axis: number;
  readonly segment: number;
  readonly factor: number;
}

export class SpecError extends Error {}

/** A whole axis moved by one permutation. */
export function wholeAxis(perm: string | null, size: number): AxisSpec {
  return perm === null ? null : [[{ size, perm }]];
}

export function segmentSize(seg: AxisSegment): number {
  return seg.reduce((n, f) => n * f.size, 1);
}

/** Checks the spec against tensor shapes: names exist, ranks agree, sizes add and multiply up, perms are declared. */
export function validateSpec(spec: PermutationSpec, shapeOf: (name: string) => readonly number[] | undefined): void {
  for (const [name, size] of spec.perms) {
    if (!Number.isInteger(size) || size < 1) throw new SpecError(`permutation "${name}" has size ${size}`);
  }
  const used = new Set<string>();
  for (const [tensor, axes] of spec.axes) {
    const shape = shapeOf(tensor);
    if (!shape) throw new SpecError(`the spec names tensor "${tensor}", which is not in the checkpoint`);
    if (axes.length !== shape.length) throw new SpecError(`"${tensor}" has ${shape.length} axes, the spec gives ${axes.length}`);
    axes.forEach((ax, i) => {
      if (ax === null) return;
      let total = 0;
      for (const seg of ax) {
        for (const f of seg) {
          if (f.perm === null) continue;
          const size = spec.perms.get(f.perm);
          if (size === undefined) throw new SpecError(`"${tensor}" axis ${i} uses undeclared permutation "${f.perm}"`);
          if (size !== f.size) throw new SpecError(`"${tensor}" axis ${i}: permutation "${f.perm}" has size ${size}, the factor ${f.size}`);
          used.add(f.perm);
        }
        total += segmentSize(seg);
      }
      if (total !== shape[i]) throw new SpecError(`"${tensor}" axis ${i} has length ${shape[i]}, its segments add up to ${total}`);
    });
  }
  for (const name of spec.perms.keys()) if (!used.has(name)) throw new SpecError(`permutation "${name}" acts on no tensor`);
}

/** Every place each permutation acts, in spec order. */
export function occurrences(spec: PermutationSpec): Map<string, PermOccurrence[]> {
  const out = new Map<string, PermOccurrence[]>();
  for (const p of spec.perms.keys()) out.set(p, []);
  for (const [tensor, axes] of spec.axes) {
    axes.forEach((ax, axis) =>
      ax?.forEach((seg, segment) =>
        seg.forEach((f, factor) => {
          if (f.perm !== null) out.get(f.perm)?.push({ tensor, axis, segment, factor });
        }),
      ),
    );
  }
  return out;
}
