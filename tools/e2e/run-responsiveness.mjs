// Measures the event-loop delay of code-server's real extension host while Circuit Lens works on
// random GPT-2-small-shaped weights (test/integration/responsiveness.suite.ts), only through the
// extension's commands and API: first model open (Select Model), first spec open (diagnostics with token
// counts), a full-cache trace, a 12-layer x 16-position patching sweep and a warm Run Experiment. Not part
// of CI (475 MB of weights). Prints a table of the worst stalls by owner: Circuit Lens's code, VS Code's
// port scan, anything else.
//   --out FILE   the JSON result (default out/bench-vscode/responsiveness-<time>.json)
//   --profile    also take V8 CPU profiles and attribute every stall over 50 ms to its stacks and owner
//                (without it the owner columns are empty)
//   --timeout S  seconds the suite may take (default 1500)
//   --no-port-scan  workspace settings that stop VS Code's port scan: remote.autoForwardPorts false and
//                remote.autoForwardPortsSource "output" (code-server registers a tunnel provider, so only the
//                second one stops it). A remote extension host (code-server, Remote-SSH, WSL) otherwise runs
//                shell commands every 2 s or more to find ports to forward; each spawn blocks the host's
//                thread longer the more memory its process holds (the engine worker's included).
// The weights: tools/e2e/research-model.mjs.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { researchModel } from './research-model.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({ options: { out: { type: 'string' }, profile: { type: 'boolean', default: false }, timeout: { type: 'string', default: '1500' }, 'no-port-scan': { type: 'boolean', default: false } } });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const out = resolve(args.out ?? join(root, 'out', 'bench-vscode', `responsiveness-${stamp}.json`));

const model = researchModel();

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
  const prof = !!res.profile;
  const f = (x) => (x === undefined ? '-' : x.toFixed(1));
  console.log(`\nExtension host event loop, ${res.cores} cores (${res.cpu}), VS Code ${res.vscode}, node ${res.node}${args['no-port-scan'] ? ', port scan off' : ''}; load ${res.loadavgStart.map((x) => x.toFixed(2)).join(' ')} -> ${res.loadavgEnd.map((x) => x.toFixed(2)).join(' ')}`);
  console.log('Stalls: setInterval(5 ms) gaps over 50 ms, each owned by whoever has most of its CPU-profile samples (0 = no such stall).');
  console.log(`| case | wall ms | max own stall (circuit-lens) ms | max VS Code port-scan stall ms | max other stall ms (its owner) | max gap ms (any) | host RSS MB |\n|---|---:|---:|---:|---:|---:|---:|`);
  for (const c of res.cases) {
    const other = `${f(c.maxOtherStallMs)}${c.worstOtherOwner ? ` (${c.worstOtherOwner})` : ''}`;
    console.log(`| ${c.case.trim()} | ${c.wallMs.toFixed(0)} | ${f(c.maxOwnStallMs)} | ${f(c.maxPortScanStallMs)} | ${other} | ${c.maxGapMs.toFixed(1)} | ${c.maxRssMb.toFixed(0)} |`);
  }
  console.log('(owners: circuit-lens = frames of src/host, src/client, src/engine, src/worker, src/protocol; vscode-ipc = VS Code copying or compressing messages on its connections, such as our webview posts; descheduled = an idle thread that got no CPU; unsampled = no profile sample at all; gc = V8\'s collector)');
  if (prof) {
    const stalls = res.cases.flatMap((c) => (c.stalls ?? []).map((s) => ({ c, s })));
    if (stalls.length) console.log('\nEvery stall over 50 ms (owner: sampled ms by owner; top leaf frames):');
    for (const { c, s } of stalls) {
      console.log(`- ${c.case.trim()}: ${s.ms} ms at +${s.atMs} ms, ${s.owner} (${Object.entries(s.owners).map(([o, ms]) => `${o} ${ms}`).join(', ')}): ${s.leaves.slice(0, 4).map((l) => `${l.frame} ${l.ms}`).join('; ')}`);
      if (s.owner !== 'vscode-port-scan' && s.owner !== 'descheduled' && s.owner !== 'unsampled') for (const st of s.stacks.slice(0, 4)) console.log(`    ${st.ms} ms  ${st.stack}`);
    }
    const share = res.cases.reduce((a, c) => ((c.maxOwnSampledMs ?? 0) > (a?.maxOwnSampledMs ?? 0) ? c : a), undefined);
    if (share) console.log(`\nmost Circuit Lens CPU inside one stall over 50 ms: ${share.maxOwnSampledMs.toFixed(1)} ms (${share.case.trim()})`);
    const own = res.cases.filter((c) => (c.maxOwnStallMs ?? 0) > 50);
    console.log(own.length === 0 ? '\nno stall over 50 ms owned by Circuit Lens.' : `\nCircuit Lens stalls over 50 ms in: ${own.map((c) => `${c.case.trim()} (${c.maxOwnStallMs.toFixed(0)} ms)`).join('; ')}`);
  } else {
    const over = res.cases.filter((c) => c.maxGapMs > 50);
    console.log(over.length === 0 ? 'no stall over 50 ms.' : `stalls over 50 ms (run with --profile to see whose) in: ${over.map((c) => `${c.case.trim()} (${c.maxGapMs.toFixed(0)} ms)`).join('; ')}`);
  }
  console.log(`(max delay: monitorEventLoopDelay samples, each a whole 10 ms timer interval; gap: largest setInterval(5 ms) gap minus 5 ms)\nwrote ${out}`);
}
process.exit(r.status ?? 1);
