import { energyRank, solveWeloreTau, weloreLayer } from '../../analysis/rank';

/** How ranks are chosen from each layer's spectrum. */
export type RankCriterion =
  /** WeLore (Jaiswal et al. 2024): one model-wide τ on min–max normalised singular values, solved so that this fraction of all ranks is removed. */
  | { type: 'rank-reduction'; fraction: number }
  /** Smallest rank keeping this fraction of Σσ² per layer (Eckart–Young energy). */
  | { type: 'energy'; fraction: number }
  /** WeLore with a given τ: keep the singular values whose normalised value is ≥ τ. */
  | { type: 'welore-tau'; tau: number };

export interface RankInput {
  /** Eigenvalues of WᵀW (σ²), min(rows, cols) of them. */
  evals: ArrayLike<number>;
  rows: number;
  cols: number;
}

export interface RankDecision {
  rank: number;
  fullRank: number;
  /** false: the layer stays as it is. */
  compressed: boolean;
  reason?: string;
}

export interface RankPlan {
  decisions: RankDecision[];
  /** The WeLore τ used (rank-reduction and welore-tau criteria). */
  tau?: number;
}

/**
 * Per-layer ranks. A layer is compressed when its rank reduction 1 − r/min(m, n) exceeds `minRatio` (WeLore's LRC
 * test; 0 = any reduction) and the factors are smaller than the matrix: r(m + n) < mn. r is at least 1.
 */
export function decideRanks(layers: readonly RankInput[], criterion: RankCriterion, minRatio = 0): RankPlan {
  let tau: number | undefined;
  if (criterion.type === 'rank-reduction') {
    tau = solveWeloreTau(layers.map((l) => ({ evals: l.evals, m: l.rows, n: l.cols })), criterion.fraction).tau;
  } else if (criterion.type === 'welore-tau') tau = criterion.tau;
  const decisions = layers.map((l): RankDecision => {
    const full = Math.min(l.rows, l.cols);
    const raw = criterion.type === 'energy' ? energyRank(l.evals, criterion.fraction) : weloreLayer(l.evals, { tau, min_ratio: minRatio }).keep_rank;
    const rank = Math.max(1, Math.min(full, raw));
    if (rank >= full) return { rank: full, fullRank: full, compressed: false, reason: 'full rank kept' };
    if (1 - rank / full <= minRatio) return { rank, fullRank: full, compressed: false, reason: `rank reduction ${(1 - rank / full).toFixed(3)} ≤ min-ratio ${minRatio}` };
    if (rank * (l.rows + l.cols) >= l.rows * l.cols) return { rank, fullRank: full, compressed: false, reason: 'factorizing saves nothing: r(m+n) ≥ mn' };
    return { rank, fullRank: full, compressed: true };
  });
  return { decisions, tau };
}
