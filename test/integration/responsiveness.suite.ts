// How long the extension host's event loop stalls while Circuit Lens works on GPT-2-small-shaped weights,
// through nothing but the extension's own commands and API (the extension host runs no model code: every
// model step is a request to the worker thread): the first model open (Select Model), the first spec open
// (its diagnostics, token counts included, come from the worker's spec/check), a full-cache trace
// ("cache": ["*"]) and a 12-layer x 16-position patching sweep through Run Experiment, and a warm Run
// Experiment (attention + logit lens, panels open). Each case is watched two ways:
// perf_hooks.monitorEventLoopDelay (10 ms resolution; its samples are whole timer intervals, so they
// include the 10 ms, and it misses a stall that starts before its first tick, such as a synchronous
// start of the case) and a setInterval(5 ms) gap tracker (largest gap minus the 5 ms). With
// `profile: true` a V8 CPU profile is taken and every gap over 50 ms is attributed to the stacks that ran
// in it, and to an owner: our code ('circuit-lens'), VS Code's port scan ('vscode-port-scan'), the rest of
// VS Code, GC, or no CPU ('descheduled'). Timings never fail the suite (2-core shared machines are noisy);
// failed work does.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import { SourceMap, createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import type { Responsiveness } from '../../src/bench/responsiveness';
import type { CircuitLensApi } from '../../src/host/extension';
import type { AnalysisPayload, AttentionPayload, LogitLensPayload, PanelPayload } from '../../src/protocol/panels';
import { EXT_ID } from './vscode-helpers';

/** Written into the workspace by tools/e2e/run-responsiveness.mjs. */
export const CONFIG_FILE = '.responsiveness.json';
const POS = 128;
const SWEEP_POSITIONS = 16;
/** Longest a command may take before the case fails (a 12x16 sweep took about 60 s on 2 busy cores). */
const COMMAND_TIMEOUT_MS = 300_000;
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

/**
 * Whose code a stall's samples are mostly in. 'vscode-ipc': VS Code framing, copying or compressing
 * messages on its connections (a large webview message of ours shows up here, after our postMessage
 * returned); 'descheduled': samples of an idle thread that wanted to run its timers; 'unsampled': time in
 * the gap with no sample at all (the process got no CPU, so neither did its profiler).
 */
export type StallOwner = 'circuit-lens' | 'vscode-port-scan' | 'vscode-ipc' | 'vscode' | 'gc' | 'descheduled' | 'unsampled' | 'other';

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
  /** With a profile: the most Circuit Lens samples (ms) in any one stall over 50 ms, whoever owns it. */
  maxOwnSampledMs?: number;
  /** With a profile: the owner of the largest stall counted in maxOtherStallMs. */
  worstOtherOwner?: StallOwner;
  /** With a profile: the largest stall over 50 ms that is mostly VS Code's port scan (0: none). */
  maxPortScanStallMs?: number;
  /** With a profile: the largest stall over 50 ms owned by anything else (VS Code, GC, descheduled, other; 0: none). */
  maxOtherStallMs?: number;
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
  if (/\b(src\/(host|client|engine|worker|protocol)\/|@huggingface\/tokenizers)/.test(all)) return 'circuit-lens';
  if (/extHostTunnelService/.test(all)) return 'vscode-port-scan';
  // node:zlib: the remote connection's deflate (ipc.net.ts), which compresses what goes to the workbench.
  if (/src\/vs\/base\/parts\/ipc\/|extHostWebview\.ts|serializeRequest \(|writeMixedArray \(|\(node:zlib:/.test(all)) return 'vscode-ipc';
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
    const sampled = Object.values(owners).reduce((a, b) => a + b, 0);
    if ((end - start) / 1000 - sampled > 5) owners.unsampled = (end - start) / 1000 - sampled;
    const ranked = (Object.entries(owners) as [StallOwner, number][]).sort((a, b) => b[1] - a[1]);
    for (const [o, ms] of ranked) owners[o] = Math.round(ms * 10) / 10;
    return { atMs: Math.round(g.atMs), ms: Math.round(g.ms * 10) / 10, owner: ranked[0]?.[0] ?? 'unsampled', owners, leaves: top(leaves, 'frame'), stacks: top(stacks, 'stack') };
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
    const worst = (owned: (o: StallOwner) => boolean) => Math.max(0, ...r.stalls!.filter((x) => owned(x.owner)).map((x) => x.ms));
    r.maxOwnStallMs = worst((o) => o === 'circuit-lens');
    r.maxPortScanStallMs = worst((o) => o === 'vscode-port-scan');
    r.maxOtherStallMs = worst((o) => o !== 'circuit-lens' && o !== 'vscode-port-scan');
    r.maxOwnSampledMs = Math.max(0, ...r.stalls.map((x) => x.owners['circuit-lens'] ?? 0));
    r.worstOtherOwner = r.stalls.filter((x) => x.owner !== 'circuit-lens' && x.owner !== 'vscode-port-scan').sort((a, b) => b.ms - a.ms)[0]?.owner;
  }
  return { result, r };
}

/** GPT-2's tokenizer (gpt-3-encoder, a devDependency of the extension): token ids of a text, without BOS. */
type Encode = (text: string) => number[];

/**
 * Loads gpt-3-encoder from the extension's node_modules at run time (it reads its vocabulary next to its
 * own file, so it cannot be bundled into the suite), and drops it from the module cache once `use` is
 * done, so its tables do not stay in the extension host's heap while the cases run.
 */
function withGpt2Encoder<T>(extensionPath: string, use: (encode: Encode) => T): T {
  const req = createRequire(path.join(extensionPath, 'package.json'));
  const file = req.resolve('gpt-3-encoder');
  const dir = path.dirname(file);
  try {
    return use((req(file) as { encode: Encode }).encode);
  } finally {
    for (const k of Object.keys(req.cache)) if (k.startsWith(dir + path.sep)) delete req.cache[k];
  }
}

/** A prompt of exactly `pos` tokens (BOS included) ending in an IOI sentence, and its corrupted twin. */
function prompts(encode: Encode, pos: number): { clean: string; corrupted: string } {
  const filler = ('The old lighthouse keeper walked along the shore every morning, counting the boats that came back from the sea ' +
    'and writing their names into a book that nobody else had ever read.').split(' ');
  const ioi = ' When Mary and John went to the store, John gave a drink to';
  const len = (s: string) => encode(s).length + 1; // + BOS, as the model's runs prepend it
  let words = 1;
  const text = (n: number) => Array.from({ length: n }, (_, i) => filler[i % filler.length]).join(' ');
  while (len(text(words + 1) + ioi) <= pos) words++;
  let head = text(words);
  while (len(head + ioi) < pos) head += ' the'; // one token each: GPT-2 never merges across a space
  const clean = head + ioi;
  const corrupted = clean.replace(/ (Mary|John)\b/g, (_, n: string) => (n === 'Mary' ? ' John' : ' Mary'));
  assert.equal(len(clean), pos, 'the clean prompt has the wanted length');
  assert.equal(len(corrupted), pos, 'the corrupted prompt has the clean one\'s length');
  assert.equal(encode(' Mary').length, 1, '" Mary" is one token');
  assert.equal(encode(' John').length, 1, '" John" is one token');
  return { clean, corrupted };
}

const ms = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(1));

function fmt(r: CaseResult): string {
  const n = (x: number, w: number) => x.toFixed(1).padStart(w);
  const owned = r.stalls ? ` ${ms(r.maxOwnStallMs).padStart(8)} ${ms(r.maxPortScanStallMs).padStart(8)} ${ms(r.maxOtherStallMs).padStart(8)}` : '';
  return `${r.case.padEnd(66)} ${n(r.wallMs, 9)} ${n(r.maxDelayMs, 9)} ${n(r.p99DelayMs, 7)} ${n(r.maxGapMs, 8)} ${r.maxRssMb.toFixed(0).padStart(6)} ${r.maxHeapMb.toFixed(0).padStart(5)}${owned}`;
}

export function addSuite(root: Mocha.Suite): void {
  const suite = Mocha.Suite.create(root, 'Extension host responsiveness on GPT-2-small-shaped weights');
  const results: CaseResult[] = [];
  let config: ResponsivenessConfig;
  let folder: vscode.Uri;
  let api: CircuitLensApi;
  let text: { clean: string; corrupted: string };
  const loadStart = os.loadavg();
  let profileDir: string | undefined;
  const positions = Array.from({ length: SWEEP_POSITIONS }, (_, i) => POS - SWEEP_POSITIONS + i);

  const record = (r: CaseResult) => {
    results.push(r);
    console.log(`  ${fmt(r)}`);
    for (const s of r.stalls ?? []) {
      console.log(`    stall ${s.ms} ms at +${s.atMs} ms, mostly ${s.owner} (${Object.entries(s.owners).map(([o, x]) => `${o} ${x}`).join(', ')}): ${s.leaves.map((l) => `${l.frame} ${l.ms} ms`).join('; ')}`);
      for (const st of s.stacks.slice(0, 3)) console.log(`      ${st.ms} ms  ${st.stack}`);
    }
  };
  const watch = async <T>(name: string, work: () => Promise<T>, tailMs?: number): Promise<T> => {
    const { result, r } = await observe(name, work, { tailMs, profileDir });
    record(r);
    return result;
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
    const ext = vscode.extensions.getExtension<CircuitLensApi>(EXT_ID);
    assert.ok(ext, `${EXT_ID} is not installed`);
    api = await ext.activate();
    text = withGpt2Encoder(ext.extensionPath, (encode) => prompts(encode, POS));
    console.log(`extension host pid ${process.pid}, node ${process.version}, VS Code ${vscode.version}, ${os.cpus().length} cores, load ${loadStart.map((x) => x.toFixed(2)).join(' ')}; worker started before the first case: ${api.workerStarted()}`);
    const owned = profileDir ? ` ${'own ms'.padStart(8)} ${'portscan'.padStart(8)} ${'other ms'.padStart(8)}` : '';
    console.log(`  ${'case'.padEnd(66)} ${'wall ms'.padStart(9)} ${'max ms'.padStart(9)} ${'p99 ms'.padStart(7)} ${'gap ms'.padStart(8)} ${'RSS MB'.padStart(6)} ${'heap'.padStart(5)}${owned}`);
  });

  suite.afterAll(() => {
    if (!config) return;
    const out = {
      when: new Date().toISOString(), vscode: vscode.version, node: process.version, pid: process.pid,
      cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, loadavgStart: loadStart, loadavgEnd: os.loadavg(), model: config.model, profile: !!profileDir,
      note: 'maxDelayMs/p99DelayMs: perf_hooks.monitorEventLoopDelay({resolution: 10}) samples, each a whole timer interval (10 ms when idle), blind to a stall before its first tick; maxGapMs: largest setInterval(5 ms) gap minus 5 ms; '
        + 'maxOwnStallMs / maxPortScanStallMs / maxOtherStallMs (with a profile): the largest gap over 50 ms whose CPU-profile samples are mostly Circuit Lens code / VS Code\'s port scan (extHostTunnelService) / anything else.',
      cases: results,
    };
    fs.mkdirSync(path.dirname(config.out), { recursive: true });
    const tmp = `${config.out}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(out, null, 1) + '\n');
    fs.renameSync(tmp, config.out);
    console.log(`wrote ${config.out}`);
  });

  /** Writes a spec into the workspace (not opened). */
  const writeSpec = async (name: string, spec: object): Promise<vscode.Uri> => {
    const uri = vscode.Uri.joinPath(folder, name);
    await vscode.workspace.fs.writeFile(uri, Buffer.from(JSON.stringify(spec, null, 2) + '\n', 'utf8'));
    return uri;
  };
  const ourDiagnostics = (uri: vscode.Uri) => vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'Circuit Lens');
  /** Writes a spec and opens it in the editor, as a user would before Run Experiment; its check settles first. */
  const openSpec = async (name: string, spec: object): Promise<vscode.Uri> => {
    const uri = await writeSpec(name, spec);
    await vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.One });
    await sleep(1500);
    const errors = ourDiagnostics(uri).filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
    assert.equal(errors.length, 0, `${name} has problems: ${errors.map((d) => d.message).join('; ')}`);
    return uri;
  };
  /** `work`, or an error after `ms` that says what the extension had shown by then (a hang must not eat the suite's time). */
  const within = async <T>(ms: number, what: string, work: Thenable<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void api.keptRuns().then((k) => k, () => undefined).then((k) => reject(new Error(`${what} did not finish within ${ms / 1000} s; panels with payloads: `
          + `${api.panelPayloads().map((p) => `${p.view} (${p.source.kind === 'spec' ? p.source.specName : 'prompt'})`).join(', ') || 'none'}; kept runs: ${k ? `${k.runs}, ${(k.bytes / 2 ** 20).toFixed(0)} MB` : 'unknown'}`)));
      }, ms);
    });
    try {
      return await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
    }
  };
  const runExperiment = (uri: vscode.Uri) => async () => {
    const payloads = await within(COMMAND_TIMEOUT_MS, `Run Experiment on ${path.basename(uri.fsPath)}`, vscode.commands.executeCommand<PanelPayload[] | undefined>('circuitLens.runExperiment', uri));
    assert.ok(payloads, `Run Experiment on ${path.basename(uri.fsPath)} failed (see the Circuit Lens log)`);
    return payloads;
  };
  const promptsOf = () => [
    { name: 'clean', text: text.clean, answer: ' Mary', counterfactual: ' John' },
    { name: 'corrupted', text: text.corrupted },
  ];
  const attentionOf = (payloads: PanelPayload[]) => {
    const att = payloads.find((p): p is AttentionPayload => p.view === 'attention');
    assert.ok(att, 'the attention panel got a payload');
    assert.equal(att.thumbnails.size, Math.min(POS, 64));
    assert.equal(att.thumbnails.data.length, 12 * 12 * att.thumbnails.size ** 2);
    assert.equal(att.tokens.length, POS);
    assert.deepEqual(att.layers, Array.from({ length: 12 }, (_, i) => i));
    assert.ok(att.headMax.every((m) => m > 0 && m <= 1 + 1e-6), 'each head has a max weight in (0, 1]');
    return att;
  };

  suite.addTest(new Mocha.Test('idle baseline before any model is loaded (5 s)', async () => {
    await watch('idle, no model loaded (5 s)', () => sleep(5000));
  }));

  suite.addTest(new Mocha.Test('first model open: Select Model loads GPT-2-small in the worker', async () => {
    const started = api.workerStarted();
    const name = await watch(`first model open: circuitLens.selectModel${started ? '' : ' (starts the worker)'}`, async () =>
      within(COMMAND_TIMEOUT_MS, 'Select Model', vscode.commands.executeCommand<string | undefined>('circuitLens.selectModel', config.model)));
    assert.ok(typeof name === 'string' && name.length > 0, 'Select Model returned the model\'s name (see the Circuit Lens log)');
    assert.equal(api.loadedModel(), config.model);
    assert.ok(api.workerStarted(), 'the worker runs');
    // The background weight scan (model/scan) that a load starts ends in this time too.
    await watch('  after the model open (5 s)', () => sleep(5000));
  }));

  suite.addTest(new Mocha.Test(`first spec open: diagnostics of ${POS}-token prompts from the worker`, async () => {
    // A multi-token lens target: a problem only the tokenizer finds, so the diagnostics are seen to arrive.
    const uri = await writeSpec('check.circuit.json', {
      model: config.model, prompts: promptsOf(),
      analyses: [{ kind: 'attention', name: 'All heads', focus: { layer: 5, head: 1 } }, { kind: 'logitLens', name: 'Lens', target: ' the store', topK: 5 }],
    });
    const diags = await watch(`first spec open: check.circuit.json until its diagnostics (2x${POS} tokens), +3 s`, async () => {
      await vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.One });
      const end = Date.now() + 60_000;
      for (;;) {
        const d = ourDiagnostics(uri);
        if (d.length > 0) return d;
        if (Date.now() > end) throw new Error('no Circuit Lens diagnostics on check.circuit.json within 60 s');
        await sleep(10);
      }
    }, 3000);
    assert.equal(diags.length, 1, `one problem: ${diags.map((d) => d.message).join('; ')}`);
    assert.match(diags[0].message, /target " the store" is 2 tokens/);
  }));

  suite.addTest(new Mocha.Test(`full-cache trace: "cache": ["*"] on 1x${POS} tokens, through Run Experiment`, async () => {
    const uri = await openSpec('full-cache.circuit.json', {
      model: config.model, prompts: promptsOf(), cache: ['*'],
      analyses: [{ kind: 'attention', name: 'All heads', focus: { layer: 5, head: 1 } }],
    });
    const before = await api.keptRuns();
    const payloads = await watch(`full-cache trace 1x${POS} (every hook point) + attention: Run Experiment (creates panel)`, runExperiment(uri));
    attentionOf(payloads);
    const after = await api.keptRuns();
    // At least the MLP activations and the per-head results of every block are in the kept cache.
    const lowerBound = 12 * (2 * POS * 3072 + POS * 12 * 768) * 4;
    console.log(`    kept runs ${before.runs} -> ${after.runs}, ${(before.bytes / 2 ** 20).toFixed(0)} -> ${(after.bytes / 2 ** 20).toFixed(0)} MB`);
    assert.ok(after.bytes - before.bytes >= lowerBound, `the full cache is kept: ${after.bytes - before.bytes} bytes more, at least ${lowerBound} expected`);
    await watch('  webview loads and draws the payload (8 s after)', () => sleep(8000));
  }));

  suite.addTest(new Mocha.Test(`patching sweep: resid_pre, 12 layers x ${SWEEP_POSITIONS} positions, through Run Experiment`, async () => {
    const uri = await openSpec('patching.circuit.json', {
      model: config.model, prompts: promptsOf(),
      analyses: [{ kind: 'patching', name: 'residual stream', prompt: 'clean', corrupted: 'corrupted', target: 'resid_pre', positions }],
    });
    const check = (payloads: PanelPayload[]) => {
      const a = payloads.find((p): p is AnalysisPayload => p.view === 'analysis');
      assert.ok(a, 'the patching panel got a payload');
      assert.equal(a.output.values.length, 12 * SWEEP_POSITIONS);
      assert.deepEqual(a.output.axes.map((x) => x.labels.length), [12, SWEEP_POSITIONS]);
      assert.ok(a.output.values.every(Number.isFinite), 'every patched value is finite');
    };
    check(await watch(`patching sweep resid_pre 12x${SWEEP_POSITIONS}: first (creates panel)`, runExperiment(uri)));
    await watch('  webview loads and draws the payload (5 s after)', () => sleep(5000));
    check(await watch(`patching sweep resid_pre 12x${SWEEP_POSITIONS}: again (panel open), +1 s`, runExperiment(uri), 1000));
  }));

  suite.addTest(new Mocha.Test(`warm Run Experiment: attention and logit lens on a ${POS}-token prompt`, async () => {
    const uri = await openSpec('lens.circuit.json', {
      model: config.model, prompts: promptsOf(),
      analyses: [{ kind: 'attention', name: 'All heads', focus: { layer: 5, head: 1 } }, { kind: 'logitLens', name: 'Lens', topK: 5 }],
    });
    const check = (payloads: PanelPayload[]) => {
      attentionOf(payloads);
      const lens = payloads.find((p): p is LogitLensPayload => p.view === 'logitLens');
      assert.ok(lens, 'the logit-lens panel got a payload');
      assert.equal(lens.labels.length, 25); // resid_pre and resid_mid of 12 layers, and the final resid_post
      assert.equal(lens.topTexts.length, 25 * POS * 5);
      assert.equal(lens.topValues.length, 25 * POS * 5);
      assert.equal(lens.target?.text, ' Mary', 'the lens is coloured by the prompt\'s answer');
    };
    check(await watch('attention+lens: first (creates 2 panels)', runExperiment(uri)));
    // The new webviews load and ask for their data.
    await watch('  webviews load and draw the payloads (8 s after)', () => sleep(8000));
    for (let i = 1; i <= 2; i++) check(await watch(`attention+lens: warm Run Experiment #${i} (panels open), +1 s`, runExperiment(uri), 1000));
    const inline = api.inlineDecorations().get(uri.toString());
    assert.ok(inline && inline > 0, 'the spec editor shows inline activations');
  }));

  suite.addTest(new Mocha.Test('idle baseline with the model loaded (5 s)', async () => {
    const kept = await api.keptRuns();
    console.log(`    kept runs: ${kept.runs}, ${(kept.bytes / 2 ** 20).toFixed(0)} MB in the worker; ${api.panelPayloads().length} panels with payloads`);
    await watch(`idle, model loaded in the worker, ${api.panelPayloads().length} panels open (5 s)`, () => sleep(5000));
  }));
}
