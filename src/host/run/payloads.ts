/**
 * Panel payloads from a traced prompt: plain data in the shapes the webviews plot (see
 * src/protocol/panels.ts). Batch item 0 of the trace is the prompt.
 */
import type { AttentionPayload, LogitLensPayload, PanelSource, PanelToken } from '../../protocol/panels';
import type { PromptRun } from './prompt-run';

export function panelTokens(run: PromptRun): PanelToken[] {
  return run.tokens.map((t) => ({ text: t.text, start: t.start, end: t.end }));
}

/** Attention patterns of the given layers, [layer, head, query_pos, key_pos]. */
export function attentionPayload(run: PromptRun, source: PanelSource, layers: readonly number[], focus: { layer: number; head: number }): AttentionPayload {
  const { nHeads } = run.trace.cache.config;
  const pos = run.tokens.length;
  const per = nHeads * pos * pos;
  const data = new Float32Array(layers.length * per); // [layer, head, q, k]
  layers.forEach((l, i) => {
    const p = run.trace.cache.get(`blocks.${l}.attn.hook_pattern`); // [batch, head, q, k]
    data.set(p.data.subarray(0, per), i * per);
  });
  return { view: 'attention', source, model: run.model, tokens: panelTokens(run), nHeads, layers: [...layers], patterns: { dims: [layers.length, nHeads, pos, pos], data }, focus };
}

export function logitLensPayload(run: PromptRun, source: PanelSource, decode: (id: number) => string, targetText?: string): LogitLensPayload {
  const { lens } = run;
  const topTexts = Array.from(lens.topIds, decode); // [component, pos, k]
  const target = targetText !== undefined && lens.targetProbs && lens.targetRanks ? { text: targetText, probs: lens.targetProbs, ranks: lens.targetRanks } : undefined;
  return { view: 'logitLens', source, model: run.model, tokens: panelTokens(run), labels: lens.labels, k: lens.k, topTexts, topProbs: lens.topProbs, target };
}
