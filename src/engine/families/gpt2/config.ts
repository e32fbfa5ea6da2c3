/** GPT-2 config.json (GPT2LMHeadModel): n_layer, n_embd, n_head, n_positions, layer_norm_epsilon, ... */
import type { ModelConfig } from '../../model-config';
import { ConfigFields } from '../config-fields';

export function parseGpt2Config(raw: Record<string, unknown>, path: string): ModelConfig {
  const f = new ConfigFields(raw, path);
  const nLayers = f.int('n_layer', 1024);
  const dModel = f.int('n_embd', 1 << 16);
  const nHeads = f.int('n_head', 1024);
  const dHead = f.headSize(dModel, nHeads, 'n_head', 'n_embd');
  const dVocab = f.int('vocab_size', 1 << 24);
  return {
    architecture: 'gpt2',
    modelType: 'gpt2',
    nLayers,
    dModel,
    nHeads,
    nKvHeads: nHeads,
    dHead,
    dMlp: raw.n_inner == null ? 4 * dModel : f.int('n_inner', 1 << 20),
    nCtx: f.int('n_positions', 1 << 20),
    dVocab,
    normalization: 'layernorm',
    lnEps: f.positive('layer_norm_epsilon', 1, 1e-5),
    act: f.activation('activation_function', 'gelu_new'),
    positional: 'learned',
    rotary: null,
    parallelAttnMlp: false,
    gatedMlp: false,
    scaleAttnWeights: f.bool('scale_attn_weights', true),
    scaleAttnByInverseLayerIdx: f.bool('scale_attn_by_inverse_layer_idx', false),
    attnWindows: Array(nLayers).fill(null),
    biases: { qkv: true, attnOut: true, mlp: true },
    tieWordEmbeddings: f.bool('tie_word_embeddings', true),
    bosTokenId: f.bosTokenId(dVocab),
  };
}
