/**
 * Small graphs for the logit lens, sharing the checkpoint's weights through external data: the final
 * norm (LayerNorm or RMSNorm) applied afresh to each residual row, then the unembedding and the final
 * soft-cap where the model has one (so the last row is the model's own prediction); and, for the
 * decomposed lens, the unembedding of components already centred and divided by the final residual's
 * norm scale (src/engine/logit-lens.ts): times the norm's weight, without its bias (nor b_U, which a
 * folded LayerNorm bias becomes) and without the soft-cap, so the components' logits add up.
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
  const cap = c.finalLogitSoftcap;
  const z = g.op('Gemm', w.unembedBias ? [normalized, ctx.W(w.unembed), ctx.W(w.unembedBias)] : [normalized, ctx.W(w.unembed)], { transB: 1 }, cap ? undefined : 'logits'); // [rows, d_vocab]
  if (cap) g.op('Mul', [g.op('Tanh', [g.op('Div', [z, g.constF([cap], [])])]), g.constF([cap], [])], {}, 'logits');
  g.output('logits', 'float', ['rows', c.dVocab]);
  return g.build(`${c.architecture}-unembed`, 17);
}

export function buildComponentUnembedGraph(c: ModelConfig, w: ModelParams): Uint8Array {
  const g = new GraphBuilder();
  const ctx = new GraphContext(g);
  const x = g.input('resid', 'float', ['rows', c.dModel]); // [rows, d_model], already scaled
  const n = w.finalNorm;
  const weight = n.w && (n.weightOffset ? g.op('Add', [ctx.W(n.w), g.constF([n.weightOffset], [])]) : ctx.W(n.w)); // [d_model]: w, or Gemma's 1 + w
  const weighted = weight ? g.op('Mul', [x, weight]) : x; // [rows, d_model]
  g.op('Gemm', [weighted, ctx.W(w.unembed)], { transB: 1 }, 'logits'); // [rows, d_vocab]
  g.output('logits', 'float', ['rows', c.dVocab]);
  return g.build(`${c.architecture}-unembed-components`, 17);
}
