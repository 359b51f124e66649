import { metricsFromSpectrum, summarize, lipschitzUpperBound, type LayerFlag } from '../../analysis';
import type { TensorData } from '../../checkpoint/types';
import type { GramBackend } from '../../linalg/spectrum';
import type { LayerResult, ModelSummary } from '../../report/model';
import { farmsForLayer } from './farms-runner';
import type { LayerSpectrum } from './layer-spectrum';
import type { AnalyzeOptions } from './options';
import type { LayerPlan } from './plan';

/** The identifying columns every row has, analysed or not. */
export function skippedLayerResult(plan: LayerPlan): LayerResult {
  return {
    name: plan.name,
    layer_id: plan.layerId,
    shape: plan.shape,
    kind: plan.kind,
    dtype: plan.dtype,
    layer_type: plan.layout.type,
    N: plan.N,
    M: plan.M,
    rf: plan.rf,
    skipped: plan.skipped,
  };
}

/** One analysed layer: WeightWatcher metrics from the pooled spectrum, rank, conditioning, WeLore, optional FARMS. */
export async function buildLayerResult(
  plan: LayerPlan,
  spectrum: LayerSpectrum,
  data: TensorData,
  opts: AnalyzeOptions,
  gram?: GramBackend,
  parallel = 1,
): Promise<LayerResult> {
  let farms: LayerResult['farms'];
  let farmsNote: string | undefined;
  if (opts.farms) {
    const f = await farmsForLayer(plan, data, opts.farms, gram, parallel);
    if ('skipped' in f) farmsNote = f.skipped;
    else farms = f;
  }
  const m = metricsFromSpectrum(
    spectrum.evals,
    {
      N: plan.N,
      M: plan.M,
      rf: plan.rf,
      layerType: plan.layout.type === 'conv2d' ? 'conv2d' : 'dense',
      slices: plan.rf > 1 ? spectrum.slices.map((s) => ({ minSv: s.svMin, rankLoss: s.rankLoss })) : undefined,
      storageDtype: plan.dtype,
    },
    { evalsThresh: opts.evalsThresh, mpFit: opts.mpFit, welore: { tau: opts.weloreTau, min_ratio: opts.weloreMinRatio } },
  );
  const row: LayerResult = {
    ...skippedLayerResult(plan),
    num_evals: m.num_evals,
    method: spectrum.method,
    alpha: m.alpha,
    xmin: m.xmin,
    xmax: m.xmax,
    D: m.D,
    sigma: m.sigma,
    num_pl_spikes: m.num_pl_spikes,
    status: m.status,
    warning: m.warning,
    lambda_max: m.lambda_max,
    norm: m.norm,
    log_norm: m.log_norm,
    spectral_norm: m.spectral_norm,
    log_spectral_norm: m.log_spectral_norm,
    alpha_weighted: m.alpha_weighted,
    log_alpha_norm: m.log_alpha_norm,
    stable_rank: m.stable_rank,
    matrix_rank: m.matrix_rank,
    entropy: m.entropy,
    sv_max: m.sv_max,
    sv_min: m.sv_min,
    rank_loss: m.rank_loss,
    weak_rank_loss: m.weak_rank_loss,
    ...(opts.mpFit
      ? { num_spikes: m.num_spikes, sigma_mp: m.sigma_mp, mp_softrank: m.mp_softrank, bulk_max: m.bulk_max, bulk_min: m.bulk_min, W_scale: m.W_scale }
      : {}),
    sigma_max: m.sigma_max,
    sigma_min: m.sigma_min,
    condition_number: m.condition_number,
    numerically_singular: m.numerically_singular,
    effective_rank: m.effective_rank,
    energy_rank_90: m.energy_rank_90,
    energy_rank_95: m.energy_rank_95,
    energy_rank_99: m.energy_rank_99,
    numerical_rank: m.numerical_rank,
    welore: { class: m.welore.class, keep_rank: m.welore.keep_rank, k: m.welore.k },
  };
  delete row.skipped;
  if (farms) row.farms = farms;
  if (farmsNote) row.farms_skipped = farmsNote;
  if (opts.eigenvalues) row.eigenvalues = Array.from(spectrum.evals);
  return row;
}

/** Model summary over analysed rows, with flags written back onto the rows. */
export function summarizeModel(layers: LayerResult[]): ModelSummary {
  const analysed = layers.filter((l) => !l.skipped && !l.error);
  const s = summarize(analysed);
  const flagsByName = new Map<string, LayerFlag[]>(s.flagged.map((f) => [f.name, f.flags]));
  for (const l of analysed) {
    const flags = flagsByName.get(l.name);
    if (flags?.length) l.flags = flags;
  }
  const byGroup = (groups: typeof s.byKind) =>
    Object.fromEntries(groups.map((g) => [g.key, { count: g.layers, alpha: g.averages.alpha ?? NaN }]));
  const sigmas = analysed.map((l) => l.sigma_max).filter((x): x is number => typeof x === 'number' && x > 0);
  const lip = lipschitzUpperBound(sigmas);
  return {
    ...s.averages,
    layers_analysed: analysed.length,
    layers_skipped: layers.filter((l) => l.skipped).length,
    layers_failed: layers.filter((l) => l.error).length,
    by_kind: byGroup(s.byKind),
    by_block: byGroup(s.byBlock),
    flagged: s.flagged,
    lipschitz: {
      log10_bound: lip.log10_bound,
      factors: lip.factors.length,
      assumptions:
        'product of the spectral norms (σmax) of every analysed weight matrix in checkpoint order: assumes a plain feed-forward chain with 1-Lipschitz activations, norms folded into the weights, residual connections and attention softmax ignored; an upper bound, usually loose',
    },
  };
}
