/** Hook names derived from a dictionary's place: Gemma Scope repositories, HF module paths, sparsify folders. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { gemmaScopeHooks, hfModuleToHook, hookLayer, sparsifyHooks } from '../../src/engine/sae/hook-names';

test('Gemma Scope 1: repository suffix and layer folder, plain folders and cache entries alike', () => {
  assert.equal(gemmaScopeHooks('/x/google/gemma-scope-2b-pt-res/layer_2/width_16k/average_l0_71')?.hookIn, 'blocks.2.hook_resid_post');
  assert.equal(gemmaScopeHooks('/c/models--google--gemma-scope-9b-it-res/snapshots/abc/layer_20/width_131k/average_l0_81')?.hookIn, 'blocks.20.hook_resid_post');
  assert.equal(gemmaScopeHooks('/x/gemma-scope-2b-pt-mlp/layer_0/width_16k/average_l0_5')?.hookIn, 'blocks.0.hook_mlp_out');
  assert.equal(gemmaScopeHooks('/x/gemma-scope-2b-pt-att/layer_7/width_16k/average_l0_5')?.hookIn, 'blocks.7.attn.hook_z');
  const tc = gemmaScopeHooks('/x/models--google--gemma-scope-2b-pt-transcoders/snapshots/r/layer_3/width_16k/average_l0_54');
  assert.deepEqual([tc?.hookIn, tc?.hookOut], ['blocks.3.ln2.hook_normalized', 'blocks.3.hook_mlp_out']);
  assert.equal(gemmaScopeHooks('/x/gemma-scope-2b-pt-res/embedding/width_4k/average_l0_6'), undefined, 'embedding SAEs need the hook named');
  assert.equal(gemmaScopeHooks('/x/my-saes/layer_2'), undefined);
});

test('Gemma Scope 2: Hugging Face module paths as TransformerLens hooks', () => {
  assert.equal(hfModuleToHook('model.layers.17.output')?.hook, 'blocks.17.hook_resid_post');
  assert.equal(hfModuleToHook('model.language_model.layers.4.output')?.hook, 'blocks.4.hook_resid_post');
  assert.equal(hfModuleToHook('model.layers.17.post_feedforward_layernorm.output')?.hook, 'blocks.17.hook_mlp_out');
  assert.equal(hfModuleToHook('model.layers.17.pre_feedforward_layernorm.output')?.hook, 'blocks.17.ln2.hook_normalized');
  assert.equal(hfModuleToHook('model.layers.17.self_attn.o_proj.input')?.hook, 'blocks.17.attn.hook_z');
  assert.equal(hfModuleToHook('model.layers.1.input')?.hook, 'blocks.1.hook_resid_pre');
  assert.equal(hfModuleToHook('model.layers.{all}.output'), undefined);
  assert.equal(hfModuleToHook('lm_head.output'), undefined);
});

test('sparsify: the folder name is the hookpoint', () => {
  assert.equal(sparsifyHooks('layers.3', false)?.hookIn, 'blocks.3.hook_resid_post');
  assert.equal(sparsifyHooks('layers.3.mlp', false)?.hookIn, 'blocks.3.hook_mlp_out');
  assert.equal(sparsifyHooks('gpt_neox.layers.5.attention', false)?.hookIn, 'blocks.5.hook_attn_out');
  assert.deepEqual([sparsifyHooks('layers.1.mlp', true)?.hookIn, sparsifyHooks('layers.1.mlp', true)?.hookOut], ['blocks.1.ln2.hook_normalized', 'blocks.1.hook_mlp_out']);
  assert.equal(sparsifyHooks('embed_tokens', false)?.hookIn, 'hook_embed');
  assert.equal(sparsifyHooks('layers.3.mlp.act', false), undefined);
  assert.equal(hookLayer('blocks.11.hook_resid_post'), 11);
  assert.equal(hookLayer('hook_embed'), undefined);
});
