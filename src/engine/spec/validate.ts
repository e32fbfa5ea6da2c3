/**
 * Semantic checks that a JSON schema cannot make because they depend on the model: layer and head in
 * range, hook names that exist (closest one suggested), answers that are one token, prompts that fit
 * the context. The caller supplies what it knows about the model; nothing here opens files.
 */
import { closestHookName, selectHooks } from '../hooks';
import type { HookPoint } from '../hooks';
import { isEngineError } from '../errors';
import type { ExperimentSpec, Located, SpecProblem } from './types';

export interface ModelFacts {
  nLayers: number;
  nHeads: number;
  nCtx: number;
  /** MLP width, for neuron indices. */
  dMlp?: number;
  hooks: readonly HookPoint[];
  /** Token count of a text (with BOS when `prependBos`), or null when the model has no tokenizer. */
  countTokens: ((text: string, prependBos: boolean) => number) | null;
}

function inRange(problems: SpecProblem[], v: Located<number> | undefined, max: number, what: string): void {
  if (v && v.value >= max) problems.push({ severity: 'error', message: `${what} ${v.value} is out of range: this model has ${max} (0 to ${max - 1}).`, range: v.range });
}

function singleToken(problems: SpecProblem[], facts: ModelFacts, v: Located<string> | undefined, what: string): void {
  if (!v || !facts.countTokens) return;
  const n = facts.countTokens(v.value, false);
  if (n !== 1) {
    const hint = !v.value.startsWith(' ') && facts.countTokens(' ' + v.value, false) === 1 ? ` Did you mean ${JSON.stringify(' ' + v.value)} (with a leading space)?` : '';
    problems.push({ severity: 'error', message: `${what} ${JSON.stringify(v.value)} is ${n} tokens for this model; it must be exactly one.${hint}`, range: v.range });
  }
}

export function validateSpec(spec: ExperimentSpec, facts: ModelFacts): SpecProblem[] {
  const problems: SpecProblem[] = [];
  for (const p of spec.prompts) {
    if (facts.countTokens) {
      const n = facts.countTokens(p.text.value, true);
      if (n > facts.nCtx) problems.push({ severity: 'error', message: `this prompt is ${n} tokens (with BOS); the model's context is ${facts.nCtx}.`, range: p.text.range });
    }
    singleToken(problems, facts, p.answer, 'answer');
    singleToken(problems, facts, p.counterfactual, 'counterfactual');
  }
  for (const a of spec.analyses) {
    switch (a.kind) {
      case 'attention':
        for (const l of a.layers ?? []) inRange(problems, l, facts.nLayers, 'layer');
        inRange(problems, a.focus?.layer, facts.nLayers, 'layer');
        inRange(problems, a.focus?.head, facts.nHeads, 'head');
        break;
      case 'logitLens':
        singleToken(problems, facts, a.target, 'target');
        break;
      case 'patching':
      case 'ablation':
        for (const l of a.layers ?? []) inRange(problems, l, facts.nLayers, 'layer');
        if (a.kind === 'ablation' && facts.dMlp !== undefined) for (const n of a.neurons ?? []) inRange(problems, n, facts.dMlp, 'neuron');
        break;
      case 'steering':
        if (!facts.hooks.some((h) => h.name === a.hook.value)) {
          const near = closestHookName(a.hook.value, facts.hooks);
          problems.push({ severity: 'error', message: `unknown hook point ${JSON.stringify(a.hook.value)}.${near ? ` Closest: ${near}.` : ''}`, range: a.hook.range, suggestion: near });
        }
        break;
    }
  }
  for (const c of spec.cache) {
    try {
      selectHooks(facts.hooks, c.value, 'cache');
    } catch (e) {
      if (!isEngineError(e)) throw e;
      const near = closestHookName(c.value.replace(/[*?]/g, '0'), facts.hooks);
      problems.push({ severity: 'error', message: `unknown hook point ${JSON.stringify(c.value)}.${near ? ` Closest: ${near}.` : ''}`, range: c.range, suggestion: near });
    }
  }
  return problems;
}
