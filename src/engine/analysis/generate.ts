/**
 * Continuations, greedy or sampled (temperature, top-k, seeded), with optional interventions applied
 * at every step (steering), each token with the probability the model gave it. No key/value cache: each step runs the whole sequence, which is fine for
 * the short continuations read in a panel.
 */
import { fail } from '../errors';
import { softmax, topK } from '../math';
import type { Tracer } from '../tracer';
import type { Token } from '../tokenizer';
import type { Intervention } from '../../protocol/runner';
import { seededRandom } from '../math';

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Sample among the k most likely tokens (default: all). */
  topK?: number;
  seed?: number;
  /** Interventions whose keep/add broadcast over positions (no position axis of a fixed size). */
  interventions?: readonly Intervention[];
  /** Stop after this token (for example end-of-text). */
  stopToken?: number;
  signal?: AbortSignal;
}

/** Picks the next token from one row of logits. */
export function pickToken(logits: Float32Array, temperature: number, k: number | undefined, random: () => number): number {
  if (temperature <= 0) return topK(logits, 1)[0].index;
  const candidates = topK(logits, k ?? logits.length);
  const probs = softmax(Float32Array.from(candidates, (c) => c.value / temperature));
  let u = random();
  for (let i = 0; i < candidates.length; i++) {
    u -= probs[i];
    if (u <= 0) return candidates[i].index;
  }
  return candidates[candidates.length - 1].index;
}

export interface GeneratedToken {
  id: number;
  /** The model's probability of this token at its step (softmax of the logits, before temperature or top-k). */
  prob: number;
}

/** The continuation's tokens (without the prompt). */
export async function generate(tracer: Tracer, prompt: Token[], opts: GenerateOptions): Promise<GeneratedToken[]> {
  const { nCtx, dVocab } = tracer.ckpt.config;
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) fail('BAD_INPUT', { field: 'maxNewTokens' }, `must be a non-negative integer, got ${opts.maxNewTokens}.`);
  const random = seededRandom(opts.seed ?? 0);
  const seq = [...prompt];
  const out: GeneratedToken[] = [];
  while (out.length < opts.maxNewTokens && seq.length < nCtx) {
    const run = await tracer.trace([seq], { interventions: opts.interventions, signal: opts.signal });
    const last = run.logits.data.subarray((seq.length - 1) * dVocab, seq.length * dVocab);
    const next = pickToken(last, opts.temperature ?? 0, opts.topK, random);
    out.push({ id: next, prob: softmax(last)[next] });
    if (next === opts.stopToken) break;
    seq.push({ id: next, text: '', start: 0, end: 0 });
  }
  return out;
}
