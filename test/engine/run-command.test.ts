/** `circuit-lens run` on the examples: one JSON entry per analysis with axes and values, a self-contained HTML report. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, ROOT, tmpDir } from '../helpers/reference';

const examples = fs.readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.circuit.json'));

for (const example of examples) {
  test(`examples/${example} runs, with consistent JSON and a self-contained HTML report`, () => {
    const dir = tmpDir('run');
    const [json, html] = [path.join(dir, 'out.json'), path.join(dir, 'out.html')];
    const r = spawnSync(process.execPath, [CLI, 'run', path.join(ROOT, 'examples', example), '--json', json, '--html', html, '--threads', '1'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(fs.readFileSync(json, 'utf8'));
    const spec = fs.readFileSync(path.join(ROOT, 'examples', example), 'utf8');
    const kinds = [...spec.matchAll(/"kind": "(\w+)"/g)].map((m) => m[1]);
    assert.deepEqual(out.analyses.map((a: { kind: string }) => a.kind), kinds);
    for (const a of out.analyses) {
      const cells = a.axes.reduce((n: number, ax: { labels: string[] }) => n * ax.labels.length, a.axes.length ? 1 : 0);
      assert.equal(a.values.length, cells, `${a.name}: values match the axes`);
      assert.ok(a.values.every((v: number) => Number.isFinite(v)), `${a.name}: finite values`);
    }
    const page = fs.readFileSync(html, 'utf8');
    assert.doesNotMatch(page, /<script|https?:\/\/(?!www\.w3\.org)/, 'no scripts, nothing remote');
    assert.ok(out.analyses.every((a: { name: string }) => page.includes(a.name.replace(/&/g, '&amp;'))));
  });
}

test('the planted model example finds its planted heads', () => {
  const json = path.join(tmpDir('planted'), 'out.json');
  const r = spawnSync(process.execPath, [CLI, 'run', path.join(ROOT, 'examples', 'planted-induction.circuit.json'), '--json', json], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [detectors, heads, attribution] = JSON.parse(fs.readFileSync(json, 'utf8')).analyses;
  assert.equal(detectors.notes.best, '0.0'); // previous-token
  assert.equal(detectors.parts[1].notes.best, '1.1'); // induction
  // Noising head 1.1 destroys the copying; other heads matter little (1 = clean).
  const moved = heads.values.map((v: number) => Math.abs(1 - v));
  assert.equal(moved.indexOf(Math.max(...moved)), 3);
  assert.ok(Math.abs(attribution.notes.sumOfContributions - attribution.notes.logitDifference) < 1e-3);
});

test('EXPECTED FAILURE - a spec with problems lists them as file:line:col and exits 2', () => {
  const file = path.join(tmpDir('badspec'), 'bad.circuit.json');
  fs.writeFileSync(file, '{\n  "prompts": [{ "name": "a", "text": "hi" }],\n  "analyses": [{ "kind": "patching", "corrupted": "nope", "metric": "accuracy" }]\n}\n');
  const r = spawnSync(process.execPath, [CLI, 'run', file], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad\.circuit\.json:3:\d+: "metric" must be one of logitDiff, answerProb, loss/);
  assert.match(r.stderr, /bad\.circuit\.json:3:\d+: no prompt is named "nope"/);
});
