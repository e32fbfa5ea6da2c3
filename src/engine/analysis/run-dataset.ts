/**
 * Runs an analysis with `"dataset": NAME` on every prompt of that dataset and turns the dataset means
 * into an AnalysisOutput: patching as ratios of dataset means, ablation's mean change, attribution's
 * mean contributions, the detectors' mean scores, steering's mean metric shift. Each prompt brings its
 * own answer tokens (and corrupted prompt); the spread over the prompts (standard deviation) travels in
 * `spread` and, where it is a map worth seeing, as its own part. A prompt that lacks what the analysis
 * reads is an error naming the dataset, the prompt and the fix.
 */
import { fail } from '../errors';
import type { Tracer } from '../tracer';
import type { Token } from '../tokenizer';
import type { Dataset, DatasetRow } from '../datasets/load';
import type { AblationAnalysis, AttributionAnalysis, CircuitAnalysis, DetectorsAnalysis, MetricName, PatchingAnalysis, SteeringAnalysis } from '../spec/circuit-kinds';
import type { AnalysisOutput, Axis } from '../../protocol/analysis';
import { formatProbability, formatValue as f, sharedRange } from '../../protocol/figures';
import { ablateDataset } from './ablation';
import { attributeDataset } from './attribution';
import { rowMetric } from './circuit';
import { rankHeads, scoreDataset } from './head-detectors';
import { patchDataset } from './patching';
import { steerDataset } from './steering';
import { tokenLabel } from './token-label';
import { ABLATED, ABLATION_METHOD, DETECTED, PATCHED, headAxis, layerAxis, plural, quote } from './output-words';

export interface DatasetContext {
  tracer: Tracer;
  /** The analysis's dataset, tokenized for the tracer's model. */
  ds: Dataset;
  /** A prompt of the spec by name (reference and steering prompts), tokenized. */
  promptTokens: (name: string, field: string) => Token[];
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

const values = (xs?: { value: number }[]) => xs?.map((x) => x.value);

/** The metric in words when each prompt brings its own tokens. */
function metricWords(metric: MetricName, ds: Dataset): string {
  if (metric === 'loss') return ds.lossTargets ? 'mean next-token loss over the repeated half' : 'mean next-token loss';
  return metric === 'answerProb' ? "probability of each prompt's answer" : "logit difference of each prompt's answer - counterfactual";
}

/** A problem of one prompt of the dataset: names the dataset and the prompt. */
function rowProblem(ds: Dataset, row: DatasetRow, problem: string, fix: string): never {
  fail('BAD_INPUT', { field: `datasets.${ds.name}` }, `${row.origin} ${problem}`, fix);
}

/** Positions labelled by their token when every prompt has the same one there, else "(varies)". */
function positionAxis(tracer: Tracer, ds: Dataset, positions: number[]): Axis {
  const tok = tracer.ckpt.tokenizer;
  const label = (id: number) => (tok ? tokenLabel(tok, id) : String(id));
  return {
    name: 'position',
    labels: positions.map((p) => {
      const id = ds.rows[0].tokens[p].id;
      return ds.rows.every((r) => r.tokens[p].id === id) ? `${p} ${JSON.stringify(label(id))}` : `${p} (varies)`;
    }),
  };
}

async function patchingOverDataset(ctx: DatasetContext, a: PatchingAnalysis): Promise<AnalysisOutput> {
  const { tracer, ds } = ctx;
  const rows = ds.rows.map((row) => {
    const corrupted = row.corrupted ?? rowProblem(ds, row, 'has no "corrupted" prompt, which patching over a dataset patches with.', 'Give every prompt one: a "corrupted" field on each JSONL line, or the template\'s "corrupted".');
    if (corrupted.length !== row.tokens.length) rowProblem(ds, row, `is ${row.tokens.length} tokens and its corrupted prompt ${corrupted.length}; patching needs equal lengths.`, 'Edit the corrupted prompt so it tokenizes to the same length.');
    return { clean: row.tokens, corrupted, metric: rowMetric(a.metric, ds, row) };
  });
  const r = await patchDataset(tracer, rows, {
    target: a.target, direction: a.direction, layers: values(a.layers), positions: values(a.positions), signal: ctx.signal, onProgress: ctx.onProgress,
  });
  const positions = positionAxis(tracer, ds, values(a.positions) ?? ds.rows[0].tokens.map((_, i) => i));
  const heads = headAxis(tracer.ckpt.config.nHeads);
  const axes = r.target === 'heads' ? [layerAxis(r.layers), heads] : r.target === 'heads_pos' ? [layerAxis(r.layers), heads, positions] : [layerAxis(r.layers), positions];
  const [from, into] = r.direction === 'denoise' ? ['clean', 'corrupted'] : ['corrupted', 'clean'];
  return {
    name: a.title, kind: a.kind, valueLabel: `normalized ${r.metric}`, axes, values: [...r.values], spread: [...r.spread],
    summary: `${metricWords(a.metric, ds)} on ${ds.description}: mean clean ${f(r.clean)}, mean corrupted ${f(r.corrupted)}. Each cell patches ${PATCHED[r.target]} from each prompt's ${from} run into its ${into} run (${r.direction === 'denoise' ? 'denoising' : 'noising'}), as a ratio of dataset means: (mean patched - mean corrupted) / (mean clean - mean corrupted); 1 = clean, 0 = corrupted.`,
    scale: 'diverging', range: sharedRange([r.values, [1]], 'diverging'),
    notes: { metric: a.metric, dataset: ds.name, prompts: r.prompts, [`mean clean ${r.metric}`]: r.clean, [`mean corrupted ${r.metric}`]: r.corrupted, direction: r.direction, target: r.target },
    parts: [{
      name: `${a.title}: spread over prompts`, kind: 'patching-spread', valueLabel: `standard deviation of each prompt's share`, axes, values: [...r.spread],
      summary: `How much the prompts differ: the standard deviation over the ${r.prompts} prompts of (M(patched) - M(corrupted)) / (mean clean - mean corrupted), whose mean is the cell above.`,
      scale: 'sequential',
    }],
  };
}

async function ablationOverDataset(ctx: DatasetContext, a: AblationAnalysis): Promise<AnalysisOutput> {
  if (a.unit === 'features') fail('BAD_INPUT', { field: 'dataset' }, 'feature ablation runs on one prompt.', 'Give "prompt" instead of "dataset".');
  const { ds } = ctx;
  const reference = a.reference.length ? a.reference.map((n) => ctx.promptTokens(n.value, 'reference')) : ds.rows.map((r) => r.tokens);
  const r = await ablateDataset(ctx.tracer, ds.rows.map((row) => ({ tokens: row.tokens, metric: rowMetric(a.metric, ds, row) })), {
    unit: a.unit, kind: a.method, reference,
    layers: values(a.layers), neurons: values(a.neurons), positions: values(a.positions), signal: ctx.signal, onProgress: ctx.onProgress,
  });
  const axes: Axis[] = r.unit === 'layers' ? [layerAxis(r.layers)] : [layerAxis(r.layers), { name: r.unit === 'heads' ? 'head' : 'neuron', labels: r.units }];
  const method = r.kind === 'zero' ? ABLATION_METHOD.zero : ABLATION_METHOD[r.kind](reference.length);
  return {
    name: a.title, kind: a.kind, valueLabel: `mean change of ${r.metric}`, axes, values: [...r.change], spread: [...r.spread],
    summary: `${a.metric} on ${ds.description}: mean without ablation ${f(r.baseline)}. ${method} of ${ABLATED[r.unit]}: the change of the ${r.metric} it causes, averaged over the prompts.`,
    scale: 'diverging', range: sharedRange([r.change], 'diverging'),
    notes: { metric: a.metric, dataset: ds.name, prompts: r.prompts, [`mean unablated ${r.metric}`]: r.baseline, method: r.kind },
    parts: [{
      name: `${a.title}: spread over prompts`, kind: 'ablation-spread', valueLabel: `standard deviation of the change of ${r.metric}`, axes, values: [...r.spread],
      summary: `How much the change varies from prompt to prompt (standard deviation over the ${r.prompts} prompts).`, scale: 'sequential',
    }],
  };
}

async function attributionOverDataset(ctx: DatasetContext, a: AttributionAnalysis): Promise<AnalysisOutput> {
  const { ds } = ctx;
  // Every prompt a logit difference, or every prompt the answer's logit alone: never a mean of both.
  const contrast = ds.rows.some((r) => r.counterfactual !== undefined);
  const rows = ds.rows.map((row) => {
    if (row.answer === undefined) rowProblem(ds, row, 'has no "answer", which attribution attributes the logit of.', 'Give every prompt an "answer" (one token).');
    if (contrast && row.counterfactual === undefined) rowProblem(ds, row, 'has no "counterfactual" where other prompts of the dataset have one.', 'Give every prompt a "counterfactual", or none.');
    return { tokens: row.tokens, answer: row.answer, counterfactual: row.counterfactual };
  });
  const r = await attributeDataset(ctx.tracer, rows, { signal: ctx.signal, onProgress: ctx.onProgress });
  const sum = r.values.reduce((x, y) => x + y, 0);
  const measured = contrast ? 'logit difference' : 'logit';
  const words = contrast ? "logit difference of each prompt's answer - counterfactual" : "logit of each prompt's answer";
  const range = sharedRange([r.values, r.heads], 'diverging');
  const valueLabel = `mean ${measured} contribution`;
  return {
    name: a.title, kind: a.kind, valueLabel, axes: [{ name: 'component', labels: r.labels }], values: [...r.values], spread: [...r.spread],
    summary: `${words} on ${ds.description}: mean ${f(r.logitDiff)} (standard deviation ${f(r.logitDiffSpread)}) = sum of mean contributions ${f(sum)}. Each component's contribution is what it writes into the residual stream at the last position, through the final layer norm, averaged over the prompts.`,
    scale: 'diverging', range,
    notes: { metric: words, dataset: ds.name, prompts: r.prompts, [`mean ${measured}`]: r.logitDiff, [`standard deviation of the ${measured}`]: r.logitDiffSpread, 'sum of mean contributions': sum },
    parts: [{
      name: `${a.title}: heads`, kind: 'attribution-heads', valueLabel,
      axes: [layerAxis(Array.from({ length: r.nLayers }, (_, l) => l)), headAxis(r.nHeads)], values: [...r.heads], spread: [...r.headsSpread],
      summary: `Each head's mean part of its layer's attention contribution (the attention output's bias is counted in "L attn" only), on the components' range.`,
      scale: 'diverging', range,
    }],
  };
}

async function detectorsOverDataset(ctx: DatasetContext, a: DetectorsAnalysis): Promise<AnalysisOutput> {
  const { ds } = ctx;
  const scores = await scoreDataset(ctx.tracer, ds.rows.map((r) => r.tokens), a.detectors, { signal: ctx.signal, onProgress: ctx.onProgress });
  const best = scores.map((s) => ({ kind: s.kind, ...rankHeads(s)[0] }));
  const parts = scores.map((s, i): AnalysisOutput => {
    const top = best[i];
    return {
      name: `${a.title}: ${s.kind}`, kind: 'detector', valueLabel: `mean ${s.kind} score`,
      axes: [layerAxis(Array.from({ length: s.nLayers }, (_, l) => l)), headAxis(s.nHeads)], values: [...s.scores], spread: [...s.spread],
      summary: `best head ${top.layer}.${top.head} (mean ${s.kind} score ${f(top.score)}, standard deviation ${f(s.spread[top.layer * s.nHeads + top.head])}); a head's score on a prompt is the mean attention it pays to ${DETECTED[s.kind]}.`,
      scale: 'sequential', range: [0, 1],
      notes: { 'best head': `${top.layer}.${top.head}`, 'best mean score': top.score },
    };
  });
  return {
    name: a.title, kind: a.kind, valueLabel: 'score', axes: [], values: [],
    summary: `Every head scored on each prompt of ${ds.description}, and the scores averaged; 1 = all of its attention on the detector's target. Best heads: ${best.map((b) => `${b.kind} ${b.layer}.${b.head} (${f(b.score)})`).join(', ')}.`,
    notes: { dataset: ds.name, prompts: ds.rows.length, ...Object.fromEntries(best.map((b) => [`best ${b.kind} head`, `${b.layer}.${b.head}`])) },
    parts,
  };
}

async function steeringOverDataset(ctx: DatasetContext, a: SteeringAnalysis): Promise<AnalysisOutput> {
  const { tracer, ds } = ctx;
  const tok = tracer.ckpt.tokenizer;
  const label = (id: number) => (tok ? tokenLabel(tok, id) : String(id));
  const pick = (ns: { value: string }[]) => ns.map((n) => ctx.promptTokens(n.value, 'positive/negative'));
  const r = await steerDataset(tracer, ds.rows.map((row) => ({ tokens: row.tokens, metric: rowMetric(a.metric, ds, row) })), {
    hook: a.hook.value, coefficient: a.coefficient, vector: a.vector ? Float32Array.from(a.vector.value) : undefined,
    positive: pick(a.positive), negative: pick(a.negative), signal: ctx.signal, onProgress: ctx.onProgress,
  });
  const changed = [...r.increased, ...r.decreased.reverse()];
  const tokenAxis: Axis = { name: 'token', labels: changed.map((c) => label(c.id)) };
  const shift = changed.map((c) => c.after - c.before);
  const vector = a.vector ? 'the given vector' : `the mean activation of ${plural(a.positive.length, '"positive" prompt')} minus that of ${plural(a.negative.length, '"negative" prompt')}`;
  const probs = changed.flatMap((c) => [c.probBefore, c.probAfter]); // [token, without/with]
  const words = metricWords(a.metric, ds);
  return {
    name: a.title, kind: a.kind, valueLabel: 'mean logit change', axes: [tokenAxis], values: shift,
    summary: `Adding ${r.coefficient} x ${vector} (norm ${f(r.vectorNorm)}) at ${r.hook}, at every position, on ${ds.description}: the ${words} moves from a mean of ${f(r.metricBefore)} to ${f(r.metricAfter)}, a mean shift of ${f(r.shift)} (standard deviation ${f(r.shiftSpread)} over the prompts). The bars: the next tokens whose logit after each prompt rose and fell most on average.`,
    scale: 'diverging', range: sharedRange([shift], 'diverging'),
    notes: {
      hook: r.hook, coefficient: r.coefficient, 'vector norm': r.vectorNorm, metric: a.metric, dataset: ds.name, prompts: r.prompts,
      'mean metric without steering': r.metricBefore, 'mean metric with steering': r.metricAfter, 'mean metric shift': r.shift, 'standard deviation of the shift': r.shiftSpread,
    },
    parts: [{
      name: `${a.title}: shift per prompt`, kind: 'steering-shifts', valueLabel: `shift of the ${a.metric}`,
      axes: [{ name: 'prompt', labels: ds.rows.map((_, i) => String(i)) }], values: [...r.shifts],
      summary: `Each prompt's ${words} with steering minus without (mean ${f(r.shift)}).`,
      scale: 'diverging', range: sharedRange([r.shifts], 'diverging'),
    }, {
      name: `${a.title}: next-token probability`, kind: 'steering-probabilities', valueLabel: 'mean next-token probability',
      axes: [tokenAxis, { name: 'steering', labels: ['without', 'with'] }], values: probs, grouped: true,
      summary: `The mean probability over the prompts of each of these tokens as the next token, without and with steering (${quote(label(changed[0].id))}, whose logit rose most: ${formatProbability(changed[0].probBefore)} without, ${formatProbability(changed[0].probAfter)} with).`,
      scale: 'sequential', range: sharedRange([probs], 'sequential'),
    }],
  };
}

/** An analysis with "dataset" on its dataset (the circuit kind has its own runner). */
export async function runOnDataset(ctx: DatasetContext, a: CircuitAnalysis): Promise<AnalysisOutput> {
  if (!ctx.ds.rows.length) fail('BAD_INPUT', { field: `datasets.${ctx.ds.name}` }, 'has no prompts.');
  switch (a.kind) {
    case 'patching':
      return patchingOverDataset(ctx, a);
    case 'ablation':
      return ablationOverDataset(ctx, a);
    case 'attribution':
      return attributionOverDataset(ctx, a);
    case 'detectors':
      return detectorsOverDataset(ctx, a);
    case 'steering':
      return steeringOverDataset(ctx, a);
    case 'generation':
    case 'circuit':
    case 'edgeAttribution':
    case 'features':
    case 'attributionPatching':
    case 'inputAttribution':
      fail('BAD_INPUT', { field: 'dataset' }, `${a.kind} does not run through runOnDataset.`);
  }
}
