/**
 * What the editor shows inline for a traced prompt: the prediction after the last token, and per token
 * its top next tokens, its logit-lens trajectory and the heads that attend most from it.
 */
import type { PromptRun } from './prompt-run';

export interface Prediction {
  text: string;
  prob: number;
}

export interface HeadFocus {
  layer: number;
  head: number;
  /** The key position attended to most. */
  key: number;
  keyText: string;
  weight: number;
}

export interface TokenInsight {
  pos: number;
  text: string;
  start: number;
  end: number;
  /** Next-token predictions after this token: the lens's final component, which is the model's output. */
  next: Prediction[];
  /** The lens's top token at this position, per residual component (label, prediction). */
  trajectory: { label: string; top: Prediction }[];
  /** The heads whose attention from this token is most concentrated on one earlier token. */
  heads: HeadFocus[];
}

/**
 * Everything here comes from the lens's top-k rows and the attention patterns, never from full-vocabulary
 * logits: a softmax over pos x d_vocab on the extension host's thread stalled the editor for 0.3-0.6 s
 * on GPT-2-sized models.
 */
export function tokenInsights(run: PromptRun, decodeId: (id: number) => string, k = 5, nHeadsShown = 3): TokenInsight[] {
  const texts = new Map<number, string>(); // the same few ids recur across positions and components
  const decode = (id: number) => texts.get(id) ?? texts.set(id, decodeId(id)).get(id)!;
  const pos = run.tokens.length;
  const { nLayers, nHeads } = run.trace.cache.config;
  const { lens } = run;
  const final = lens.labels.length - 1;
  const patterns = Array.from({ length: nLayers }, (_, l) => run.trace.cache.get(`blocks.${l}.attn.hook_pattern`).data); // each [batch, head, q, k]
  return run.tokens.map((t, q) => {
    const at = (final * lens.pos + q) * lens.k; // topIds is [component, pos, k]
    const next = Array.from({ length: Math.min(k, lens.k) }, (_, j) => ({ text: decode(lens.topIds[at + j]), prob: lens.topProbs[at + j] }));
    const trajectory = lens.labels.map((label, c) => {
      const i = (c * lens.pos + q) * lens.k; // topIds is [component, pos, k]
      return { label, top: { text: decode(lens.topIds[i]), prob: lens.topProbs[i] } };
    });
    // The nHeadsShown heads with the largest single attention weight, kept sorted while scanning.
    const heads: HeadFocus[] = [];
    for (let l = 0; l < nLayers; l++) {
      for (let h = 0; h < nHeads; h++) {
        const from = (h * pos + q) * pos; // row q of head h: [key]
        let key = 0;
        for (let j = 1; j <= q; j++) if (patterns[l][from + j] > patterns[l][from + key]) key = j;
        const weight = patterns[l][from + key];
        if (heads.length === nHeadsShown && weight <= heads[nHeadsShown - 1].weight) continue;
        const at = heads.findIndex((x) => weight > x.weight);
        heads.splice(at < 0 ? heads.length : at, 0, { layer: l, head: h, key, keyText: run.tokens[key].text, weight });
        if (heads.length > nHeadsShown) heads.pop();
      }
    }
    return { pos: q, text: t.text, start: t.start, end: t.end, next, trajectory, heads };
  });
}
