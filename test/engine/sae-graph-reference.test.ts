/**
 * Dictionaries in the graph against the PyTorch reference running the GPT-2 and Llama-style reference
 * models with the same dictionary at the same hook (sae_reference.py attach, SAELens' HookedSAETransformer
 * semantics): every model hook, every SAE hook and the logits within 1e-4, observing and spliced, for
 * several formats, architectures and hooks (an SAE on hook_z, a transcoder, an npz held in memory).
 */
import { before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { openCheckpoint, tokensFromIds } from '../../src/engine/model';
import { openDictionary } from '../../src/engine/sae';
import { LoadedModel } from '../../src/worker/loaded-model';
import { SCAN_WORKER } from '../helpers/engine';
import { makeFamilyCheckpoint } from '../helpers/family-reference';
import { makeRandomCheckpoint, maxAbsDiff, randomTokens } from '../helpers/reference';
import { readNpyDir, runReferenceJobs, tmpDir } from '../helpers/sae-reference';

const shape = { layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 256, ctx: 32, dtype: 'F32' as const };
const models = {
  gpt2: makeRandomCheckpoint({ ...shape, seed: 21 }),
  llama: makeFamilyCheckpoint({ ...shape, family: 'llama', seed: 22, extra: ['--kv-heads', '2'] }),
};
const ids = randomTokens(2, 8, shape.vocab, 23);
const root = tmpDir('sae-graph-ref');

interface Case {
  name: string;
  family: keyof typeof models;
  make: string[];
  format: string;
  hook: string;
  hookOut?: string;
  sub?: string;
  splice: boolean;
}

const CASES: Case[] = [
  { name: 'gpt2 saelens topk at resid_post, observe', family: 'gpt2', make: ['--architecture', 'topk', '--k', '6'], format: 'saelens', hook: 'blocks.0.hook_resid_post', splice: false },
  { name: 'gpt2 saelens topk at resid_post, splice', family: 'gpt2', make: ['--architecture', 'topk', '--k', '6'], format: 'saelens', hook: 'blocks.0.hook_resid_post', splice: true },
  { name: 'gpt2 saelens jumprelu on hook_z, splice', family: 'gpt2', make: ['--architecture', 'jumprelu', '--hook', 'blocks.1.attn.hook_z'], format: 'saelens', hook: 'blocks.1.attn.hook_z', splice: true },
  { name: 'gpt2 saelens gated layer_norm at resid_pre, splice', family: 'gpt2', make: ['--architecture', 'gated', '--normalize', 'layer_norm'], format: 'saelens', hook: 'blocks.1.hook_resid_pre', splice: true },
  { name: 'gpt2 saelens transcoder ln2 -> mlp_out, splice', family: 'gpt2', make: ['--architecture', 'transcoder', '--hook', 'blocks.0.ln2.hook_normalized', '--hook-out', 'blocks.0.hook_mlp_out'], format: 'saelens', hook: 'blocks.0.ln2.hook_normalized', hookOut: 'blocks.0.hook_mlp_out', splice: true },
  { name: 'llama gemma-scope npz at resid_post, splice', family: 'llama', make: [], format: 'gemma-scope', hook: 'blocks.0.hook_resid_post', sub: 'gemma-scope-2b-pt-res/layer_0/width_16k/average_l0_71', splice: true },
  { name: 'llama llama-scope dataset-wise at resid_mid, splice', family: 'llama', make: ['--apply-b-dec', '0'], format: 'llama-scope', hook: 'blocks.1.hook_resid_mid', splice: true },
  { name: 'llama sparsify topk at mlp_out, splice', family: 'llama', make: ['--k', '5'], format: 'sparsify', hook: 'blocks.1.hook_mlp_out', sub: 'layers.1.mlp', splice: true },
  { name: 'llama saelens standard constant_norm_rescale on hook_z, observe', family: 'llama', make: ['--normalize', 'constant_norm_rescale', '--hook', 'blocks.0.attn.hook_z'], format: 'saelens', hook: 'blocks.0.attn.hook_z', splice: false },
];

const folder = (i: number) => path.join(root, `sae${i}`, CASES[i].sub ?? '');
const refOut = (i: number) => path.join(root, `ref${i}`);

before(() => {
  runReferenceJobs(CASES.flatMap((c, i) => [
    ['make-random', '--format', c.format, ...c.make, '--d-in', '48', '--d-sae', '40', '--out', folder(i), '--seed', String(30 + i)],
    ['attach', '--family', c.family, '--model', models[c.family], '--tokens', ids.map((r) => r.join(',')).join(';'), '--format', c.format, '--dir', folder(i), '--hook', c.hook,
      ...(c.hookOut ? ['--hook-out', c.hookOut] : []), ...(c.hook.endsWith('hook_z') ? ['--flatten'] : []), ...(c.splice ? ['--splice'] : []), '--out', refOut(i)],
  ]));
});

describe('SAE hooks and spliced logits match the reference', () => {
  for (const [i, c] of CASES.entries()) {
    test(c.name, async () => {
      const dict = openDictionary(folder(i), { hook: c.hook });
      const m = await LoadedModel.open(openCheckpoint(models[c.family]), { session: { threads: 1 }, scanWorkerPath: SCAN_WORKER, saes: [{ dict, mode: c.splice ? 'splice' : 'observe' }] });
      try {
        const ref = readNpyDir(refOut(i));
        const trace = await m.trace(ids.map((r) => tokensFromIds(m.ckpt, r)), { hooks: m.hooks.filter((h) => ref.has(h.name)) });
        const bad: [string, number][] = [];
        for (const [name, want] of ref) {
          const mine = name === 'logits' ? trace.logits : trace.cache.has(name) ? trace.cache.get(name) : undefined;
          const d = mine && mine.dims.join() === want.dims.join() ? maxAbsDiff(mine.data, want.data) : Infinity;
          if (!(d <= 1e-4)) bad.push([name, d]);
        }
        assert.deepEqual(bad, []);
        assert.ok(trace.cache.has(`${c.hook}.hook_sae_acts_post`) && ref.has(`${c.hook}.hook_sae_acts_post`));
      } finally {
        await m.dispose();
      }
    });
  }
});
