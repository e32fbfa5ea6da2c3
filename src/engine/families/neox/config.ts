/**
 * GPT-NeoX / Pythia config.json (GPTNeoXForCausalLM): hidden_size, num_attention_heads, rotary_pct,
 * rotary_emb_base / rope_theta, use_parallel_residual, attention_bias, untied embed_out by default; transformers
 * v5 writes the rotary fraction and base into rope_parameters (partial_rotary_factor, rope_theta).
 */
import type { ModelConfig } from '../../model-config';
import { ConfigFields } from '../config-fields';
import { partialRotaryFactor, rotaryConfig } from '../rope';

export function parseNeoxConfig(raw: Record<string, unknown>, path: string): ModelConfig {
  const f = new ConfigFields(raw, path);
  const nLayers = f.int('num_hidden_layers', 1024);
  const dModel = f.int('hidden_size', 1 << 16);
  const nHeads = f.int('num_attention_heads', 1024);
  const dHead = f.headSize(dModel, nHeads, 'num_attention_heads', 'hidden_size');
  const dVocab = f.int('vocab_size', 1 << 24);
  // Hugging Face truncates: rotary_ndims = int(head_size * rotary_pct).
  const partial = partialRotaryFactor(f, 0.25, 'rotary_pct');
  const attentionBias = f.bool('attention_bias', true);
  return {
    architecture: 'neox',
    modelType: 'gpt_neox',
    nLayers,
    dModel,
    nHeads,
    nKvHeads: nHeads,
    dHead,
    dMlp: f.int('intermediate_size', 1 << 20, 4 * dModel),
    nCtx: f.int('max_position_embeddings', 1 << 24, 2048),
    dVocab,
    normalization: 'layernorm',
    lnEps: f.positive('layer_norm_eps', 1, 1e-5),
    act: f.activation('hidden_act', 'gelu'),
    positional: 'rotary',
    rotary: rotaryConfig(f, Math.floor(dHead * partial.factor), partial.field),
    parallelAttnMlp: f.bool('use_parallel_residual', true),
    gatedMlp: false,
    scaleAttnWeights: true,
    scaleAttnByInverseLayerIdx: false,
    attnWindows: Array(nLayers).fill(null),
    biases: { qkv: attentionBias, attnOut: attentionBias, mlp: true },
    tieWordEmbeddings: f.bool('tie_word_embeddings', false),
    bosTokenId: f.bosTokenId(dVocab),
  };
}

