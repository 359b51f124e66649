/** Every merge method by name. `rebasin` is not a per-tensor rule (it matches whole models first): see run-merge.ts. */
import { dare } from './methods/dare';
import { linear } from './methods/linear';
import { opcm } from './methods/opcm';
import { slerp } from './methods/slerp';
import { taskArithmetic } from './methods/task-arithmetic';
import { ties } from './methods/ties';
import { MergeParameterError, type MergeMethod } from './types';

export const MERGE_METHODS: ReadonlyMap<string, MergeMethod> = new Map([linear, slerp, taskArithmetic, ties, dare, opcm].map((m) => [m.name, m]));

/** Weight-match every model to the first (Git Re-Basin), then interpolate (two models: t) or average (weights). */
export const REBASIN = {
  name: 'rebasin',
  description: 'weight-match every model to the first, then interpolate',
  source: 'Ainsworth et al. 2023 (Git Re-Basin), weight matching then linear interpolation',
  params: [{ name: 't', default: 0.5, min: 0, max: 1, description: 'two models: interpolation factor (0 = first model); more: --weights' }],
  base: 'none' as const,
  minModels: 2,
};

export const METHOD_NAMES = [...MERGE_METHODS.keys(), REBASIN.name];

/** Parameter values for a method: declared defaults overridden by the given ones, range-checked. */
export function resolveParams(method: Pick<MergeMethod, 'name' | 'params'>, given: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of method.params) {
    const v = given[p.name] ?? p.default;
    if (!Number.isFinite(v) || (p.min !== undefined && v < p.min) || (p.max !== undefined && v > p.max)) {
      throw new MergeParameterError(`${method.name}: --${p.name} must be ${p.min ?? '−∞'}…${p.max ?? '∞'}, got ${v}`);
    }
    out[p.name] = v;
  }
  return out;
}
