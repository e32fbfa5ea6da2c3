/**
 * The logit lens over residual components, in the two readings TransformerLens gives them:
 * - 'resid': the residual stream at each point (accumulated_resid with incl_mid: '0_pre', '0_mid', ...,
 *   'final_post'; parallel attention and MLP have no resid_mid, so no '_mid' rows), each given the final
 *   norm afresh and unembedded. Values are probabilities.
 * - 'decomposed': what each component writes to the stream (decompose_resid: 'embed', 'pos_embed' where
 *   positions are learned, then '{L}_attn_out' and '{L}_mlp_out' per layer), scaled as apply_ln_to_stack
 *   does: centred (LayerNorm; RMSNorm does not centre) and divided by the final norm's scale of the final
 *   residual at the same position (ln_final.hook_scale), then times the norm's weight and unembedded.
 *   Values are logits: each component's direct contribution. The components add up to the final
 *   residual, so their logits add up to the model's, less the norm's bias term (b @ W_U, or b_U once
 *   folded). Post-norm models (OLMo 2) add ln1(attn_out) and ln2(mlp_out), not TransformerLens'
 *   hook_attn_out / hook_mlp_out (which are before those norms): their components are what each sublayer
 *   really adds, hook_resid_mid - hook_resid_pre and hook_resid_post - hook_resid_mid.
 * Rows are [component x pos] flattened; logits are [rows, d_vocab].
 */
import type { ActivationCache } from './cache';
import type { ModelConfig } from './model-config';
import { softmax, topK } from './math';
import type { LensMode } from '../protocol/panels';
import type { TensorData } from '../protocol/tensor';

export interface LensRows {
  k: number;
  topIds: Int32Array; // [rows, k]
  /** [rows, k]: probabilities ('resid') or logits ('decomposed'), largest first. */
  topValues: Float32Array;
  targetValues?: Float32Array; // [rows]
  targetRanks?: Int32Array; // [rows], 0 = top token
}

/** Summarises `rows` rows of logits starting at row `first` into `out`, as probabilities or as the logits themselves. */
export function summariseLensRows(logits: Float32Array, vocab: number, first: number, rows: number, out: LensRows, mode: LensMode, targetId?: number): void {
  for (let r = 0; r < rows; r++) {
    const raw = logits.subarray(r * vocab, (r + 1) * vocab);
    const values = mode === 'resid' ? softmax(raw) : raw;
    const row = first + r;
    topK(values, out.k).forEach(({ index, value }, i) => {
      out.topIds[row * out.k + i] = index;
      out.topValues[row * out.k + i] = value;
    });
    if (targetId !== undefined && out.targetValues && out.targetRanks) {
      const v = values[targetId];
      let rank = 0;
      for (let t = 0; t < vocab; t++) if (values[t] > v) rank++;
      out.targetValues[row] = v;
      out.targetRanks[row] = rank;
    }
  }
}

export interface LogitLens extends LensRows {
  mode: LensMode;
  /** Components: '0_pre', '0_mid', ..., 'final_post' ('resid'); 'embed', 'pos_embed', '0_attn_out', '0_mlp_out', ... ('decomposed'). */
  labels: string[];
  pos: number;
}

/** What the unembedding reads: one row per component and position, and the components' labels. */
export interface LensInput {
  labels: string[];
  /** [component * pos, d_model] */
  rows: TensorData;
}

/** Batch item `b` of [component, batch, pos, d_model] as [component * pos, d_model]. */
function itemRows(stack: TensorData, b: number): TensorData {
  const [n, batch, pos, d] = stack.dims;
  const out = new Float32Array(n * pos * d); // [component * pos, d_model]
  for (let c = 0; c < n; c++) out.set(stack.data.subarray(((c * batch + b) * pos) * d, ((c * batch + b) * pos + pos) * d), c * pos * d);
  return { dims: [n * pos, d], data: out };
}

/** The residual stream of batch item `b` at every point, resid_mid included where the family has it. */
export function residLensInput(cache: ActivationCache, b: number): LensInput {
  const { labels, resid } = cache.accumulatedResid({ inclMid: !cache.config.parallelAttnMlp }); // [component, batch, pos, d_model]
  return { labels, rows: itemRows(resid, b) };
}

/** decompose_resid's components and the hooks that hold them, in forward order: one hook, or the difference of two. */
export function residComponents(c: ModelConfig): [label: string, hook: string, minus?: string][] {
  const out: [string, string, string?][] = [['embed', 'hook_embed']];
  if (c.positional !== 'rotary') out.push(['pos_embed', 'hook_pos_embed']);
  for (let l = 0; l < c.nLayers; l++) {
    const b = `blocks.${l}.`;
    if (c.postNorms) out.push([`${l}_attn_out`, b + 'hook_resid_mid', b + 'hook_resid_pre'], [`${l}_mlp_out`, b + 'hook_resid_post', b + 'hook_resid_mid']);
    else out.push([`${l}_attn_out`, b + 'hook_attn_out'], [`${l}_mlp_out`, b + 'hook_mlp_out']);
  }
  return out;
}

/** Batch item `b`'s components, centred (LayerNorm) and divided by the final residual's norm scale at their position. */
export function decomposedLensInput(cache: ActivationCache, b: number): LensInput {
  const components = residComponents(cache.config);
  const scale = cache.get('ln_final.hook_scale'); // [batch, pos, 1]
  const [, pos] = scale.dims;
  const d = cache.config.dModel;
  const centre = cache.config.normalization === 'layernorm';
  const out = new Float32Array(components.length * pos * d); // [component * pos, d_model]
  const row = new Float32Array(d);
  components.forEach(([, hook, minus], c) => {
    const x = cache.get(hook).data; // [batch, pos, d_model]
    const y = minus ? cache.get(minus).data : undefined;
    for (let p = 0; p < pos; p++) {
      const from = (b * pos + p) * d;
      const to = (c * pos + p) * d;
      for (let i = 0; i < d; i++) row[i] = y ? x[from + i] - y[from + i] : x[from + i];
      let mean = 0;
      if (centre) {
        for (let i = 0; i < d; i++) mean += row[i];
        mean /= d;
      }
      const s = scale.data[b * pos + p];
      for (let i = 0; i < d; i++) out[to + i] = (row[i] - mean) / s;
    }
  });
  return { labels: components.map(([label]) => label), rows: { dims: [components.length * pos, d], data: out } };
}
