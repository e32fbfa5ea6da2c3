/**
 * GPT-Neo config.json (GPTNeoForCausalLM): hidden_size, num_layers, num_heads, attention_types (expanded
 * to one 'global' or 'local' per layer), window_size for the local layers; no attention scaling.
 */
import type { ModelConfig } from '../../model-config';
import { fail } from '../../errors';
import { ConfigFields } from '../config-fields';

/** attention_layers, or attention_types ([[["global", "local"], 12]]) expanded as Hugging Face does. */
function attentionLayers(f: ConfigFields, nLayers: number): string[] {
  let layers: unknown[] = [];
  if (Array.isArray(f.raw.attention_layers)) {
    layers = f.raw.attention_layers;
  } else if (Array.isArray(f.raw.attention_types)) {
    for (const item of f.raw.attention_types) {
      if (!Array.isArray(item) || !Array.isArray(item[0]) || typeof item[1] !== 'number') {
        fail('BAD_CONFIG', { file: f.path, field: 'attention_types' }, `entries must look like [["global", "local"], 12], got ${JSON.stringify(item)}.`);
      }
      for (let i = 0; i < item[1]; i++) layers.push(...item[0]);
    }
  } else {
    layers = Array(nLayers).fill('global');
  }
  if (layers.length !== nLayers) fail('BAD_CONFIG', { file: f.path, field: 'attention_types' }, `describes ${layers.length} layers but num_layers is ${nLayers}.`);
  for (const t of layers) if (t !== 'global' && t !== 'local') fail('BAD_CONFIG', { file: f.path, field: 'attention_types' }, `layer type ${JSON.stringify(t)} is neither "global" nor "local".`);
  return layers as string[];
}

export function parseGptNeoConfig(raw: Record<string, unknown>, path: string): ModelConfig {
  const f = new ConfigFields(raw, path);
  const nLayers = f.int('num_layers', 1024);
  const dModel = f.int('hidden_size', 1 << 16);
  const nHeads = f.int('num_heads', 1024);
  const dHead = f.headSize(dModel, nHeads, 'num_heads', 'hidden_size');
  const dVocab = f.int('vocab_size', 1 << 24);
  const layers = attentionLayers(f, nLayers);
  const window = layers.includes('local') ? f.int('window_size', 1 << 24, 256) : null;
  return {
    architecture: 'gptneo',
    modelType: 'gpt_neo',
    nLayers,
    dModel,
    nHeads,
    nKvHeads: nHeads,
    dHead,
    dMlp: raw.intermediate_size == null ? 4 * dModel : f.int('intermediate_size', 1 << 20),
    nCtx: f.int('max_position_embeddings', 1 << 24, 2048),
    dVocab,
    normalization: 'layernorm',
    lnEps: f.positive('layer_norm_epsilon', 1, 1e-5),
    act: f.activation('activation_function', 'gelu_new'),
    positional: 'learned',
    rotary: null,
    parallelAttnMlp: false,
    gatedMlp: false,
    scaleAttnWeights: false,
    scaleAttnByInverseLayerIdx: false,
    attnWindows: layers.map((t) => (t === 'local' ? window : null)),
    biases: { qkv: false, attnOut: true, mlp: true },
    tieWordEmbeddings: f.bool('tie_word_embeddings', true),
    bosTokenId: f.bosTokenId(dVocab),
  };
}
