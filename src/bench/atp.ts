/**
 * `circuit-lens bench --atp`: attribution patching on GPT-2-small-shaped random weights, 1 x --pos tokens
 * (default 64), one thread. AtP over resid_pre, attn_out, mlp_out and heads_pos from one source forward
 * and one receiving forward + backward, against one plain forward and against the exact activation
 * patching sweep of the same four targets, all measured in this run, with the weights used in place (the
 * default) and prepacked. Memory (child-memory.ts): the peak growth of anonymous memory after load of a
 * fresh process running AtP's receiving forward + backward, against the bytes of one forward's full cache
 * and against a fresh process running that full-cache forward; weights used in place are file pages,
 * prepacked ones are anonymous memory made when a graph variant's session is created.
 */
import * as path from 'node:path';
import { tokensFromIds } from '../engine/model';
import type { Token } from '../engine/tokenizer';
import { attributionPatchingTargets } from '../engine/analysis/attribution-patching';
import { activationPatching, type PatchTarget } from '../engine/analysis/patching';
import { parse } from '../cli/args';
import { writeFileAtomic } from '../cli/atomic';
import type { LoadedModel } from '../worker/loaded-model';
import { childMeasured, measureChild, type ChildMemory } from './child-memory';
import { openBenchModel } from './open-model';
import { interleavedMedians } from './timing';
import { benchSetup, randomModel } from './setup';

const USAGE = 'circuit-lens bench --atp [--threads N] [--repeats N] [--pos N] [--json FILE] [--python PATH] [--sweep full|layer0|none]';
const ROOT = path.join(__dirname, '..');
const TARGETS: PatchTarget[] = ['resid_pre', 'attn_out', 'mlp_out', 'heads_pos'];
const METRIC = { kind: 'logitDiff' as const, answer: 1, counterfactual: 2 };
const CHILD = '--atp-memory-child';
type Weights = 'in-place' | 'prepacked';
const WEIGHTS: Weights[] = ['in-place', 'prepacked'];

/** The clean prompt and its corruption (one token changed, 4 before the end), as the patching bench has. */
function prompts(ckpt: Parameters<typeof tokensFromIds>[0], pos: number, vocab: number): [Token[], Token[]] {
  const ids = Array.from({ length: pos }, (_, i) => (i * 7919) % vocab);
  const corrupted = ids.map((id, i) => (i === pos - 4 ? (id + 1) % vocab : id));
  return [tokensFromIds(ckpt, ids), tokensFromIds(ckpt, corrupted)];
}

/** forward: one run caching every hook; backward: AtP's receiving run alone (forward + backward); atp: all of AtP. */
type MemoryMode = 'forward' | 'backward' | 'atp';

/** In a child process: load the model, then (measured) run one forward with every hook cached, AtP's receiving run, or AtP. */
async function memoryChild(modelDir: string, mode: MemoryMode, threads: number, pos: number, prepack: boolean): Promise<void> {
  const engine = await openBenchModel(modelDir, { threads, prepack });
  const [clean, corrupted] = prompts(engine.ckpt, pos, engine.ckpt.config.dVocab);
  const unitHooks = engine.ckpt.hooks.filter((h) => /\.(hook_resid_pre|hook_attn_out|hook_mlp_out|attn\.hook_z)$/.test(h.name));
  await childMeasured(async () => {
    if (mode === 'forward') {
      const t = await engine.trace([clean], { hooks: engine.ckpt.hooks.filter((h) => !h.needsAttnResult) });
      return t.cache.byteSize() + t.logits.data.byteLength;
    }
    if (mode === 'backward') await engine.trace([corrupted], { hooks: unitHooks, logits: 'last', grad: { metric: METRIC, hooks: unitHooks } });
    else await attributionPatchingTargets(engine, clean, corrupted, TARGETS, { metric: METRIC });
    return 0;
  });
  await engine.dispose();
}

const runChild = (modelDir: string, mode: MemoryMode, threads: number, pos: number, prepack: boolean) =>
  measureChild<number>(['--atp', CHILD, mode, modelDir, String(threads), String(pos), prepack ? 'prepack' : 'in-place']);

export async function benchAtp(argv: string[]): Promise<void> {
  const at = argv.indexOf(CHILD);
  if (at >= 0) {
    const [mode, dir, threads, pos, weights] = argv.slice(at + 1);
    await memoryChild(dir, mode as MemoryMode, Number(threads), Number(pos), weights === 'prepack');
    return;
  }
  const { values } = parse(argv, { threads: { type: 'string' }, repeats: { type: 'string' }, pos: { type: 'string' }, json: { type: 'string' }, python: { type: 'string' }, sweep: { type: 'string' } }, USAGE);
  const sweep = values.sweep ?? 'full';
  if (!['full', 'layer0', 'none'].includes(sweep)) throw new Error(`--sweep is full, layer0 or none, got ${sweep}. ${USAGE}`);
  const setup = benchSetup({ ...values, pos: values.pos ?? '64' }, path.join(ROOT, 'test', 'reference', 'gpt2_reference.py'), 5, 1024);
  const { threads, repeats, pos } = setup;
  const modelDir = randomModel(setup, 'gpt2-small-random', 'GPT-2-small-shaped', ['--layers', '12', '--d-model', '768', '--heads', '12', '--d-mlp', '3072', '--vocab', '50257', '--ctx', '1024']);

  const sweepMs: Record<string, number> = {};
  const timings: Record<Weights, WeightsTiming> = { 'in-place': await timeAtp(modelDir, threads, repeats, pos, false), prepacked: await timeAtp(modelDir, threads, repeats, pos, true, async (engine, clean, corrupted) => {
    // layer0: only layer 0's units are patched (the costliest: its runs go through all L blocks) and the
    // sweep's time is extrapolated: layer l's runs go through L - l blocks, so all layers cost
    // sum_l (L - l) / L = (L + 1) / 2 times layer 0's.
    const L = engine.ckpt.config.nLayers;
    if (sweep === 'none') return;
    for (const target of TARGETS) {
      console.log(`exact activation patching sweep of ${target}${sweep === 'layer0' ? ' (layer 0)' : ''} ...`);
      const t0 = performance.now();
      await activationPatching(engine, clean, corrupted, { target, metric: METRIC, ...(sweep === 'layer0' ? { layers: [0] } : {}) });
      sweepMs[target] = (performance.now() - t0) * (sweep === 'layer0' ? (L + 1) / 2 : 1);
    }
  }) };
  const memory = {} as Record<Weights, Record<MemoryMode, ChildMemory<number>>>;
  for (const weights of WEIGHTS) {
    const prepack = weights === 'prepacked';
    memory[weights] = { forward: await runChild(modelDir, 'forward', threads, pos, prepack), backward: await runChild(modelDir, 'backward', threads, pos, prepack), atp: await runChild(modelDir, 'atp', threads, pos, prepack) };
  }
  const fullCacheBytes = memory['in-place'].forward.result;
  const anonGrowth = (m: ChildMemory<number>) => Math.max(0, m.peak.pssAnon - m.loaded.pssAnon);
  const sweepTotal = Object.values(sweepMs).reduce((a, b) => a + b, 0);
  const mb = (b: number) => (b / 2 ** 20).toFixed(0);
  const memoryFigures = (weights: Weights) => {
    const m = memory[weights];
    return {
      ...m, fullCacheBytes, forwardAnonGrowthBytes: anonGrowth(m.forward), backwardAnonGrowthBytes: anonGrowth(m.backward), atpAnonGrowthBytes: anonGrowth(m.atp),
      backwardOverFullCache: anonGrowth(m.backward) / fullCacheBytes, backwardOverForward: anonGrowth(m.backward) / anonGrowth(m.forward), atpOverForward: anonGrowth(m.atp) / anonGrowth(m.forward),
    };
  };
  const result = {
    shape: 'GPT-2-small-shaped, 12 layers x 12 heads, d_model 768', pos, threads, repeats, targets: TARGETS, timings,
    sweep, sweepMs, sweepTotalMs: sweepTotal, sweepOverAtp: sweepTotal ? sweepTotal / timings.prepacked.atpMs : undefined,
    memory: { 'in-place': memoryFigures('in-place'), prepacked: memoryFigures('prepacked') },
  };
  console.log(`\nAtP over ${TARGETS.join(', ')} on 1x${pos} tokens, ${threads} thread(s), medians of ${repeats} interleaved rounds:`);
  for (const weights of WEIGHTS) {
    const t = timings[weights];
    console.log(`  weights ${weights}${weights === 'in-place' ? ' (the default)' : ''}:`);
    console.log(`    one forward (last logits)           ${t.forwardMs.toFixed(1)} ms`);
    console.log(`    one forward, every hook cached      ${t.cachedForwardMs.toFixed(1)} ms`);
    console.log(`    AtP (2 forwards + 1 backward)       ${t.atpMs.toFixed(1)} ms = ${(t.atpMs / t.forwardMs).toFixed(2)}x one forward (target <= 4x), ${(t.atpMs / t.cachedForwardMs).toFixed(2)}x the cached forward`);
  }
  if (sweepTotal) {
    if (sweep === 'layer0') console.log('  (sweep times extrapolated from layer 0 x (L + 1) / 2: each later layer runs fewer blocks)');
    console.log(`  exact patching sweeps (prepacked)   ${TARGETS.map((t) => `${t} ${(sweepMs[t] / 1000).toFixed(1)} s`).join(', ')}; total ${(sweepTotal / 1000).toFixed(1)} s`);
    console.log(`  AtP is ${result.sweepOverAtp!.toFixed(0)}x faster than the sweeps (target >= 50x)`);
  }
  console.log(`  memory: peak anonymous PSS growth after load, sampled from outside each child; the full cache of one forward is ${mb(fullCacheBytes)} MB`);
  for (const weights of WEIGHTS) {
    const m = result.memory[weights];
    console.log(`    ${weights}: forward with full cache ${mb(m.forwardAnonGrowthBytes)} MB; receiving forward + backward ${mb(m.backwardAnonGrowthBytes)} MB = ${m.backwardOverForward.toFixed(2)}x the full-cache forward's (target <= 2x; ${m.backwardOverFullCache.toFixed(2)}x the full cache's bytes); all of AtP ${mb(m.atpAnonGrowthBytes)} MB = ${m.atpOverForward.toFixed(2)}x`);
    if (weights === 'prepacked') console.log('      (prepacked: the gradient graph\'s session packs its own copy of the weights when it is made; the extension uses them in place)');
    console.log(`      (loaded PSS ${mb(m.atp.loaded.pss)} MB, of it anonymous ${mb(m.atp.loaded.pssAnon)} MB; AtP's peak PSS ${mb(m.atp.peak.pss)} MB, file pages ${mb(m.atp.peak.pssFile)} MB)`);
  }
  if (values.json) {
    writeFileAtomic(values.json, JSON.stringify(result, null, 1) + '\n');
    console.log(`wrote ${values.json}`);
  }
}

interface WeightsTiming {
  forwardMs: number;
  cachedForwardMs: number;
  atpMs: number;
}

/** One forward, the full-cache forward and AtP, timed on a model opened with its weights in place or prepacked; `more` runs on the same model. */
async function timeAtp(modelDir: string, threads: number, repeats: number, pos: number, prepack: boolean, more?: (engine: LoadedModel, clean: Token[], corrupted: Token[]) => Promise<void>): Promise<WeightsTiming> {
  const engine = await openBenchModel(modelDir, { threads, prepack });
  try {
    const [clean, corrupted] = prompts(engine.ckpt, pos, engine.ckpt.config.dVocab);
    const [forwardMs, cachedForwardMs, atpMs] = await interleavedMedians(repeats, [
      () => engine.trace([clean], { logits: 'last' }),
      () => engine.trace([clean], { hooks: engine.ckpt.hooks.filter((h) => !h.needsAttnResult) }),
      () => attributionPatchingTargets(engine, clean, corrupted, TARGETS, { metric: METRIC }),
    ]);
    await more?.(engine, clean, corrupted);
    return { forwardMs, cachedForwardMs, atpMs };
  } finally {
    await engine.dispose();
  }
}
