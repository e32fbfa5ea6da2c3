/**
 * What the Test Explorer says about one claim result: how it is marked (passed, failed or skipped) and
 * the message of a failure or a note. A documented false claim (`"expect": "fail"`) that fails is marked
 * skipped with a note, as `circuit-lens test` writes it in JUnit (`<skipped>`), so an editor and a CI
 * agree that it is not a verified claim; one that holds is a failure. Pure, so it is tested without VS Code.
 */
import { type ClaimResult, boundText, failureMessage, formatValue } from '../../protocol/circuit';

export type ClaimMark = 'passed' | 'failed' | 'skipped';

export interface ClaimReport {
  mark: ClaimMark;
  /** The failure's message, or the note of a skipped claim; none for a pass. */
  message?: string;
  /** Failures: the value measured and what the claim needs, for the Testing view's comparison. */
  actual?: string;
  expected?: string;
}

/** "0.0 0.2500, 1.1 0.7500": each component's value. */
const componentValues = (c: Record<string, number>) => Object.entries(c).map(([k, v]) => `${k} ${formatValue(v)}`).join(', ');

/** The sentences after the first: each component's value, the spread across ablations, the means. */
function details(r: ClaimResult): string[] {
  const lines: string[] = [];
  if (r.components) lines.push(`Components: ${componentValues(r.components)} (worst ${r.worst}).`);
  if (r.spread !== undefined) lines.push(`Spread across ablations: ${formatValue(r.spread)}.`);
  lines.push(`Dataset means of the metric: full model ${formatValue(r.means.full)}, every component ablated ${formatValue(r.means.none)}, the circuit alone ${formatValue(r.means.circuit)}.`);
  return lines;
}

export function claimReport(r: ClaimResult): ClaimReport {
  switch (r.outcome) {
    case 'passed':
      return { mark: 'passed' };
    case 'expected failure':
      return { mark: 'skipped', message: [`Expected to fail ("expect": "fail"), and it does: ${failureMessage(r)}`, ...details(r)].join('\n') };
    case 'failed':
    case 'unexpected pass':
      return {
        mark: 'failed', message: [failureMessage(r), ...details(r)].join('\n'),
        actual: formatValue(r.value), expected: r.outcome === 'failed' ? boundText(r.bound) : `not ${boundText(r.bound)} ("expect": "fail")`,
      };
  }
}
