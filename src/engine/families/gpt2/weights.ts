/**
 * GPT-2 parameters under Hugging Face names (with or without the `transformer.` prefix of
 * GPT2LMHeadModel). Conv1D layout: c_attn/c_proj/c_fc weights are [in, out], so y = x @ W + b.
 */
import type { ModelConfig } from '../../model-config';
import type { WeightIndex } from '../../checkpoint';
import type { BlockParams, Linear, ModelParams } from '../../params';
import { TensorLookup } from '../tensor-lookup';

export function findGpt2Weights(c: ModelConfig, index: WeightIndex, configPath: string): ModelParams {
  const { dModel: d, dMlp: m, dVocab: v, nCtx } = c;
  const t = new TensorLookup(index, configPath, 'transformer.', 'GPT-2 checkpoint');
  const conv1d = (name: string, inDim: number, outDim: number): Linear =>
    ({ w: t.need(name + '.weight', [inDim, outDim]), b: t.need(name + '.bias', [outDim]), layout: 'in-out' });
  const norm = (name: string) => ({ w: t.need(name + '.weight', [d]), b: t.need(name + '.bias', [d]) });
  const blocks: BlockParams[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `h.${l}.`;
    blocks.push({
      ln1: norm(p + 'ln_1'),
      qkv: { kind: 'fused', proj: conv1d(p + 'attn.c_attn', d, 3 * d), order: 'blocks' },
      out: conv1d(p + 'attn.c_proj', d, d),
      ln2: norm(p + 'ln_2'),
      mlpIn: conv1d(p + 'mlp.c_fc', d, m),
      mlpOut: conv1d(p + 'mlp.c_proj', m, d),
    });
  }
  t.checkNoExtraBlock((l) => `h.${l}.ln_1.weight`, c.nLayers, 'n_layer');
  const embed = t.need('wte.weight', [v, d]);
  return {
    embed,
    posEmbed: t.need('wpe.weight', [nCtx, d]),
    blocks,
    finalNorm: norm('ln_f'),
    ...t.unembed('lm_head.weight', embed, c.tieWordEmbeddings, v, d),
  };
}
