/**
 * Ablation of heads (hook_z per head), MLP neurons (mlp.hook_post) or whole layers (attention and MLP
 * outputs), at all or chosen positions, by zero, mean (per position, over a set of prompts of the same
 * length) or resample (values from other prompts of the same length, metric averaged over them).
 * The result is the change of a metric against the unablated run, one batched run per layer; over a
 * dataset, the mean change over its prompts (each with its own metric) and the spread.
 */
import { fail } from '../errors';
import { selectHooks } from '../hooks';
import type { Tracer } from '../tracer';
import type { Token } from '../tokenizer';
import type { Intervention } from '../../protocol/runner';
import type { TensorData } from '../../protocol/tensor';
import { MetricSpec, logitsNeeded, metricName, metricValues } from './metrics';
import { RowPatch, rowIntervention, stackRows } from './row-interventions';
import { itemProgress, meanAndSpread } from './dataset-stats';

export type AblationUnit = 'heads' | 'neurons' | 'layers';
export type AblationKind = 'zero' | 'mean' | 'resample';

export interface AblationOptions {
  unit: AblationUnit;
  kind: AblationKind;
  metric: MetricSpec;
  /** Layers to sweep (default all). */
  layers?: number[];
  /** For neurons: the neurons to ablate in each swept layer (default all of d_mlp). */
  neurons?: number[];
  /** Positions to ablate (default all). */
  positions?: number[];
  /** Prompts for mean (their per-position mean) and resample (each one a source), same length as the prompt. */
  reference?: Token[][];
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Upper bound on the bytes of one run's replacement values (default 64 MiB). */
  maxPatchBytes?: number;
}

export interface AblationResult {
  unit: AblationUnit;
  kind: AblationKind;
  metric: string;
  layers: number[];
  /** Column labels: heads "H3", neurons "N17", layers "layer". */
  units: string[];
  /** [layer, unit]: metric(ablated) - metric(unablated). */
  change: Float32Array;
  baseline: number;
}

function hooksOf(unit: AblationUnit, layer: number): string[] {
  if (unit === 'heads') return [`blocks.${layer}.attn.hook_z`];
  if (unit === 'neurons') return [`blocks.${layer}.mlp.hook_post`];
  return [`blocks.${layer}.hook_attn_out`, `blocks.${layer}.hook_mlp_out`];
}

/** Per-position mean over a batch: [batch, pos, ...rest] -> [pos, ...rest]. */
export function batchMean(t: TensorData): Float32Array {
  const [batch] = t.dims;
  const per = t.data.length / batch;
  const out = new Float32Array(per);
  for (let b = 0; b < batch; b++) for (let i = 0; i < per; i++) out[i] += t.data[b * per + i];
  for (let i = 0; i < per; i++) out[i] /= batch;
  return out;
}

export async function ablate(tracer: Tracer, prompt: Token[], opts: AblationOptions): Promise<AblationResult> {
  const { config, hooks } = tracer.ckpt;
  const layers = opts.layers ?? Array.from({ length: config.nLayers }, (_, l) => l);
  for (const l of layers) if (!Number.isInteger(l) || l < 0 || l >= config.nLayers) fail('BAD_INPUT', { field: 'layers' }, `layer ${l} is outside [0, ${config.nLayers}).`);
  const neurons = opts.neurons ?? Array.from({ length: config.dMlp }, (_, n) => n);
  for (const n of neurons) if (!Number.isInteger(n) || n < 0 || n >= config.dMlp) fail('BAD_INPUT', { field: 'neurons' }, `neuron ${n} is outside [0, ${config.dMlp}).`);
  for (const p of opts.positions ?? []) if (!Number.isInteger(p) || p < 0 || p >= prompt.length) fail('BAD_INPUT', { field: 'positions' }, `position ${p} is outside [0, ${prompt.length}).`);
  const reference = opts.reference ?? [];
  if (opts.kind !== 'zero') {
    if (reference.length === 0) fail('BAD_INPUT', { field: 'reference' }, `${opts.kind} ablation needs reference prompts.`, 'List prompts of the same token length.');
    const bad = reference.findIndex((r) => r.length !== prompt.length);
    if (bad >= 0) fail('BAD_INPUT', { field: `reference[${bad}]` }, `has ${reference[bad].length} tokens, the prompt ${prompt.length}.`, 'Use reference prompts of the same token length.');
  }
  const units = opts.unit === 'heads' ? Array.from({ length: config.nHeads }, (_, h) => ({ label: `H${h}`, component: h }))
    : opts.unit === 'neurons' ? neurons.map((n) => ({ label: `N${n}`, component: n }))
      : [{ label: 'layer', component: undefined as number | undefined }];
  const allHooks = layers.flatMap((l) => hooksOf(opts.unit, l));
  // Replacement values per hook: one source per reference prompt (resample), their mean, or zeros.
  const sources = new Map<string, (Float32Array | undefined)[]>();
  if (opts.kind === 'zero') {
    for (const h of allHooks) sources.set(h, [undefined]);
  } else {
    const refRun = await tracer.trace(reference, { hooks: selectHooks(hooks, allHooks.join(',')), signal: opts.signal });
    for (const h of allHooks) {
      const t = refRun.cache.get(h); // [n_reference, pos, ...rest]
      const per = t.data.length / reference.length;
      sources.set(h, opts.kind === 'mean' ? [batchMean(t)] : reference.map((_, b) => t.data.subarray(b * per, (b + 1) * per)));
    }
  }
  const nSources = opts.kind === 'resample' ? reference.length : 1;
  const shapeOf = (hook: string) => hooks.find((h) => h.name === hook)!.shape.slice(1).map((d) => (d === 'pos' ? prompt.length : (d as number)));

  // Each layer's runs start at that layer from the prompt's own residual stream.
  const starts = layers.map((l) => `blocks.${l}.hook_resid_pre`);
  const own = await tracer.trace([prompt], { hooks: selectHooks(hooks, starts.join(',')), logits: 'last', signal: opts.signal });
  const change = new Float32Array(layers.length * units.length);
  let baseline = NaN;
  // Rows of one layer: each unit x each source; runs split so replacement values stay bounded.
  const rows: { unit: number; source: number }[] = [];
  units.forEach((_, u) => { for (let s = 0; s < nSources; s++) rows.push({ unit: u, source: s }); });
  const rowBytes = hooksOf(opts.unit, layers[0] ?? 0).reduce((a, h) => a + shapeOf(h).reduce((x, y) => x * y, 1) * 4, 0);
  const perRun = Math.max(1, Math.floor((opts.maxPatchBytes ?? 64 * 2 ** 20) / rowBytes) - 1);
  const total = layers.length * Math.ceil(rows.length / perRun);
  let done = 0;
  for (const [li, layer] of layers.entries()) {
    for (let first = 0; first < rows.length; first += perRun) {
      const chunk = rows.slice(first, first + perRun);
      // Row 0: the unablated prompt.
      const interventions: Intervention[] = hooksOf(opts.unit, layer).map((hook) => rowIntervention(hook, shapeOf(hook), [
        null,
        ...chunk.map(({ unit, source }): RowPatch => ({ positions: opts.positions, component: units[unit].component, values: sources.get(hook)![source] })),
      ]));
      const batch = [prompt, ...chunk.map(() => prompt)];
      const resid = stackRows(batch.map(() => own.cache.get(starts[li])));
      const run = await tracer.trace(batch, { interventions, logits: logitsNeeded(opts.metric), startAt: { layer, resid }, signal: opts.signal });
      const m = metricValues(run.logits, opts.metric, batch.map((r) => r.map((t) => t.id)));
      baseline = m[0];
      chunk.forEach(({ unit }, i) => (change[li * units.length + unit] += (m[1 + i] - m[0]) / nSources));
      opts.onProgress?.(++done, total);
    }
  }
  return { unit: opts.unit, kind: opts.kind, metric: metricName(opts.metric), layers, units: units.map((u) => u.label), change, baseline };
}

/** One prompt of a dataset: its tokens and its metric (its own answer tokens). */
export interface AblationRow {
  tokens: Token[];
  metric: MetricSpec;
}

export interface DatasetAblationResult extends AblationResult {
  /** [layer, unit]: the standard deviation of the change over the prompts. */
  spread: Float32Array;
  prompts: number;
}

/** `ablate` on every prompt of a dataset (same token length): the mean change and its spread; the baseline is the mean metric. */
export async function ablateDataset(tracer: Tracer, rows: readonly AblationRow[], opts: Omit<AblationOptions, 'metric'>): Promise<DatasetAblationResult> {
  const results: AblationResult[] = [];
  for (const [i, row] of rows.entries()) results.push(await ablate(tracer, row.tokens, { ...opts, metric: row.metric, onProgress: itemProgress(opts.onProgress, i, rows.length) }));
  const change = meanAndSpread(results.map((r) => r.change));
  const baseline = meanAndSpread(results.map((r) => [r.baseline])).mean[0];
  return { ...results[0], change: Float32Array.from(change.mean), spread: Float32Array.from(change.spread), baseline, prompts: rows.length };
}
