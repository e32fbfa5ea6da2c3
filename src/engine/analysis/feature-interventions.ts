/**
 * Interventions on an attached dictionary's features, all through hook_sae_acts_post (whose effect the
 * graph passes on with the error term kept: src/engine/graph/sae-graph.ts) or its hook_sae_output:
 * - ablation of chosen features, one at a time: zero, mean (per position, over reference prompts of the
 *   same length) or resample (each reference prompt's activations, the metric averaged over them); the
 *   model continues with recons - (a_f - a'_f) W_dec[f] + error, so only that feature changes;
 * - steering by a feature: coefficient x W_dec[f] (the stored row) added at hook_sae_output, every position;
 * - clamping a feature to a value at every position (a_f := value; decoded, error kept).
 */
import { fail } from '../errors';
import { type HookPoint, selectHooks } from '../hooks';
import { topK } from '../math';
import { saeHookName } from '../sae/attach';
import { decoderRows, pickSae } from '../sae/feature-vectors';
import type { Token } from '../tokenizer';
import type { Tracer } from '../tracer';
import type { Intervention } from '../../protocol/runner';
import type { AblationKind } from './ablation';
import { MetricSpec, logitsNeeded, metricName, metricValues } from './metrics';
import { RowPatch, rowIntervention } from './row-interventions';

/** The dictionary a feature intervention acts on, and its hooks. */
export function featureSite(tracer: Tracer, sel: number | string | undefined) {
  const { sae, index } = pickSae(tracer.saes ?? [], sel);
  const d = sae.dict;
  return { dict: d, index, acts: saeHookName(d, 'hook_sae_acts_post'), output: saeHookName(d, 'hook_sae_output') };
}

function checkFeatures(dSae: number, hook: string, features: readonly number[]): void {
  if (features.length === 0) fail('BAD_INPUT', { field: 'features' }, 'no features to ablate: none is active on the prompt, and none was named.', 'Give feature ids, such as [12, 345].');
  for (const f of features) if (!(Number.isInteger(f) && f >= 0 && f < dSae)) fail('BAD_INPUT', { field: 'features' }, `feature ${f} is outside [0, ${dSae}) of the dictionary at ${hook}.`);
}

/** Steering by feature f: coefficient x W_dec[f] at the dictionary's hook_sae_output (shaped as its target hook per position). */
export function featureSteering(tracer: Tracer, sel: number | string | undefined, feature: number, coefficient: number): Intervention {
  const s = featureSite(tracer, sel);
  checkFeatures(s.dict.dSae, s.dict.hookIn, [feature]);
  const [row] = decoderRows(s.dict, [feature]); // [d_out]
  const point = (tracer.hooks ?? tracer.ckpt.hooks).find((h) => h.name === s.output)!;
  const rest = point.shape.slice(2).map(Number); // per-position shape: [d_out], or [heads, d_head] for hook_z
  return { hook: s.output, keep: { dims: [1], data: Float32Array.of(1) }, add: { dims: rest, data: row.map((v) => v * coefficient) } };
}

/** Clamping feature f to `value` at every position: a' = a with a_f = value. */
export function featureClamp(tracer: Tracer, sel: number | string | undefined, feature: number, value: number): Intervention {
  const s = featureSite(tracer, sel);
  checkFeatures(s.dict.dSae, s.dict.hookIn, [feature]);
  const keep = new Float32Array(s.dict.dSae).fill(1); // [d_sae]
  const add = new Float32Array(s.dict.dSae);
  keep[feature] = 0;
  add[feature] = value;
  return { hook: s.acts, keep: { dims: [s.dict.dSae], data: keep }, add: { dims: [s.dict.dSae], data: add } };
}

/** Features ablated when none are named: the most active ones on the prompt. */
export const DEFAULT_ABLATED_FEATURES = 10;

export interface FeatureAblationOptions {
  sae?: number | string;
  /** Default: the DEFAULT_ABLATED_FEATURES features with the largest activation at the ablated positions. */
  features?: readonly number[];
  kind: AblationKind;
  metric: MetricSpec;
  /** Positions to ablate at (default all). */
  positions?: readonly number[];
  /** Mean and resample: prompts of the same token length. */
  reference?: Token[][];
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Upper bound on the bytes of one run's replacement values (default 64 MiB). */
  maxPatchBytes?: number;
  /** Mean: bytes of reference activations traced per run (default 256 MiB); the mean is summed run by run. */
  maxReferenceBytes?: number;
}

export interface FeatureAblationResult {
  hook: string;
  kind: AblationKind;
  metric: string;
  features: number[];
  /** [feature]: metric(ablated) - metric(unablated). */
  change: Float32Array;
  baseline: number;
}

export async function ablateFeatures(tracer: Tracer, prompt: Token[], opts: FeatureAblationOptions): Promise<FeatureAblationResult> {
  const s = featureSite(tracer, opts.sae);
  const dSae = s.dict.dSae;
  for (const p of opts.positions ?? []) if (!Number.isInteger(p) || p < 0 || p >= prompt.length) fail('BAD_INPUT', { field: 'positions' }, `position ${p} is outside [0, ${prompt.length}).`);
  const features = opts.features?.length ? opts.features : await mostActive(tracer, prompt, s.acts, dSae, opts.positions, opts.signal);
  checkFeatures(dSae, s.dict.hookIn, features);
  const reference = opts.reference ?? [];
  let sources: (Float32Array | undefined)[] = [undefined];
  if (opts.kind !== 'zero') {
    if (reference.length === 0) fail('BAD_INPUT', { field: 'reference' }, `${opts.kind} ablation needs reference prompts.`, 'List prompts of the same token length.');
    const bad = reference.findIndex((r) => r.length !== prompt.length);
    if (bad >= 0) fail('BAD_INPUT', { field: `reference[${bad}]` }, `has ${reference[bad].length} tokens, the prompt ${prompt.length}.`, 'Use reference prompts of the same token length.');
    const hooks = selectHooks(tracer.hooks ?? tracer.ckpt.hooks, s.acts);
    const per = prompt.length * dSae;
    if (opts.kind === 'mean') {
      sources = [await meanActs(tracer, reference, hooks, s.acts, per, opts.maxReferenceBytes ?? MEAN_RUN_BYTES, opts.signal)];
    } else {
      const t = (await tracer.trace(reference, { hooks, logits: 'last', signal: opts.signal })).cache.get(s.acts); // [n_reference, pos, d_sae]
      sources = reference.map((_, b) => t.data.subarray(b * per, (b + 1) * per));
    }
  }
  const rows = features.flatMap((f, i) => sources.map((values) => ({ i, patch: { positions: opts.positions, component: f, values } as RowPatch })));
  const rowBytes = prompt.length * dSae * 8; // keep and add, [pos, d_sae] each
  const perRun = Math.max(1, Math.floor((opts.maxPatchBytes ?? 64 * 2 ** 20) / rowBytes));
  const total = 1 + Math.ceil(rows.length / perRun);
  const logits = logitsNeeded(opts.metric);
  const ids = (n: number) => Array.from({ length: n }, () => prompt.map((t) => t.id));
  // The unablated prompt once, through the same graph (an identity edit), so its numbers are the ablated rows' own.
  const identity: Intervention = { hook: s.acts, keep: { dims: [1], data: Float32Array.of(1) }, add: { dims: [1], data: Float32Array.of(0) } };
  const baseline = metricValues((await tracer.trace([prompt], { interventions: [identity], logits, signal: opts.signal })).logits, opts.metric, ids(1))[0];
  opts.onProgress?.(1, total);
  const change = new Float32Array(features.length);
  for (let first = 0, done = 1; first < rows.length; first += perRun) {
    const chunk = rows.slice(first, first + perRun);
    const iv = rowIntervention(s.acts, [prompt.length, dSae], chunk.map((r) => r.patch));
    const run = await tracer.trace(chunk.map(() => prompt), { interventions: [iv], logits, signal: opts.signal });
    metricValues(run.logits, opts.metric, ids(chunk.length)).forEach((m, j) => (change[chunk[j].i] += (m - baseline) / sources.length));
    opts.onProgress?.(++done, total);
  }
  return { hook: s.dict.hookIn, kind: opts.kind, metric: metricName(opts.metric), features: [...features], change, baseline };
}

/** Reference rows traced per run for a mean, by default: their activations [rows, pos, d_sae] stay under this many bytes. */
const MEAN_RUN_BYTES = 256 * 2 ** 20;

/**
 * The per-position mean over the reference prompts of one dictionary's activations ([pos, d_sae], `per`
 * values), summed a bounded number of rows at a time, in row order (the sum batchMean makes of them all).
 */
async function meanActs(tracer: Tracer, reference: Token[][], hooks: HookPoint[], acts: string, per: number, maxBytes: number, signal?: AbortSignal): Promise<Float32Array> {
  const rowsPerRun = Math.max(1, Math.floor(maxBytes / (per * 4)));
  const sum = new Float32Array(per);
  for (let first = 0; first < reference.length; first += rowsPerRun) {
    const rows = reference.slice(first, first + rowsPerRun);
    const t = (await tracer.trace(rows, { hooks, logits: 'last', signal })).cache.get(acts).data; // [rows, pos, d_sae]
    for (let r = 0; r < rows.length; r++) for (let i = 0; i < per; i++) sum[i] += t[r * per + i];
  }
  for (let i = 0; i < per; i++) sum[i] /= reference.length;
  return sum;
}

/** The features with the largest activation at any of `positions` (default all), active ones only, by that activation. */
async function mostActive(tracer: Tracer, prompt: Token[], acts: string, dSae: number, positions: readonly number[] | undefined, signal?: AbortSignal): Promise<number[]> {
  const a = (await tracer.trace([prompt], { hooks: selectHooks(tracer.hooks ?? tracer.ckpt.hooks, acts), logits: 'last', signal })).cache.get(acts).data; // [1, pos, d_sae]
  const best = new Float32Array(dSae);
  for (const p of positions ?? prompt.map((_, i) => i)) for (let f = 0; f < dSae; f++) best[f] = Math.max(best[f], a[p * dSae + f]);
  return topK(best, DEFAULT_ABLATED_FEATURES).filter((r) => r.value > 0).map((r) => r.index);
}
