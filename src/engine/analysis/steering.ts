/**
 * Steering: add coefficient x vector at a hook point at every position. The vector is given, or is the
 * difference of the mean activations (over all tokens) of two prompt sets. Reports how the next-token
 * distribution after the prompt changes (logits and probabilities of the tokens that moved most) and a
 * continuation from the same prompt without and with steering. Over a dataset: the mean shift of a
 * metric (each prompt with its own answer tokens) and its spread, and the mean change of each
 * next-token logit, in batched runs without and with the vector.
 */
import { fail } from '../errors';
import { concreteShape, selectHooks } from '../hooks';
import { softmax, topK } from '../math';
import type { Tracer } from '../tracer';
import type { Token } from '../tokenizer';
import type { Intervention } from '../../protocol/runner';
import { GenerateOptions, GeneratedToken, generate } from './generate';
import { MetricSpec, logitsNeeded, metricValues } from './metrics';
import { meanAndSpread } from './dataset-stats';

export interface SteeringOptions {
  hook: string;
  coefficient: number;
  vector?: Float32Array;
  positive?: Token[][];
  negative?: Token[][];
  k?: number;
  generation?: Omit<GenerateOptions, 'interventions' | 'signal'>;
  signal?: AbortSignal;
}

export interface TokenChange {
  id: number;
  /** Logits of the next token without and with steering. */
  before: number;
  after: number;
  /** Its probabilities without and with steering. */
  probBefore: number;
  probAfter: number;
}

export interface SteeringResult {
  hook: string;
  coefficient: number;
  vectorNorm: number;
  /** Top-k next tokens by probability, before and after steering. */
  topBefore: { id: number; prob: number }[];
  topAfter: { id: number; prob: number }[];
  /** Tokens whose logit rose most and fell most (logit values before and after). */
  increased: TokenChange[];
  decreased: TokenChange[];
  continuationBefore: GeneratedToken[];
  continuationAfter: GeneratedToken[];
}

/** Mean of a hook's per-position values over every token of every prompt: [...rest]. */
async function meanActivation(tracer: Tracer, prompts: Token[][], hook: string, signal?: AbortSignal): Promise<Float32Array> {
  const point = selectHooks(tracer.ckpt.hooks, hook, 'hook');
  let sum: Float64Array | undefined;
  let count = 0;
  for (const p of prompts) {
    const t = (await tracer.trace([p], { hooks: point, signal })).cache.get(hook); // [1, pos, ...rest]
    const per = t.data.length / p.length;
    sum ??= new Float64Array(per);
    for (let i = 0; i < t.data.length; i++) sum[i % per] += t.data[i];
    count += p.length;
  }
  return Float32Array.from(sum!, (v) => v / count);
}

/** The vector (given, or the difference of means) and the intervention adding coefficient x it at the hook. */
async function steeringIntervention(tracer: Tracer, opts: Omit<SteeringOptions, 'generation' | 'k'>): Promise<{ vector: Float32Array; iv: Intervention }> {
  const point = tracer.ckpt.hooks.find((h) => h.name === opts.hook);
  if (!point) selectHooks(tracer.ckpt.hooks, opts.hook, 'hook'); // throws with the closest name
  const rest = concreteShape(point!.shape, 1, 1).slice(2); // per-position shape
  const width = rest.reduce((a, b) => a * b, 1);
  let vector = opts.vector;
  if (!vector) {
    if (!opts.positive?.length || !opts.negative?.length) fail('BAD_INPUT', { field: 'vector' }, 'give a vector, or positive and negative prompt sets to take the difference of their means.');
    const [pos, neg] = [await meanActivation(tracer, opts.positive!, opts.hook, opts.signal), await meanActivation(tracer, opts.negative!, opts.hook, opts.signal)];
    vector = pos.map((v, i) => v - neg[i]);
  }
  if (vector.length !== width) fail('BAD_INPUT', { field: 'vector' }, `has ${vector.length} values; ${opts.hook} has ${width} per position.`);
  const iv: Intervention = { hook: opts.hook, keep: { dims: [1], data: Float32Array.of(1) }, add: { dims: rest, data: vector.map((v) => v * opts.coefficient) } };
  return { vector, iv };
}

export async function steer(tracer: Tracer, prompt: Token[], opts: SteeringOptions): Promise<SteeringResult> {
  const { vector, iv } = await steeringIntervention(tracer, opts);
  const { dVocab } = tracer.ckpt.config;
  const lastRow = async (ivs: Intervention[]) => {
    const run = await tracer.trace([prompt], { interventions: ivs, signal: opts.signal });
    return run.logits.data.slice((prompt.length - 1) * dVocab, prompt.length * dVocab);
  };
  const [before, after] = [await lastRow([]), await lastRow([iv])];
  const [pb, pa] = [softmax(before), softmax(after)];
  const k = opts.k ?? 10;
  const diff = after.map((v, i) => v - before[i]);
  const change = (id: number): TokenChange => ({ id, before: before[id], after: after[id], probBefore: pb[id], probAfter: pa[id] });
  const gen = opts.generation ?? { maxNewTokens: 20 };
  return {
    hook: opts.hook,
    coefficient: opts.coefficient,
    vectorNorm: Math.hypot(...vector),
    topBefore: topK(pb, k).map((r) => ({ id: r.index, prob: r.value })),
    topAfter: topK(pa, k).map((r) => ({ id: r.index, prob: r.value })),
    increased: topK(diff, k).map((r) => change(r.index)),
    decreased: topK(diff.map((v) => -v), k).map((r) => change(r.index)),
    continuationBefore: await generate(tracer, prompt, { ...gen, signal: opts.signal }),
    continuationAfter: await generate(tracer, prompt, { ...gen, interventions: [iv], signal: opts.signal }),
  };
}

/** One prompt of a dataset: its tokens and its metric (its own answer tokens). */
export interface SteeringRow {
  tokens: Token[];
  metric: MetricSpec;
}

export interface DatasetSteeringResult {
  hook: string;
  coefficient: number;
  vectorNorm: number;
  /** Means over the prompts of the metric without and with steering, and of its shift (with - without). */
  metricBefore: number;
  metricAfter: number;
  shift: number;
  /** Standard deviation of the shift over the prompts. */
  shiftSpread: number;
  /** [prompt]: each prompt's shift. */
  shifts: Float64Array;
  /** Tokens whose mean next-token logit (at each prompt's last position) rose most and fell most; means over the prompts. */
  increased: TokenChange[];
  decreased: TokenChange[];
  prompts: number;
}

/** Steering on every prompt of a dataset (same token length), in runs whose logits stay under `maxRunBytes` (default 64 MiB). */
export async function steerDataset(
  tracer: Tracer,
  rows: readonly SteeringRow[],
  opts: Omit<SteeringOptions, 'generation'> & { onProgress?: (done: number, total: number) => void; maxRunBytes?: number },
): Promise<DatasetSteeringResult> {
  const { vector, iv } = await steeringIntervention(tracer, opts);
  const { dVocab } = tracer.ckpt.config;
  const pos = rows[0].tokens.length;
  const logits = rows.some((r) => logitsNeeded(r.metric) === 'all') ? 'all' : 'last';
  const rowBytes = (logits === 'all' ? pos : 1) * dVocab * 4;
  const perRun = Math.max(1, Math.floor((opts.maxRunBytes ?? 64 * 2 ** 20) / rowBytes));
  const before = new Float64Array(rows.length);
  const after = new Float64Array(rows.length);
  // Sums over the prompts of the last position's logits and probabilities: [d_vocab] each.
  const sums = { before: new Float64Array(dVocab), after: new Float64Array(dVocab), probBefore: new Float64Array(dVocab), probAfter: new Float64Array(dVocab) };
  const total = 2 * Math.ceil(rows.length / perRun);
  let done = 0;
  for (let first = 0; first < rows.length; first += perRun) {
    const chunk = rows.slice(first, first + perRun);
    for (const [ivs, metric, logitSum, probSum] of [[[], before, sums.before, sums.probBefore], [[iv], after, sums.after, sums.probAfter]] as const) {
      const run = await tracer.trace(chunk.map((r) => r.tokens), { interventions: ivs, logits, signal: opts.signal });
      const per = run.logits.data.length / chunk.length; // [batch, pos or 1, d_vocab]
      chunk.forEach((r, i) => {
        const own = { dims: [1, ...run.logits.dims.slice(1)], data: run.logits.data.subarray(i * per, (i + 1) * per) };
        metric[first + i] = metricValues(own, r.metric, [r.tokens.map((t) => t.id)])[0];
        const last = own.data.subarray(per - dVocab);
        const p = softmax(last);
        for (let v = 0; v < dVocab; v++) {
          logitSum[v] += last[v];
          probSum[v] += p[v];
        }
      });
      opts.onProgress?.(++done, total);
    }
  }
  const n = rows.length;
  const shifts = after.map((a, i) => a - before[i]);
  const stats = meanAndSpread(Array.from(shifts, (v) => [v]));
  const diff = sums.after.map((a, v) => (a - sums.before[v]) / n);
  const change = (id: number): TokenChange => ({ id, before: sums.before[id] / n, after: sums.after[id] / n, probBefore: sums.probBefore[id] / n, probAfter: sums.probAfter[id] / n });
  const k = opts.k ?? 10;
  const mean = (xs: Float64Array) => xs.reduce((a, b) => a + b, 0) / n;
  return {
    hook: opts.hook, coefficient: opts.coefficient, vectorNorm: Math.hypot(...vector),
    metricBefore: mean(before), metricAfter: mean(after), shift: stats.mean[0], shiftSpread: stats.spread[0], shifts,
    increased: topK(diff, k).map((r) => change(r.index)),
    decreased: topK(diff.map((v) => -v), k).map((r) => change(r.index)),
    prompts: n,
  };
}
