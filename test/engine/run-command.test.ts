/** `circuit-lens run` on the examples: one JSON entry per analysis with axes, values and a line in words, a self-contained HTML report. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, ROOT, tmpDir } from '../helpers/reference';

const examples = fs.readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.circuit.json'));
const CIRCUIT_KINDS = ['patching', 'ablation', 'attribution', 'detectors', 'steering', 'generation', 'circuit', 'edgeAttribution'];

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
      if (CIRCUIT_KINDS.includes(a.kind)) assert.ok(typeof a.summary === 'string' && a.summary.length > 20, `${a.name}: says in words what it measured`);
      for (const p of [a, ...(a.parts ?? [])]) if (p.range) assert.ok(p.values.every((v: number) => v >= p.range[0] - 1e-6 && v <= p.range[1] + 1e-6), `${p.name}: values within the stated range`);
      for (const q of a.sequences ?? []) {
        if (q.valueLabel) assert.ok(q.tokens.every((t: { value?: number }) => Number.isFinite(t.value)), `${a.name}: every token carries its value`);
        else assert.ok(q.tokens.some((t: { prob?: number }) => t.prob !== undefined && t.prob > 0 && t.prob <= 1), `${a.name}: generated tokens carry probabilities`);
      }
    }
    const page = fs.readFileSync(html, 'utf8');
    assert.doesNotMatch(page, /<script|https?:\/\/(?!www\.w3\.org)/, 'no scripts, nothing remote');
    assert.ok(out.analyses.every((a: { name: string }) => page.includes(a.name.replace(/&/g, '&amp;'))));
  });
}

test('EXPECTED FAILURE - a spec with problems lists them as file:line:col and exits 2', () => {
  const file = path.join(tmpDir('badspec'), 'bad.circuit.json');
  fs.writeFileSync(file, '{\n  "prompts": [{ "name": "a", "text": "hi" }],\n  "analyses": [{ "kind": "patching", "corrupted": "nope", "metric": "accuracy" }]\n}\n');
  const r = spawnSync(process.execPath, [CLI, 'run', file], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad\.circuit\.json:3:\d+: "metric" must be one of logitDiff, answerProb, loss/);
  assert.match(r.stderr, /bad\.circuit\.json:3:\d+: no prompt is named "nope"/);
});

test('EXPECTED FAILURE - one bad analysis does not stop the others: they run, it is named, the command exits 2', () => {
  const dir = tmpDir('onebad');
  const [file, json] = [path.join(dir, 'mixed.circuit.json'), path.join(dir, 'out.json')];
  fs.writeFileSync(file, `{
  "model": "demo",
  "prompts": [{ "name": "a", "text": "The cat sat on the mat. The cat sat on the" }, { "name": "b", "text": "The cat" }],
  "analyses": [
    { "kind": "attention", "name": "fine" },
    { "kind": "attention", "name": "bad layer", "focus": { "layer": 7, "head": 0 } },
    { "kind": "patchng" },
    { "kind": "patching", "name": "bad length", "corrupted": "b", "metric": "loss" },
    { "kind": "detectors", "name": "also fine", "source": "prompt" }
  ]
}
`);
  const r = spawnSync(process.execPath, [CLI, 'run', file, '--json', json, '--threads', '1'], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.deepEqual(JSON.parse(fs.readFileSync(json, 'utf8')).analyses.map((a: { name: string }) => a.name), ['fine', 'also fine']);
  assert.match(r.stderr, /mixed\.circuit\.json: analyses\[1\]: "bad layer" does not fit demo:\n.*mixed\.circuit\.json:6:\d+: layer 7 is out of range/);
  assert.match(r.stderr, /analyses\[2\]: this analysis has 1 problem:\n.*mixed\.circuit\.json:7:\d+: unknown analysis kind "patchng"/);
  assert.match(r.stderr, /mixed\.circuit\.json:8:\d+: patching needs prompts of one token length/);
  assert.match(r.stderr, /3 of 5 analyses did not run: "bad layer", "analyses\[2\]", "bad length"/);
});

test('EXPECTED FAILURE - a problem every analysis shares (here a prompt\'s answer) stops them all', () => {
  const file = path.join(tmpDir('shared'), 'shared.circuit.json');
  fs.writeFileSync(file, '{\n  "prompts": [{ "name": "a", "text": "The cat sat", "answer": " on the" }],\n  "analyses": [{ "kind": "attention" }, { "kind": "logitLens" }]\n}\n');
  const r = spawnSync(process.execPath, [CLI, 'run', file, '--threads', '1'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /shared\.circuit\.json: the spec does not fit demo:\n.*shared\.circuit\.json:2:\d+: answer " on the" is 2 tokens/);
  assert.equal(r.stdout, '', 'nothing ran');
});
