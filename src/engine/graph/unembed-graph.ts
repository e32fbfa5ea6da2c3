/**
 * A small graph for the logit lens: the final norm (LayerNorm or RMSNorm), applied afresh to each
 * residual row, then the unembedding. Shares the checkpoint's weights through external data.
 */
import { GraphBuilder } from './builder';
import type { ModelConfig } from '../model-config';
import type { ModelParams } from '../params';
import { GraphContext } from './context';
import { plainNorm } from './norm';

export function buildUnembedGraph(c: ModelConfig, w: ModelParams): Uint8Array {
  const g = new GraphBuilder();
  const ctx = new GraphContext(g);
  const x = g.input('resid', 'float', ['rows', c.dModel]); // [rows, d_model]
  const normalized = plainNorm(ctx, c.normalization, c.lnEps, x, w.finalNorm); // [rows, d_model]
  g.op('Gemm', [normalized, ctx.W(w.unembed)], { transB: 1 }, 'logits'); // [rows, d_vocab]
  g.output('logits', 'float', ['rows', c.dVocab]);
  return g.build(`${c.architecture}-unembed`, 17);
}
