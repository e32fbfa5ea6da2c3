/**
 * `circuit-lens bench --sae`: the GPT-2-small-shaped random model, 1 x --pos tokens, with four TopK SAEs
 * of width 24,576 (random, written once by test/reference/sae_reference.py into .bench/) on four residual
 * hooks: the plain trace's time against the trace caching every feature activation (observing and
 * spliced) and against the dense encoders' GEMMs alone, and the peak memory (PSS, child-memory.ts) of a
 * process running the three traces against the model's and the SAEs' weight bytes.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tokensFromIds } from '../engine/model';
import { openCheckpoint, type Checkpoint } from '../engine/model';
import { readTensor } from '../engine/weight-reader';
import { openDictionary } from '../engine/sae';
import type { AttachedSae } from '../engine/sae/attach';
import { LoadedModel } from '../worker/loaded-model';
import { parse } from '../cli/args';
import { writeFileAtomic } from '../cli/atomic';
import { childMeasured, measureChild } from './child-memory';
import { interleavedMedians } from './timing';
import { benchSetup, randomModel } from './setup';

const CHILD = '--sae-memory-child';
const USAGE = 'circuit-lens bench --sae [--threads N] [--repeats N] [--pos N] [--json FILE] [--python PATH]';
const ROOT = path.join(__dirname, '..');
const D_SAE = 24576;
const HOOKS = [2, 5, 8, 11].map((l) => `blocks.${l}.hook_resid_post`);

const bytesOf = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
const mb = (b: number) => b / 2 ** 20;

/** In a child process: open the model with the SAEs attached, then (measured) the plain trace and the observing or spliced one. */
async function memoryChild(modelDir: string, splice: boolean, saeDirs: string[], threads: number, pos: number): Promise<void> {
  const ckpt = openCheckpoint(modelDir);
  const model = await LoadedModel.open(ckpt, { session: { threads }, saes: attached(ckpt, saeDirs) });
  const batch = [tokensFromIds(ckpt, ids(pos))];
  const features = model.hooks.filter((h) => h.name.endsWith('.hook_sae_acts_post'));
  await childMeasured(async () => {
    await model.trace(batch, { logits: 'last' });
    await model.trace(batch, { hooks: features, logits: 'last', ...(splice ? { saeSplice: HOOKS } : {}) });
    return 0;
  });
  await model.dispose();
}

const attached = (ckpt: Checkpoint, dirs: string[]): AttachedSae[] => dirs.map((dir) => ({ dict: openDictionary(dir, { modelHooks: ckpt.hooks }), mode: 'observe' }));
const ids = (pos: number) => Array.from({ length: pos }, (_, i) => (i * 7919) % 50257);

/**
 * The dense encoders alone, x [pos, d_in] · W_enc [d_in, d_sae] for each SAE, through the same backend
 * (the tracer's contraction session): the part of the features trace no implementation can skip.
 */
function encoderFloor(model: LoadedModel, saes: AttachedSae[], pos: number): () => Promise<void> {
  const x = { dims: [pos, 768], data: Float32Array.from({ length: pos * 768 }, (_, i) => Math.sin(i)) }; // [pos, d_in]
  const wT = saes.map(({ dict: d }) => {
    const w = readTensor(d.source, d.encoder.w);
    if (d.encoder.layout === 'out-in') return { dims: [d.dSae, d.dIn], data: w };
    const t = new Float32Array(w.length); // [d_sae, d_in]
    for (let i = 0; i < d.dIn; i++) for (let f = 0; f < d.dSae; f++) t[f * d.dIn + i] = w[i * d.dSae + f];
    return { dims: [d.dSae, d.dIn], data: t };
  });
  return async () => {
    for (const w of wT) await model.contract(x, w);
  };
}

export async function benchSae(argv: string[]): Promise<void> {
  const at = argv.indexOf(CHILD);
  if (at >= 0) {
    const [mode, modelDir, threads, pos, ...saeDirs] = argv.slice(at + 1);
    return memoryChild(modelDir, mode === 'splice', saeDirs, Number(threads), Number(pos));
  }
  const { values } = parse(argv, { threads: { type: 'string' }, repeats: { type: 'string' }, pos: { type: 'string' }, json: { type: 'string' }, python: { type: 'string' } }, USAGE);
  const setup = benchSetup(values, path.join(ROOT, 'test', 'reference', 'gpt2_reference.py'), 5, 1024);
  const modelDir = randomModel(setup, 'gpt2-small-random', 'GPT-2-small-shaped', ['--layers', '12', '--d-model', '768', '--heads', '12', '--d-mlp', '3072', '--vocab', '50257', '--ctx', '1024']);
  const saeDirs = HOOKS.map((hook, i) => {
    const dir = path.resolve('.bench', `sae-topk-${D_SAE}-${hook}`);
    if (!fs.existsSync(path.join(dir, 'cfg.json'))) {
      console.log(`writing a random TopK SAE to ${dir} ...`);
      execFileSync(setup.python, [path.join(ROOT, 'test', 'reference', 'sae_reference.py'), 'make-random', '--format', 'saelens', '--architecture', 'topk', '--k', '32',
        '--d-in', '768', '--d-sae', String(D_SAE), '--hook', hook, '--out', dir, '--seed', String(i)], { env: setup.env, stdio: 'inherit' });
    }
    return dir;
  });
  const ckpt = openCheckpoint(modelDir);
  const saes = attached(ckpt, saeDirs);
  const batch = [tokensFromIds(ckpt, ids(setup.pos))];
  const session = { threads: setup.threads };

  const plain = await LoadedModel.open(ckpt, { session });
  const withSaes = await LoadedModel.open(ckpt, { session, saes });
  const features = withSaes.hooks.filter((h) => h.name.endsWith('.hook_sae_acts_post'));
  const floor = await encoderFloor(plain, saes, setup.pos);
  const [plainMs, attachedPlainMs, observeMs, spliceMs, floorMs] = await interleavedMedians(setup.repeats, [
    () => plain.trace(batch, { logits: 'last' }),
    () => withSaes.trace(batch, { logits: 'last' }),
    () => withSaes.trace(batch, { hooks: features, logits: 'last' }),
    () => withSaes.trace(batch, { hooks: features, logits: 'last', saeSplice: HOOKS }),
    floor,
  ]);
  await withSaes.dispose();
  await plain.dispose();
  const child = (mode: 'observe' | 'splice') => measureChild<number>(['--sae', CHILD, mode, modelDir, String(setup.threads), String(setup.pos), ...saeDirs]);
  const memory = await child('observe');
  const spliceMemory = await child('splice');

  const weightBytes = bytesOf(modelDir) + saeDirs.reduce((a, d) => a + bytesOf(d), 0);
  const report = {
    threads: setup.threads, pos: setup.pos, dSae: D_SAE, hooks: HOOKS,
    plainMs, observeMs, spliceMs, attachedPlainMs, encoderFloorMs: floorMs, observeRatio: observeMs / plainMs, spliceRatio: spliceMs / plainMs, floorRatio: (plainMs + floorMs) / plainMs,
    memory, spliceMemory, weightMB: mb(weightBytes), peakPssMB: mb(memory.peak.pss), memoryRatio: memory.peak.pss / weightBytes, spliceMemoryRatio: spliceMemory.peak.pss / weightBytes,
  };
  console.log(`GPT-2-small-shaped, 1x${setup.pos} tokens, ${setup.threads} thread(s), 4 TopK SAEs of width ${D_SAE} on ${HOOKS.join(', ')}, weights in place, medians of ${setup.repeats} interleaved rounds`);
  console.log(`plain trace              ${plainMs.toFixed(1)} ms`);
  console.log(`SAEs attached, no hooks  ${attachedPlainMs.toFixed(1)} ms`);
  console.log(`observe, features cached ${observeMs.toFixed(1)} ms  (${report.observeRatio.toFixed(2)}x; target 1.3x)`);
  console.log(`splice, features cached  ${spliceMs.toFixed(1)} ms  (${report.spliceRatio.toFixed(2)}x)`);
  console.log(`the 4 dense encoder GEMMs alone ${floorMs.toFixed(1)} ms: plain + encoders = ${report.floorRatio.toFixed(2)}x, the floor of any exact fp32 features trace on this backend`);
  console.log(`peak memory (PSS, sampled from outside a child running the plain trace, then the features trace) ${report.peakPssMB.toFixed(0)} MB against ${report.weightMB.toFixed(0)} MB of model + SAE weights (${report.memoryRatio.toFixed(2)}x; target 1.3x)`);
  console.log(`  (of the peak: ${mb(memory.peak.pssFile).toFixed(0)} MB weight file pages, ${mb(memory.peak.pssAnon).toFixed(0)} MB anonymous; at load ${mb(memory.loaded.pss).toFixed(0)} MB)`);
  console.log(`  spliced instead of observing: ${mb(spliceMemory.peak.pss).toFixed(0)} MB (${report.spliceMemoryRatio.toFixed(2)}x)`);
  if (values.json) writeFileAtomic(values.json, JSON.stringify(report, null, 1) + '\n');
}
