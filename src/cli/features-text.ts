/**
 * The features analysis on a terminal (`circuit-lens run`): each token's top features with activations,
 * then each shown feature's top and bottom logits, then the direct logit attribution's largest features.
 */
import type { FeaturesResult } from '../protocol/features';

const num = (v: number) => v.toPrecision(3);
const token = (t: string) => JSON.stringify(t);

export function featureLines(r: FeaturesResult, logitsShown = 5, attributionShown = 10): string[] {
  const lines = [`  top ${r.k} features per token of the dictionary at ${r.sae.hook} (${r.sae.dSae} features, ${r.sae.mode}):`];
  for (const t of r.tokens) lines.push(`    ${t.pos} ${token(t.text)}: ${t.features.map((f) => `F${f.id} ${num(f.act)}`).join(', ') || '(none active)'}`);
  if (r.features.some((f) => f.topLogits.length)) {
    lines.push('  logits of each feature (W_dec[f] through the final norm\'s weight and W_U):');
    for (const f of r.features) {
      const list = (xs: typeof f.topLogits) => xs.slice(0, logitsShown).map((x) => `${token(x.text)} ${num(x.value)}`).join(', ');
      lines.push(`    F${f.id} (max ${num(f.maxAct)} at ${f.maxPos}): + ${list(f.topLogits)} | - ${list(f.bottomLogits)}`);
    }
  }
  const a = r.attribution;
  if (a) {
    lines.push(`  direct logit attribution at position ${a.position}: ${a.metric} ${num(a.metricValue)}, active features ${num(a.total)}:`);
    lines.push(`    ${a.features.slice(0, attributionShown).map((f) => `F${f.id} ${num(f.value)}`).join(', ')}`);
  }
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines;
}
