/**
 * An experiment spec as the runner reads it: the problems that stop one of its analyses, in compiler
 * style ("file:line:col: message"), and its model facts for validation.
 */
import { fail } from '../engine/errors';
import type { Checkpoint } from '../engine/model';
import { analysisField, scopeProblems } from '../engine/spec/problem-scope';
import type { SpecProblem } from '../engine/spec/types';
import type { ModelFacts as SpecModelFacts } from '../engine/spec/validate';

const count = (n: number) => `${n} problem${n === 1 ? '' : 's'}`;

/**
 * Fails unless analysis `index` can run: with the errors every analysis shares (the file, its model,
 * prompts and cache), else with that analysis's own, under the field `analyses[index]`. Other analyses'
 * errors do not stop it. `fits`: the model the problems were found on (semantic problems), else the
 * problems are structural.
 */
export function requireRunnable(spec: { text: string; path: string }, problems: readonly SpecProblem[], analysis: { index: number; title?: string }, fits?: string): void {
  const { shared, byAnalysis } = scopeProblems(spec.text, problems.filter((p) => p.severity === 'error'));
  if (shared.length) {
    fail('BAD_INPUT', { file: spec.path }, `${fits ? `the spec does not fit ${fits}` : `the spec has ${count(shared.length)}`}:\n${describeProblems(spec.path, spec.text, shared)}`);
  }
  const own = byAnalysis.get(analysis.index) ?? [];
  if (own.length) {
    const name = analysis.title === undefined ? 'this analysis' : JSON.stringify(analysis.title);
    fail('BAD_INPUT', { file: spec.path, field: analysisField(analysis.index) }, `${name} ${fits ? `does not fit ${fits}` : `has ${count(own.length)}`}:\n${describeProblems(spec.path, spec.text, own)}`);
  }
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
