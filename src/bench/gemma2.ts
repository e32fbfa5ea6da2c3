/**
 * `circuit-lens bench --gemma2`: a Gemma-2-shaped model of about 110M parameters (12 layers, d_model 768,
 * 8 heads / 4 key-value heads of d_head 128 (not 768 / 8 = 96), d_mlp 2048, vocab 32000, tied; GeGLU, sandwich
 * norms, attention soft-cap 50, final soft-cap 30, a 512-token window on even layers) against
 * test/reference/gemma_reference.py.
 */
import { DecoderCase, benchDecoder } from './decoder';

const GEMMA2: DecoderCase = {
  flag: 'gemma2',
  description: 'Gemma-2-shaped',
  script: 'gemma_reference.py',
  modelName: 'gemma2-100m-random',
  shape: { layers: 12, dModel: 768, heads: 8, kvHeads: 4, dHead: 128, dMlp: 2048, vocab: 32000, ctx: 4096 },
  makeArgs: ['--kv-heads', '4', '--head-dim', '128', '--query-pre-attn-scalar', '128', '--attn-softcap', '50', '--final-softcap', '30', '--window', '512'],
  notes: 'tied, soft-caps 50 / 30, window 512 on even layers',
};

export function benchGemma2(argv: string[]): Promise<void> {
  return benchDecoder(argv, GEMMA2);
}
