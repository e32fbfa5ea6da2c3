/** `circuit-lens test` reports: the line per claim, JUnit XML (shape and escaping), the JSON entries, exit codes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClaimResult } from '../../src/protocol/circuit';
import { TestRun, exitCode, junitXml, resultLine, testJson } from '../../src/cli/test-report';
import { escapeXml } from '../../src/protocol/xml';

const means = { full: 1, none: 0, circuit: 0.9 };
const range = { offset: 0, length: 1 };
const result = (r: Partial<ClaimResult>): ClaimResult => ({ claim: 'faithfulness', ablation: 'mean', value: 0.9, bound: { min: 0.8 }, holds: true, expect: 'pass', outcome: 'passed', means, range, ...r });

const RUN: TestRun = {
  entries: [
    { spec: 'a & b.circuit.json', circuit: 'induction <0.0 + 1.1>', result: result({}) },
    { spec: 'a & b.circuit.json', circuit: 'induction <0.0 + 1.1>', result: result({ claim: 'minimality', value: 0.01, bound: { min: 0.05 }, holds: false, outcome: 'failed', components: { '0.0': 0.5, 'mlp0': 0.01 }, worst: 'mlp0' }) },
    { spec: 'a & b.circuit.json', circuit: 'no "1.1"', result: result({ value: 0.1, holds: false, expect: 'fail', outcome: 'expected failure', ablation: 'zero', spread: 0.2 }) },
  ],
  errors: [{ spec: 'broken.circuit.json', message: 'broken.circuit.json: the spec has 1 problem:\nbroken.circuit.json:3:5: bad \u0001 thing' }],
  ms: 1234,
};

test('one line per claim and ablation: outcome, value, bound, worst component, spread', () => {
  assert.deepEqual(RUN.entries.map(resultLine), [
    'PASS  a & b.circuit.json: induction <0.0 + 1.1>: faithfulness (mean) 0.9000 >= 0.8',
    'FAIL  a & b.circuit.json: induction <0.0 + 1.1>: minimality (mean) 0.0100 >= 0.05 (worst mlp0; 0.0 0.5000, mlp0 0.0100)',
    'XFAIL a & b.circuit.json: no "1.1": faithfulness (zero) 0.1000 >= 0.8 (spread across ablations 0.2000; expected to fail)',
  ]);
});

test('JUnit XML: a suite per spec, a testcase per claim and ablation with classname "spec: circuit", failures with value, bound and ablation, everything escaped', () => {
  const xml = junitXml(RUN);
  assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="circuit-lens test" tests="4" failures="1" errors="1" skipped="1" time="1.234">/);
  assert.match(xml, /<testsuite name="a &amp; b.circuit.json" tests="3" failures="1" errors="0" skipped="1">/);
  assert.match(xml, /<testcase classname="a &amp; b.circuit.json: induction &lt;0.0 \+ 1.1&gt;" name="faithfulness \(mean\)"\/>/);
  assert.match(xml, /<testcase classname="a &amp; b.circuit.json: induction &lt;0.0 \+ 1.1&gt;" name="minimality \(mean\)">\n\s+<failure message="minimality of component mlp0 is 0.0100 with mean ablation; the claim needs &gt;= 0.05." type="ClaimFailed">FAIL  a &amp; b/);
  assert.match(xml, /<testcase classname="a &amp; b.circuit.json: no &quot;1.1&quot;" name="faithfulness \(zero\)">\n\s+<skipped message="expected failure: faithfulness is 0.1000 with zero ablation/);
  assert.match(xml, /<testsuite name="broken.circuit.json" tests="1" failures="0" errors="1" skipped="0">\n\s+<testcase classname="broken.circuit.json" name="spec">\n\s+<error message="broken.circuit.json: the spec has 1 problem:" type="SpecError">broken.circuit.json: the spec has 1 problem:\nbroken.circuit.json:3:5: bad  thing<\/error>/);
  assert.doesNotMatch(xml, /\u0001/);
  assert.equal(escapeXml(`<a b="c" d='e'>&\u0000\ud800x`), '&lt;a b=&quot;c&quot; d=&#39;e&#39;&gt;&amp;x');
});

test('JSON: one entry per claim and ablation with value, bound, passed; per-component claims map each component', () => {
  const out = JSON.parse(testJson(RUN));
  assert.equal(out.claims.length, 3);
  assert.deepEqual(out.claims[1], {
    spec: 'a & b.circuit.json', circuit: 'induction <0.0 + 1.1>', claim: 'minimality', ablation: 'mean', value: 0.01, bound: { min: 0.05 }, passed: false,
    expect: 'pass', outcome: 'failed', components: { '0.0': 0.5, mlp0: 0.01 }, worst: 'mlp0', means,
  });
  assert.equal(out.claims[2].spread, 0.2);
  assert.equal(out.errors[0].spec, 'broken.circuit.json');
});

test('exit codes: 0 when all hold (expected failures included), 1 when any fails or unexpectedly holds, 2 when any spec has an error', () => {
  const ok = { entries: [RUN.entries[0], RUN.entries[2]], errors: [], ms: 0 };
  assert.equal(exitCode(ok), 0);
  assert.equal(exitCode({ ...ok, entries: RUN.entries }), 1);
  assert.equal(exitCode({ ...ok, entries: [{ ...RUN.entries[2], result: { ...RUN.entries[2].result, holds: true, outcome: 'unexpected pass' } }] }), 1);
  assert.equal(exitCode(RUN), 2);
});
