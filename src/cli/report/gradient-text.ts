/**
 * What `circuit-lens run` prints under an attribution-patching or input-attribution result: the cells
 * checked by verify (estimate, exact value, false negatives marked) and each token's attribution.
 */
import type { AnalysisOutput } from '../../protocol/analysis';
import { formatValue } from '../../protocol/figures';

export function gradientLines(o: AnalysisOutput): string[] {
  const lines: string[] = [];
  const v = o.verification;
  if (v) {
    lines.push(`  verify: Spearman ${Number.isNaN(v.spearman) ? 'undefined' : v.spearman.toFixed(3)} over the top ${v.cells.length - v.sampled}; ${v.falseNegatives} false negative(s) (exact effect >= ${formatValue(v.bar)}, estimate under it), ${v.sampledFalseNegatives} of ${v.sampled} drawn from the other ${v.rest}`);
    lines.push(`  ${'cell'.padEnd(40)} ${'estimate'.padStart(9)} ${'exact'.padStart(9)}`);
    for (const c of v.cells) {
      const mark = [c.chosen === 'sample' ? 'drawn' : '', c.falseNegative ? 'FALSE NEGATIVE' : ''].filter(Boolean).join(', ');
      lines.push(`  ${c.label.padEnd(40)} ${c.estimate.toFixed(4).padStart(9)} ${c.exact.toFixed(4).padStart(9)}${mark ? `  ${mark}` : ''}`);
    }
  }
  if (o.kind === 'inputAttribution') {
    for (const s of o.sequences ?? []) lines.push(`  ${s.tokens.map((t) => `${JSON.stringify(t.text)} ${t.value === undefined ? '' : formatValue(t.value)}`).join(' · ')}`);
  }
  return lines;
}
