/**
 * The AnalysisOutputs of the gradient kinds: attribution patching (a heatmap on patching's axes, and
 * with verify the estimates against exact patching as bars by series, false negatives named in their
 * labels) and input attribution (bars per token, and the prompt as coloured text).
 */
import type { AnalysisOutput, AtpVerification, Axis } from '../../protocol/analysis';
import { formatValue as f, sharedRange } from '../../protocol/figures';
import type { AtpResult } from './attribution-patching';
import type { InputAttributionResult } from './input-attribution';

const METHOD_WORDS = {
  atp: 'AtP (first-order)',
  atpStar: 'AtP* (AtP with the QK fix)',
  integratedGradients: 'integrated gradients',
} as const;

const FALSE_NEGATIVE = 'false negative';

function verificationPart(title: string, metric: string, v: AtpVerification): AnalysisOutput {
  const labels = v.cells.map((c) => {
    const marks = [...(c.chosen === 'sample' ? ['random'] : []), ...(c.falseNegative ? [FALSE_NEGATIVE] : [])];
    return marks.length ? `${c.label} (${marks.join(', ')})` : c.label;
  });
  const values = v.cells.flatMap((c) => [c.estimate, c.exact]); // [cell, estimate/exact]
  const top = v.cells.length - v.sampled;
  const rho = Number.isNaN(v.spearman) ? 'undefined (under 2 cells, or one side constant)' : f(v.spearman);
  return {
    name: `${title}: estimate vs exact patching`, kind: 'attributionPatching-verify', valueLabel: `normalized ${metric}`,
    axes: [{ name: 'cell', labels }, { name: 'value', labels: ['estimate', 'exact'] }], values, grouped: true,
    summary: `The ${top} largest estimates patched exactly: Spearman rank correlation ${rho}. ${v.sampled} of the other ${v.rest} cells drawn at random (seed ${v.seed}) and patched too. ` +
      `False negatives (exact effect at least ${v.fraction} of the largest exact effect, ${f(v.bar)}, while the estimated effect is under it): ${v.falseNegatives}, ${v.sampledFalseNegatives} of them among the drawn cells.`,
    scale: 'diverging', range: sharedRange([values, [1]], 'diverging'),
    notes: { 'Spearman (top)': v.spearman, 'false negatives': v.falseNegatives, 'false negatives among drawn cells': `${v.sampledFalseNegatives} of ${v.sampled}` },
  };
}

export function atpOutput(title: string, r: AtpResult, metricWords: string, axes: { layer: Axis; head: Axis; position: Axis }, patched: string, check?: AtpVerification): AnalysisOutput {
  const grid = r.target === 'heads' ? [axes.layer, axes.head] : r.target === 'heads_pos' ? [axes.layer, axes.head, axes.position] : [axes.layer, axes.position];
  const [from, into] = r.direction === 'denoise' ? ['clean', 'corrupted'] : ['corrupted', 'clean'];
  const how = r.direction === 'denoise' ? 'the gradient at the corrupted run times (clean - corrupted)' : 'the gradient at the clean run times (corrupted - clean)';
  const gradient = r.method === 'integratedGradients' ? `the gradient averaged over ${r.steps} runs with the input embeddings interpolated from the ${into} run's to the ${from} run's, times the activation difference` : how;
  return {
    name: title, kind: 'attributionPatching', valueLabel: `estimated normalized ${r.metric}`, axes: grid, values: [...r.values],
    summary: `${metricWords}: clean ${f(r.clean)}, corrupted ${f(r.corrupted)}. ${METHOD_WORDS[r.method]} estimate of patching ${patched} from the ${from} run into the ${into} run: ${gradient}, divided by clean - corrupted; 1 = clean, 0 = corrupted.`,
    scale: 'diverging', range: sharedRange([r.values, [1]], 'diverging'),
    notes: {
      metric: metricWords, method: r.method, [`clean ${r.metric}`]: r.clean, [`corrupted ${r.metric}`]: r.corrupted, direction: r.direction, target: r.target,
      ...(check ? { 'Spearman (verified)': check.spearman, 'false negatives': check.falseNegatives } : {}),
    },
    ...(check ? { verification: check, parts: [verificationPart(title, r.metric, check)] } : {}),
  };
}

export function inputAttributionOutput(title: string, r: InputAttributionResult, metricWords: string, positions: Axis, tokenTexts: string[], baselineName?: string): AnalysisOutput {
  const values = [...r.values];
  const range = sharedRange([values], 'diverging');
  const baseline = r.baseline === 'corrupted' ? `the embeddings of prompt ${JSON.stringify(baselineName)}` : 'zero embeddings';
  const valueLabel = `attribution to ${metricWords}`;
  return {
    name: title, kind: 'inputAttribution', valueLabel, axes: [positions], values,
    summary: `Integrated gradients (${r.steps} steps) of ${metricWords} to each token's input embeddings (blocks.0.hook_resid_pre), from ${baseline}: the attributions sum to ${f(r.sum)}, and the metric moves ${f(r.metric - r.baselineMetric)} (${f(r.baselineMetric)} at the baseline, ${f(r.metric)} on the prompt).`,
    scale: 'diverging', range,
    notes: { metric: metricWords, baseline: r.baseline, steps: r.steps, 'sum of attributions': r.sum, 'metric - baseline metric': r.metric - r.baselineMetric },
    sequences: [{ label: 'prompt, coloured by attribution', tokens: tokenTexts.map((text, i) => ({ text, value: values[i] })), valueLabel, range }],
  };
}
