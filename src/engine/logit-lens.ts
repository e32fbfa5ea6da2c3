/**
 * Logit lens summaries of unembedded residual rows: top-k tokens with probabilities, and the probability
 * and rank of one target token. Rows are [component x pos] flattened; logits are [rows, d_vocab].
 */
import { softmax, topK } from './math';
import type { TensorData } from '../protocol/tensor';

export interface LensRows {
  k: number;
  topIds: Int32Array; // [rows, k]
  topProbs: Float32Array; // [rows, k]
  targetProbs?: Float32Array; // [rows]
  targetRanks?: Int32Array; // [rows], 0 = top token
}

/** Summarises `rows` rows of logits starting at row `first` into `out`. */
export function summariseLensRows(logits: Float32Array, vocab: number, first: number, rows: number, out: LensRows, targetId?: number): void {
  for (let r = 0; r < rows; r++) {
    const probs = softmax(logits.subarray(r * vocab, (r + 1) * vocab));
    const row = first + r;
    topK(probs, out.k).forEach(({ index, value }, i) => {
      out.topIds[row * out.k + i] = index;
      out.topProbs[row * out.k + i] = value;
    });
    if (targetId !== undefined && out.targetProbs && out.targetRanks) {
      const p = probs[targetId];
      let rank = 0;
      for (let v = 0; v < vocab; v++) if (probs[v] > p) rank++;
      out.targetProbs[row] = p;
      out.targetRanks[row] = rank;
    }
  }
}

export interface LogitLens extends LensRows {
  /** Residual components: '0_pre', ..., 'final_post' (TransformerLens' accumulated_resid labels). */
  labels: string[];
  pos: number;
}

/** The residual rows of batch item `b` of an accumulated residual [component, batch, pos, d_model]. */
export function lensInput(resid: TensorData, b: number): TensorData {
  const [n, batch, pos, d] = resid.dims;
  const out = new Float32Array(n * pos * d); // [component * pos, d_model]
  for (let c = 0; c < n; c++) out.set(resid.data.subarray(((c * batch + b) * pos) * d, ((c * batch + b) * pos + pos) * d), c * pos * d);
  return { dims: [n * pos, d], data: out };
}
