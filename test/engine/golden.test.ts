/**
 * Golden tests: `circuit-lens hooks --json` on every bundled model and `circuit-lens run --json` on every
 * example spec, compared with test/golden/, so any change of a number, a label or a text is a diff.
 * Labels, names, kinds, keys and texts must match exactly; numbers of `run` within
 * |a - b| <= 1e-4 + 1e-3 |b| (onnxruntime's last bits vary between CPUs); hook shapes exactly.
 *
 * Rewrite the golden files (the test then passes and lists what it wrote):
 *   CIRCUIT_LENS_UPDATE_GOLDEN=1 node --import tsx --test test/engine/golden.test.ts
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkGolden, dropKeys, roundNumbers, updating, type Json } from '../helpers/golden';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const GOLDEN = path.join(ROOT, 'test', 'golden');
const RUN_TOLERANCE = { abs: 1e-4, rel: 1e-3 };
const CONCURRENCY = 2;

const models = fs.readdirSync(path.join(ROOT, 'media', 'models'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
const examples = fs.readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.circuit.json')).sort();

// Keys that hold timings (none today; dropped so that one added later does not make the files machine-dependent).
const TIMING_KEY = /^(ms|wallS|elapsed\w*|duration\w*|timings?|\w+Ms|\w+Seconds)$/;

interface CliResult { code: number | null; stdout: string; stderr: string }

// The CLI processes run in the background, at most CONCURRENCY at a time; each test awaits its own.
let running = 0;
const waiting: (() => void)[] = [];
function cli(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const start = () => {
      running++;
      execFile(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 300_000 }, (err, stdout, stderr) => {
        running--;
        waiting.shift()?.();
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr: stderr || (err ? err.message : '') });
      });
    };
    if (running < CONCURRENCY) start();
    else waiting.push(start);
  });
}

const built = fs.existsSync(CLI);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'circuit-lens-golden-'));
const hooksRuns = new Map(built ? models.map((m) => [m, cli(['hooks', '--model', m, '--json'])] as const) : []);
const specRuns = new Map(built ? examples.map((e) => {
  const json = path.join(tmp, e.replace(/\.circuit\.json$/, '.json'));
  return [e, cli(['run', `examples/${e}`, '--json', json, '--threads', '1', '--backend', 'cpu']).then((r) => ({ ...r, json }))] as const;
}) : []);

function requireBuild() {
  assert.ok(built, `${path.relative(ROOT, CLI)} is missing: build first with \`node tools/build.mjs\` (\`npm test\` does).`);
}

function ran(r: CliResult, what: string) {
  assert.equal(r.code, 0, `${what} exited with ${r.code}:\n${r.stderr.trim()}`);
}

test('the build is there and up to date', (t) => {
  requireBuild();
  const newest = (dir: string): number => fs.readdirSync(dir, { withFileTypes: true }).reduce((m, d) => {
    const p = path.join(dir, d.name);
    return Math.max(m, d.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }, 0);
  if (newest(path.join(ROOT, 'src')) > fs.statSync(CLI).mtimeMs) t.diagnostic('src/ is newer than dist/cli.js: the golden tests check the last build.');
});

for (const model of models) {
  test(`hooks --json on ${model} matches test/golden/hooks/${model}.json`, async (t) => {
    requireBuild();
    const r = await hooksRuns.get(model)!;
    ran(r, `circuit-lens hooks --model ${model} --json`);
    const out = JSON.parse(r.stdout) as Json;
    // Hook order is the order users see: checked too; shapes are integers, compared exactly.
    const { updated } = checkGolden(path.join(GOLDEN, 'hooks', `${model}.json`), out, { abs: 0, rel: 0, keyOrder: true }, ROOT);
    if (updated) t.diagnostic(`${updated.wrote ? 'wrote' : 'unchanged'} ${updated.file}`);
  });
}

for (const example of examples) {
  const name = example.replace(/\.circuit\.json$/, '');
  test(`run --json on examples/${example} matches test/golden/run/${name}.json`, async (t) => {
    requireBuild();
    const r = await specRuns.get(example)!;
    ran(r, `circuit-lens run examples/${example}`);
    const out = JSON.parse(fs.readFileSync(r.json, 'utf8')) as { [key: string]: Json };
    // The spec path as given, made relative to the repository root with forward slashes.
    if (typeof out.spec === 'string') out.spec = path.relative(ROOT, path.resolve(ROOT, out.spec)).split(path.sep).join('/');
    const normalized = roundNumbers(dropKeys(out, (k) => TIMING_KEY.test(k)));
    const { updated } = checkGolden(path.join(GOLDEN, 'run', `${name}.json`), normalized, RUN_TOLERANCE, ROOT);
    if (updated) t.diagnostic(`${updated.wrote ? 'wrote' : 'unchanged'} ${updated.file}`);
  });
}

test('every golden file belongs to a bundled model or an example', (t) => {
  const expected = new Set([...models.map((m) => `hooks/${m}.json`), ...examples.map((e) => `run/${e.replace(/\.circuit\.json$/, '')}.json`)]);
  const present = ['hooks', 'run'].flatMap((d) => (fs.existsSync(path.join(GOLDEN, d)) ? fs.readdirSync(path.join(GOLDEN, d)).map((f) => `${d}/${f}`) : []));
  const stale = present.filter((f) => !expected.has(f));
  if (updating()) {
    for (const f of stale) {
      fs.rmSync(path.join(GOLDEN, f));
      t.diagnostic(`removed test/golden/${f}`);
    }
    return;
  }
  assert.ok(stale.length === 0, `golden files without a model or example: ${stale.map((f) => `test/golden/${f}`).join(', ')}; rerun with CIRCUIT_LENS_UPDATE_GOLDEN=1 to remove them.`);
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));
