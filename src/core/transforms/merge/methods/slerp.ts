import type { MergeMethod } from '../types';

const DOT_THRESHOLD = 0.9995;
const EPS = 1e-8;

/**
 * Spherical interpolation per tensor, the tensor flattened to one vector (Shoemake 1985; mergekit slerp.py):
 * with unit directions â, b̂ and θ = arccos(â·b̂), result = sin((1−t)θ)/sin θ · a + sin(tθ)/sin θ · b; plain
 * lerp (1−t)a + tb when |â·b̂| > 0.9995. t = 0 gives the first model.
 */
export const slerp: MergeMethod = {
  name: 'slerp',
  description: 'spherical interpolation of two models, per tensor',
  source: 'Shoemake 1985; mergekit merge_methods/slerp.py (DOT_THRESHOLD 0.9995, eps 1e-8)',
  params: [{ name: 't', default: 0.5, min: 0, max: 1, description: 'interpolation factor: 0 = first model, 1 = second' }],
  base: 'none',
  minModels: 2,
  maxModels: 2,
  async mergeTensor(inp) {
    const a = await inp.read(0);
    const b = await inp.read(1);
    const t = inp.params.t;
    let na = 0;
    let nb = 0;
    let ab = 0;
    for (let k = 0; k < a.length; k++) {
      na += a[k] * a[k];
      nb += b[k] * b[k];
      ab += a[k] * b[k];
    }
    na = Math.sqrt(na);
    nb = Math.sqrt(nb);
    // mergekit normalises only vectors whose norm exceeds eps.
    const dot = ab / (na > EPS ? na : 1) / (nb > EPS ? nb : 1);
    if (Math.abs(dot) > DOT_THRESHOLD) {
      return { values: Float32Array.from(a, (x, k) => (1 - t) * x + t * b[k]), figures: { angle: Math.acos(Math.min(1, Math.max(-1, dot))), lerp_fallback: true } };
    }
    const theta = Math.acos(dot);
    const s = Math.sin(theta);
    const s0 = Math.sin(theta - theta * t) / s;
    const s1 = Math.sin(theta * t) / s;
    return { values: Float32Array.from(a, (x, k) => s0 * x + s1 * b[k]), figures: { angle: theta, lerp_fallback: false } };
  },
};
