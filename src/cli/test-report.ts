/**
 * What `circuit-lens test` reports: one line per claim and ablation, JUnit XML (one testcase per claim
 * and ablation, so any CI lists them) and JSON. Pure functions of the results, so their shape is tested
 * without running a model.
 */
import { type ClaimResult, boundText, failureMessage, formatValue as num } from '../protocol/circuit';
import { escapeXml } from '../protocol/xml';

/** One claim under one ablation, of one circuit of one spec. */
export interface TestEntry {
  spec: string;
  circuit: string;
  result: ClaimResult;
}

/** A spec (or one circuit of it) that could not run. */
export interface TestError {
  spec: string;
  circuit?: string;
  message: string;
}

export interface TestRun {
  entries: TestEntry[];
  errors: TestError[];
  /** Wall time of the whole run. */
  ms: number;
}

const TAG = { passed: 'PASS', failed: 'FAIL', 'expected failure': 'XFAIL', 'unexpected pass': 'XPASS' } as const;

/** "faithfulness (mean)". */
export const claimName = (r: ClaimResult) => `${r.claim} (${r.ablation})`;

/** "PASS  spec: circuit: faithfulness (mean) 1.0000 >= 0.8 ...". */
export function resultLine(e: TestEntry): string {
  const r = e.result;
  const parts = [`${TAG[r.outcome].padEnd(5)} ${e.spec}: ${e.circuit}: ${claimName(r)} ${num(r.value)} ${boundText(r.bound)}`];
  if (r.components) parts.push(`worst ${r.worst}; ${Object.entries(r.components).map(([k, v]) => `${k} ${num(v)}`).join(', ')}`);
  if (r.spread !== undefined) parts.push(`spread across ablations ${num(r.spread)}`);
  if (r.outcome === 'expected failure') parts.push('expected to fail');
  if (r.outcome === 'unexpected pass') parts.push('marked "expect": "fail" but holds');
  return parts.length > 1 ? `${parts[0]} (${parts.slice(1).join('; ')})` : parts[0];
}

const attrs = (a: Record<string, string | number>) => Object.entries(a).map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`).join('');

/** JUnit XML: a testsuite per spec; a testcase per claim and ablation (classname "SPEC: CIRCUIT"), and one per error. */
export function junitXml(run: TestRun): string {
  const specs = [...new Set([...run.entries.map((e) => e.spec), ...run.errors.map((e) => e.spec)])];
  const suites = specs.map((spec) => {
    const cases = run.entries.filter((e) => e.spec === spec).map((e) => {
      const r = e.result;
      const head = `    <testcase${attrs({ classname: `${spec}: ${e.circuit}`, name: claimName(r) })}`;
      const detail = escapeXml(resultLine(e));
      if (r.outcome === 'failed' || r.outcome === 'unexpected pass') return `${head}>\n      <failure${attrs({ message: failureMessage(r), type: r.outcome === 'failed' ? 'ClaimFailed' : 'UnexpectedPass' })}>${detail}</failure>\n    </testcase>`;
      if (r.outcome === 'expected failure') return `${head}>\n      <skipped${attrs({ message: `expected failure: ${failureMessage(r)}` })}/>\n    </testcase>`;
      return `${head}/>`;
    });
    const errors = run.errors.filter((e) => e.spec === spec).map((e) => `    <testcase${attrs({ classname: e.circuit === undefined ? spec : `${spec}: ${e.circuit}`, name: e.circuit === undefined ? 'spec' : 'circuit' })}>\n      <error${attrs({ message: e.message.split('\n')[0], type: 'SpecError' })}>${escapeXml(e.message)}</error>\n    </testcase>`);
    const mine = run.entries.filter((e) => e.spec === spec);
    const count = {
      tests: mine.length + errors.length,
      failures: mine.filter((e) => e.result.outcome === 'failed' || e.result.outcome === 'unexpected pass').length,
      errors: errors.length,
      skipped: mine.filter((e) => e.result.outcome === 'expected failure').length,
    };
    return `  <testsuite${attrs({ name: spec, ...count })}>\n${[...cases, ...errors].join('\n')}\n  </testsuite>`;
  });
  const total = {
    tests: run.entries.length + run.errors.length,
    failures: run.entries.filter((e) => e.result.outcome === 'failed' || e.result.outcome === 'unexpected pass').length,
    errors: run.errors.length,
    skipped: run.entries.filter((e) => e.result.outcome === 'expected failure').length,
    time: (run.ms / 1000).toFixed(3),
  };
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${attrs({ name: 'circuit-lens test', ...total })}>\n${suites.join('\n')}\n</testsuites>\n`;
}

/** The --json file: one entry per claim and ablation, then the errors. */
export function testJson(run: TestRun): string {
  const claims = run.entries.map(({ spec, circuit, result: r }) => ({
    spec, circuit, claim: r.claim, ablation: r.ablation, value: r.value, bound: r.bound, passed: r.holds,
    expect: r.expect, outcome: r.outcome,
    ...(r.components ? { components: r.components, worst: r.worst } : {}),
    ...(r.spread !== undefined ? { spread: r.spread } : {}),
    means: r.means,
  }));
  return JSON.stringify({ claims, errors: run.errors }, null, 1) + '\n';
}

/** 2 when any spec has an error, else 1 when any claim fails (or unexpectedly holds), else 0. */
export function exitCode(run: TestRun): number {
  if (run.errors.length) return 2;
  return run.entries.some((e) => e.result.outcome === 'failed' || e.result.outcome === 'unexpected pass') ? 1 : 0;
}
