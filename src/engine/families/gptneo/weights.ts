/**
 * GPT-Neo parameters under Hugging Face names (`transformer.` prefix): q/k/v projections without biases
 * and out_proj under attn.attention, torch.nn.Linear layout throughout, learned positions.
 */
import type { ModelConfig } from '../../model-config';
import type { WeightIndex } from '../../checkpoint';
import type { BlockParams, ModelParams } from '../../params';
import { TensorLookup } from '../tensor-lookup';

export function findGptNeoWeights(c: ModelConfig, index: WeightIndex, configPath: string): ModelParams {
  const { dModel: d, dMlp: m, dVocab: v, nCtx } = c;
  const t = new TensorLookup(index, configPath, 'transformer.', 'GPT-Neo checkpoint');
  const norm = (name: string) => ({ w: t.need(name + '.weight', [d]), b: t.need(name + '.bias', [d]) });
  const blocks: BlockParams[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `h.${l}.`;
    const a = p + 'attn.attention.';
    blocks.push({
      ln1: norm(p + 'ln_1'),
      qkv: { kind: 'separate', q: t.linear(a + 'q_proj', d, d, false), k: t.linear(a + 'k_proj', d, d, false), v: t.linear(a + 'v_proj', d, d, false) },
      out: t.linear(a + 'out_proj', d, d, true),
      ln2: norm(p + 'ln_2'),
      mlpIn: t.linear(p + 'mlp.c_fc', d, m, true),
      mlpOut: t.linear(p + 'mlp.c_proj', m, d, true),
    });
  }
  t.checkNoExtraBlock((l) => `h.${l}.ln_1.weight`, c.nLayers, 'num_layers');
  const embed = t.need('wte.weight', [v, d]);
  return { embed, posEmbed: t.need('wpe.weight', [nCtx, d]), blocks, finalNorm: norm('ln_f'), ...t.unembed('lm_head.weight', embed, c.tieWordEmbeddings, v, d) };
}
