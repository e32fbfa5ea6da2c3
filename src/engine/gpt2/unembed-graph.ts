/**
 * A small graph for the logit lens: the final LayerNorm, applied afresh to each residual row, then the
 * unembedding. Shares the checkpoint's weights through external data.
 */
import { GraphBuilder } from '../graph/builder';
import type { ModelConfig } from '../config';
import type { Gpt2Weights } from './weights';
import { weightInput } from './weight-input';

export function buildUnembedGraph(c: ModelConfig, w: Gpt2Weights): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input('resid', 'float', ['rows', c.dModel]); // [rows, d_model]
  const normalized = g.op('LayerNormalization', [x, weightInput(g, w.lnFW), weightInput(g, w.lnFB)], { axis: -1, epsilon: { floatValue: c.lnEps } });
  g.op('Gemm', [normalized, weightInput(g, w.unembed)], { transB: 1 }, 'logits'); // [rows, d_vocab]
  g.output('logits', 'float', ['rows', c.dVocab]);
  return g.build('gpt2-unembed', 17);
}
