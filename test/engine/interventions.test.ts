/**
 * Interventions (x' = x * keep + add at hook points) against the PyTorch reference doing the same with
 * its hooks: head ablation on hook_z, position patching of the residual stream (an alias hook),
 * steering on hook_resid_post, per-head result ablation, and a per-batch-row mask; every hook point and
 * the logits within 1e-4.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { openModel } from '../helpers/engine';
import { tokensFromIds } from '../../src/engine/model';
import { EngineError } from '../../src/engine/errors';
import type { Intervention } from '../../src/protocol/runner';
import { makeRandomCheckpoint, maxAbsDiff, randomTokens, referenceActivations } from '../helpers/reference';

const spec = { layers: 3, dModel: 48, heads: 4, dMlp: 96, vocab: 256, ctx: 32, dtype: 'F32' as const, seed: 41 };
const dir = makeRandomCheckpoint(spec);
const ids = randomTokens(2, 9, spec.vocab, 42);
const full = (dims: number[], f: (i: number) => number) => {
  const n = dims.reduce((a, b) => a * b, 1);
  return { dims, data: Float32Array.from({ length: n }, (_, i) => f(i)) };
};

const interventions: Intervention[] = [
  // Zero-ablate head 2 of layer 0: keep [1, 1, head, 1] is 0 on head 2.
  { hook: 'blocks.0.attn.hook_z', keep: full([1, 1, 4, 1], (i) => (i === 2 ? 0 : 1)), add: full([1], () => 0) },
  // Patch position 3 of block 1's input (an alias of block 0's resid_post) with a fixed vector, per batch row.
  { hook: 'blocks.1.hook_resid_pre', keep: full([2, 9, 1], (i) => (i % 9 === 3 ? 0 : 1)), add: full([2, 9, 48], (i) => (Math.floor(i / 48) % 9 === 3 ? Math.sin(i) : 0)) },
  // Steering: add a vector everywhere after block 1.
  { hook: 'blocks.1.hook_resid_post', keep: full([1], () => 1), add: full([48], (i) => 0.3 * Math.cos(i)) },
  // Ablate head 1's per-head result in layer 2 (attn_out becomes the sum of the others).
  { hook: 'blocks.2.attn.hook_result', keep: full([1, 1, 4, 1], (i) => (i === 1 ? 0 : 1)), add: full([1], () => 0) },
];

test('interventions match the reference on every hook point and the logits', async () => {
  const ref = referenceActivations(dir, ids, interventions);
  const plain = referenceActivations(dir, ids);
  const engine = await openModel(dir);
  try {
    const trace = await engine.trace(ids.map((r) => tokensFromIds(engine.ckpt, r)), { hooks: engine.ckpt.hooks, interventions });
    const bad: [string, number][] = [];
    for (const name of ['logits', ...trace.cache.names()]) {
      const mine = name === 'logits' ? trace.logits : trace.cache.get(name);
      const d = maxAbsDiff(mine.data, ref.get(name)!.data);
      if (!(d <= 1e-4)) bad.push([name, d]);
    }
    assert.deepEqual(bad, []);
    // The interventions changed the run: the logits moved, and the ablated head's z is zero.
    assert.ok(maxAbsDiff(trace.logits.data, plain.get('logits')!.data) > 0.1);
    const z = trace.cache.get('blocks.0.attn.hook_z').data; // [batch, pos, head, d_head]
    assert.ok(z.every((v, i) => Math.floor(i / 12) % 4 !== 2 || v === 0));
    // resid_post of block 0 is cached before the patch of block 1's input, as in TransformerLens: the two
    // differ at the patched position only.
    const post0 = trace.cache.get('blocks.0.hook_resid_post').data; // [batch, pos, d_model]
    const pre1 = trace.cache.get('blocks.1.hook_resid_pre').data;
    post0.forEach((v, i) => assert.equal(v === pre1[i], Math.floor(i / 48) % 9 !== 3, `element ${i}`));
  } finally {
    await engine.dispose();
  }
});

test('EXPECTED FAILURE - an intervention on a LayerNorm scale is refused with a clear error', async () => {
  const engine = await openModel(dir);
  try {
    const iv = { hook: 'blocks.0.ln1.hook_scale', keep: full([1], () => 1), add: full([1], () => 0) };
    await assert.rejects(engine.trace([tokensFromIds(engine.ckpt, [1, 2])], { interventions: [iv] }), (e: unknown) => e instanceof EngineError && /hook_normalized instead/.test(e.message));
  } finally {
    await engine.dispose();
  }
});

test('a run started at layer L from the residual stream matches the reference from L on', async () => {
  const ref = referenceActivations(dir, ids);
  const engine = await openModel(dir);
  try {
    for (const layer of [0, 2]) {
      const resid = ref.get(`blocks.${layer}.hook_resid_pre`)!;
      const later = engine.ckpt.hooks.filter((h) => h.name.startsWith('blocks.') && Number(h.name.split('.')[1]) >= layer);
      const t = await engine.trace(ids.map((r) => tokensFromIds(engine.ckpt, r)), { hooks: later, startAt: { layer, resid } });
      for (const name of ['logits', ...t.cache.names()]) {
        const mine = name === 'logits' ? t.logits : t.cache.get(name);
        assert.ok(maxAbsDiff(mine.data, ref.get(name)!.data) <= 1e-4, `start ${layer}: ${name}`);
      }
      if (layer > 0) {
        await assert.rejects(engine.trace([tokensFromIds(engine.ckpt, ids[0])], { hooks: engine.ckpt.hooks.slice(0, 1), startAt: { layer, resid: { dims: [1, 9, 48], data: resid.data.slice(0, 9 * 48) } } }),
          (e: unknown) => e instanceof EngineError && /before layer 2/.test(e.message));
      }
    }
  } finally {
    await engine.dispose();
  }
});
