/**
 * Head detectors (previous-token, duplicate-token, induction) from attention patterns, after
 * TransformerLens' detect_head with the "mul" measure, with one difference: a head's score is the mean,
 * over the query positions that HAVE a target, of the attention mass on the targets. TransformerLens
 * divides by all query positions, which caps induction scores on a once-repeated sequence near 0.5; this
 * score is 1.0 for a perfect head on any sequence.
 */
import { fail } from '../errors';
import type { ActivationCache } from '../cache';
import { selectHooks } from '../hooks';
import { tokensFromIds } from '../model';
import type { Tracer } from '../tracer';
import type { Token } from '../tokenizer';

// The detector kinds are spec vocabulary (declared once there, with the schema's text); re-exported for callers.
import { DETECTOR_KINDS, DetectorKind } from '../spec/vocabulary';
export { DETECTOR_KINDS };
export type { DetectorKind };

/** For each query position, the key positions a perfect head of this kind attends to (may be empty). */
export function detectionTargets(kind: DetectorKind, tokens: readonly number[]): number[][] {
  return tokens.map((tok, q) => {
    if (kind === 'previous-token') return q > 0 ? [q - 1] : [];
    const targets: number[] = [];
    for (let k = 0; k < q; k++) {
      if (tokens[k] !== tok) continue;
      if (kind === 'duplicate-token') targets.push(k);
      else if (k + 1 < q) targets.push(k + 1); // induction: the token after the earlier occurrence
    }
    return targets;
  });
}

export interface HeadScores {
  kind: DetectorKind;
  nLayers: number;
  nHeads: number;
  /** [layer, head] */
  scores: Float32Array;
}

/**
 * Scores of every head, averaged over the batch. `tokens` is [batch][pos]; the cache must hold
 * blocks.*.attn.hook_pattern for the same batch.
 */
export function detectHeads(cache: ActivationCache, tokens: readonly (readonly number[])[], kind: DetectorKind): HeadScores {
  const { nLayers, nHeads } = cache.config;
  const targets = tokens.map((row) => detectionTargets(kind, row));
  const scores = new Float32Array(nLayers * nHeads);
  for (let l = 0; l < nLayers; l++) {
    const pattern = cache.get(`blocks.${l}.attn.hook_pattern`); // [batch, head, query_pos, key_pos]
    const [batch, heads, pos] = pattern.dims;
    if (batch !== tokens.length || tokens.some((r) => r.length !== pos)) fail('BAD_INPUT', { field: 'tokens' }, 'tokens do not match the cached patterns.');
    for (let h = 0; h < heads; h++) {
      let total = 0;
      let rows = 0;
      for (let b = 0; b < batch; b++) {
        const base = (b * heads + h) * pos * pos;
        for (let q = 0; q < pos; q++) {
          const t = targets[b][q];
          if (t.length === 0) continue;
          let mass = 0;
          for (const k of t) mass += pattern.data[base + q * pos + k];
          total += mass;
          rows++;
        }
      }
      scores[l * nHeads + h] = rows ? total / rows : 0;
    }
  }
  return { kind, nLayers, nHeads, scores };
}

/** Heads ranked by score, best first, as {layer, head, score}. */
export function rankHeads(s: HeadScores): { layer: number; head: number; score: number }[] {
  return Array.from(s.scores, (score, i) => ({ layer: Math.floor(i / s.nHeads), head: i % s.nHeads, score })).sort((a, b) => b.score - a.score);
}

/**
 * `rows` sequences of BOS followed by `n` random token ids in [low, vocab) repeated once, from a seeded
 * generator (so tests and users get the same sequences). Ids equal to BOS are skipped.
 */
export function repeatedRandomTokens(rows: number, n: number, vocab: number, bos: number, seed: number, low = 0): number[][] {
  let s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  const next = () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  return Array.from({ length: rows }, () => {
    const half: number[] = [];
    while (half.length < n) {
      const id = low + Math.floor(next() * (vocab - low));
      if (id !== bos) half.push(id);
    }
    return [bos, ...half, ...half];
  });
}

export interface DetectorRun {
  /** The sequences scored: the prompt, or generated repeated random tokens. */
  source: 'prompt' | 'repeated-random';
  scores: HeadScores[];
}

/**
 * Scores every head for each detector kind on the prompt, or on `random.rows` sequences of BOS and
 * `random.length` random tokens repeated once (seeded).
 */
export async function runHeadDetectors(
  tracer: Tracer,
  input: { prompt: Token[] } | { random: { rows: number; length: number; seed: number } },
  kinds: readonly DetectorKind[] = DETECTOR_KINDS,
  signal?: AbortSignal,
): Promise<DetectorRun> {
  const { ckpt } = tracer;
  let batch: number[][];
  if ('prompt' in input) {
    batch = [input.prompt.map((t) => t.id)];
  } else {
    const bos = ckpt.tokenizer?.bosTokenId ?? ckpt.config.bosTokenId;
    if (bos === null || bos === undefined) fail('BAD_INPUT', { field: 'source' }, 'this model has no BOS token to start random sequences with.', 'Score the prompt instead.');
    if (2 * input.random.length + 1 > ckpt.config.nCtx) fail('BAD_INPUT', { field: 'length' }, `2 x ${input.random.length} + 1 tokens exceed the context of ${ckpt.config.nCtx}.`);
    batch = repeatedRandomTokens(input.random.rows, input.random.length, ckpt.config.dVocab, bos, input.random.seed);
  }
  const run = await tracer.trace(batch.map((ids) => tokensFromIds(ckpt, ids)), { hooks: selectHooks(ckpt.hooks, 'blocks.*.attn.hook_pattern'), logits: 'last', signal });
  return { source: 'prompt' in input ? 'prompt' : 'repeated-random', scores: kinds.map((k) => detectHeads(run.cache, batch, k)) };
}
