/**
 * `circuit-lens test` as CI runs it (the built CLI, so `node tools/build.mjs` first): specs found below
 * the working folder (node_modules and .git skipped), one line per claim and ablation, exit codes 0, 1
 * and 2, and the JUnit and JSON files.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, tmpDir } from '../helpers/reference';

const REP = { rep: { generate: 'repeatedRandomTokens', count: 4, length: 20, seed: 1 } };
const circuit = (name: string, heads: string[], claims: Record<string, unknown>) => ({ kind: 'circuit', name, dataset: 'rep', metric: 'loss', components: { heads }, claims });
const HOLDS = { model: 'planted-induction', datasets: REP, analyses: [circuit('induction', ['0.0', '1.1'], { faithfulness: { min: 0.99, ablations: ['mean', 'zero'] }, minimality: { min: 0.5 } })] };
const XFAIL = { model: 'planted-induction', datasets: REP, analyses: [circuit('without 1.1', ['0.0'], { faithfulness: { min: 0.8, expect: 'fail' } })] };
const FAILS = { model: 'planted-induction', datasets: REP, analyses: [circuit('without 1.1', ['0.0'], { faithfulness: { min: 0.8 } })] };

function workspace(files: Record<string, unknown>): string {
  const dir = tmpDir('test-cmd');
  for (const [f, spec] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), typeof spec === 'string' ? spec : JSON.stringify(spec, null, 1));
  }
  return dir;
}

const cli = (cwd: string, args: string[]) => spawnSync(process.execPath, [CLI, 'test', ...args, '--threads', '1'], { cwd, encoding: 'utf8' });

test('every *.circuit.json below the folder, node_modules and .git skipped; exit 0 when all hold, expected failures included', () => {
  const dir = workspace({ 'a.circuit.json': HOLDS, 'sub/b.circuit.json': XFAIL, 'node_modules/x/c.circuit.json': FAILS, '.git/d.circuit.json': FAILS, 'views.circuit.json': { prompts: ['x'], analyses: [{ kind: 'attention' }] } });
  const r = cli(dir, ['--junit', 'out.xml', '--json', 'out.json']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const lines = r.stdout.split('\n');
  assert.deepEqual(lines.filter((l) => /^(PASS|FAIL|XFAIL|XPASS)/.test(l)).map((l) => l.replace(/ \d[\d.e-]*( |$).*/, '')), [
    'PASS  a.circuit.json: induction: faithfulness (mean)',
    'PASS  a.circuit.json: induction: faithfulness (zero)',
    'PASS  a.circuit.json: induction: minimality (mean)',
    `XFAIL ${path.join('sub', 'b.circuit.json')}: without 1.1: faithfulness (mean)`,
  ]);
  assert.ok(lines.some((l) => l.includes('views.circuit.json: no circuit analyses')));
  assert.match(r.stdout, /4 claim results: 3 passed, 0 failed, 1 expected failures, 0 unexpected passes; 0 errors/);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8'));
  assert.deepEqual(json.claims.map((c: { claim: string; ablation: string; passed: boolean }) => [c.claim, c.ablation, c.passed]), [['faithfulness', 'mean', true], ['faithfulness', 'zero', true], ['minimality', 'mean', true], ['faithfulness', 'mean', false]]);
  assert.deepEqual(Object.keys(json.claims[2].components), ['0.0', '1.1']);
  assert.deepEqual(json.claims[0].bound, { min: 0.99 });
  const xml = fs.readFileSync(path.join(dir, 'out.xml'), 'utf8');
  assert.equal((xml.match(/<testcase /g) ?? []).length, 4);
  assert.match(xml, /<testcase classname="a.circuit.json: induction" name="faithfulness \(zero\)"\/>/);
});

test('EXPECTED FAILURE - a claim that does not hold exits 1; JUnit has its failure with value, bound and ablation', () => {
  const dir = workspace({ 'f.circuit.json': FAILS, 'a.circuit.json': HOLDS });
  const r = cli(dir, ['f.circuit.json', 'a.circuit.json', '--junit', 'out.xml']);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^FAIL  f\.circuit\.json: without 1\.1: faithfulness \(mean\) -?0\.\d+ >= 0\.8$/m);
  assert.match(fs.readFileSync(path.join(dir, 'out.xml'), 'utf8'), /<failure message="faithfulness is -?0\.\d+ with mean ablation; the claim needs &gt;= 0.8." type="ClaimFailed">/);
});

test('EXPECTED FAILURE - a spec with an error exits 2, and the other specs still run and report', () => {
  const broken = '{\n "model": "planted-induction",\n "datasets": { "rep": { "generate": "repeatedRandomTokens", "length": 20 } },\n "analyses": [{ "kind": "circuit", "dataset": "rep", "components": { "heads": ["0.0", "7.0"] }, "claims": { "faithfulness": { "min": 0.5 } } }]\n}\n';
  const dir = workspace({ 'broken.circuit.json': broken, 'f.circuit.json': FAILS, 'a.circuit.json': HOLDS, 'missing-model.circuit.json': { ...HOLDS, model: './nowhere' } });
  const r = cli(dir, ['--json', 'out.json', '--junit', 'out.xml']);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stdout, /^ERROR broken\.circuit\.json: analyses\[0\]: "circuit #1" does not fit planted-induction:\nbroken\.circuit\.json:4:\d+: layer 7 is out of range/m);
  assert.match(r.stdout, /^ERROR missing-model\.circuit\.json: /m);
  assert.match(r.stdout, /^FAIL  f\.circuit\.json/m);
  assert.match(r.stdout, /^PASS  a\.circuit\.json/m);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8'));
  assert.deepEqual(json.errors.map((e: { spec: string }) => e.spec), ['broken.circuit.json', 'missing-model.circuit.json']);
  assert.match(fs.readFileSync(path.join(dir, 'out.xml'), 'utf8'), /<error message="[^"]+" type="SpecError">/);
});
