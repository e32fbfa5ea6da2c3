/** Which model a spec runs on: the one rule for the editor (status bar, trust gate) and the worker. */
import * as path from 'node:path';
import type { ModelRef, SaeRef } from '../../protocol/runner';
import type { WeightProcessing } from '../../protocol/processing';
import type { ExperimentSpec } from './types';

/**
 * An override, else the spec's own `model` (a path is relative to the spec's folder), else the default;
 * with the weight processing given (the CLI's --processing), else the spec's `processing`; with the
 * spec's `saes` attached (their paths relative to the spec's folder) after any the override names.
 */
export function specModelRef(spec: ExperimentSpec, specPath: string, override?: ModelRef, defaultModel?: string, processing?: WeightProcessing): ModelRef | undefined {
  const ref = override ?? (spec.model ? { ref: spec.model.value, baseDir: path.dirname(specPath) } : defaultModel ? { ref: defaultModel } : undefined);
  if (!ref) return undefined;
  const p = processing ?? override?.processing ?? spec.processing?.value;
  const saes = [...(override?.saes ?? []), ...specSaeRefs(spec, specPath)];
  return { ...ref, ...(p ? { processing: p } : {}), ...(saes.length ? { saes } : {}) };
}

/** The spec's `saes` as the runner attaches them, in order. */
export function specSaeRefs(spec: ExperimentSpec, specPath: string): SaeRef[] {
  const baseDir = path.dirname(specPath);
  return (spec.saes ?? []).map((s) => ({ path: s.path.value, baseDir, ...(s.hook ? { hook: s.hook.value } : {}), mode: s.mode.value }));
}
