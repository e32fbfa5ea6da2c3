/**
 * A dictionary's self-check on a sample of prompts, through the graph it is attached to: reconstruction
 * figures (FVU, cosine, L0, dead fraction: checks.ts) of the hook it reconstructs, and the next-token
 * loss clean, with it spliced in, and with that hook zero-ablated, giving SAELens' ce_loss_score:
 * (loss_zero_ablation - loss_spliced) / (loss_zero_ablation - loss_clean). The first position of each
 * prompt (BOS) is left out of the reconstruction figures, as SAELens' evaluations leave out special
 * tokens; its outlying norm would dominate them.
 */
import { fail } from '../errors';
import { logProbAt } from '../math';
import type { Token } from '../tokenizer';
import type { Tracer } from '../tracer';
import type { HookPoint } from '../hooks';
import type { TensorData } from '../../protocol/tensor';
import { AttachedSae, saeHookName, targetHook } from './attach';
import { MisloadWarning, ReconstructionStats, misloadSignals, reconstructionStats } from './checks';

export interface LossFigures {
  /** Mean next-token cross-entropy (nats) of the model as it is. */
  clean: number;
  /** With the dictionary's reconstruction in place of its hook. */
  spliced: number;
  /** With its hook zero-ablated. */
  zeroAblation: number;
  /** SAELens' ce_loss_score: 1 when splicing costs nothing, 0 when it is as bad as zero ablation. */
  ceLossScore: number;
  /** spliced - clean. */
  lossIncrease: number;
}

export interface DictionaryCheck {
  hook: string;
  dir: string;
  /** Prompts measured, and the token rows of the reconstruction figures. */
  prompts: number;
  stats: ReconstructionStats;
  /** Absent when not asked for (an observing dictionary's check on load). */
  loss?: LossFigures;
  warnings: MisloadWarning[];
}

/** Sum of -log p(next token) over a prompt's positions, and their count. */
function nextTokenLoss(logits: TensorData, tokens: readonly Token[]): { sum: number; count: number } {
  const vocab = logits.dims[2];
  let sum = 0;
  for (let p = 0; p + 1 < tokens.length; p++) sum -= logProbAt(logits.data.subarray(p * vocab, (p + 1) * vocab), tokens[p + 1].id);
  return { sum, count: tokens.length - 1 };
}

/** Grows with the sample: each prompt's rows after its first. */
class Rows {
  readonly parts: Float32Array[] = [];
  n = 0;
  add(t: TensorData, pos: number): void {
    const width = t.data.length / pos;
    this.parts.push(t.data.subarray(width, pos * width));
    this.n += pos - 1;
  }
  joined(): Float32Array {
    const out = new Float32Array(this.parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/**
 * Checks each attached dictionary on `prompts` (token rows, BOS first): one observing run per prompt for
 * every dictionary at once, then per dictionary whose loss figures are asked for (`withLoss`, default all)
 * a spliced run and a zero-ablated one.
 */
export async function checkDictionaries(tracer: Tracer, hooks: readonly HookPoint[], saes: readonly AttachedSae[], prompts: readonly Token[][], signal?: AbortSignal, withLoss: (s: AttachedSae) => boolean = () => true): Promise<DictionaryCheck[]> {
  const usable = prompts.filter((p) => p.length >= 2);
  if (usable.length === 0) fail('BAD_INPUT', { field: 'prompts' }, 'the self-check needs prompts of at least two tokens.');
  const byName = new Map(hooks.map((h) => [h.name, h]));
  const point = (name: string) => byName.get(name) ?? fail('RUNTIME', { field: name }, 'not a hook point of the loaded model.');
  const rows = saes.map(() => ({ target: new Rows(), recons: new Rows(), acts: new Rows() }));
  const loss = saes.map(() => ({ clean: 0, spliced: 0, zero: 0, count: 0 }));
  const watched = saes.flatMap(({ dict: d }) => [targetHook(d), saeHookName(d, 'hook_sae_recons'), saeHookName(d, 'hook_sae_acts_post')].map(point));
  const zero = { dims: [1], data: new Float32Array([0]) };
  for (const tokens of usable) {
    const pos = tokens.length;
    const clean = await tracer.trace([tokens], { hooks: watched, saeSplice: [], signal });
    const cleanLoss = nextTokenLoss(clean.logits, tokens);
    for (const [i, sae] of saes.entries()) {
      const d = sae.dict;
      rows[i].target.add(clean.cache.get(targetHook(d)), pos);
      rows[i].recons.add(clean.cache.get(saeHookName(d, 'hook_sae_recons')), pos);
      rows[i].acts.add(clean.cache.get(saeHookName(d, 'hook_sae_acts_post')), pos);
      if (!withLoss(sae)) continue;
      const spliced = await tracer.trace([tokens], { saeSplice: [d.hookIn], signal });
      const ablated = await tracer.trace([tokens], { saeSplice: [], interventions: [{ hook: targetHook(d), keep: zero, add: zero }], signal });
      loss[i].clean += cleanLoss.sum;
      loss[i].spliced += nextTokenLoss(spliced.logits, tokens).sum;
      loss[i].zero += nextTokenLoss(ablated.logits, tokens).sum;
      loss[i].count += cleanLoss.count;
    }
  }
  return saes.map(({ dict: d }, i) => {
    const r = rows[i];
    const stats = reconstructionStats(r.target.joined(), r.recons.joined(), r.acts.joined(), r.target.n, d.dOut, d.dSae);
    const l = loss[i];
    const [clean, spliced, zeroAblation] = [l.clean / l.count, l.spliced / l.count, l.zero / l.count];
    return {
      hook: d.hookIn, dir: d.dir, prompts: usable.length, stats,
      ...(l.count ? { loss: { clean, spliced, zeroAblation, ceLossScore: (zeroAblation - spliced) / (zeroAblation - clean), lossIncrease: spliced - clean } } : {}),
      warnings: misloadSignals(stats, d),
    };
  });
}
