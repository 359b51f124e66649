/** Conditioning of a weight matrix and a Lipschitz upper bound of a layer stack, from singular values. */

/** Unit round-off of the storage dtype (machine epsilon 2^-p): the relative size of the rounding already in the weights. */
export function storageEpsilon(dtype: string): number {
  switch (dtype) {
    case 'float64':
      return 2 ** -52;
    case 'float16':
      return 2 ** -10;
    case 'bfloat16':
      return 2 ** -7;
    case 'float8_e4m3fn':
    case 'float8_e4m3fnuz':
      return 2 ** -3;
    case 'float8_e5m2':
    case 'float8_e5m2fnuz':
      return 2 ** -2;
    default:
      return 2 ** -23; // float32, and dequantised formats decoded to float32
  }
}

export interface Conditioning {
  sigma_max: number;
  sigma_min: number;
  /** sigma_max / sigma_min as computed (float64). Meaningless round-off when numerically_singular. */
  condition_number: number;
  /** sigma_min ≤ sigma_max · max(m, n) · eps(storage): the smallest directions are below the rounding of the stored weights. */
  numerically_singular: boolean;
  /** That tolerance. */
  singular_tolerance: number;
  /** #{σ > singular_tolerance}: the rank the stored precision can support. */
  storage_rank: number;
}

/**
 * σ_max, σ_min, κ = σ_max/σ_min over the min(m, n) singular values, and the singular flag: for float32 weights a
 * rank-deficient matrix has σ_min ≈ σ_max·1e-7..1e-9 from rounding alone, so κ ≈ 1e7..1e9 says "singular", not a
 * measured conditioning (numpy.linalg.matrix_rank's tolerance, with the storage epsilon instead of float64's).
 */
export function conditioning(evals: ArrayLike<number>, m: number, n: number, storageDtype = 'float32'): Conditioning {
  let maxE = -Infinity;
  let minE = Infinity;
  for (let i = 0; i < evals.length; i++) {
    maxE = Math.max(maxE, evals[i]);
    minE = Math.min(minE, evals[i]);
  }
  const sigmaMax = Math.sqrt(maxE);
  const sigmaMin = Math.sqrt(Math.max(0, minE));
  const tol = sigmaMax * Math.max(m, n) * storageEpsilon(storageDtype);
  let storageRank = 0;
  for (let i = 0; i < evals.length; i++) if (Math.sqrt(Math.max(0, evals[i])) > tol) storageRank++;
  return {
    sigma_max: sigmaMax,
    sigma_min: sigmaMin,
    condition_number: sigmaMax / sigmaMin,
    numerically_singular: sigmaMin <= tol,
    singular_tolerance: tol,
    storage_rank: storageRank,
  };
}

export interface LipschitzBound {
  /** Π factors (may overflow to Infinity; use log10_bound). */
  bound: number;
  log10_bound: number;
  factors: number[];
}

/**
 * Upper bound of the Lipschitz constant of x ↦ W_L φ(… φ(W_1 x)) as Π ‖W_i‖_2 (Szegedy et al. 2014, "Intriguing
 * properties of neural networks", §4.3). Assumes 1-Lipschitz activations and normalisations folded away.
 * residual 'ignore': factor σ_max(W_i); 'bound': a residual block x + f(x) contributes 1 + σ_max(W_i).
 * Takes σ_max (the operator 2-norm), i.e. the square root of WeightWatcher's spectral_norm.
 */
export function lipschitzUpperBound(sigmaMax: readonly number[], residual: 'ignore' | 'bound' = 'ignore'): LipschitzBound {
  const factors = sigmaMax.map((s) => (residual === 'bound' ? 1 + s : s));
  const log10 = factors.reduce((a, f) => a + Math.log10(f), 0);
  return { bound: factors.reduce((a, f) => a * f, 1), log10_bound: log10, factors };
}
