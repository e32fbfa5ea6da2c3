/**
 * The result of checking a circuit's claims: one entry per claim and ablation, with the measured value,
 * the bound, and the means it came from. Shared by the runner (which measures), the CLI's `test`
 * (lines, JUnit, JSON) and the editor's test items.
 */

export type ClaimName = 'faithfulness' | 'minimality' | 'completeness' | 'metric';

/** passed / failed: the bound held or not as expected; expected failure: a claim marked "expect": "fail" that failed; unexpected pass: one that held. */
export type ClaimOutcome = 'passed' | 'failed' | 'expected failure' | 'unexpected pass';

export interface ClaimResult {
  claim: ClaimName;
  ablation: string;
  /** The measured value; for per-component claims the worst component's. */
  value: number;
  bound: { min?: number; max?: number };
  /** Whether the bound holds. */
  holds: boolean;
  expect: 'pass' | 'fail';
  outcome: ClaimOutcome;
  /** Per-component claims: each component ("0.0", "mlp0", "n1.37") and its value. */
  components?: Record<string, number>;
  /** The component whose value is `value`. */
  worst?: string;
  /** Claims checked under several ablations: max - min of their values. */
  spread?: number;
  /** Dataset means under this ablation: the full model, every component ablated, the circuit alone. */
  means: { full: number; none: number; circuit: number };
  /** Where the claim is in the spec text. */
  range: { offset: number; length: number };
}

/** Whether an outcome lets the run pass. */
export const outcomeOk = (o: ClaimOutcome) => o === 'passed' || o === 'expected failure';

/** A claim's value as the reports print it: integers as they are, four decimals in the usual range, else four significant digits. */
export const formatValue = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? v.toFixed(4) : v.toPrecision(4));

/** ">= 0.8", "<= 0.1", ">= 0 and <= 2": the bounds as written. */
export function boundText(b: ClaimResult['bound']): string {
  return [b.min !== undefined ? `>= ${b.min}` : '', b.max !== undefined ? `<= ${b.max}` : ''].filter(Boolean).join(' and ');
}

/** Why a claim failed, in one sentence: value, bound and ablation. */
export function failureMessage(r: ClaimResult): string {
  const what = r.worst !== undefined ? `${r.claim} of component ${r.worst}` : r.claim;
  if (r.outcome === 'unexpected pass') return `${what} is ${formatValue(r.value)} with ${r.ablation} ablation and holds (${boundText(r.bound)}), but the claim is marked "expect": "fail".`;
  return `${what} is ${formatValue(r.value)} with ${r.ablation} ablation; the claim needs ${boundText(r.bound)}.`;
}
