/**
 * Llama-style config.json (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM): RMSNorm, rotary
 * embeddings over the whole head (rope_theta, rope_scaling), SwiGLU MLP, grouped-query attention
 * (num_key_value_heads), optional head_dim; Qwen2's q/k/v biases; Mistral's, Qwen2's and Qwen3's sliding window.
 * Qwen3 (families/qwen3) and OLMo 2 (families/olmo2) read their configs through this one.
 */
import type { ModelConfig } from '../../model-config';
import { fail } from '../../errors';
import { ConfigFields } from '../config-fields';
import { rotaryConfig } from '../rope';

/**
 * Per-layer attention windows: Mistral's sliding_window on every layer (MistralConfig ignores layer_types); Qwen2's
 * and Qwen3's on the layers `layer_types` marks sliding_attention, or (without layer_types) from max_window_layers on.
 */
function windows(f: ConfigFields, nLayers: number): (number | null)[] {
  const none = Array<number | null>(nLayers).fill(null);
  const type = f.raw.model_type;
  const qwen = type === 'qwen2' || type === 'qwen3';
  // Hugging Face defaults: Mistral slides over 4096 positions unless sliding_window is null; Qwen2 and Qwen3 only with use_sliding_window.
  const enabled = type === 'mistral' ? f.raw.sliding_window !== null : qwen ? f.bool('use_sliding_window', false) && f.raw.sliding_window !== null : false;
  if (!enabled) return none;
  const w = f.int('sliding_window', 1 << 24, 4096);
  const types = qwen ? f.raw.layer_types : undefined;
  if (types != null) {
    if (!Array.isArray(types)) fail('BAD_CONFIG', { file: f.path, field: 'layer_types' }, `must be a list, got ${JSON.stringify(types)}.`);
    if (types.length !== nLayers) fail('BAD_CONFIG', { file: f.path, field: 'layer_types' }, `has ${types.length} entries for ${nLayers} layers.`);
    const bad = types.find((t) => t !== 'full_attention' && t !== 'sliding_attention');
    if (bad !== undefined) fail('BAD_CONFIG', { file: f.path, field: 'layer_types' }, `layer type ${JSON.stringify(bad)} is neither "full_attention" nor "sliding_attention".`);
    return types.map((t) => (t === 'sliding_attention' ? w : null));
  }
  const first = qwen ? f.int('max_window_layers', 1 << 20, 28) : 0;
  return none.map((_, l) => (l >= first ? w : null));
}

/** The Llama-style sizes: layers, hidden size, query and key/value heads, head_dim (explicit or hidden / heads), vocabulary. */
export function llamaDims(f: ConfigFields): Pick<ModelConfig, 'nLayers' | 'dModel' | 'nHeads' | 'nKvHeads' | 'dHead' | 'dVocab'> {
  const nLayers = f.int('num_hidden_layers', 1024);
  const dModel = f.int('hidden_size', 1 << 16);
  const nHeads = f.int('num_attention_heads', 1024);
  const nKvHeads = f.int('num_key_value_heads', 1024, nHeads);
  if (nHeads % nKvHeads !== 0) fail('BAD_CONFIG', { file: f.path, field: 'num_key_value_heads' }, `${nKvHeads} does not divide num_attention_heads ${nHeads}.`);
  const dHead = f.raw.head_dim == null ? f.headSize(dModel, nHeads, 'num_attention_heads', 'hidden_size') : f.int('head_dim', 1 << 16);
  return { nLayers, dModel, nHeads, nKvHeads, dHead, dVocab: f.int('vocab_size', 1 << 24) };
}

export function parseLlamaConfig(raw: Record<string, unknown>, path: string): ModelConfig {
  const f = new ConfigFields(raw, path);
  const type = raw.model_type as string;
  const { nLayers, dModel, nHeads, nKvHeads, dHead, dVocab } = llamaDims(f);
  // Llama, Qwen3 and OLMo 2: attention_bias puts biases on q, k, v and o (Qwen2 always has q/k/v biases and no o bias).
  const attentionBias = (type === 'llama' || type === 'qwen3' || type === 'olmo2') && f.bool('attention_bias', false);
  return {
    architecture: 'llama',
    modelType: type,
    nLayers,
    dModel,
    nHeads,
    nKvHeads,
    dHead,
    dMlp: f.int('intermediate_size', 1 << 20),
    nCtx: f.int('max_position_embeddings', 1 << 24, 2048),
    dVocab,
    normalization: 'rmsnorm',
    lnEps: f.positive('rms_norm_eps', 1, 1e-6),
    act: f.activation('hidden_act', 'silu'),
    positional: 'rotary',
    rotary: rotaryConfig(f, dHead, raw.head_dim == null ? 'num_attention_heads' : 'head_dim'),
    parallelAttnMlp: false,
    gatedMlp: true,
    scaleAttnWeights: true,
    scaleAttnByInverseLayerIdx: false,
    attnWindows: windows(f, nLayers),
    biases: { qkv: type === 'qwen2' || attentionBias, attnOut: attentionBias, mlp: type === 'llama' && f.bool('mlp_bias', false) },
    tieWordEmbeddings: f.bool('tie_word_embeddings', false),
    bosTokenId: f.bosTokenId(dVocab),
  };
}
