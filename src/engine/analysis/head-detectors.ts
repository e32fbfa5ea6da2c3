/**
 * Head detectors (previous-token, duplicate-token, induction) from attention patterns, after
 * TransformerLens' detect_head with the "mul" measure, with one difference: a head's score is the mean,
 * over the query positions that HAVE a target, of the attention mass on the targets. TransformerLens
 * divides by all query positions, which caps induction scores on a once-repeated sequence near 0.5; this
 * score is 1.0 for a perfect head on any sequence.
 *
 * Over a dataset, each prompt is scored alone and a head's score is the mean of its prompts' scores
 * (each prompt counts once, whatever its number of target rows), reported with the standard deviation.
 */
import { fail } from '../errors';
import type { ActivationCache } from '../cache';
import { selectHooks } from '../hooks';
import { tokensFromIds } from '../model';
import type { Tracer } from '../tracer';
import type { Token } from '../tokenizer';
import { meanAndSpread } from './dataset-stats';

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
        const m = targetMass(pattern.data, (b * heads + h) * pos * pos, pos, targets[b]);
        total += m.total;
        rows += m.rows;
      }
      scores[l * nHeads + h] = rows ? total / rows : 0;
    }
  }
  return { kind, nLayers, nHeads, scores };
}

/** One head's attention on one sequence (its [query_pos, key_pos] pattern at `base`): the mass on the targets, and the query rows that have any. */
function targetMass(pattern: Float32Array, base: number, pos: number, targets: readonly number[][]): { total: number; rows: number } {
  let total = 0;
  let rows = 0;
  for (let q = 0; q < pos; q++) {
    const t = targets[q];
    if (t.length === 0) continue;
    for (const k of t) total += pattern[base + q * pos + k];
    rows++;
  }
  return { total, rows };
}

export interface DatasetHeadScores extends HeadScores {
  /** [layer, head]: the standard deviation over the prompts of the score (`scores` is the mean). */
  spread: Float32Array;
  prompts: number;
}

/**
 * Every head's scores on each prompt of a dataset (same token length), averaged over the prompts. Runs
 * fetch the patterns of as many layers and prompts as keep them under `maxRunBytes` (default 512 MiB:
 * GPT-2 small's twelve layers of patterns for one 1,000-token prompt take two runs, not twelve).
 */
export async function scoreDataset(
  tracer: Tracer,
  prompts: readonly Token[][],
  kinds: readonly DetectorKind[],
  opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void; maxRunBytes?: number } = {},
): Promise<DatasetHeadScores[]> {
  const { nLayers, nHeads } = tracer.ckpt.config;
  const pos = prompts[0].length;
  const maxBytes = opts.maxRunBytes ?? 512 * 2 ** 20;
  const layerBytes = nHeads * pos * pos * 4; // one prompt's hook_pattern of one layer
  const layersPerRun = Math.max(1, Math.min(nLayers, Math.floor(maxBytes / layerBytes)));
  const promptsPerRun = Math.max(1, Math.floor(maxBytes / (layerBytes * layersPerRun)));
  const ids = prompts.map((p) => p.map((t) => t.id));
  const targets = kinds.map((k) => ids.map((row) => detectionTargets(k, row))); // [kind][prompt][query]
  const perPrompt = kinds.map(() => prompts.map(() => new Float64Array(nLayers * nHeads))); // [kind][prompt][layer, head]
  const total = Math.ceil(nLayers / layersPerRun) * Math.ceil(prompts.length / promptsPerRun);
  let done = 0;
  for (let l0 = 0; l0 < nLayers; l0 += layersPerRun) {
    const layers = Array.from({ length: Math.min(layersPerRun, nLayers - l0) }, (_, i) => l0 + i);
    const hooks = selectHooks(tracer.ckpt.hooks, layers.map((l) => `blocks.${l}.attn.hook_pattern`).join(','));
    for (let first = 0; first < prompts.length; first += promptsPerRun) {
      const chunk = prompts.slice(first, first + promptsPerRun);
      const run = await tracer.trace(chunk, { hooks, logits: 'last', signal: opts.signal });
      for (const l of layers) {
        const pattern = run.cache.get(`blocks.${l}.attn.hook_pattern`).data; // [batch, head, query_pos, key_pos]
        chunk.forEach((_, b) => {
          for (let h = 0; h < nHeads; h++) {
            kinds.forEach((_, k) => {
              const m = targetMass(pattern, (b * nHeads + h) * pos * pos, pos, targets[k][first + b]);
              perPrompt[k][first + b][l * nHeads + h] = m.rows ? m.total / m.rows : 0;
            });
          }
        });
      }
      opts.onProgress?.(++done, total);
    }
  }
  return kinds.map((kind, k) => {
    const s = meanAndSpread(perPrompt[k]);
    return { kind, nLayers, nHeads, scores: Float32Array.from(s.mean), spread: Float32Array.from(s.spread), prompts: prompts.length };
  });
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
