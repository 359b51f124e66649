/**
 * Elementary reflector H = I − τ v vᵀ with v[0] = 1 such that H x = β e₁ (LAPACK dlarfg, without its rescaling
 * loop: our inputs are Gram entries far from the float64 underflow/overflow range).
 * Reads x[from .. from+len) (stride `stride`), writes v[1 ..] into `v` at vOff+1 .., returns τ and β.
 * τ = 0 (H = I) when x[1 ..] is already zero.
 */
export function householderVector(
  x: Float64Array,
  from: number,
  len: number,
  stride: number,
  v: Float64Array,
  vOff: number,
): { tau: number; beta: number } {
  const alpha = x[from];
  let tail2 = 0;
  for (let i = 1; i < len; i++) {
    const t = x[from + i * stride];
    tail2 += t * t;
  }
  v[vOff] = 1;
  if (tail2 === 0) {
    for (let i = 1; i < len; i++) v[vOff + i] = 0;
    return { tau: 0, beta: alpha };
  }
  const norm = Math.sqrt(alpha * alpha + tail2);
  const beta = alpha >= 0 ? -norm : norm;
  const scale = 1 / (alpha - beta);
  for (let i = 1; i < len; i++) v[vOff + i] = x[from + i * stride] * scale;
  return { tau: (beta - alpha) / beta, beta };
}
