/**
 * Semantic checks that a JSON schema cannot make because they depend on the model: layer, head and
 * neuron in range, hook names that exist (closest one suggested), steering vectors of the hook's width,
 * answers that are one token, prompts that fit the context, and the answer tokens a metric reads. The
 * caller supplies what it knows about the model; nothing here opens files.
 */
import { closestHookName, selectHooks } from '../hooks';
import type { HookPoint } from '../hooks';
import { isEngineError } from '../errors';
import { singleTokenProblem } from '../single-token';
import type { AblationAnalysis, AttributionAnalysis, AttributionPatchingAnalysis, InputAttributionAnalysis, PatchingAnalysis } from './circuit-kinds';
import { promptOf } from './parse';
import type { ExperimentSpec, Located, SpecProblem } from './types';

/**
 * Everything about the model that validation reads, all required so that no check is silently skipped
 * because a caller left a fact out; the one exception is the tokenizer, which a checkpoint may lack
 * (or which may not be loaded in Restricted Mode). Hook shapes give the widths (d_model, ...) a
 * steering vector must have.
 */
export interface ModelFacts {
  nLayers: number;
  nHeads: number;
  nCtx: number;
  /** MLP width, for neuron indices. */
  dMlp: number;
  hooks: readonly HookPoint[];
  /** Token count of a text (with BOS when `prependBos`), or null when the model has no tokenizer. */
  countTokens: ((text: string, prependBos: boolean) => number) | null;
}

function inRange(problems: SpecProblem[], v: Located<number> | undefined, max: number, what: string): void {
  if (v && v.value >= max) problems.push({ severity: 'error', message: `${what} ${v.value} is out of range: this model has ${max} (0 to ${max - 1}).`, range: v.range });
}

function singleToken(problems: SpecProblem[], facts: ModelFacts, v: Located<string> | undefined, what: string): void {
  const count = facts.countTokens;
  if (!v || !count) return;
  const p = singleTokenProblem((t) => count(t, false), v, what);
  if (p) problems.push(p);
}

/** Values per position of a hook (d_model for the residual stream), as steering adds them. */
function perPositionWidth(h: HookPoint): number {
  return h.shape.slice(2).reduce<number>((w, d) => w * (typeof d === 'number' ? d : 1), 1);
}

function unknownHook(problems: SpecProblem[], v: Located<string>, near: string | undefined): void {
  problems.push({ severity: 'error', message: `unknown hook point ${JSON.stringify(v.value)}.${near ? ` Closest: ${near}.` : ''}`, range: v.range, suggestion: near });
}

/** The hooks the attached dictionaries read (each has HOOK.hook_sae_acts_post among the hooks). */
function dictionaryHooks(facts: ModelFacts): string[] {
  const suffix = '.hook_sae_acts_post';
  return facts.hooks.filter((h) => h.name.endsWith(suffix)).map((h) => h.name.slice(0, -suffix.length));
}

/** A feature analysis's dictionary: `sae` (an index or the hook it reads) names an attached one, or exactly one is attached. */
function dictionaryChoice(problems: SpecProblem[], facts: ModelFacts, sae: Located<number | string> | undefined, at: { range: Located<unknown>['range'] }): void {
  const attached = dictionaryHooks(facts);
  const listed = attached.join(', ') || 'none';
  const bad = (message: string, range = at.range) => problems.push({ severity: 'error', message, range });
  if (!sae) {
    if (attached.length === 0) bad('this analysis reads SAE features, and no dictionary is attached: list one in "saes".');
    else if (attached.length > 1) bad(`${attached.length} dictionaries are attached (${listed}): name one with "sae".`);
  } else if (typeof sae.value === 'number' ? sae.value >= attached.length : !attached.includes(sae.value)) { // an index counts the "saes" entries
    bad(`"sae" ${JSON.stringify(sae.value)} names no attached dictionary; attached: ${listed}.`, sae.range);
  }
}

function dictionaryAt(problems: SpecProblem[], facts: ModelFacts, hook: Located<string>, what: string): void {
  const attached = dictionaryHooks(facts);
  if (!attached.includes(hook.value)) problems.push({ severity: 'error', message: `${what}: no dictionary is attached at ${hook.value}; attached: ${attached.join(', ') || 'none'}. List it in "saes".`, range: hook.range });
}

/** Patching swaps activations position by position: the clean and corrupted prompts need one token length. */
function samePromptLength(problems: SpecProblem[], spec: ExperimentSpec, facts: ModelFacts, a: PatchingAnalysis | AttributionPatchingAnalysis | InputAttributionAnalysis): void {
  if (!facts.countTokens || !a.corrupted) return; // a dataset's lengths are checked when it loads
  const named = a.corrupted;
  const clean = promptOf(spec, a);
  const corrupted = spec.prompts.find((p) => p.name.value === named.value);
  if (!clean || !corrupted) return; // a missing name is the parser's problem
  const [n, m] = [facts.countTokens(clean.text.value, true), facts.countTokens(corrupted.text.value, true)];
  if (n !== m) {
    problems.push({ severity: 'error', message: `${a.kind} needs prompts of one token length: ${JSON.stringify(clean.name.value)} is ${n} tokens, ${JSON.stringify(corrupted.name.value)} ${m}. Edit the corrupted prompt so it tokenizes to ${n}.`, range: named.range });
  }
}

/**
 * The prompt's answer (and counterfactual) that a metric reads: logitDiff needs both, answerProb the
 * answer, loss neither; attribution the answer (a counterfactual makes it a logit difference).
 */
function metricTokens(problems: SpecProblem[], spec: ExperimentSpec, a: PatchingAnalysis | AblationAnalysis | AttributionAnalysis | AttributionPatchingAnalysis | InputAttributionAnalysis): void {
  const prompt = promptOf(spec, a);
  if (!prompt) return; // a missing name is the parser's problem; a dataset's answers are checked when it loads
  const metric = a.kind === 'attribution' ? undefined : a.metric;
  const needs = metric === 'loss' ? [] : metric === 'logitDiff' ? (['answer', 'counterfactual'] as const) : (['answer'] as const);
  const missing = needs.filter((k) => !prompt[k]);
  if (!missing.length) return;
  const what = metric ? `"metric" ${JSON.stringify(metric)}` : 'attribution';
  const fix = metric ? ', or set "metric": "loss"' : '';
  problems.push({
    severity: 'error',
    message: `${what} needs ${missing.map((k) => `"${k}"`).join(' and ')} on prompt ${JSON.stringify(prompt.name.value)}: add ${missing.length > 1 ? 'them there, one token each' : 'it there, one token'}${fix}.`,
    range: a.prompt?.range ?? a.range,
  });
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
        samePromptLength(problems, spec, facts, a);
        metricTokens(problems, spec, a);
        for (const l of a.layers ?? []) inRange(problems, l, facts.nLayers, 'layer');
        break;
      case 'attributionPatching':
      case 'inputAttribution':
        samePromptLength(problems, spec, facts, a);
        metricTokens(problems, spec, a);
        if (a.kind === 'attributionPatching') for (const l of a.layers ?? []) inRange(problems, l, facts.nLayers, 'layer');
        break;
      case 'ablation':
        metricTokens(problems, spec, a);
        for (const l of a.layers ?? []) inRange(problems, l, facts.nLayers, 'layer');
        for (const n of a.neurons ?? []) inRange(problems, n, facts.dMlp, 'neuron');
        if (a.unit === 'features') dictionaryChoice(problems, facts, a.sae, a);
        break;
      case 'features':
        dictionaryChoice(problems, facts, a.sae, a);
        break;
      case 'attribution':
        metricTokens(problems, spec, a);
        break;
      case 'circuit':
        for (const h of a.components.heads) {
          inRange(problems, { value: h.value.layer, range: h.range }, facts.nLayers, 'layer');
          inRange(problems, { value: h.value.head, range: h.range }, facts.nHeads, 'head');
        }
        for (const m of a.components.mlps) inRange(problems, m, facts.nLayers, 'layer');
        for (const n of a.components.neurons) {
          inRange(problems, { value: n.value.layer, range: n.range }, facts.nLayers, 'layer');
          inRange(problems, { value: n.value.neuron, range: n.range }, facts.dMlp, 'neuron');
        }
        for (const f of a.components.features) dictionaryAt(problems, facts, { value: f.value.hook, range: f.range }, `feature ${f.value.hook}:${f.value.feature}`);
        break;
      case 'steering': {
        const named = a.hook;
        if (a.feature) {
          dictionaryAt(problems, facts, named, 'steering by a feature');
          break;
        }
        const hook = facts.hooks.find((h) => h.name === named.value);
        const width = hook && perPositionWidth(hook);
        if (!hook) {
          unknownHook(problems, named, closestHookName(named.value, facts.hooks));
        } else if (a.vector && a.vector.value.length !== width) {
          problems.push({ severity: 'error', message: `"vector" has ${a.vector.value.length} values; ${hook.name} has ${width} per position.`, range: a.vector.range });
        }
        break;
      }
    }
  }
  for (const c of spec.cache) {
    try {
      selectHooks(facts.hooks, c.value, 'cache');
    } catch (e) {
      if (!isEngineError(e)) throw e;
      unknownHook(problems, c, closestHookName(c.value.replace(/[*?]/g, '0'), facts.hooks));
    }
  }
  return problems;
}
