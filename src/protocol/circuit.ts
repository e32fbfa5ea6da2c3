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
