/**
 * Runs one circuit analysis of an experiment spec on a Tracer and turns its result into an
 * AnalysisOutput: resolves prompt names, tokenizes, checks answer tokens, maps spec fields to options.
 */
import { fail } from '../errors';
import type { Tracer } from '../tracer';
import { requireSingleToken } from '../single-token';
import type { Token } from '../tokenizer';
import type { CircuitAnalysis, MetricName } from '../spec/circuit-kinds';
import type { PromptSpec } from '../spec/types';
import { ablate } from './ablation';
import { directLogitAttribution } from './attribution';
import { generate } from './generate';
import { rankHeads, runHeadDetectors } from './head-detectors';
import type { MetricSpec } from './metrics';
import type { AnalysisOutput } from '../../protocol/analysis';
import { activationPatching } from './patching';
import { steer } from './steering';

export interface CircuitContext {
  tracer: Tracer;
  prompts: readonly PromptSpec[];
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

function metricOf(ctx: CircuitContext, name: MetricName, p: PromptSpec, promptLength: number): MetricSpec {
  if (name === 'loss') return { kind: 'loss', from: 1, to: promptLength };
  const answer = singleToken(ctx, p.answer?.value, `${p.name.value}.answer`);
  if (name === 'answerProb') return { kind: 'answerProb', answer };
  return { kind: 'logitDiff', answer, counterfactual: singleToken(ctx, p.counterfactual?.value, `${p.name.value}.counterfactual`) };
}

const values = (xs?: { value: number }[]) => xs?.map((x) => x.value);

export async function runCircuitAnalysis(ctx: CircuitContext, a: CircuitAnalysis): Promise<AnalysisOutput> {
  const { tracer, signal, onProgress } = ctx;
  const decode = (ids: number[]) => tracer.ckpt.tokenizer?.decode(ids) ?? ids.join(' ');
  const prompt = promptNamed(ctx, a.prompt?.value, 'prompt');
  const toks = tokens(ctx, prompt);
  switch (a.kind) {
    case 'patching': {
      const corrupted = promptNamed(ctx, a.corrupted.value, 'corrupted');
      const r = await activationPatching(tracer, toks, tokens(ctx, corrupted), {
        target: a.target, metric: metricOf(ctx, a.metric, prompt, toks.length), direction: a.direction,
        layers: values(a.layers), positions: values(a.positions), signal, onProgress,
      });
      return {
        name: a.title, kind: a.kind, valueLabel: `normalized ${r.metric} (0 = corrupted, 1 = clean)`,
        axes: [{ name: 'layer', labels: r.layers.map(String) }, { name: a.target.startsWith('heads') ? 'head' : 'position', labels: r.units }],
        values: [...r.values], notes: { clean: r.clean, corrupted: r.corrupted, direction: r.direction, target: r.target },
      };
    }
    case 'ablation': {
      const reference = a.reference.map((n) => tokens(ctx, promptNamed(ctx, n.value, 'reference')));
      const r = await ablate(tracer, toks, {
        unit: a.unit, kind: a.method, metric: metricOf(ctx, a.metric, prompt, toks.length), reference,
        layers: values(a.layers), neurons: values(a.neurons), positions: values(a.positions), signal, onProgress,
      });
      return {
        name: a.title, kind: a.kind, valueLabel: `change of ${r.metric} (${r.kind} ablation)`,
        axes: [{ name: 'layer', labels: r.layers.map(String) }, { name: r.unit === 'layers' ? 'layer' : r.unit === 'heads' ? 'head' : 'neuron', labels: r.units }],
        values: [...r.change], notes: { baseline: r.baseline },
      };
    }
    case 'attribution': {
      const answer = singleToken(ctx, prompt.answer?.value, `${prompt.name.value}.answer`);
      const counterfactual = prompt.counterfactual ? singleToken(ctx, prompt.counterfactual.value, `${prompt.name.value}.counterfactual`) : undefined;
      const r = await directLogitAttribution(tracer, toks, { answer, counterfactual, signal });
      const sum = r.values.reduce((x, y) => x + y, 0);
      return {
        name: a.title, kind: a.kind, valueLabel: counterfactual === undefined ? 'logit contribution' : 'logit difference contribution',
        axes: [{ name: 'component', labels: r.labels }], values: [...r.values],
        notes: { logitDifference: r.logitDiff, sumOfContributions: sum },
        parts: [{
          name: `${a.title}: heads`, kind: 'attribution-heads', valueLabel: 'contribution',
          axes: [{ name: 'layer', labels: Array.from({ length: r.nLayers }, (_, l) => String(l)) }, { name: 'head', labels: Array.from({ length: r.nHeads }, (_, h) => `H${h}`) }],
          values: [...r.heads],
        }],
      };
    }
    case 'detectors': {
      const r = await runHeadDetectors(tracer, a.source === 'prompt' ? { prompt: toks } : { random: { rows: a.rows, length: a.length, seed: a.seed } }, a.detectors, signal);
      const parts = r.scores.map((s): AnalysisOutput => {
        const top = rankHeads(s)[0];
        return {
          name: `${a.title}: ${s.kind}`, kind: 'detector', valueLabel: `${s.kind} score`,
          axes: [{ name: 'layer', labels: Array.from({ length: s.nLayers }, (_, l) => String(l)) }, { name: 'head', labels: Array.from({ length: s.nHeads }, (_, h) => `H${h}`) }],
          values: [...s.scores], notes: { best: `${top.layer}.${top.head}`, bestScore: top.score, source: r.source },
        };
      });
      return { ...parts[0], name: a.title, kind: a.kind, parts: parts.slice(1) };
    }
    case 'steering': {
      const pick = (ns: { value: string }[]) => ns.map((n) => tokens(ctx, promptNamed(ctx, n.value, 'positive/negative')));
      const r = await steer(tracer, toks, {
        hook: a.hook.value, coefficient: a.coefficient, vector: a.vector ? Float32Array.from(a.vector.value) : undefined,
        positive: pick(a.positive), negative: pick(a.negative), generation: a.generation, signal,
      });
      const changed = [...r.increased, ...r.decreased.reverse()];
      return {
        name: a.title, kind: a.kind, valueLabel: 'logit change',
        axes: [{ name: 'token', labels: changed.map((c) => decode([c.id])) }], values: changed.map((c) => c.after - c.before),
        notes: { hook: r.hook, coefficient: r.coefficient, vectorNorm: r.vectorNorm, topBefore: decode([r.topBefore[0].id]), topAfter: decode([r.topAfter[0].id]) },
        texts: [
          { label: 'without steering', text: prompt.text.value + decode(r.continuationBefore) },
          { label: `with steering (x${r.coefficient} at ${r.hook})`, text: prompt.text.value + decode(r.continuationAfter) },
        ],
      };
    }
    case 'generation': {
      const out = await generate(tracer, toks, { ...a.generation, stopToken: tracer.ckpt.tokenizer?.bosTokenId ?? undefined, signal });
      return { name: a.title, kind: a.kind, valueLabel: '', axes: [], values: [], texts: [{ label: 'continuation', text: prompt.text.value + decode(out) }] };
    }
  }
}
