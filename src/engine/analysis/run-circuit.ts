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
import { ablate } from './ablation';
import { directLogitAttribution } from './attribution';
import { GeneratedToken, generate } from './generate';
import { rankHeads, runHeadDetectors } from './head-detectors';
import type { MetricSpec } from './metrics';
import type { AnalysisOutput, Axis, TokenSequence } from '../../protocol/analysis';
import { formatProbability, formatValue as f, sharedRange } from '../../protocol/figures';
import { activationPatching } from './patching';
import { steer } from './steering';
import { tokenLabel } from './token-label';
import type { Dataset } from '../datasets/load';
import { runCircuitTest } from './run-circuit-test';
import { attributionPatching } from './attribution-patching';
import { verifyEstimates } from './atp-verify';
import { inputAttribution } from './input-attribution';
import { atpOutput, inputAttributionOutput } from './gradient-outputs';
import { runOnDataset } from './run-dataset';
import { datasetOf } from '../spec/parse';
import { ABLATED, ABLATION_METHOD, DETECTED, PATCHED, headAxis, layerAxis, plural, quote } from './output-words';
import type { EdgeAttributionAnalysis } from '../spec/circuit-kinds';
import { edgeAttribution } from './edge-attribution';
import type { EdgePair } from './edge-circuit';
import { edgeLabel } from './edge-graph';
import { edgeGraphView, rankEdges } from './edge-view';
import { rowMetric } from './circuit';
import { featureAblationOutput, featuresOutput } from './run-features';
import { featureClamp, featureSteering } from './feature-interventions';

export interface CircuitContext {
  tracer: Tracer;
  prompts: readonly PromptSpec[];
  /** The spec's datasets by name (analyses with "dataset" run on one). */
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

/** Edges listed in the bar chart of an edge attribution. */
const TOP_EDGES = 30;

/** Edge attribution on the prompt and its corrupted prompt, or on a dataset's pairs. */
async function runEdgeAttribution(ctx: CircuitContext, a: EdgeAttributionAnalysis): Promise<AnalysisOutput> {
  const { tracer } = ctx;
  const dataset = (name: string) => (ctx.dataset ?? (() => fail('BAD_INPUT', { field: 'dataset' }, 'datasets are read by the worker, and this run has none.')))(name);
  let pairs: EdgePair[];
  let words: string;
  if (a.dataset) {
    const ds = dataset(a.dataset.value);
    pairs = ds.rows.map((row) => ({
      clean: row.tokens, metric: rowMetric(a.metric, ds, row),
      corrupted: row.corrupted ?? fail('BAD_INPUT', { field: `datasets.${ds.name}` }, `${row.origin} has no "corrupted" prompt, which edge attribution compares with.`, 'Give every prompt a corrupted one.'),
    }));
    words = `${a.metric} on ${ds.description}`;
  } else {
    const prompt = promptNamed(ctx, a.prompt?.value, 'prompt');
    const clean = tokens(ctx, prompt);
    const metric = metricOf(ctx, a.metric, prompt, clean.length);
    pairs = [{ clean, corrupted: tokens(ctx, promptNamed(ctx, a.corrupted!.value, 'corrupted')), metric: metric.spec }];
    words = metric.words;
  }
  const meanOver = a.ablation === 'mean' && a.reference ? dataset(a.reference.value).rows.map((r) => r.tokens) : undefined;
  const r = await edgeAttribution(tracer, pairs, {
    method: a.method, steps: a.steps, ...(a.threshold !== undefined ? { threshold: a.threshold } : { topN: a.topN }),
    ablation: a.ablation, meanOver, signal: ctx.signal, onProgress: ctx.onProgress,
  });
  const order = rankEdges(r.scores, TOP_EDGES);
  const valueLabel = `estimated change of normalized ${a.metric}`;
  const kept = r.kept.reduce((x, y) => x + y, 0);
  const fa = r.faithfulness;
  const method = r.method === 'eap' ? 'EAP (gradient at the clean run)' : `EAP-IG (${r.steps} steps, embeddings interpolated from corrupted to clean)`;
  const top = order.slice(0, 3).map((e) => `${edgeLabel(r.graph, e)} ${f(r.scores[e])}`).join(', ');
  return {
    name: a.title, kind: a.kind, valueLabel, axes: [{ name: 'edge', labels: order.map((e) => edgeLabel(r.graph, e)) }], values: order.map((e) => r.scores[e]),
    summary: `${words}: clean ${f(r.clean)}, corrupted ${f(r.corrupted)}. ${method} scores all ${r.graph.edgeCount} edges: the change of the normalized metric (1 = clean, 0 = corrupted) when one edge carries the corrupted value into the clean run (noising; a needed edge scores negative). Largest: ${top}. `
      + `The circuit (${kept} edges, ${a.threshold !== undefined ? `|score| >= ${a.threshold}` : `top ${a.topN} by |score|`}) with every other edge ablated (${fa.ablation}) recovers ${f(fa.faithfulness)} of the metric (0 = every edge ablated, 1 = the full model).`,
    scale: 'diverging', range: sharedRange([order.map((e) => r.scores[e])], 'diverging'),
    notes: {
      metric: words, [`clean ${a.metric}`]: r.clean, [`corrupted ${a.metric}`]: r.corrupted, method: r.method, edges: r.graph.edgeCount, 'circuit edges': kept,
      ablation: fa.ablation, faithfulness: fa.faithfulness, [`${a.metric} with the circuit`]: fa.circuit, [`${a.metric} with every edge ablated`]: fa.none,
      'forward passes': r.forwards, 'backward passes': r.backwards, pairs: pairs.length,
    },
    edgeGraph: edgeGraphView(r.graph, r.scores, r.kept, valueLabel),
  };
}

export async function runCircuitAnalysis(ctx: CircuitContext, a: CircuitAnalysis): Promise<AnalysisOutput> {
  const { tracer, signal, onProgress } = ctx;
  if (a.kind === 'edgeAttribution') return runEdgeAttribution(ctx, a);
  const datasetName = datasetOf(a)?.value;
  if (a.kind === 'circuit' || datasetName !== undefined) {
    const dataset = ctx.dataset ?? (() => fail('BAD_INPUT', { field: 'dataset' }, 'datasets are read by the worker, and this run has none.'));
    if (a.kind === 'circuit') return runCircuitTest({ tracer, dataset, signal, onProgress }, a);
    return runOnDataset({ tracer, ds: dataset(datasetName!), promptTokens: (name, field) => tokens(ctx, promptNamed(ctx, name, field)), signal, onProgress }, a);
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
      const named = a.corrupted ?? fail('BAD_INPUT', { field: 'corrupted' }, 'is required without "dataset".', 'Name the corrupted prompt.');
      const corrupted = promptNamed(ctx, named.value, 'corrupted');
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
    case 'attributionPatching': {
      const corrupted = tokens(ctx, promptNamed(ctx, a.corrupted.value, 'corrupted'));
      const metric = metricOf(ctx, a.metric, prompt, toks.length);
      const opts = { target: a.target, metric: metric.spec, direction: a.direction, layers: values(a.layers), positions: values(a.positions), signal };
      const r = await attributionPatching(tracer, toks, corrupted, { ...opts, method: a.method, steps: a.steps });
      const check = a.verify > 0 ? await verifyEstimates(tracer, toks, corrupted, r, { n: a.verify, seed: a.seed, metric: metric.spec, positions: opts.positions, signal, onProgress }) : undefined;
      const positions = positionAxis(opts.positions ?? toks.map((_, i) => i));
      return atpOutput(a.title, r, metric.words, { layer: layerAxis(r.layers), head: headAxis(tracer.ckpt.config.nHeads), position: positions }, PATCHED[r.target], check);
    }
    case 'inputAttribution': {
      const metric = metricOf(ctx, a.metric, prompt, toks.length);
      const baseline = a.corrupted ? tokens(ctx, promptNamed(ctx, a.corrupted.value, 'corrupted')) : undefined;
      const r = await inputAttribution(tracer, toks, { metric: metric.spec, baseline, steps: a.steps, signal });
      return inputAttributionOutput(a.title, r, metric.words, positionAxis(toks.map((_, i) => i)), toks.map((t) => label(t.id)), a.corrupted?.value);
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
