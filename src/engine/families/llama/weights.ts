/**
 * Llama-style parameters under Hugging Face names (`model.` prefix): separate q/k/v/o projections
 * (torch.nn.Linear, k and v with num_key_value_heads), gate/up/down MLP, RMSNorm weights, lm_head.
 */
import type { ModelConfig } from '../../model-config';
import type { WeightIndex } from '../../checkpoint';
import type { BlockParams, ModelParams } from '../../params';
import { TensorLookup } from '../tensor-lookup';

/** Which RMSNorm each block's ln1 and ln2 are (OLMo 2 has post norms under other names). */
export interface LlamaNormNames {
  ln1: string;
  ln2: string;
}

const LLAMA_NORMS: LlamaNormNames = { ln1: 'input_layernorm', ln2: 'post_attention_layernorm' };

/** Where the base model's tensors and the LM head are (Gemma 3's multimodal checkpoints nest the text model). */
export interface LlamaTensorPlace {
  prefix: string;
  lmHead: string;
}

const LLAMA_PLACE: LlamaTensorPlace = { prefix: 'model.', lmHead: 'lm_head.weight' };

export function findLlamaWeights(c: ModelConfig, index: WeightIndex, configPath: string, norms: LlamaNormNames = LLAMA_NORMS, place: LlamaTensorPlace = LLAMA_PLACE): ModelParams {
  const { dModel: d, dMlp: m, dVocab: v } = c;
  const q = c.nHeads * c.dHead;
  const kv = c.nKvHeads * c.dHead;
  const t = new TensorLookup(index, configPath, place.prefix, `${c.modelType} checkpoint`);
  const norm = (name: string) => ({ w: t.need(name + '.weight', [d]) });
  const blocks: BlockParams[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `layers.${l}.`;
    blocks.push({
      ln1: norm(p + norms.ln1),
      qkv: {
        kind: 'separate',
        q: t.linear(p + 'self_attn.q_proj', d, q, c.biases.qkv),
        k: t.linear(p + 'self_attn.k_proj', d, kv, c.biases.qkv),
        v: t.linear(p + 'self_attn.v_proj', d, kv, c.biases.qkv),
      },
      out: t.linear(p + 'self_attn.o_proj', q, d, c.biases.attnOut),
      ln2: norm(p + norms.ln2),
      mlpGate: t.linear(p + 'mlp.gate_proj', d, m, c.biases.mlp),
      mlpIn: t.linear(p + 'mlp.up_proj', d, m, c.biases.mlp),
      mlpOut: t.linear(p + 'mlp.down_proj', m, d, c.biases.mlp),
    });
  }
  t.checkNoExtraBlock((l) => `layers.${l}.${norms.ln1}.weight`, c.nLayers, 'num_hidden_layers');
  const embed = t.need('embed_tokens.weight', [v, d]);
  return { embed, blocks, finalNorm: norm('norm'), ...t.unembed(place.lmHead, embed, c.tieWordEmbeddings, v, d) };
}
