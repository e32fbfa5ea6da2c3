/**
 * `circuit-lens bench --llama`: a Llama-shaped model of about 100M parameters (12 layers, d_model 768,
 * 12 heads / 4 key-value heads, d_mlp 2048, vocab 32000, untied) against test/reference/llama_reference.py.
 */
import { DecoderCase, benchDecoder } from './decoder';

const LLAMA: DecoderCase = {
  flag: 'llama',
  description: 'Llama-shaped',
  script: 'llama_reference.py',
  modelName: 'llama-100m-random',
  shape: { layers: 12, dModel: 768, heads: 12, kvHeads: 4, dHead: 64, dMlp: 2048, vocab: 32000, ctx: 2048 },
  makeArgs: ['--kv-heads', '4'],
};

export function benchLlama(argv: string[]): Promise<void> {
  return benchDecoder(argv, LLAMA);
}
