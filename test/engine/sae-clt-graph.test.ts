/**
 * Cross-layer transcoders in the graph against the PyTorch reference (sae_reference.py attach with
 * --format circuit-tracer-clt: every layer of the transcoder in the GPT-2 or Llama-style reference model):
 * every model hook, each layer's SAE hooks (acts, the full prediction of every target, error, output) and
 * the logits within 1e-4, observing and spliced, and with a few of layer 0's features zeroed (the error
 * term kept), which moves every target 0..n-1. Also: the graph against the CPU definition
 * (crossLayerReconstruct) on the graph's own inputs (skip terms included), the folder attaching whole, and runs that would start
 * at a later layer (patching, ablation) running from the tokens while the transcoder is spliced.
 */
import { before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openCheckpoint, tokensFromIds } from '../../src/engine/model';
import { openAttachable } from '../../src/engine/sae';
import { crossLayerReconstruct } from '../../src/engine/sae/encode';
import { ablate } from '../../src/engine/analysis/ablation';
import type { TensorData } from '../../src/protocol/tensor';
import { encodeNpy } from '../../src/protocol/npy';
import { LoadedModel } from '../../src/worker/loaded-model';
import { SCAN_WORKER } from '../helpers/engine';
import { makeFamilyCheckpoint } from '../helpers/family-reference';
import { makeRandomCheckpoint, maxAbsDiff, randomTokens, referenceMismatches } from '../helpers/reference';
import { readNpyDir, runReferenceJobs, tmpDir } from '../helpers/sae-reference';
import { f32Tensor } from '../helpers/sae-fixtures';
import { writeSafetensors } from '../helpers/safetensors-writer';

const LAYERS = 3;
const D_SAE = 40;
const shape = { layers: LAYERS, dModel: 48, heads: 4, dMlp: 96, vocab: 256, ctx: 32, dtype: 'F32' as const };
const models = {
  gpt2: makeRandomCheckpoint({ ...shape, seed: 51 }),
  llama: makeFamilyCheckpoint({ ...shape, family: 'llama', seed: 52, extra: ['--kv-heads', '2'] }),
};
const ids = randomTokens(2, 8, shape.vocab, 53);
const tokenArg = ids.map((r) => r.join(',')).join(';');
const root = tmpDir('sae-clt-graph');
const hookIn = (i: number) => `blocks.${i}.ln2.hook_normalized`;
const hookOut = (j: number) => `blocks.${j}.hook_mlp_out`;
/** Layer 0's features zeroed at every position: the three most active over both prompts (chosen from the reference's clean run). */
const ZEROED = 3;

interface Case { name: string; family: keyof typeof models; make: string[]; splice: boolean; intervene?: boolean }
const CASES: Case[] = [
  { name: 'gpt2 jumprelu, observe', family: 'gpt2', make: ['--activation', 'jumprelu'], splice: false },
  { name: 'gpt2 jumprelu, splice', family: 'gpt2', make: ['--activation', 'jumprelu'], splice: true },
  { name: 'llama topk, observe', family: 'llama', make: ['--activation', 'topk', '--k', '6'], splice: false },
  { name: 'llama relu, splice', family: 'llama', make: [], splice: true },
  { name: 'gpt2 jumprelu, observe, layer 0 features zeroed', family: 'gpt2', make: ['--activation', 'jumprelu'], splice: false, intervene: true },
  { name: 'llama relu, splice, layer 0 features zeroed', family: 'llama', make: [], splice: true, intervene: true },
];

const folder = (i: number) => path.join(root, `clt${i}`);
const refOut = (i: number, edited = false) => path.join(root, `ref${i}${edited ? '-edited' : ''}`);
const keepFile = (i: number) => path.join(root, `keep${i}.npy`);
const zeroFile = path.join(root, 'zero.npy');
const keeps = new Map<number, TensorData>();

const attachJob = (c: Case, i: number, edited: boolean) => ['attach', '--family', c.family, '--model', models[c.family], '--tokens', tokenArg, '--format', 'circuit-tracer-clt',
  '--dir', folder(i), '--hook', hookIn(0), ...(c.splice ? ['--splice'] : []), '--out', refOut(i, edited),
  ...(edited ? ['--intervene', `${hookIn(0)}.hook_sae_acts_post`, keepFile(i), zeroFile] : [])];

/** keep [d_sae]: 0 on the `ZEROED` features of layer 0 with the largest total activation, 1 elsewhere. */
function zeroMostActive(acts: TensorData): TensorData {
  const total = new Float64Array(D_SAE);
  acts.data.forEach((v, e) => (total[e % D_SAE] += Math.abs(v)));
  const top = Array.from(total.keys()).sort((a, b) => total[b] - total[a]).slice(0, ZEROED);
  assert.ok(top.every((f) => total[f] > 0), 'the zeroed features are active');
  const keep = new Float32Array(D_SAE).fill(1);
  for (const f of top) keep[f] = 0;
  return { dims: [D_SAE], data: keep };
}

before(() => {
  runReferenceJobs(CASES.flatMap((c, i) => [
    ['make-random', '--format', 'circuit-tracer-clt', ...c.make, '--layers', String(LAYERS), '--d-in', '48', '--d-sae', String(D_SAE), '--out', folder(i), '--seed', String(60 + i)],
    attachJob(c, i, false),
  ]));
  fs.writeFileSync(zeroFile, encodeNpy({ dims: [1], data: new Float32Array([0]) }));
  const edited = CASES.flatMap((c, i) => {
    if (!c.intervene) return [];
    const keep = zeroMostActive(readNpyDir(refOut(i)).get(`${hookIn(0)}.hook_sae_acts_post`)!);
    keeps.set(i, keep);
    fs.writeFileSync(keepFile(i), encodeNpy(keep));
    return [attachJob(c, i, true)];
  });
  runReferenceJobs(edited);
});

async function openWith(c: Case, i: number): Promise<LoadedModel> {
  const ckpt = openCheckpoint(models[c.family]);
  const saes = openAttachable(folder(i), { modelHooks: ckpt.hooks }).map((dict) => ({ dict, mode: c.splice ? 'splice' as const : 'observe' as const }));
  assert.equal(saes.length, LAYERS, 'the folder attaches every layer');
  return LoadedModel.open(ckpt, { session: { threads: 1 }, scanWorkerPath: SCAN_WORKER, saes });
}

/** Every hook and the logits the reference wrote, against the graph's; returns the names over 1e-4. */
async function compare(m: LoadedModel, ref: Map<string, TensorData>, interventions: { hook: string; keep: TensorData; add: TensorData }[] = []): Promise<[string, number][]> {
  return referenceMismatches(ref, await m.trace(ids.map((r) => tokensFromIds(m.ckpt, r)), { hooks: m.hooks.filter((h) => ref.has(h.name)), interventions }));
}

describe('cross-layer transcoder hooks and spliced logits match the reference', () => {
  for (const [i, c] of CASES.entries()) {
    test(c.name, async () => {
      const m = await openWith(c, i);
      try {
        const ref = readNpyDir(refOut(i));
        for (let j = 0; j < LAYERS; j++) {
          for (const h of ['acts_post', 'recons']) assert.ok(ref.has(`${hookIn(j)}.hook_sae_${h}`), `the reference has layer ${j}'s ${h}`);
          assert.ok(ref.has(`${hookIn(j)}.hook_sae_error`) && ref.has(hookOut(j)));
        }
        if (!c.intervene) {
          assert.deepEqual(await compare(m, ref), []);
          return;
        }
        const edited = readNpyDir(refOut(i, true));
        const zero = { dims: [1], data: new Float32Array([0]) };
        assert.deepEqual(await compare(m, edited, [{ hook: `${hookIn(0)}.hook_sae_acts_post`, keep: keeps.get(i)!, add: zero }]), []);
        // Zeroing layer 0's features moves the prediction of every target it writes to, and (through the error term) what the model continues with.
        for (let j = 0; j < LAYERS; j++) {
          const moved = (s: string) => maxAbsDiff(edited.get(`${hookIn(j)}.hook_sae_${s}`)!.data, ref.get(`${hookIn(j)}.hook_sae_${s}`)!.data);
          assert.ok(moved('recons') > 1e-3, `target ${j}'s prediction moves`);
          assert.ok(moved('output') > 1e-3, `target ${j}'s output moves`);
        }
        assert.ok(maxAbsDiff(edited.get('logits')!.data, ref.get('logits')!.data) > 1e-3, 'the logits move');
      } finally {
        await m.dispose();
      }
    });
  }
});

describe('cross-layer transcoder in the graph against the CPU definition', () => {
  /** A CLT with a skip term per layer (W_skip_i [d_out, d_in] beside W_enc_i), written here: the reference's layout has none. */
  function skipFolder(): string {
    const dir = path.join(root, 'clt-skip');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.yaml'), 'model_kind: cross_layer_transcoder\nfeature_input_hook: ln2.hook_normalized\nfeature_output_hook: hook_mlp_out\n');
    const d = shape.dModel;
    for (let i = 0; i < LAYERS; i++) {
      writeSafetensors(path.join(dir, `W_enc_${i}.safetensors`), {
        [`W_enc_${i}`]: f32Tensor([D_SAE, d], (j) => 0.3 * Math.sin(1.7 * j + i)), [`b_enc_${i}`]: f32Tensor([D_SAE], (j) => 0.1 * Math.cos(j + i)),
        [`b_dec_${i}`]: f32Tensor([d], (j) => 0.05 * Math.sin(j - i)), [`W_skip_${i}`]: f32Tensor([d, d], (j) => 0.02 * Math.cos(3.1 * j + i)),
      });
      writeSafetensors(path.join(dir, `W_dec_${i}.safetensors`), { [`W_dec_${i}`]: f32Tensor([D_SAE, LAYERS - i, d], (j) => 0.15 * Math.sin(0.7 * j + 2 * i)) });
    }
    return dir;
  }

  for (const [what, dir] of [['jumprelu', () => folder(0)], ['with skip terms', skipFolder]] as const) {
    test(`each target's hook_sae_recons is crossLayerReconstruct on the graph's own inputs; error and observed output follow (${what})`, async () => {
      const ckpt = openCheckpoint(models.gpt2);
      const saes = openAttachable(dir(), { modelHooks: ckpt.hooks }).map((dict) => ({ dict, mode: 'observe' as const }));
      const m = await LoadedModel.open(ckpt, { session: { threads: 1 }, scanWorkerPath: SCAN_WORKER, saes });
      try {
        const trace = await m.trace(ids.map((r) => tokensFromIds(m.ckpt, r)), { hooks: m.hooks });
        const n = ids.length * ids[0].length;
        const inputs = Array.from({ length: LAYERS }, (_, i) => trace.cache.get(`${hookIn(i)}.hook_sae_input`).data);
        const cpu = crossLayerReconstruct(m.saes.map((s) => s.dict), inputs, n);
        cpu.forEach((want, j) => {
          const get = (s: string) => trace.cache.get(`${hookIn(j)}.hook_sae_${s}`);
          const target = trace.cache.get(hookOut(j));
          assert.deepEqual(get('recons').dims, target.dims);
          assert.ok(maxAbsDiff(get('recons').data, want) <= 1e-4, `target ${j}`);
          assert.ok(maxAbsDiff(get('error').data, target.data.map((v, e) => v - want[e])) <= 1e-4, `error ${j}`);
          assert.equal(maxAbsDiff(get('output').data, target.data), 0, 'observe: the output is the hook value');
        });
        if (what === 'with skip terms') assert.ok(m.saes.every((s) => s.dict.skip), 'the skip terms are read');
        for (let i = 0; i < LAYERS; i++) assert.ok(trace.cache.get(`${hookIn(i)}.hook_sae_acts_post`).data.some((v) => v !== 0), `layer ${i} has active features`);
      } finally {
        await m.dispose();
      }
    });
  }

  test('a run reading one layer\'s hooks computes every layer (its prediction needs all earlier sources)', async () => {
    const m = await openWith(CASES[0], 0);
    try {
      const batch = ids.map((r) => tokensFromIds(m.ckpt, r));
      const name = `${hookIn(2)}.hook_sae_recons`;
      const alone = await m.trace(batch, { hooks: m.hooks.filter((h) => h.name === name) });
      const all = await m.trace(batch, { hooks: m.hooks });
      assert.equal(maxAbsDiff(alone.cache.get(name).data, all.cache.get(name).data), 0);
    } finally {
      await m.dispose();
    }
  });

  test('a run starting at a later layer (patching, ablation) runs from the tokens while a spliced transcoder\'s earlier layers feed it', async () => {
    const m = await openWith(CASES[1], 1); // spliced
    try {
      const batch = ids.map((r) => tokensFromIds(m.ckpt, r));
      const start = 'blocks.2.hook_resid_pre';
      const full = await m.trace(batch, { hooks: m.hooks.filter((h) => h.name === start) });
      const later = await m.trace(batch, { startAt: { layer: 2, resid: full.cache.get(start) } });
      assert.ok(maxAbsDiff(later.logits.data, full.logits.data) <= 1e-5);
      const plain = await m.trace(batch, { saeSplice: [] });
      assert.ok(maxAbsDiff(plain.logits.data, full.logits.data) > 1e-3, 'the splice moves the logits');
      const r = await ablate(m, batch[0], { unit: 'layers', kind: 'zero', metric: { kind: 'logitDiff', answer: 3, counterfactual: 9 }, layers: [1, 2] });
      const last = (ids[0].length - 1) * shape.vocab;
      assert.ok(Math.abs(r.baseline - (full.logits.data[last + 3] - full.logits.data[last + 9])) <= 1e-4, 'the ablation\'s baseline is the spliced run\'s');
      assert.ok(r.change.every(Number.isFinite));
    } finally {
      await m.dispose();
    }
  });
});
