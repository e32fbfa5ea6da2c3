/**
 * Phi-3 parameters under Hugging Face names (`model.` prefix): the Llama-style tensors, except that each
 * layer's q, k and v projections are one `self_attn.qkv_proj.weight` [(n_heads + 2 n_kv_heads) d_head, d_model]
 * (q rows, then k, then v) and the gate and up projections one `mlp.gate_up_proj.weight` [2 d_mlp, d_model]
 * (gate rows, then up). Each part is a row range of the fused tensor, so the graph sees separate projections.
 */
import type { ModelConfig } from '../../model-config';
import type { WeightIndex } from '../../checkpoint';
import type { BlockParams, Linear, ModelParams, WeightRef } from '../../params';
import { TensorLookup, rowRange } from '../tensor-lookup';

export function findPhi3Weights(c: ModelConfig, index: WeightIndex, configPath: string): ModelParams {
  const { dModel: d, dMlp: m, dVocab: v } = c;
  const q = c.nHeads * c.dHead;
  const kv = c.nKvHeads * c.dHead;
  const t = new TensorLookup(index, configPath, 'model.', 'Phi-3 checkpoint');
  const norm = (name: string) => ({ w: t.need(name + '.weight', [d]) });
  const part = (w: WeightRef, name: string, start: number, rows: number): Linear => ({ w: rowRange(w, name, start, rows), layout: 'out-in' });
  const blocks: BlockParams[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `layers.${l}.`;
    const qkv = t.need(p + 'self_attn.qkv_proj.weight', [q + 2 * kv, d]); // [q | k | v, d_model]
    const gateUp = t.need(p + 'mlp.gate_up_proj.weight', [2 * m, d]); // [gate | up, d_model]
    blocks.push({
      ln1: norm(p + 'input_layernorm'),
      qkv: { kind: 'separate', q: part(qkv, 'q', 0, q), k: part(qkv, 'k', q, kv), v: part(qkv, 'v', q + kv, kv) },
      out: t.linear(p + 'self_attn.o_proj', q, d, false),
      ln2: norm(p + 'post_attention_layernorm'),
      mlpGate: part(gateUp, 'gate', 0, m),
      mlpIn: part(gateUp, 'up', m, m),
      mlpOut: t.linear(p + 'mlp.down_proj', m, d, false),
    });
  }
  t.checkNoExtraBlock((l) => `layers.${l}.input_layernorm.weight`, c.nLayers, 'num_hidden_layers');
  const embed = t.need('embed_tokens.weight', [v, d]);
  return { embed, blocks, finalNorm: norm('norm'), ...t.unembed('lm_head.weight', embed, c.tieWordEmbeddings, v, d) };
}
