/**
 * The features kind and the feature forms of ablation as AnalysisOutput: the token x feature activation
 * heatmap (with the FeaturesResult itself under `features`, for the inline view and the feature hover),
 * each shown feature's top logits, and the per-feature direct logit attribution; the change of a metric
 * when each chosen feature is ablated.
 */
import type { Token } from '../tokenizer';
import type { Tracer } from '../tracer';
import type { AblationAnalysis, FeaturesAnalysis } from '../spec/circuit-kinds';
import type { AnalysisOutput, Axis } from '../../protocol/analysis';
import { formatValue as f, sharedRange } from '../../protocol/figures';
import { ablateFeatures } from './feature-interventions';
import { promptFeatures } from './features';
import type { MetricSpec } from './metrics';

/** Columns of the token x feature heatmap at most (a long prompt shows thousands of distinct features). */
export const HEATMAP_FEATURES = 64;

const quote = (text: string) => `'${text.replace(/\n/g, '\\n')}'`;

export async function featuresOutput(tracer: Tracer, a: FeaturesAnalysis, toks: Token[], label: (id: number) => string, answer: { answer?: number; counterfactual?: number }, signal?: AbortSignal): Promise<AnalysisOutput> {
  const r = await promptFeatures(tracer, toks, { sae: a.sae?.value, k: a.k, logitsK: a.logitsK, ...answer, label, signal });
  // The heatmap's columns: the features with the largest activation, at most HEATMAP_FEATURES of them (`features` has them all).
  const columns = [...r.features].sort((x, y) => y.maxAct - x.maxAct).slice(0, HEATMAP_FEATURES);
  const ids = columns.map((x) => x.id);
  const byId = new Map(ids.map((id, j) => [id, j]));
  // [position, feature]: each shown feature's activation at every token (0 where a token does not list it among its top k).
  const values = new Array<number>(toks.length * ids.length).fill(0);
  for (const t of r.tokens) for (const x of t.features) if (byId.has(x.id)) values[t.pos * ids.length + byId.get(x.id)!] = x.act;
  const axes: Axis[] = [
    { name: 'position', labels: r.tokens.map((t) => `${t.pos} ${JSON.stringify(t.text)}`) },
    { name: 'feature', labels: ids.map((id) => `F${id}`) },
  ];
  const top = r.tokens.map((t) => t.features[0]).filter((x) => x);
  const best = columns[0];
  const parts: AnalysisOutput[] = [];
  if (columns.some((x) => x.topLogits.length)) {
    const lk = columns[0].topLogits.length;
    parts.push({
      name: `${a.title}: top logits`, kind: 'features-logits', valueLabel: 'logit effect',
      axes: [{ name: 'feature', labels: ids.map((id) => `F${id}`) }, { name: 'rank', labels: Array.from({ length: lk }, (_, i) => `${i + 1}`) }],
      values: columns.flatMap((x) => x.topLogits.map((t) => t.value)),
      summary: `Each feature's ${lk} most promoted tokens: its decoder row W_dec[f]${tracer.ckpt.config.normalization === 'layernorm' ? ' (centred)' : ''} times the final norm's weight through W_U. ${columns.slice(0, 5).map((x) => `F${x.id}: ${x.topLogits.slice(0, 3).map((t) => quote(t.text)).join(' ')}`).join('; ')}.`,
      scale: 'diverging',
    });
  }
  if (r.attribution) {
    const shown = r.attribution.features.slice(0, 20);
    const dla = shown.map((x) => x.value);
    parts.push({
      name: `${a.title}: direct logit attribution`, kind: 'features-attribution', valueLabel: `${r.attribution.metric} contribution`,
      axes: [{ name: 'feature', labels: shown.map((x) => `F${x.id}`) }], values: dla,
      summary: `${r.attribution.metric} ${f(r.attribution.metricValue)} at position ${r.attribution.position}; the ${r.attribution.features.length} active features contribute ${f(r.attribution.total)} directly (a_f W_dec[f] through the final norm at its scale in this run), the largest shown.`,
      scale: 'diverging', range: sharedRange([dla], 'diverging'),
    });
  }
  return {
    name: a.title, kind: a.kind, valueLabel: 'feature activation', axes, values,
    summary: `The ${r.k} most active features of the dictionary at ${r.sae.hook} (${r.sae.dSae} features, ${r.sae.mode}) at each of ${toks.length} tokens: ${r.features.length} distinct features${r.features.length > ids.length ? ` (the ${ids.length} most active shown)` : ''}${best ? `; the strongest F${best.id} (${f(best.maxAct)} at token ${best.maxPos})` : ''}.${r.notes.length ? ` ${r.notes.join(' ')}` : ''}`,
    scale: 'sequential', range: sharedRange([values], 'sequential'),
    notes: { sae: r.sae.hook, 'features per token': r.k, 'distinct features': r.features.length, 'tokens with an active feature': top.length },
    parts,
    features: r,
  };
}

export async function featureAblationOutput(tracer: Tracer, a: AblationAnalysis, toks: Token[], metric: { spec: MetricSpec; words: string }, reference: Token[][], method: string, signal?: AbortSignal, onProgress?: (done: number, total: number) => void): Promise<AnalysisOutput> {
  const r = await ablateFeatures(tracer, toks, {
    sae: a.sae?.value, features: a.features?.map((x) => x.value), kind: a.method, metric: metric.spec, reference,
    positions: a.positions?.map((p) => p.value), signal, onProgress,
  });
  const at = a.positions ? ` at position${a.positions.length === 1 ? '' : 's'} ${a.positions.map((p) => p.value).join(', ')}` : '';
  return {
    name: a.title, kind: a.kind, valueLabel: `change of ${r.metric}`,
    axes: [{ name: 'feature', labels: r.features.map((id) => `F${id}`) }], values: [...r.change],
    summary: `${metric.words} without ablation ${f(r.baseline)}. ${method} of each feature of the dictionary at ${r.hook}${at}, its error term kept (only that feature's decoder contribution changes): the change of the ${r.metric} it causes.`,
    scale: 'diverging', range: sharedRange([r.change], 'diverging'),
    notes: { metric: metric.words, [`unablated ${r.metric}`]: r.baseline, method: r.kind, sae: r.hook },
  };
}
