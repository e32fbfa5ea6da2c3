/**
 * An experiment spec as the runner reads it: parsed, its problems in compiler style ("file:line:col: message"), its model facts for validation.
 */
import { fail } from '../engine/errors';
import type { Checkpoint } from '../engine/model';
import { ParsedSpec, parseSpec } from '../engine/spec/parse';
import type { SpecProblem } from '../engine/spec/types';
import type { ModelFacts as SpecModelFacts } from '../engine/spec/validate';

/** Parses a spec; its structural errors end the run with every problem listed. */
export function readSpec(spec: { text: string; path: string }): ParsedSpec {
  const parsed = parseSpec(spec.text);
  const errors = parsed.problems.filter((p) => p.severity === 'error');
  if (errors.length) fail('BAD_INPUT', { file: spec.path }, `the spec has ${errors.length} problem(s):\n${describeProblems(spec.path, spec.text, errors)}`);
  return parsed;
}

/** "file:line:col: message" lines, as compilers print them. */
export function describeProblems(file: string, text: string, problems: readonly SpecProblem[]): string {
  return problems.map((p) => {
    const before = text.slice(0, p.range.offset).split('\n');
    return `${file}:${before.length}:${before[before.length - 1].length + 1}: ${p.message}`;
  }).join('\n');
}

/** What validation needs of a checkpoint; token counts only when its tokenizer is loaded. */
export function specFacts(ckpt: Checkpoint): SpecModelFacts {
  const tok = ckpt.tokenizer;
  return {
    nLayers: ckpt.config.nLayers, nHeads: ckpt.config.nHeads, nCtx: ckpt.config.nCtx, dMlp: ckpt.config.dMlp,
    hooks: ckpt.hooks,
    countTokens: tok ? (text, prependBos) => tok.encode(text, { prependBos }).length : null,
  };
}
