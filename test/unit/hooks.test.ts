import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseConfig } from '../../src/engine/config';
import { hookPoints, selectHooks } from '../../src/engine/hooks';
import { EngineError } from '../../src/engine/errors';

const gpt2Small = parseConfig({ model_type: 'gpt2', n_layer: 12, n_embd: 768, n_head: 12, n_positions: 1024, vocab_size: 50257 }, 'config.json');

test('GPT-2 small has 17 hook points per block, 4 outside, and hook_result per block', () => {
  const hooks = hookPoints(gpt2Small);
  assert.equal(hooks.length, 17 * 12 + 4 + 12);
  assert.equal(hooks.filter((h) => !h.needsAttnResult).length, 208);
  const byName = new Map(hooks.map((h) => [h.name, h]));
  assert.deepEqual(byName.get('blocks.3.attn.hook_pattern')!.shape, ['batch', 12, 'pos', 'pos']);
  assert.deepEqual(byName.get('blocks.3.attn.hook_z')!.shape, ['batch', 'pos', 12, 64]);
  assert.deepEqual(byName.get('blocks.3.mlp.hook_post')!.shape, ['batch', 'pos', 3072]);
  assert.deepEqual(byName.get('blocks.3.attn.hook_result')!.shape, ['batch', 'pos', 12, 768]);
  assert.equal(byName.get('blocks.4.hook_resid_pre')!.output, 'blocks.3.hook_resid_post');
});

test('globs select in forward order; several globs with commas', () => {
  const hooks = hookPoints(gpt2Small);
  assert.deepEqual(selectHooks(hooks, 'blocks.1?.attn.hook_pattern').map((h) => h.name), ['blocks.10.attn.hook_pattern', 'blocks.11.attn.hook_pattern']);
  assert.deepEqual(selectHooks(hooks, 'ln_final.*, hook_embed').map((h) => h.name), ['hook_embed', 'ln_final.hook_scale', 'ln_final.hook_normalized']);
});

test('EXPECTED FAILURE - a glob matching nothing names the closest hook', () => {
  assert.throws(() => selectHooks(hookPoints(gpt2Small), 'blocks.0.attn.hook_attn_score'), (e: unknown) =>
    e instanceof EngineError && e.code === 'UNKNOWN_HOOK' && /Closest: blocks\.0\.attn\.hook_attn_scores/.test(e.message));
});

test('EXPECTED FAILURE - impossible configs name the field', () => {
  const bad = (over: Record<string, unknown>, field: RegExp) => assert.throws(
    () => parseConfig({ model_type: 'gpt2', n_layer: 2, n_embd: 64, n_head: 4, n_positions: 32, vocab_size: 100, ...over }, 'config.json'),
    (e: unknown) => e instanceof EngineError && field.test(e.message));
  bad({ n_layer: 0 }, /n_layer: must be a positive integer/);
  bad({ n_head: 5 }, /n_head: n_embd 64 is not divisible by n_head 5/);
  bad({ layer_norm_epsilon: -1 }, /layer_norm_epsilon/);
  bad({ activation_function: 'mish' }, /activation_function: "mish" is not supported/);
  bad({ model_type: 'mamba' }, /model_type: architecture "mamba" is not supported yet. Supported model_type values: gpt2, gpt_neox/);
});
