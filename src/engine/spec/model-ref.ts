/** Which model a spec runs on: the one rule for the editor (status bar, trust gate) and the worker. */
import * as path from 'node:path';
import type { ModelRef } from '../../protocol/runner';
import type { ExperimentSpec } from './types';

/** An override, else the spec's own `model` (a path is relative to the spec's folder), else the default. */
export function specModelRef(spec: ExperimentSpec, specPath: string, override?: ModelRef, defaultModel?: string): ModelRef | undefined {
  if (override) return override;
  if (spec.model) return { ref: spec.model.value, baseDir: path.dirname(specPath) };
  return defaultModel ? { ref: defaultModel } : undefined;
}
