/**
 * A circuit's claims checked on its measurements. With M the dataset mean of the metric:
 * F(S) = (M(S) - M(none)) / (M(full) - M(none)) (a ratio of dataset means);
 * faithfulness F(C); minimality F(C) - F(C without v) per component; completeness
 * |F(C without v) - F(full without v)| per component; metric M(C). Each claim is checked under each of
 * its ablations, and the spread across them reported.
 */
import { fail } from '../errors';
import type { ClaimSpec } from '../spec/circuit-spec';
import type { CircuitAblation } from '../spec/vocabulary';
import type { ClaimResult } from '../../protocol/circuit';
import type { CircuitMeasurement } from './circuit';

/** The component whose value is worst for the bound: the lowest for a minimum, the highest for a maximum, the one further outside for both. */
function worstOf(values: Record<string, number>, bound: { min?: number; max?: number }): string {
  const entries = Object.entries(values);
  const miss = ([, v]: [string, number]) => Math.max(bound.min !== undefined ? bound.min - v : -Infinity, bound.max !== undefined ? v - bound.max : -Infinity);
  return entries.reduce((w, e) => (miss(e) > miss(w) ? e : w))[0];
}

const within = (v: number, b: { min?: number; max?: number }) => (b.min === undefined || v >= b.min) && (b.max === undefined || v <= b.max);

/** F of a mean under this measurement's baselines. */
function faithfulnessOf(m: CircuitMeasurement, value: number): number {
  const span = m.full - m.none;
  if (span === 0) fail('BAD_INPUT', { field: 'claims' }, `with ${m.ablation} ablation, the full model and the model with every component ablated give the same metric (${m.full}), so faithfulness is undefined.`, 'Choose a metric or dataset the components change.');
  return (value - m.none) / span + 0;
}

export function checkClaims(claims: readonly ClaimSpec[], measured: ReadonlyMap<CircuitAblation, CircuitMeasurement>, labels: readonly string[]): ClaimResult[] {
  return claims.flatMap((c) => {
    const bound = { ...(c.min !== undefined ? { min: c.min } : {}), ...(c.max !== undefined ? { max: c.max } : {}) };
    const results = c.ablations.map((ablation): ClaimResult => {
      const m = measured.get(ablation)!;
      const f = faithfulnessOf(m, m.circuit);
      let value: number;
      let components: Record<string, number> | undefined;
      switch (c.kind) {
        case 'faithfulness':
          value = f;
          break;
        case 'metric':
          value = m.circuit;
          break;
        case 'minimality':
          components = Object.fromEntries(labels.map((l, i) => [l, f - faithfulnessOf(m, m.without[i])]));
          break;
        case 'completeness':
          components = Object.fromEntries(labels.map((l, i) => [l, Math.abs(faithfulnessOf(m, m.without[i]) - faithfulnessOf(m, m.fullWithout[i]))]));
          break;
      }
      const worst = components ? worstOf(components, bound) : undefined;
      value = components ? components[worst!] : value!;
      const holds = within(value, bound);
      const outcome = c.expect === 'pass' ? (holds ? 'passed' : 'failed') : holds ? 'unexpected pass' : 'expected failure';
      return {
        claim: c.kind, ablation, value, bound, holds, expect: c.expect, outcome,
        ...(components ? { components, worst } : {}),
        means: { full: m.full, none: m.none, circuit: m.circuit }, range: c.range,
      };
    });
    if (results.length > 1) {
      const vs = results.map((r) => r.value);
      const spread = Math.max(...vs) - Math.min(...vs);
      for (const r of results) r.spread = spread;
    }
    return results;
  });
}
