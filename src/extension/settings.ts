/**
 * The `weightSpectra.*` settings → the options the analysis worker takes. No vscode import: the caller passes a
 * getter (vscode.workspace.getConfiguration('weightSpectra').get), so the mapping is unit-tested without VS Code.
 * Keys and defaults are declared once more in package.json "contributes.configuration" (VS Code shows those).
 */
import { FARMS_LLM_PAPER, type FarmsConfig } from '../core/analysis/farms';
import { DEFAULT_ANALYZE_OPTIONS } from '../core/jobs/analyze/options';
import type { ProviderSetting } from '../core/linalg/ort/providers';
import type { WireAnalyzeOptions } from '../protocol';

/** Reads one setting below `weightSpectra.`; undefined when unset. */
export type SettingGetter = (key: string) => unknown;

export const PROVIDERS: readonly ProviderSetting[] = ['auto', 'cpu', 'webgpu', 'cuda'];
const FARMS_FITS: Record<string, FarmsConfig['fix_fingers']> = { peak: 'xmin_peak', mid: 'xmin_mid', full: null };

/** A setting that could not be used as given; the default was taken instead. */
export interface SettingProblem {
  key: string;
  message: string;
}

export interface ResolvedSettings {
  options: WireAnalyzeOptions;
  problems: SettingProblem[];
}

/**
 * Options for one analysis. The webview always needs eigenvalues (ESD and singular-value charts), so they are
 * requested whatever the settings say. Bad values fall back to the default and are reported in `problems`.
 */
export function analyzeOptionsFromSettings(get: SettingGetter): ResolvedSettings {
  const problems: SettingProblem[] = [];
  const bad = (key: string, message: string) => problems.push({ key: `weightSpectra.${key}`, message });

  const integer = (key: string, fallback: number, min: number): number => {
    const v = get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      bad(key, `must be a whole number ≥ ${min}, got ${JSON.stringify(v)}; using ${fallback}`);
      return fallback;
    }
    return v;
  };
  const positive = (key: string, fallback: number): number => {
    const v = get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
      bad(key, `must be a positive number, got ${JSON.stringify(v)}; using ${fallback}`);
      return fallback;
    }
    return v;
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const v = get(key);
    return typeof v === 'boolean' ? v : fallback;
  };

  let provider = get('provider') ?? 'auto';
  if (!PROVIDERS.includes(provider as ProviderSetting)) {
    bad('provider', `must be one of ${PROVIDERS.join(', ')}, got ${JSON.stringify(provider)}; using auto`);
    provider = 'auto';
  }

  let filter: string | undefined;
  const rawFilter = get('filter');
  if (typeof rawFilter === 'string' && rawFilter.trim() !== '') {
    try {
      new RegExp(rawFilter);
      filter = rawFilter;
    } catch (e) {
      bad('filter', `is not a valid regular expression (${(e as Error).message}); analysing every layer`);
    }
  }

  const minEvals = integer('minEvals', DEFAULT_ANALYZE_OPTIONS.minEvals, 1);
  let maxEvals = integer('maxEvals', DEFAULT_ANALYZE_OPTIONS.maxEvals, 1);
  if (maxEvals < minEvals) {
    bad('maxEvals', `(${maxEvals}) is below minEvals (${minEvals}); using ${Math.max(minEvals, DEFAULT_ANALYZE_OPTIONS.maxEvals)}`);
    maxEvals = Math.max(minEvals, DEFAULT_ANALYZE_OPTIONS.maxEvals);
  }

  let farms: WireAnalyzeOptions['farms'] = false;
  if (flag('farms.enabled', false)) {
    let fit = get('farms.fit') ?? 'peak';
    if (typeof fit !== 'string' || !(fit in FARMS_FITS)) {
      bad('farms.fit', `must be peak, mid or full, got ${JSON.stringify(fit)}; using peak`);
      fit = 'peak';
    }
    farms = {
      num_row_samples: integer('farms.rows', FARMS_LLM_PAPER.num_row_samples, 1),
      Q_ratio: positive('farms.q', FARMS_LLM_PAPER.Q_ratio),
      sampling_ops_per_dim: integer('farms.windows', FARMS_LLM_PAPER.sampling_ops_per_dim, 2),
      fix_fingers: FARMS_FITS[fit as string],
    };
  }

  return {
    options: {
      ...DEFAULT_ANALYZE_OPTIONS,
      provider: provider as ProviderSetting,
      filter,
      minEvals,
      maxEvals,
      maxN: integer('maxN', DEFAULT_ANALYZE_OPTIONS.maxN, 1),
      mpFit: flag('mpFit', false),
      threads: integer('threads', DEFAULT_ANALYZE_OPTIONS.threads, 0),
      farms,
      eigenvalues: true,
    },
    problems,
  };
}
