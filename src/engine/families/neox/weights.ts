/**
 * GPT-NeoX parameters under Hugging Face names (GPTNeoXForCausalLM: `gpt_neox.` prefix, `embed_out`).
 * query_key_value is one torch.nn.Linear whose outputs are [q | k | v] within each head.
 */
import type { ModelConfig } from '../../model-config';
import type { WeightIndex } from '../../checkpoint';
import type { BlockParams, ModelParams } from '../../params';
import { TensorLookup } from '../tensor-lookup';

export function findNeoxWeights(c: ModelConfig, index: WeightIndex, configPath: string): ModelParams {
  const { dModel: d, dMlp: m, dVocab: v } = c;
  const t = new TensorLookup(index, configPath, 'gpt_neox.', 'GPT-NeoX checkpoint');
  const norm = (name: string) => ({ w: t.need(name + '.weight', [d]), b: t.need(name + '.bias', [d]) });
  const blocks: BlockParams[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `layers.${l}.`;
    blocks.push({
      ln1: norm(p + 'input_layernorm'),
      qkv: { kind: 'fused', proj: t.linear(p + 'attention.query_key_value', d, 3 * d, c.biases.qkv), order: 'per-head' },
      out: t.linear(p + 'attention.dense', d, d, c.biases.attnOut),
      ln2: norm(p + 'post_attention_layernorm'),
      mlpIn: t.linear(p + 'mlp.dense_h_to_4h', d, m, c.biases.mlp),
      mlpOut: t.linear(p + 'mlp.dense_4h_to_h', m, d, c.biases.mlp),
    });
  }
  t.checkNoExtraBlock((l) => `layers.${l}.input_layernorm.weight`, c.nLayers, 'num_hidden_layers');
  const embed = t.need('embed_in.weight', [v, d]);
  return { embed, blocks, finalNorm: norm('final_layer_norm'), ...t.unembed('embed_out.weight', embed, c.tieWordEmbeddings, v, d) };
}
