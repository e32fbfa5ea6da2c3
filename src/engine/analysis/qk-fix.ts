/**
 * AtP*'s QK fix (Kramár et al. 2024, arXiv 2403.00745, section 3.1.1) for residual-stream units: patching
 * blocks.L.hook_resid_pre at position p replaces that layer's query q_p and key k_p of every head by the
 * source run's (the same norm and projection applied to the same residual). AtP puts that change through
 * the gradient of the scores, which a saturated softmax flattens to nearly nothing. AtP* instead
 * recomputes the attention pattern exactly, once with the patched query (row p) and once with the patched
 * key (column p of every row that sees it), and takes the gradient at the pattern times that exact
 * change:
 *
 *   query part(p) = sum_h sum_s dM/dA[h,p,s] (softmax(q'_p K^T * scale)[s] - A[h,p,s])
 *   key part(p)   = sum_h sum_t sum_s dM/dA[h,t,s] (A'_(k_p := k'_p)[h,t,s] - A[h,t,s])
 *
 * The fixed estimate is AtP's with its linear query and key terms (dM/dq . dq + dM/dk . dk) replaced by
 * these parts. The scores are recomputed from the cached queries and keys (hook_rot_q/hook_rot_k when
 * the model is rotary), checked against the model's own pattern first.
 */
import { fail } from '../errors';
import type { ModelConfig } from '../model-config';
import type { TensorData } from '../../protocol/tensor';

/** The hooks the fix reads for layer l: queries, keys (after rotary when there is one) and the pattern. */
export function qkHooks(config: ModelConfig, l: number): { q: string; k: string; pattern: string } {
  const rot = config.positional === 'rotary' ? 'rot_' : '';
  return { q: `blocks.${l}.attn.hook_${rot}q`, k: `blocks.${l}.attn.hook_${rot}k`, pattern: `blocks.${l}.attn.hook_pattern` };
}

/** The checks before the fix runs: models whose scores are not scale * q.k (softcapped) cannot take it. */
export function checkQkFixSupported(config: ModelConfig): void {
  if (config.attnSoftcap) fail('BAD_INPUT', { field: 'method' }, 'atpStar recomputes attention scores as scale x q.k, and this model softcaps them (attn_logit_softcapping).', 'Use "method": "atp" or "integratedGradients" with this model.');
}

export interface QkLayerInputs {
  config: ModelConfig;
  layer: number;
  /** Receiving run: [1, pos, head, d_head] queries, [1, pos, kv_head, d_head] keys, [1, head, pos, pos] pattern. */
  q: TensorData;
  k: TensorData;
  pattern: TensorData;
  /** Source run's queries and keys at the same hooks. */
  qSource: TensorData;
  kSource: TensorData;
  /** Gradients at the receiving run's q, k and pattern. */
  gradQ: TensorData;
  gradK: TensorData;
  gradPattern: TensorData;
}

/** How far the recomputed pattern may be from the model's before the fix refuses to run. */
const PATTERN_TOLERANCE = 1e-3;

/**
 * [pos] the QK fix's correction of each position's resid_pre estimate at this layer (un-normalised, in
 * units of the metric): exact query and key parts minus AtP's linear query and key terms.
 */
export function qkCorrection(x: QkLayerInputs): Float64Array {
  const { config, layer } = x;
  const [, pos, nHeads, dh] = x.q.dims;
  const nKv = x.k.dims[2];
  const group = nHeads / nKv;
  const window = config.attnWindows[layer];
  let scale = config.queryPreAttnScalar ? config.queryPreAttnScalar ** -0.5 : config.scaleAttnWeights ? 1 / Math.sqrt(dh) : 1;
  if (config.scaleAttnByInverseLayerIdx) scale /= layer + 1;
  const first = (t: number) => (window === null || window === undefined ? 0 : Math.max(0, t - window + 1)); // first key row t sees
  const qAt = (q: TensorData, p: number, h: number) => q.data.subarray((p * nHeads + h) * dh, (p * nHeads + h + 1) * dh);
  const kAt = (k: TensorData, p: number, kv: number) => k.data.subarray((p * nKv + kv) * dh, (p * nKv + kv + 1) * dh);
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  };
  const out = new Float64Array(pos);
  // AtP's linear query and key terms, which the exact parts replace.
  for (let p = 0; p < pos; p++) {
    for (let h = 0; h < nHeads; h++) {
      const gq = qAt(x.gradQ, p, h);
      const [qs, qr] = [qAt(x.qSource, p, h), qAt(x.q, p, h)];
      for (let i = 0; i < dh; i++) out[p] -= gq[i] * (qs[i] - qr[i]);
    }
    for (let kv = 0; kv < nKv; kv++) {
      const gk = kAt(x.gradK, p, kv);
      const [ks, kr] = [kAt(x.kSource, p, kv), kAt(x.k, p, kv)];
      for (let i = 0; i < dh; i++) out[p] -= gk[i] * (ks[i] - kr[i]);
    }
  }
  const scores = new Float64Array(pos); // one row's scores
  for (let h = 0; h < nHeads; h++) {
    const kv = Math.floor(h / group);
    const A = x.pattern.data.subarray(h * pos * pos, (h + 1) * pos * pos); // [query_pos, key_pos]
    const G = x.gradPattern.data.subarray(h * pos * pos, (h + 1) * pos * pos);
    for (let t = 0; t < pos; t++) {
      const q = qAt(x.q, t, h);
      const lo = first(t);
      let max = -Infinity;
      for (let s = lo; s <= t; s++) max = Math.max(max, (scores[s] = scale * dot(q, kAt(x.k, s, kv))));
      let z = 0;
      for (let s = lo; s <= t; s++) z += Math.exp(scores[s] - max);
      const lse = max + Math.log(z);
      let rowDot = 0; // sum_s G[t,s] A[t,s]
      for (let s = lo; s <= t; s++) {
        const a = Math.exp(scores[s] - lse);
        if (Math.abs(a - A[t * pos + s]) > PATTERN_TOLERANCE) {
          fail('BAD_INPUT', { field: 'method' }, `atpStar could not reproduce layer ${layer} head ${h}'s attention pattern from its queries and keys (${a} vs ${A[t * pos + s]} at [${t}, ${s}]).`, 'Use "method": "atp" with this model.');
        }
        rowDot += G[t * pos + s] * a;
      }
      // Query part of position t: row t with the source's query.
      const qs = qAt(x.qSource, t, h);
      let maxQ = -Infinity;
      const patched = new Float64Array(t + 1);
      for (let s = lo; s <= t; s++) maxQ = Math.max(maxQ, (patched[s] = scale * dot(qs, kAt(x.k, s, kv))));
      let zQ = 0;
      for (let s = lo; s <= t; s++) zQ += Math.exp(patched[s] - maxQ);
      const lseQ = maxQ + Math.log(zQ);
      for (let s = lo; s <= t; s++) out[t] += G[t * pos + s] * (Math.exp(patched[s] - lseQ) - Math.exp(scores[s] - lse));
      // Key part of each position p this row sees: only logit p changes, so the new row is the old one
      // renormalised, with entry p recomputed (lse' = lse + log(1 - a_p + exp(s'_p - lse))).
      for (let p = lo; p <= t; p++) {
        const sNew = scale * dot(q, kAt(x.kSource, p, kv));
        const aP = Math.exp(scores[p] - lse);
        const lseNew = lse + Math.log(Math.max(0, 1 - aP) + Math.exp(sNew - lse));
        const c = Math.exp(lse - lseNew); // every other entry is multiplied by this
        const gP = G[t * pos + p];
        out[p] += (rowDot - gP * aP) * (c - 1) + gP * (Math.exp(sNew - lseNew) - aP);
      }
    }
  }
  return out;
}
