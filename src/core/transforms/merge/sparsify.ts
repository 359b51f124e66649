/** Task-vector sparsification, as mergekit's sparsify.py (magnitude) and DARE (Yu et al. 2024, "Language models are Super Mario"). */
import { Rng } from '../match/rng';

/**
 * Keeps the k = ⌊density · n⌋ entries of largest magnitude, zeroes the rest (mergekit `magnitude`, TIES "trim").
 * Among entries tied at the threshold the lowest indices are kept. density ≥ 1 keeps everything.
 */
export function keepTopMagnitude(x: Float32Array, density: number): { values: Float32Array; kept: number } {
  if (density >= 1) return { values: x, kept: x.length };
  const k = Math.floor(density * x.length);
  const out = new Float32Array(x.length);
  if (k <= 0) return { values: out, kept: 0 };
  const mags = Float32Array.from(x, Math.abs).sort();
  const threshold = mags[x.length - k];
  let above = 0;
  for (let i = 0; i < x.length; i++) if (Math.abs(x[i]) > threshold) above++;
  let tiesLeft = k - above;
  for (let i = 0; i < x.length; i++) {
    const m = Math.abs(x[i]);
    if (m > threshold || (m === threshold && tiesLeft-- > 0)) out[i] = x[i];
  }
  return { values: out, kept: k };
}

/** DARE: drop each entry with probability 1 − density, rescale the survivors by 1/density. Seeded per tensor and model. */
export function dropAndRescale(x: Float32Array, density: number, rng: Rng): { values: Float32Array; kept: number } {
  if (density >= 1) return { values: x, kept: x.length };
  const out = new Float32Array(x.length);
  let kept = 0;
  for (let i = 0; i < x.length; i++) {
    if (rng.next() < density) {
      out[i] = x[i] / density;
      kept++;
    }
  }
  return { values: out, kept };
}
