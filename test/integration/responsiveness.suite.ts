// How long the extension host's event loop stalls while Circuit Lens works on GPT-2-small-shaped weights:
// (a) the engine API called in this process (full-cache trace, resid_pre patching sweep), (b) the
// extension's own Run Experiment command on specs (attention + logit lens; patching), which includes
// payload building, inline decorations and posting to the webviews. Each case is watched two ways:
// perf_hooks.monitorEventLoopDelay (10 ms resolution; its samples are whole timer intervals, so they
// include the 10 ms, and it misses a stall that starts before its first tick, such as a synchronous
// start of the case) and a setInterval(5 ms) gap tracker (largest gap minus the 5 ms). With
// `profile: true` a V8 CPU profile is taken and every gap over 50 ms is attributed to the stacks that ran
// in it. Timings never fail the suite (2-core shared machines are noisy); failed work does.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import { SourceMap } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import type { Responsiveness } from '../../src/cli/bench/responsiveness';
import { activationPatching } from '../../src/engine/analysis/patching';
import type { AnalysisPayload, AttentionPayload, LogitLensPayload, PanelPayload } from '../../src/protocol/panels';
import { Engine } from '../../src/worker/engine';
import { EXT_ID } from './vscode-helpers';

/** Written into the workspace by tools/e2e/run-responsiveness.mjs. */
export const CONFIG_FILE = '.responsiveness.json';
const POS = 128;
const SWEEP_POSITIONS = 16;
/** A stall over this is reported with the stacks that ran in it (with `profile`). */
const STALL_MS = 50;

export interface ResponsivenessConfig {
  /** Absolute path of the checkpoint folder (config.json, model.safetensors, tokenizer). */
  model: string;
  /** Absolute path of the JSON result file. */
  out: string;
  /** Take a CPU profile of each case and attribute the stalls over 50 ms. */
  profile?: boolean;
}

interface Gap {
  /** ms after the case started. */
  atMs: number;
  ms: number;
  /** process.hrtime in µs at the gap's start (the CPU profile's clock). */
  hrStartUs: number;
}

/** Whose code a stall's samples are mostly in. */
export type StallOwner = 'circuit-lens' | 'vscode-port-scan' | 'vscode' | 'gc' | 'descheduled' | 'other';

export interface StallAttribution {
  atMs: number;
  ms: number;
  owner: StallOwner;
  /** Sampled ms in the gap by owner. */
  owners: Partial<Record<StallOwner, number>>;
  /** Sampled time in the gap by leaf frame, and by the innermost stacks (outermost first, ' > ' between). */
  leaves: { frame: string; ms: number }[];
  stacks: { stack: string; ms: number }[];
}

export interface CaseResult extends Responsiveness {
  /** Largest setInterval(5 ms) gap minus the 5 ms. */
  maxGapMs: number;
  /** Gaps over 20 ms. */
  gaps: { atMs: number; ms: number }[];
  /** Largest resident set of the extension host process (engine worker included), sampled every 100 ms. */
  maxRssMb: number;
  /** Largest V8 heap in use (a major GC's pause grows with it), sampled every 100 ms. */
  maxHeapMb: number;
  stalls?: StallAttribution[];
  /** With a profile: the largest stall over 50 ms whose samples are mostly Circuit Lens code (0: none). */
  maxOwnStallMs?: number;
  profileFile?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hrUs = () => Number(process.hrtime.bigint() / 1000n);

function post<T>(s: inspector.Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => s.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))));
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const sourceMaps = new Map<string, SourceMap | null>();
function frameName(f: CpuProfile['nodes'][number]['callFrame']): string {
  const fn = f.functionName || '(anonymous)';
  if (!f.url) return fn;
  const file = f.url.startsWith('file://') ? new URL(f.url).pathname : f.url;
  let map = sourceMaps.get(file);
  if (map === undefined) {
    try {
      map = fs.existsSync(`${file}.map`) ? new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8'))) : null;
    } catch {
      map = null;
    }
    sourceMaps.set(file, map);
  }
  const e = map?.findEntry(f.lineNumber, f.columnNumber) as { originalSource?: string; originalLine?: number } | undefined;
  if (e?.originalSource) return `${fn} (${e.originalSource.replace(/^.*?\/(src|webview|test|node_modules)\//, '$1/')}:${(e.originalLine ?? 0) + 1})`;
  return `${fn} (${path.basename(file)}:${f.lineNumber + 1})`;
}

function ownerOf(frames: string[]): StallOwner {
  const all = frames.join(' > ');
  if (/\b(src\/(host|engine|worker|protocol)\/|@huggingface\/tokenizers)/.test(all)) return 'circuit-lens';
  if (/extHostTunnelService/.test(all)) return 'vscode-port-scan';
  const leaf = frames[frames.length - 1];
  if (leaf === '(garbage collector)') return 'gc';
  if (leaf === '(idle)') return 'descheduled'; // the thread wanted to run its timers but got no CPU
  if (/src\/vs\/|vscode-languageclient|vscode-jsonrpc|src\/git/.test(all)) return 'vscode';
  return 'other';
}

/** The sampled stacks inside each gap over STALL_MS. */
function attribute(profile: CpuProfile, gaps: Gap[]): StallAttribution[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const times: number[] = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) times.push((t += d));
  const stackOf = (id: number): string[] => {
    const frames: string[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = frameName(byId.get(cur)!.callFrame);
      if (name !== '(root)') frames.unshift(name);
    }
    return frames;
  };
  return gaps.filter((g) => g.ms > STALL_MS).map((g) => {
    const start = g.hrStartUs;
    const end = g.hrStartUs + (g.ms + 5) * 1000;
    const leaves = new Map<string, number>();
    const stacks = new Map<string, number>();
    const owners: Partial<Record<StallOwner, number>> = {};
    for (let i = 0; i < profile.samples.length; i++) {
      if (times[i] < start || times[i] > end) continue;
      const dur = ((times[i + 1] ?? profile.endTime) - times[i]) / 1000;
      const frames = stackOf(profile.samples[i]);
      const leaf = frames[frames.length - 1] ?? '(none)';
      leaves.set(leaf, (leaves.get(leaf) ?? 0) + dur);
      const owner = ownerOf(frames);
      owners[owner] = (owners[owner] ?? 0) + dur;
      const key = frames.slice(-8).join(' > ');
      stacks.set(key, (stacks.get(key) ?? 0) + dur);
    }
    const top = <K extends string>(m: Map<string, number>, k: K) => [...m].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([x, ms]) => ({ [k]: x, ms: Math.round(ms * 10) / 10 }) as Record<K, string> & { ms: number });
    const ranked = (Object.entries(owners) as [StallOwner, number][]).sort((a, b) => b[1] - a[1]);
    for (const [o, ms] of ranked) owners[o] = Math.round(ms * 10) / 10;
    return { atMs: Math.round(g.atMs), ms: Math.round(g.ms * 10) / 10, owner: ranked[0]?.[0] ?? 'other', owners, leaves: top(leaves, 'frame'), stacks: top(stacks, 'stack') };
  });
}

/** Runs `work` while watching this thread's event loop; `tailMs` more of watching after it returns. */
async function observe<T>(name: string, work: () => Promise<T>, opts: { tailMs?: number; profileDir?: string } = {}): Promise<{ result: T; r: CaseResult }> {
  let profiler: inspector.Session | undefined;
  if (opts.profileDir) {
    profiler = new inspector.Session();
    profiler.connect();
    await post(profiler, 'Profiler.enable');
    await post(profiler, 'Profiler.setSamplingInterval', { interval: 500 });
    await post(profiler, 'Profiler.start');
  }
  const gaps: Gap[] = [];
  let maxGap = 0;
  const h = monitorEventLoopDelay({ resolution: 10 });
  const t0 = performance.now();
  const hr0 = hrUs();
  let last = t0;
  let maxRss = 0;
  let maxHeap = 0;
  const sampleMemory = () => {
    const m = process.memoryUsage();
    maxRss = Math.max(maxRss, m.rss);
    maxHeap = Math.max(maxHeap, m.heapUsed);
  };
  sampleMemory();
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    if (++ticks % 20 === 0) sampleMemory();
    const gap = now - last - 5;
    if (gap > maxGap) maxGap = gap;
    if (gap > 20) gaps.push({ atMs: last - t0, ms: gap, hrStartUs: hr0 + (last - t0) * 1000 });
    last = now;
  }, 5);
  h.enable();
  let result: T;
  let wallMs: number;
  try {
    result = await work();
    wallMs = performance.now() - t0;
    if (opts.tailMs) await sleep(opts.tailMs);
  } finally {
    h.disable();
    clearInterval(timer);
  }
  sampleMemory();
  const r: CaseResult = {
    case: name, wallMs, maxDelayMs: h.max / 1e6, p99DelayMs: h.percentile(99) / 1e6, maxGapMs: maxGap,
    gaps: gaps.map((g) => ({ atMs: Math.round(g.atMs), ms: Math.round(g.ms * 10) / 10 })), maxRssMb: maxRss / 2 ** 20, maxHeapMb: maxHeap / 2 ** 20,
  };
  if (profiler && opts.profileDir) {
    const { profile } = await post<{ profile: CpuProfile }>(profiler, 'Profiler.stop');
    profiler.disconnect();
    r.profileFile = path.join(opts.profileDir, `${name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}.cpuprofile`);
    fs.writeFileSync(r.profileFile, JSON.stringify(profile));
    r.stalls = attribute(profile, gaps);
    r.maxOwnStallMs = Math.max(0, ...r.stalls.filter((x) => x.owner === 'circuit-lens').map((x) => x.ms));
  }
  return { result, r };
}

/** A prompt of exactly `pos` tokens (BOS included) ending in an IOI sentence, and its corrupted twin. */
function prompts(engine: Engine, pos: number): { clean: string; corrupted: string } {
  const filler = ('The old lighthouse keeper walked along the shore every morning, counting the boats that came back from the sea ' +
    'and writing their names into a book that nobody else had ever read.').split(' ');
  const ioi = ' When Mary and John went to the store, John gave a drink to';
  const len = (s: string) => engine.tokenize(s, true).length;
  let words = 1;
  const text = (n: number) => Array.from({ length: n }, (_, i) => filler[i % filler.length]).join(' ');
  while (len(text(words + 1) + ioi) <= pos) words++;
  let head = text(words);
  while (len(head + ioi) < pos) head += ' the'; // one token each: GPT-2 never merges across a space
  const clean = head + ioi;
  const corrupted = clean.replace(/ (Mary|John)\b/g, (_, n: string) => (n === 'Mary' ? ' John' : ' Mary'));
  assert.equal(len(clean), pos, 'the clean prompt has the wanted length');
  assert.equal(len(corrupted), pos, 'the corrupted prompt has the clean one\'s length');
  return { clean, corrupted };
}

function fmt(r: CaseResult): string {
  const n = (x: number, w: number) => x.toFixed(1).padStart(w);
  return `${r.case.padEnd(62)} ${n(r.wallMs, 9)} ${n(r.maxDelayMs, 9)} ${n(r.p99DelayMs, 7)} ${n(r.maxGapMs, 8)} ${r.maxRssMb.toFixed(0).padStart(6)} ${r.maxHeapMb.toFixed(0).padStart(5)}${r.maxOwnStallMs !== undefined ? ` ${n(r.maxOwnStallMs, 8)}` : ''}`;
}

export function addSuite(root: Mocha.Suite): void {
  const suite = Mocha.Suite.create(root, 'Extension host responsiveness on GPT-2-small-shaped weights');
  const results: CaseResult[] = [];
  let config: ResponsivenessConfig;
  let folder: vscode.Uri;
  let extensionPath: string;
  let text: { clean: string; corrupted: string };
  const loadStart = os.loadavg();
  let profileDir: string | undefined;

  const record = (r: CaseResult) => {
    results.push(r);
    console.log(`  ${fmt(r)}`);
    for (const s of r.stalls ?? []) {
      console.log(`    stall ${s.ms} ms at +${s.atMs} ms, mostly ${s.owner} (${Object.entries(s.owners).map(([o, ms]) => `${o} ${ms}`).join(', ')}): ${s.leaves.map((l) => `${l.frame} ${l.ms} ms`).join('; ')}`);
      for (const st of s.stacks.slice(0, 3)) console.log(`      ${st.ms} ms  ${st.stack}`);
    }
  };

  suite.beforeAll(async () => {
    const ws = vscode.workspace.workspaceFolders?.[0];
    assert.ok(ws, 'the suite needs a workspace folder');
    folder = ws.uri;
    const file = process.env.CIRCUIT_LENS_RESPONSIVENESS ?? path.join(folder.fsPath, CONFIG_FILE);
    assert.ok(fs.existsSync(file), `${file} is missing: run the suite with tools/e2e/run-responsiveness.mjs`);
    config = JSON.parse(fs.readFileSync(file, 'utf8')) as ResponsivenessConfig;
    assert.ok(fs.existsSync(path.join(config.model, 'model.safetensors')), `no model.safetensors in ${config.model}`);
    if (config.profile) {
      profileDir = path.join(path.dirname(config.out), `${path.basename(config.out, '.json')}-profiles`);
      fs.mkdirSync(profileDir, { recursive: true });
    }
    const ext = vscode.extensions.getExtension(EXT_ID);
    assert.ok(ext, `${EXT_ID} is not installed`);
    await ext.activate();
    extensionPath = ext.extensionPath;
    console.log(`extension host pid ${process.pid}, node ${process.version}, VS Code ${vscode.version}, ${os.cpus().length} cores, load ${loadStart.map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`  ${'case'.padEnd(62)} ${'wall ms'.padStart(9)} ${'max ms'.padStart(9)} ${'p99 ms'.padStart(7)} ${'gap ms'.padStart(8)} ${'RSS MB'.padStart(6)} ${'heap'.padStart(5)}${profileDir ? ` ${'own ms'.padStart(8)}` : ''}`);
  });

  suite.afterAll(() => {
    if (!config) return;
    const out = {
      when: new Date().toISOString(), vscode: vscode.version, node: process.version, pid: process.pid,
      cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, loadavgStart: loadStart, loadavgEnd: os.loadavg(), model: config.model,
      note: 'maxDelayMs/p99DelayMs: perf_hooks.monitorEventLoopDelay({resolution: 10}) samples, each a whole timer interval (10 ms when idle), blind to a stall before its first tick; maxGapMs: largest setInterval(5 ms) gap minus 5 ms.',
      cases: results,
    };
    fs.mkdirSync(path.dirname(config.out), { recursive: true });
    fs.writeFileSync(config.out, JSON.stringify(out, null, 1) + '\n');
    console.log(`wrote ${config.out}`);
  });

  suite.addTest(new Mocha.Test('idle baseline before any model is loaded (5 s)', async () => {
    record((await observe('idle, no model loaded (5 s)', () => sleep(5000), { profileDir })).r);
  }));

  suite.addTest(new Mocha.Test('the engine API in the extension host: full-cache trace and patching sweep', async () => {
    const open = await observe('engine: open GPT-2-small (in-host engine)', () => Engine.open(config.model, { workerPath: path.join(extensionPath, 'dist', 'worker.js') }), { profileDir });
    record(open.r);
    const engine = open.result;
    try {
      text = prompts(engine, POS);
      const clean = engine.tokenize(text.clean, true);
      const corrupted = engine.tokenize(text.corrupted, true);
      const full = engine.ckpt.hooks.filter((h) => !h.needsAttnResult);
      await engine.trace([clean]); // warm-up: the session and its first run
      const trace = await observe(`engine: full-cache trace 1x${POS} (${full.length} hook points)`, () => engine.trace([clean], { hooks: full }), { profileDir });
      record(trace.r);
      assert.equal(trace.result.cache.get('blocks.11.hook_resid_post').dims.join(), `1,${POS},768`);
      const answer = engine.tokenize(' Mary', false)[0].id;
      const counterfactual = engine.tokenize(' John', false)[0].id;
      const positions = Array.from({ length: SWEEP_POSITIONS }, (_, i) => POS - SWEEP_POSITIONS + i);
      const sweep = await observe(`engine: resid_pre patching sweep (12 layers x ${SWEEP_POSITIONS} positions)`, () =>
        activationPatching(engine, clean, corrupted, { target: 'resid_pre', metric: { kind: 'logitDiff', answer, counterfactual }, positions }), { profileDir });
      record(sweep.r);
      assert.equal(sweep.result.values.length, 12 * SWEEP_POSITIONS);
      assert.ok(sweep.result.values.every(Number.isFinite));
    } finally {
      await engine.dispose();
    }
  }));

  /** Writes a spec and opens it; the first spec on a model also has its diagnostics read the model's facts (tokenizer included). */
  const writeSpec = async (name: string, spec: object, measure: boolean): Promise<vscode.Uri> => {
    const uri = vscode.Uri.joinPath(folder, name);
    await vscode.workspace.fs.writeFile(uri, Buffer.from(JSON.stringify(spec, null, 2) + '\n', 'utf8'));
    const open = async () => {
      await vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.One });
    };
    if (measure) record((await observe(`open ${name} (diagnostics read the model), +3 s`, open, { tailMs: 3000, profileDir })).r);
    else await open();
    return uri;
  };
  const runExperiment = (uri: vscode.Uri) => async () => {
    const payloads = await vscode.commands.executeCommand<PanelPayload[] | undefined>('circuitLens.runExperiment', uri);
    assert.ok(payloads, `Run Experiment on ${path.basename(uri.fsPath)} failed (see the Circuit Lens log)`);
    return payloads;
  };
  const promptsOf = () => [
    { name: 'clean', text: text.clean, answer: ' Mary', counterfactual: ' John' },
    { name: 'corrupted', text: text.corrupted },
  ];

  suite.addTest(new Mocha.Test('Run Experiment: attention and logit lens on a 128-token prompt', async () => {
    assert.ok(text, 'the engine test made the prompts');
    const uri = await writeSpec('lens.circuit.json', {
      model: config.model, prompts: promptsOf(),
      analyses: [{ kind: 'attention', name: 'All heads', focus: { layer: 5, head: 1 } }, { kind: 'logitLens', name: 'Lens', topK: 5 }],
    }, true);
    const check = (payloads: PanelPayload[]) => {
      const att = payloads.find((p): p is AttentionPayload => p.view === 'attention');
      const lens = payloads.find((p): p is LogitLensPayload => p.view === 'logitLens');
      assert.ok(att && lens, 'both panels got payloads');
      assert.deepEqual(att.patterns.dims, [12, 12, POS, POS]);
      assert.equal(lens.topTexts.length, 13 * POS * 5);
    };
    const cold = await observe('spec attention+lens: cold (load model, create panels)', runExperiment(uri), { profileDir });
    record(cold.r);
    check(cold.result);
    // The new webviews load and say ready; the host then posts the payloads it held back.
    record((await observe('  webviews load and receive the payloads (8 s after)', () => sleep(8000), { profileDir })).r);
    for (let i = 1; i <= 2; i++) {
      const warm = await observe(`spec attention+lens: warm #${i} (panels open), +1 s`, runExperiment(uri), { tailMs: 1000, profileDir });
      record(warm.r);
      check(warm.result);
    }
  }));

  suite.addTest(new Mocha.Test(`Run Experiment: resid_pre patching, 12 layers x ${SWEEP_POSITIONS} positions`, async () => {
    assert.ok(text, 'the engine test made the prompts');
    const positions = Array.from({ length: SWEEP_POSITIONS }, (_, i) => POS - SWEEP_POSITIONS + i);
    const uri = await writeSpec('patching.circuit.json', {
      model: config.model, prompts: promptsOf(),
      analyses: [{ kind: 'patching', name: 'residual stream', prompt: 'clean', corrupted: 'corrupted', target: 'resid_pre', positions }],
    }, false);
    const check = (payloads: PanelPayload[]) => {
      const a = payloads.find((p): p is AnalysisPayload => p.view === 'analysis');
      assert.ok(a, 'the patching panel got a payload');
      assert.equal(a.output.values.length, 12 * SWEEP_POSITIONS);
    };
    const first = await observe(`spec patching resid_pre 12x${SWEEP_POSITIONS}: first (creates panel)`, runExperiment(uri), { profileDir });
    record(first.r);
    check(first.result);
    record((await observe('  webview loads and receives the payload (5 s after)', () => sleep(5000), { profileDir })).r);
    const again = await observe(`spec patching resid_pre 12x${SWEEP_POSITIONS}: again (panel open), +1 s`, runExperiment(uri), { tailMs: 1000, profileDir });
    record(again.r);
    check(again.result);
  }));

  suite.addTest(new Mocha.Test('idle baseline with the model loaded (5 s)', async () => {
    record((await observe('idle, model loaded in the extension\'s engine (5 s)', () => sleep(5000), { profileDir })).r);
  }));
}
