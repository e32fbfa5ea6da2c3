/**
 * `circuit-lens bench --atp`: attribution patching on GPT-2-small-shaped random weights, 1 x --pos tokens
 * (default 64), one thread. AtP over resid_pre, attn_out, mlp_out and heads_pos from one source forward
 * and one receiving forward + backward, against one plain forward and against the exact activation
 * patching sweep of the same four targets, all measured in this run. Memory: the peak RSS growth of a
 * fresh process running AtP over that of a fresh process running one forward with every hook cached
 * (each measured in its own child process, after the model is loaded).
 */
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { tokensFromIds } from '../engine/model';
import type { Token } from '../engine/tokenizer';
import { attributionPatchingTargets } from '../engine/analysis/attribution-patching';
import { activationPatching, type PatchTarget } from '../engine/analysis/patching';
import { parse } from '../cli/args';
import { writeFileAtomic } from '../cli/atomic';
import { openBenchModel } from './open-model';
import { medianMs } from './timing';
import { benchSetup, randomModel } from './setup';

const USAGE = 'circuit-lens bench --atp [--threads N] [--repeats N] [--pos N] [--json FILE] [--python PATH] [--sweep full|layer0|none]';
const ROOT = path.join(__dirname, '..');
const TARGETS: PatchTarget[] = ['resid_pre', 'attn_out', 'mlp_out', 'heads_pos'];
const METRIC = { kind: 'logitDiff' as const, answer: 1, counterfactual: 2 };
const CHILD = '--atp-memory-child';

/** The clean prompt and its corruption (one token changed, 4 before the end), as the patching bench has. */
function prompts(ckpt: Parameters<typeof tokensFromIds>[0], pos: number, vocab: number): [Token[], Token[]] {
  const ids = Array.from({ length: pos }, (_, i) => (i * 7919) % vocab);
  const corrupted = ids.map((id, i) => (i === pos - 4 ? (id + 1) % vocab : id));
  return [tokensFromIds(ckpt, ids), tokensFromIds(ckpt, corrupted)];
}

/** forward: one run caching every hook; backward: AtP's receiving run alone (forward + backward); atp: all of AtP. */
type MemoryMode = 'forward' | 'backward' | 'atp';

interface MemoryReport {
  /** RSS once the model is loaded, and the process's peak RSS after the measured work, in bytes. */
  loadedBytes: number;
  peakBytes: number;
}

/** In a child process: load the model, then run one forward with every hook cached, or AtP; report memory. */
async function memoryChild(modelDir: string, mode: MemoryMode, threads: number, pos: number): Promise<MemoryReport> {
  const engine = await openBenchModel(modelDir, { threads, prepack: true });
  const [clean, corrupted] = prompts(engine.ckpt, pos, engine.ckpt.config.dVocab);
  const loadedBytes = process.memoryUsage().rss;
  const unitHooks = engine.ckpt.hooks.filter((h) => /\.(hook_resid_pre|hook_attn_out|hook_mlp_out|attn\.hook_z)$/.test(h.name));
  if (mode === 'forward') await engine.trace([clean], { hooks: engine.ckpt.hooks.filter((h) => !h.needsAttnResult) });
  else if (mode === 'backward') await engine.trace([corrupted], { hooks: unitHooks, logits: 'last', grad: { metric: METRIC, hooks: unitHooks } });
  else await attributionPatchingTargets(engine, clean, corrupted, TARGETS, { metric: METRIC });
  const peakBytes = process.resourceUsage().maxRSS * 1024;
  await engine.dispose();
  return { loadedBytes, peakBytes };
}

function runChild(modelDir: string, mode: MemoryMode, threads: number, pos: number): Promise<MemoryReport> {
  return new Promise((resolve, reject) => {
    const child = fork(process.argv[1], ['--atp', CHILD, mode, modelDir, String(threads), String(pos)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m) => resolve(m as MemoryReport));
    child.once('error', reject);
    child.once('exit', (code) => code !== 0 && reject(new Error(`the ${mode} memory child exited with ${code}`)));
  });
}

export async function benchAtp(argv: string[]): Promise<void> {
  const at = argv.indexOf(CHILD);
  if (at >= 0) {
    const [mode, dir, threads, pos] = argv.slice(at + 1);
    process.send!(await memoryChild(dir, mode as MemoryMode, Number(threads), Number(pos)));
    return;
  }
  const { values } = parse(argv, { threads: { type: 'string' }, repeats: { type: 'string' }, pos: { type: 'string' }, json: { type: 'string' }, python: { type: 'string' }, sweep: { type: 'string' } }, USAGE);
  const sweep = values.sweep ?? 'full';
  if (!['full', 'layer0', 'none'].includes(sweep)) throw new Error(`--sweep is full, layer0 or none, got ${sweep}. ${USAGE}`);
  const setup = benchSetup({ ...values, pos: values.pos ?? '64' }, path.join(ROOT, 'test', 'reference', 'gpt2_reference.py'), 5, 1024);
  const { threads, repeats, pos } = setup;
  const modelDir = randomModel(setup, 'gpt2-small-random', 'GPT-2-small-shaped', ['--layers', '12', '--d-model', '768', '--heads', '12', '--d-mlp', '3072', '--vocab', '50257', '--ctx', '1024']);

  const engine = await openBenchModel(modelDir, { threads, prepack: true });
  const [clean, corrupted] = prompts(engine.ckpt, pos, engine.ckpt.config.dVocab);
  let forwardMs: number;
  let cachedForwardMs: number;
  let atpMs: number;
  const sweepMs: Record<string, number> = {};
  try {
    forwardMs = await medianMs(repeats, () => engine.trace([clean], { logits: 'last' }));
    cachedForwardMs = await medianMs(repeats, () => engine.trace([clean], { hooks: engine.ckpt.hooks.filter((h) => !h.needsAttnResult) }));
    atpMs = await medianMs(repeats, () => attributionPatchingTargets(engine, clean, corrupted, TARGETS, { metric: METRIC }));
    // layer0: only layer 0's units are patched (the costliest: its runs go through all L blocks) and the
    // sweep's time is extrapolated: layer l's runs go through L - l blocks, so all layers cost
    // sum_l (L - l) / L = (L + 1) / 2 times layer 0's.
    const L = engine.ckpt.config.nLayers;
    if (sweep !== 'none') {
      for (const target of TARGETS) {
        console.log(`exact activation patching sweep of ${target}${sweep === 'layer0' ? ' (layer 0)' : ''} ...`);
        const t0 = performance.now();
        await activationPatching(engine, clean, corrupted, { target, metric: METRIC, ...(sweep === 'layer0' ? { layers: [0] } : {}) });
        sweepMs[target] = (performance.now() - t0) * (sweep === 'layer0' ? (L + 1) / 2 : 1);
      }
    }
  } finally {
    await engine.dispose();
  }
  const forwardMem = await runChild(modelDir, 'forward', threads, pos);
  const backwardMem = await runChild(modelDir, 'backward', threads, pos);
  const atpMem = await runChild(modelDir, 'atp', threads, pos);
  const growth = (m: MemoryReport) => Math.max(0, m.peakBytes - m.loadedBytes);
  const sweepTotal = Object.values(sweepMs).reduce((a, b) => a + b, 0);
  const mb = (b: number) => (b / 2 ** 20).toFixed(0);
  const result = {
    shape: 'GPT-2-small-shaped, 12 layers x 12 heads, d_model 768', pos, threads, repeats, targets: TARGETS,
    forwardMs, cachedForwardMs, atpMs, atpOverForward: atpMs / forwardMs, atpOverCachedForward: atpMs / cachedForwardMs,
    sweep, sweepMs, sweepTotalMs: sweepTotal, sweepOverAtp: sweepTotal ? sweepTotal / atpMs : undefined,
    memory: {
      forwardFullCache: forwardMem, backward: backwardMem, atp: atpMem,
      forwardGrowthBytes: growth(forwardMem), backwardGrowthBytes: growth(backwardMem), atpGrowthBytes: growth(atpMem),
      atpOverForward: growth(atpMem) / growth(forwardMem), backwardOverForward: growth(backwardMem) / growth(forwardMem),
    },
  };
  console.log(`\nAtP over ${TARGETS.join(', ')} on 1x${pos} tokens, ${threads} thread(s), medians of ${repeats}:`);
  console.log(`  one forward (last logits)           ${forwardMs.toFixed(1)} ms`);
  console.log(`  one forward, every hook cached      ${cachedForwardMs.toFixed(1)} ms`);
  console.log(`  AtP (2 forwards + 1 backward)       ${atpMs.toFixed(1)} ms = ${result.atpOverForward.toFixed(2)}x one forward (target <= 4x), ${result.atpOverCachedForward.toFixed(2)}x the cached forward`);
  if (sweepTotal) {
    if (sweep === 'layer0') console.log('  (sweep times extrapolated from layer 0 x (L + 1) / 2: each later layer runs fewer blocks)');
    console.log(`  exact patching sweeps               ${TARGETS.map((t) => `${t} ${(sweepMs[t] / 1000).toFixed(1)} s`).join(', ')}; total ${(sweepTotal / 1000).toFixed(1)} s`);
    console.log(`  AtP is ${result.sweepOverAtp!.toFixed(0)}x faster than the sweeps (target >= 50x)`);
  }
  console.log(`  memory (peak RSS growth after load): forward with full cache ${mb(growth(forwardMem))} MB, AtP ${mb(growth(atpMem))} MB = ${result.memory.atpOverForward.toFixed(2)}x (target <= 2x)`);
  console.log(`  the receiving run alone (forward + backward at ${TARGETS.length} targets' hooks): ${mb(growth(backwardMem))} MB = ${result.memory.backwardOverForward.toFixed(2)}x the full-cache forward`);
  console.log(`    (loaded RSS ${mb(forwardMem.loadedBytes)} / ${mb(atpMem.loadedBytes)} MB, peak ${mb(forwardMem.peakBytes)} / ${mb(atpMem.peakBytes)} MB)`);
  if (values.json) {
    writeFileAtomic(values.json, JSON.stringify(result, null, 1) + '\n');
    console.log(`wrote ${values.json}`);
  }
}
