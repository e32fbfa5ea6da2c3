/**
 * Runs one circuit analysis of an experiment spec on a Tracer and turns its result into an
 * AnalysisOutput: resolves prompt names, tokenizes, checks answer tokens, maps spec fields to options,
 * and says in words what was measured (the metric with its tokens, baselines, best heads), with one
 * colour scale and range shared by the parts that are comparable.
 */
import { fail } from '../errors';
import type { Tracer } from '../tracer';
import { requireSingleToken } from '../single-token';
import type { Token } from '../tokenizer';
import type { CircuitAnalysis, MetricName } from '../spec/circuit-kinds';
import type { PromptSpec } from '../spec/types';
import { ablate, ablateDataset } from './ablation';
import { rowMetric } from './circuit';
import type { AblationAnalysis } from '../spec/circuit-kinds';
import { directLogitAttribution } from './attribution';
import { GeneratedToken, generate } from './generate';
import { rankHeads, runHeadDetectors } from './head-detectors';
import type { MetricSpec } from './metrics';
import type { AnalysisOutput, Axis, TokenSequence } from '../../protocol/analysis';
import { formatProbability, formatValue as f, sharedRange } from '../../protocol/figures';
import { activationPatching, type PatchTarget } from './patching';
import { steer } from './steering';
import { tokenLabel } from './token-label';
import type { Dataset } from '../datasets/load';
import { runCircuitTest } from './run-circuit-test';
import { featureAblationOutput, featuresOutput } from './run-features';
import { featureClamp, featureSteering } from './feature-interventions';

export interface CircuitContext {
  tracer: Tracer;
  prompts: readonly PromptSpec[];
  /** The spec's datasets by name (the circuit kind runs on one). */
  dataset?: (name: string) => Dataset;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

function promptNamed(ctx: CircuitContext, name: string | undefined, field: string): PromptSpec {
  const p = name === undefined ? ctx.prompts[0] : ctx.prompts.find((q) => q.name.value === name);
  if (!p) fail('BAD_INPUT', { field }, name === undefined ? 'the spec has no prompts.' : `no prompt is named ${JSON.stringify(name)}.`);
  return p;
}

function tokens(ctx: CircuitContext, p: PromptSpec): Token[] {
  return ctx.tracer.tokenize(p.text.value);
}

/** The id of a one-token string such as " Mary". */
function singleToken(ctx: CircuitContext, text: string | undefined, field: string): number {
  const tok = ctx.tracer.ckpt.tokenizer;
  if (text === undefined) fail('BAD_INPUT', { field }, 'is required for this analysis.', 'Add it to the prompt.');
  if (!tok) fail('BAD_INPUT', { field }, 'this model has no tokenizer to read it with.');
  return requireSingleToken((t) => tok.encode(t, { prependBos: false }), text, field).id;
}

/** A token in words: ' God' (single quotes, newlines escaped). */
const quote = (text: string) => `'${text.replace(/\n/g, '\\n')}'`;

interface Metric {
  spec: MetricSpec;
  /** "logit difference ' God' - ' Israel'", "probability of ' God'", "mean next-token loss". */
  words: string;
}

function metricOf(ctx: CircuitContext, name: MetricName, p: PromptSpec, promptLength: number): Metric {
  if (name === 'loss') return { spec: { kind: 'loss', from: 1, to: promptLength }, words: 'mean next-token loss' };
  const answer = singleToken(ctx, p.answer?.value, `${p.name.value}.answer`);
  if (name === 'answerProb') return { spec: { kind: 'answerProb', answer }, words: `probability of ${quote(p.answer!.value)}` };
  const counterfactual = singleToken(ctx, p.counterfactual?.value, `${p.name.value}.counterfactual`);
  return { spec: { kind: 'logitDiff', answer, counterfactual }, words: `logit difference ${quote(p.answer!.value)} - ${quote(p.counterfactual!.value)}` };
}

const values = (xs?: { value: number }[]) => xs?.map((x) => x.value);

const layerAxis = (layers: number[]): Axis => ({ name: 'layer', labels: layers.map(String) });
const headAxis = (n: number): Axis => ({ name: 'head', labels: Array.from({ length: n }, (_, h) => `H${h}`) });

const PATCHED: Record<PatchTarget, string> = {
  resid_pre: 'the residual stream before a layer at one position',
  attn_out: "a layer's attention output at one position",
  mlp_out: "a layer's MLP output at one position",
  heads: "one head's output (at every position)",
  heads_pos: "one head's output at one position",
};

const ABLATED = { heads: 'each head', neurons: 'each MLP neuron', layers: 'each layer (its attention and MLP outputs)' } as const;

const DETECTED = {
  'previous-token': 'the previous token',
  'duplicate-token': 'earlier copies of the current token',
  induction: 'the token after an earlier copy of the current token',
} as const;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const ABLATION_METHOD = {
  zero: 'Zero ablation',
  mean: (n: number) => `Mean ablation (the mean over ${plural(n, 'reference prompt')} at each position)`,
  resample: (n: number) => `Resample ablation (values from ${plural(n, 'reference prompt')}, the metric averaged over them)`,
};

/** Ablation on every prompt of a dataset: the mean change, and its spread over the prompts as a second plot. */
async function ablationOverDataset(ctx: CircuitContext & { dataset: (name: string) => Dataset }, a: AblationAnalysis, datasetName: string): Promise<AnalysisOutput> {
  if (a.unit === 'features') fail('BAD_INPUT', { field: 'dataset' }, 'feature ablation runs on one prompt.', 'Give "prompt" instead of "dataset".');
  const ds = ctx.dataset(datasetName);
  const reference = a.reference.length ? a.reference.map((n) => tokens(ctx, promptNamed(ctx, n.value, 'reference'))) : ds.rows.map((r) => r.tokens);
  const r = await ablateDataset(ctx.tracer, ds.rows.map((row) => ({ tokens: row.tokens, metric: rowMetric(a.metric, ds, row) })), {
    unit: a.unit, kind: a.method, reference,
    layers: values(a.layers), neurons: values(a.neurons), positions: values(a.positions), signal: ctx.signal, onProgress: ctx.onProgress,
  });
  const axes: Axis[] = r.unit === 'layers' ? [layerAxis(r.layers)] : [layerAxis(r.layers), { name: r.unit === 'heads' ? 'head' : 'neuron', labels: r.units }];
  const method = r.kind === 'zero' ? ABLATION_METHOD.zero : ABLATION_METHOD[r.kind](reference.length);
  return {
    name: a.title, kind: a.kind, valueLabel: `mean change of ${r.metric}`, axes, values: [...r.change],
    summary: `${a.metric} on ${ds.description}: mean without ablation ${f(r.baseline)}. ${method} of ${ABLATED[r.unit]}: the change of the ${r.metric} it causes, averaged over the prompts.`,
    scale: 'diverging', range: sharedRange([r.change], 'diverging'),
    notes: { metric: a.metric, dataset: ds.name, prompts: r.prompts, [`mean unablated ${r.metric}`]: r.baseline, method: r.kind },
    parts: [{
      name: `${a.title}: spread over prompts`, kind: 'ablation-spread', valueLabel: `standard deviation of the change of ${r.metric}`, axes, values: [...r.spread],
      summary: `How much the change varies from prompt to prompt (standard deviation over the ${r.prompts} prompts).`, scale: 'sequential',
    }],
  };
}

export async function runCircuitAnalysis(ctx: CircuitContext, a: CircuitAnalysis): Promise<AnalysisOutput> {
  const { tracer, signal, onProgress } = ctx;
  if (a.kind === 'circuit' || (a.kind === 'ablation' && a.dataset)) {
    const dataset = ctx.dataset ?? (() => fail('BAD_INPUT', { field: 'dataset' }, 'datasets are read by the worker, and this run has none.'));
    return a.kind === 'circuit' ? runCircuitTest({ tracer, dataset, signal, onProgress }, a) : ablationOverDataset({ ...ctx, dataset }, a, a.dataset!.value);
  }
  const tok = tracer.ckpt.tokenizer;
  const decode = (ids: number[]) => tok?.decode(ids) ?? ids.join(' ');
  /** One token's text for labels (partial UTF-8 bytes as <0xNN>). */
  const label = (id: number) => (tok ? tokenLabel(tok, id) : String(id));
  const prompt = promptNamed(ctx, a.prompt?.value, 'prompt');
  const toks = tokens(ctx, prompt);
  const positionAxis = (positions: number[]): Axis => ({ name: 'position', labels: positions.map((p) => `${p} ${JSON.stringify(label(toks[p].id))}`) });
  /** The prompt's tokens and a continuation of it, token by token. */
  const sequence = (name: string, generated: GeneratedToken[]): TokenSequence => ({
    label: name,
    tokens: [...toks.map((t) => ({ text: label(t.id) })), ...generated.map((g) => ({ text: label(g.id), prob: g.prob }))],
  });
  switch (a.kind) {
    case 'patching': {
      const corrupted = promptNamed(ctx, a.corrupted.value, 'corrupted');
      const metric = metricOf(ctx, a.metric, prompt, toks.length);
      const r = await activationPatching(tracer, toks, tokens(ctx, corrupted), {
        target: a.target, metric: metric.spec, direction: a.direction,
        layers: values(a.layers), positions: values(a.positions), signal, onProgress,
      });
      const positions = positionAxis(values(a.positions) ?? toks.map((_, i) => i));
      const heads = headAxis(tracer.ckpt.config.nHeads);
      const axes = r.target === 'heads' ? [layerAxis(r.layers), heads] : r.target === 'heads_pos' ? [layerAxis(r.layers), heads, positions] : [layerAxis(r.layers), positions];
      const [from, into] = r.direction === 'denoise' ? ['clean', 'corrupted'] : ['corrupted', 'clean'];
      return {
        name: a.title, kind: a.kind, valueLabel: `normalized ${r.metric}`, axes, values: [...r.values],
        summary: `${metric.words}: clean ${f(r.clean)}, corrupted ${f(r.corrupted)}. Each cell patches ${PATCHED[r.target]} from the ${from} run into the ${into} run (${r.direction === 'denoise' ? 'denoising' : 'noising'}); 1 = clean, 0 = corrupted.`,
        scale: 'diverging', range: sharedRange([r.values, [1]], 'diverging'),
        notes: { metric: metric.words, [`clean ${r.metric}`]: r.clean, [`corrupted ${r.metric}`]: r.corrupted, direction: r.direction, target: r.target },
      };
    }
    case 'ablation': {
      const reference = a.reference.map((n) => tokens(ctx, promptNamed(ctx, n.value, 'reference')));
      const metric = metricOf(ctx, a.metric, prompt, toks.length);
      if (a.unit === 'features') {
        const method = a.method === 'zero' ? ABLATION_METHOD.zero : ABLATION_METHOD[a.method](reference.length);
        return featureAblationOutput(tracer, a, toks, metric, reference, method, signal, onProgress);
      }
      const r = await ablate(tracer, toks, {
        unit: a.unit, kind: a.method, metric: metric.spec, reference,
        layers: values(a.layers), neurons: values(a.neurons), positions: values(a.positions), signal, onProgress,
      });
      const method = r.kind === 'zero' ? ABLATION_METHOD.zero : ABLATION_METHOD[r.kind](reference.length);
      const at = a.positions ? ` at position${a.positions.length === 1 ? '' : 's'} ${a.positions.map((p) => p.value).join(', ')}` : '';
      return {
        name: a.title, kind: a.kind, valueLabel: `change of ${r.metric}`,
        axes: r.unit === 'layers' ? [layerAxis(r.layers)] : [layerAxis(r.layers), { name: r.unit === 'heads' ? 'head' : 'neuron', labels: r.units }],
        values: [...r.change],
        summary: `${metric.words} without ablation ${f(r.baseline)}. ${method} of ${ABLATED[r.unit]}${at}: the change of the ${r.metric} it causes.`,
        scale: 'diverging', range: sharedRange([r.change], 'diverging'),
        notes: { metric: metric.words, [`unablated ${r.metric}`]: r.baseline, method: r.kind },
      };
    }
    case 'attribution': {
      const answer = singleToken(ctx, prompt.answer?.value, `${prompt.name.value}.answer`);
      const counterfactual = prompt.counterfactual ? singleToken(ctx, prompt.counterfactual.value, `${prompt.name.value}.counterfactual`) : undefined;
      const r = await directLogitAttribution(tracer, toks, { answer, counterfactual, signal });
      const sum = r.values.reduce((x, y) => x + y, 0);
      const measured = counterfactual === undefined ? 'logit' : 'logit difference';
      const words = counterfactual === undefined ? `logit of ${quote(prompt.answer!.value)}` : `logit difference ${quote(prompt.answer!.value)} - ${quote(prompt.counterfactual!.value)}`;
      // Heads and components are in the same unit (a part of the same logit difference): one range.
      const range = sharedRange([r.values, r.heads], 'diverging');
      const valueLabel = `${measured} contribution`;
      return {
        name: a.title, kind: a.kind, valueLabel, axes: [{ name: 'component', labels: r.labels }], values: [...r.values],
        summary: `${words} ${f(r.logitDiff)} = sum of contributions ${f(sum)}: what each component writes into the residual stream at the last position adds to it, through the final layer norm.`,
        scale: 'diverging', range,
        notes: { metric: words, [measured]: r.logitDiff, 'sum of contributions': sum },
        parts: [{
          name: `${a.title}: heads`, kind: 'attribution-heads', valueLabel,
          axes: [layerAxis(Array.from({ length: r.nLayers }, (_, l) => l)), headAxis(r.nHeads)], values: [...r.heads],
          summary: `Each head's part of its layer's attention contribution (the attention output's bias is counted in "L attn" only), on the components' range.`,
          scale: 'diverging', range,
        }],
      };
    }
    case 'detectors': {
      const r = await runHeadDetectors(tracer, a.source === 'prompt' ? { prompt: toks } : { random: { rows: a.rows, length: a.length, seed: a.seed } }, a.detectors, signal);
      const best = r.scores.map((s) => ({ kind: s.kind, ...rankHeads(s)[0] }));
      // Scores are attention fractions: every detector on the same 0..1 scale.
      const parts = r.scores.map((s, i): AnalysisOutput => {
        const top = best[i];
        return {
          name: `${a.title}: ${s.kind}`, kind: 'detector', valueLabel: `${s.kind} score`,
          axes: [layerAxis(Array.from({ length: s.nLayers }, (_, l) => l)), headAxis(s.nHeads)], values: [...s.scores],
          summary: `best head ${top.layer}.${top.head} (${s.kind} score ${f(top.score)}); a head's score is the mean attention it pays to ${DETECTED[s.kind]}.`,
          scale: 'sequential', range: [0, 1],
          notes: { 'best head': `${top.layer}.${top.head}`, 'best score': top.score },
        };
      });
      const scored = a.source === 'prompt' ? 'the prompt' : `${plural(a.rows, 'sequence')} of BOS and ${a.length} random tokens repeated once (seed ${a.seed})`;
      return {
        name: a.title, kind: a.kind, valueLabel: 'score', axes: [], values: [],
        summary: `Every head scored on ${scored}; 1 = all of its attention on the detector's target. Best heads: ${best.map((b) => `${b.kind} ${b.layer}.${b.head} (${f(b.score)})`).join(', ')}.`,
        notes: { source: r.source, ...Object.fromEntries(best.map((b) => [`best ${b.kind} head`, `${b.layer}.${b.head}`])) },
        parts,
      };
    }
    case 'steering': {
      const pick = (ns: { value: string }[]) => ns.map((n) => tokens(ctx, promptNamed(ctx, n.value, 'positive/negative')));
      if (a.clamp !== undefined && !a.feature) fail('BAD_INPUT', { field: 'clamp' }, "sets a feature's activation, and no \"feature\" is given.", 'Add "feature": its id.');
      // By a feature: coefficient x W_dec[f] at the dictionary's hook_sae_output, or its activation clamped.
      const byFeature = a.feature && (a.clamp !== undefined ? featureClamp(tracer, a.hook.value, a.feature.value, a.clamp) : featureSteering(tracer, a.hook.value, a.feature.value, a.coefficient));
      const r = await steer(tracer, toks, {
        hook: byFeature ? byFeature.hook : a.hook.value, coefficient: byFeature && a.clamp !== undefined ? a.clamp : a.coefficient, vector: a.vector ? Float32Array.from(a.vector.value) : undefined,
        ...(byFeature ? { intervention: byFeature } : {}), positive: pick(a.positive), negative: pick(a.negative), generation: a.generation, signal,
      });
      const changed = [...r.increased, ...r.decreased.reverse()];
      const tokenAxis: Axis = { name: 'token', labels: changed.map((c) => label(c.id)) };
      const shift = changed.map((c) => c.after - c.before);
      const vector = a.feature ? `feature ${a.feature.value}'s decoder row W_dec[f]` : a.vector ? 'the given vector' : `the mean activation of ${plural(a.positive.length, '"positive" prompt')} minus that of ${plural(a.negative.length, '"negative" prompt')}`;
      const top = (t: { id: number; prob: number }) => `${quote(label(t.id))} (${formatProbability(t.prob)})`;
      const steered = a.feature && a.clamp !== undefined ? `with feature ${a.feature.value} clamped to ${a.clamp}` : `with steering (x${r.coefficient} at ${r.hook})`;
      const probs = changed.flatMap((c) => [c.probBefore, c.probAfter]); // [token, without/with]
      return {
        name: a.title, kind: a.kind, valueLabel: 'logit change', axes: [tokenAxis], values: shift,
        summary: `${a.feature && a.clamp !== undefined ? `Clamping feature ${a.feature.value}'s activation to ${a.clamp} (error term kept)` : `Adding ${r.coefficient} x ${vector} (norm ${f(r.vectorNorm)})`} at ${r.hook}, at every position. Most likely next token: ${top(r.topBefore[0])} without steering, ${top(r.topAfter[0])} with.`,
        scale: 'diverging', range: sharedRange([shift], 'diverging'),
        notes: { hook: r.hook, coefficient: r.coefficient, 'vector norm': r.vectorNorm, 'top token without steering': label(r.topBefore[0].id), 'top token with steering': label(r.topAfter[0].id) },
        texts: [
          { label: 'without steering', text: prompt.text.value + decode(r.continuationBefore.map((t) => t.id)) },
          { label: steered, text: prompt.text.value + decode(r.continuationAfter.map((t) => t.id)) },
        ],
        sequences: [sequence('without steering', r.continuationBefore), sequence(steered, r.continuationAfter)],
        parts: [{
          name: `${a.title}: next-token probability`, kind: 'steering-probabilities', valueLabel: 'next-token probability',
          axes: [tokenAxis, { name: 'steering', labels: ['without', 'with'] }], values: probs, grouped: true,
          summary: 'The probability of each of these tokens as the next token after the prompt, without and with steering.',
          scale: 'sequential', range: sharedRange([probs], 'sequential'),
        }],
      };
    }
    case 'features': {
      const answer = prompt.answer ? singleToken(ctx, prompt.answer.value, `${prompt.name.value}.answer`) : undefined;
      const counterfactual = answer !== undefined && prompt.counterfactual ? singleToken(ctx, prompt.counterfactual.value, `${prompt.name.value}.counterfactual`) : undefined;
      return featuresOutput(tracer, a, toks, label, { answer, counterfactual }, signal);
    }
    case 'generation': {
      const g = a.generation;
      const out = await generate(tracer, toks, { ...g, stopToken: tok?.bosTokenId ?? undefined, signal });
      const how = g.temperature > 0 ? `Sampled at temperature ${g.temperature}${g.topK ? ` from the ${g.topK} most likely tokens` : ''} (seed ${g.seed})` : 'Greedy (the most likely token at each step)';
      const mean = out.reduce((x, t) => x + t.prob, 0) / Math.max(1, out.length);
      return {
        name: a.title, kind: a.kind, valueLabel: '', axes: [], values: [],
        summary: `${how}: ${plural(out.length, 'new token')}, each with the probability the model gave it (mean ${formatProbability(mean)}).`,
        texts: [{ label: 'continuation', text: prompt.text.value + decode(out.map((t) => t.id)) }],
        sequences: [sequence('continuation', out)],
      };
    }
  }
}
