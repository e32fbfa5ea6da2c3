/**
 * Runs a `circuit` analysis: loads its dataset (and reference), measures the circuit under every
 * ablation its claims name, checks the claims, and says in words what was measured. The output's
 * `claims` is what `circuit-lens test` and the editor's test items read; its bars are the claim values.
 */
import { fail } from '../errors';
import type { CircuitTestAnalysis } from '../spec/circuit-spec';
import type { CircuitAblation } from '../spec/vocabulary';
import type { Dataset } from '../datasets/load';
import type { Tracer } from '../tracer';
import type { AnalysisOutput } from '../../protocol/analysis';
import { formatValue as f } from '../../protocol/figures';
import { CircuitMeasurement, Component, componentLabel, measureCircuit } from './circuit';
import { checkClaims } from './claims';

export interface CircuitTestContext {
  tracer: Tracer;
  /** The spec's dataset of this name, tokenized for the tracer's model. */
  dataset: (name: string) => Dataset;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export function circuitComponents(a: CircuitTestAnalysis): Component[] {
  const { heads, mlps, neurons, features } = a.components;
  return [
    ...heads.map((h): Component => ({ kind: 'head', ...h.value })),
    ...mlps.map((m): Component => ({ kind: 'mlp', layer: m.value })),
    ...neurons.map((n): Component => ({ kind: 'neuron', ...n.value })),
    ...features.map((f): Component => ({ kind: 'feature', ...f.value })),
  ];
}

export async function runCircuitTest(ctx: CircuitTestContext, a: CircuitTestAnalysis): Promise<AnalysisOutput> {
  const ds = ctx.dataset(a.dataset.value);
  const reference = a.reference ? ctx.dataset(a.reference.value) : undefined;
  if (!ds.rows.length) fail('BAD_INPUT', { field: 'dataset' }, `dataset ${JSON.stringify(ds.name)} has no prompts.`);
  const circuit = circuitComponents(a);
  const labels = circuit.map(componentLabel);
  const specClaims = a.claims ?? [];
  const ablations = [...new Set<CircuitAblation>([a.ablation, ...specClaims.flatMap((c) => c.ablations)])];
  const perComponent = (kind: string) => specClaims.some((c) => c.kind === kind);
  const measured = new Map<CircuitAblation, CircuitMeasurement>();
  let full: CircuitMeasurement['fullValues'] | undefined;
  let passes = 0;
  for (const [i, ablation] of ablations.entries()) {
    const m = await measureCircuit(ctx.tracer, ds, {
      circuit, ablation, metric: a.metric, reference,
      withoutEach: perComponent('minimality') || perComponent('completeness'), fullWithoutEach: perComponent('completeness'),
      ...(full ? { fullValues: full } : {}),
      signal: ctx.signal,
      onProgress: ctx.onProgress && ((done, total) => ctx.onProgress!(i * total + done, ablations.length * total)),
    });
    full = m.fullValues;
    passes += m.forwardPasses;
    measured.set(ablation, m);
  }
  const claims = checkClaims(specClaims, measured, labels);
  const own = measured.get(a.ablation)!;
  const faithfulness = (own.circuit - own.none) / (own.full - own.none);
  const bars = claims.length ? claims.map((c) => ({ label: `${c.claim} (${c.ablation})`, value: c.value })) : [{ label: `faithfulness (${a.ablation})`, value: faithfulness }];
  const verdicts = claims.map((c) => `${c.claim} (${c.ablation}) ${f(c.value)}: ${c.outcome}`).join('; ');
  return {
    name: a.title, kind: a.kind, valueLabel: 'claim value',
    axes: [{ name: 'claim', labels: bars.map((b) => b.label) }], values: bars.map((b) => b.value),
    summary: `Circuit ${labels.join(', ')} on ${ds.description}, ${a.metric} metric: M(full) ${f(own.full)}, M(none) ${f(own.none)}, M(circuit) ${f(own.circuit)} (spread over prompts ${f(own.circuitStd)}) with ${a.ablation} ablation, faithfulness ${f(faithfulness)}.${verdicts ? ` ${verdicts}.` : ''}`,
    scale: 'diverging',
    notes: {
      components: labels.join(', '), dataset: ds.name, metric: a.metric, ablation: a.ablation,
      'M(full)': own.full, 'M(none)': own.none, 'M(circuit)': own.circuit, faithfulness, 'forward passes': passes,
    },
    parts: claims.filter((c) => c.components).map((c): AnalysisOutput => ({
      name: `${a.title}: ${c.claim} (${c.ablation})`, kind: 'circuit-components', valueLabel: c.claim,
      axes: [{ name: 'component', labels: Object.keys(c.components!) }], values: Object.values(c.components!),
      summary: c.claim === 'minimality' ? 'F(C) - F(C without v): the share of faithfulness each component carries.' : '|F(C without v) - F(full without v)| for each component.',
      scale: 'diverging',
    })),
    claims,
  };
}
