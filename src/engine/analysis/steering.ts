/**
 * Steering: add coefficient x vector at a hook point at every position. The vector is given, or is the
 * difference of the mean activations (over all tokens) of two prompt sets. Reports how the next-token
 * distribution after the prompt changes (logits and probabilities of the tokens that moved most) and a
 * continuation from the same prompt without and with steering.
 */
import { fail } from '../errors';
import { concreteShape, selectHooks } from '../hooks';
import { softmax, topK } from '../math';
import type { Tracer } from '../tracer';
import type { Token } from '../tokenizer';
import type { Intervention } from '../../protocol/runner';
import { GenerateOptions, GeneratedToken, generate } from './generate';

export interface SteeringOptions {
  hook: string;
  coefficient: number;
  vector?: Float32Array;
  positive?: Token[][];
  negative?: Token[][];
  k?: number;
  /** A prepared intervention at `hook` instead of coefficient x vector (a feature clamp); vectorNorm is then the norm of its add values. */
  intervention?: Intervention;
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

export async function steer(tracer: Tracer, prompt: Token[], opts: SteeringOptions): Promise<SteeringResult> {
  const hooks = tracer.hooks ?? tracer.ckpt.hooks;
  const point = hooks.find((h) => h.name === opts.hook);
  if (!point) selectHooks(hooks, opts.hook, 'hook'); // throws with the closest name
  const rest = concreteShape(point!.shape, 1, 1).slice(2); // per-position shape
  const width = rest.reduce((a, b) => a * b, 1);
  let vector = opts.vector;
  if (opts.intervention) vector = opts.intervention.add.data;
  else if (!vector) {
    if (!opts.positive?.length || !opts.negative?.length) fail('BAD_INPUT', { field: 'vector' }, 'give a vector, or positive and negative prompt sets to take the difference of their means.');
    const [pos, neg] = [await meanActivation(tracer, opts.positive!, opts.hook, opts.signal), await meanActivation(tracer, opts.negative!, opts.hook, opts.signal)];
    vector = pos.map((v, i) => v - neg[i]);
  }
  if (!opts.intervention && vector.length !== width) fail('BAD_INPUT', { field: 'vector' }, `has ${vector.length} values; ${opts.hook} has ${width} per position.`);
  const iv: Intervention = opts.intervention ?? { hook: opts.hook, keep: { dims: [1], data: Float32Array.of(1) }, add: { dims: rest, data: vector!.map((v) => v * opts.coefficient) } };

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
    vectorNorm: Math.hypot(...vector!),
    topBefore: topK(pb, k).map((r) => ({ id: r.index, prob: r.value })),
    topAfter: topK(pa, k).map((r) => ({ id: r.index, prob: r.value })),
    increased: topK(diff, k).map((r) => change(r.index)),
    decreased: topK(diff.map((v) => -v), k).map((r) => change(r.index)),
    continuationBefore: await generate(tracer, prompt, { ...gen, signal: opts.signal }),
    continuationAfter: await generate(tracer, prompt, { ...gen, interventions: [iv], signal: opts.signal }),
  };
}
