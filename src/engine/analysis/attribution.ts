/**
 * Direct logit attribution (TransformerLens' decompose_resid / stack_head_results with apply_ln): each
 * component written to the residual stream at one position, centred (LayerNorm models) and divided by
 * that position's final norm scale from the run, dotted with the direction that the final norm's weight and
 * the unembedding give the logit difference (answer - counterfactual, or the answer's logit alone).
 * The final LayerNorm's bias (or b_U, which folding it makes) adds a constant term, reported as its own
 * component, so the components sum to the logit difference.
 *
 * Post-norm blocks (OLMo 2) add ln1(attn_out) and ln2(mlp_out), not TransformerLens' hook_attn_out and
 * hook_mlp_out (which are before those norms): the components are what is really added,
 * ln.hook_normalized times the norm's weight, and each head's share is its hook_result times the weight
 * over the norm's scale at that position (the norm is linear once its scale is fixed), so the heads and
 * the output bias still add up to the layer's component. Sandwich norms (Gemma) hook what is added as
 * hook_attn_out / hook_mlp_out, after ln1_post / ln2_post; a head's share goes through ln1_post's weight
 * and scale the same way. With a final soft-cap (Gemma 2), the components add up to the logit difference
 * before the cap, which is what `logitDiff` then reports.
 *
 * Over a dataset, each prompt is attributed at its own last position with its own answer (and
 * counterfactual), and every component's contribution is the mean over the prompts, with its standard
 * deviation; the means still add up to the mean logit difference.
 */
import { fail } from '../errors';
import { selectHooks } from '../hooks';
import type { Norm } from '../params';
import type { Tracer } from '../tracer';
import type { Token } from '../tokenizer';
import { readWeightRows } from '../weight-reader';
import { meanAndSpread } from './dataset-stats';

export interface AttributionOptions {
  answer: number;
  counterfactual?: number;
  /** Position (default: last). */
  position?: number;
  signal?: AbortSignal;
}

export interface AttributionResult {
  /** 'embed', 'pos_embed', 'L0 attn', 'L0 mlp', ..., 'ln_final bias' (or 'unembed bias' once folded) */
  labels: string[];
  /** Contribution of each component, same order as labels. */
  values: Float32Array;
  /** [layer, head]: each head's contribution (its attn.hook_result; the layer's b_O is in 'L attn'). */
  heads: Float32Array;
  nLayers: number;
  nHeads: number;
  /** The run's logit difference (or answer logit) at the position, before any final soft-cap, for comparison with the sum. */
  logitDiff: number;
}

export async function directLogitAttribution(tracer: Tracer, prompt: Token[], opts: AttributionOptions): Promise<AttributionResult> {
  const ckpt = tracer.ckpt;
  const { config, hooks, params } = ckpt;
  const { nLayers, nHeads, dModel: d, dVocab } = config;
  const pos = opts.position ?? prompt.length - 1;
  if (!Number.isInteger(pos) || pos < 0 || pos >= prompt.length) fail('BAD_INPUT', { field: 'position' }, `must be in [0, ${prompt.length}), got ${pos}.`);
  for (const [field, id] of [['answer', opts.answer], ['counterfactual', opts.counterfactual]] as const) {
    if (id !== undefined && !(Number.isInteger(id) && id >= 0 && id < dVocab)) fail('BAD_INPUT', { field }, `token id ${id} is outside the vocabulary [0, ${dVocab}).`);
  }
  const post = !!config.postNorms;
  const hasPos = hooks.some((h) => h.name === 'hook_pos_embed'); // rotary models have none
  const layerHooks = post ? 'blocks.*.ln1.hook_normalized,blocks.*.ln1.hook_scale,blocks.*.ln2.hook_normalized'
    : `blocks.*.hook_attn_out,blocks.*.hook_mlp_out${config.sandwichNorms ? ',blocks.*.ln1_post.hook_scale' : ''}`;
  const cap = config.finalLogitSoftcap;
  const names = `hook_embed,${hasPos ? 'hook_pos_embed,' : ''}${layerHooks},blocks.*.attn.hook_result,ln_final.hook_scale${cap ? ',ln_final.hook_normalized' : ''}`;
  const run = await tracer.trace([prompt], { hooks: selectHooks(hooks, names), signal: opts.signal });

  // The logit-difference direction in the residual stream, after the final norm's weight.
  const ids = opts.counterfactual === undefined ? [opts.answer] : [opts.answer, opts.counterfactual];
  const rows = readWeightRows(ckpt, params.unembed, ids); // [n, d_model]
  const lnW = normWeight(ckpt, params.finalNorm, d);
  const lnB = params.finalNorm.b ? readWeightRows(ckpt, params.finalNorm.b)[0] : undefined; // RMSNorm has none
  const center = config.normalization === 'layernorm';
  const unembedDiff = Float64Array.from({ length: d }, (_, i) => rows[0][i] - (rows[1]?.[i] ?? 0));
  const direction = unembedDiff.map((u, i) => u * lnW[i]);
  const scale = run.cache.get('ln_final.hook_scale').data[pos]; // [1, pos, 1]

  /** Contribution of a d_model vector at `offset` in `data`, each element times `weight` first when given. */
  const contribution = (data: Float32Array, offset: number, weight?: Float32Array): number => {
    const x = (i: number) => data[offset + i] * (weight ? weight[i] : 1);
    let mean = 0;
    if (center) {
      for (let i = 0; i < d; i++) mean += x(i);
      mean /= d;
    }
    let dot = 0;
    for (let i = 0; i < d; i++) dot += (x(i) - mean) * direction[i];
    return dot / scale;
  };
  const at = (hook: string, weight?: Float32Array) => contribution(run.cache.get(hook).data, pos * d, weight); // [1, pos, d_model]
  const labels = hasPos ? ['embed', 'pos_embed'] : ['embed'];
  const values = hasPos ? [at('hook_embed'), at('hook_pos_embed')] : [at('hook_embed')];
  const heads = new Float32Array(nLayers * nHeads);
  for (let l = 0; l < nLayers; l++) {
    const b = `blocks.${l}.`;
    labels.push(`L${l} attn`, `L${l} mlp`);
    const result = run.cache.get(`${b}attn.hook_result`).data; // [1, pos, head, d_model]
    if (post) {
      const w1 = normWeight(ckpt, params.blocks[l].ln1, d);
      const w2 = normWeight(ckpt, params.blocks[l].ln2, d);
      values.push(at(`${b}ln1.hook_normalized`, w1), at(`${b}ln2.hook_normalized`, w2));
      const s1 = run.cache.get(`${b}ln1.hook_scale`).data[pos]; // [1, pos, 1]
      for (let h = 0; h < nHeads; h++) heads[l * nHeads + h] = contribution(result, (pos * nHeads + h) * d, w1) / s1;
    } else if (config.sandwichNorms) {
      values.push(at(`${b}hook_attn_out`), at(`${b}hook_mlp_out`));
      const w = normWeight(ckpt, params.blocks[l].ln1Post!, d);
      const s = run.cache.get(`${b}ln1_post.hook_scale`).data[pos]; // [1, pos, 1]
      for (let h = 0; h < nHeads; h++) heads[l * nHeads + h] = contribution(result, (pos * nHeads + h) * d, w) / s;
    } else {
      values.push(at(`${b}hook_attn_out`), at(`${b}hook_mlp_out`));
      for (let h = 0; h < nHeads; h++) heads[l * nHeads + h] = contribution(result, (pos * nHeads + h) * d);
    }
  }
  /** A vocabulary vector's answer entry minus its counterfactual entry (or the answer's alone). */
  const diffOf = (v: Float32Array) => v[opts.answer] - (opts.counterfactual === undefined ? 0 : v[opts.counterfactual]);
  const unembedBiasDiff = params.unembedBias ? diffOf(readWeightRows(ckpt, params.unembedBias)[0]) : 0;
  /** The difference before the soft-cap, from the final norm's output (RMSNorm's hook_normalized is before its weight). */
  const uncappedDiff = (): number => {
    const x = run.cache.get('ln_final.hook_normalized').data; // [1, pos, d_model]
    let dot = 0;
    for (let i = 0; i < d; i++) dot += x[pos * d + i] * (center ? unembedDiff[i] : direction[i]);
    return dot + unembedBiasDiff;
  };
  if (lnB) {
    labels.push('ln_final bias');
    values.push(unembedDiff.reduce((a, u, i) => a + u * lnB[i], 0));
  } else if (params.unembedBias) {
    labels.push('unembed bias');
    values.push(unembedBiasDiff);
  }
  return {
    labels,
    values: Float32Array.from(values),
    heads,
    nLayers,
    nHeads,
    logitDiff: cap ? uncappedDiff() : diffOf(run.logits.data.subarray(pos * dVocab, (pos + 1) * dVocab)),
  };
}

/** A norm's effective weight (w + weightOffset), or ones once folded away. */
function normWeight(ckpt: Tracer['ckpt'], n: Norm, d: number): Float32Array {
  if (!n.w) return new Float32Array(d).fill(1);
  const [w] = readWeightRows(ckpt, n.w);
  if (n.weightOffset) for (let i = 0; i < d; i++) w[i] += n.weightOffset;
  return w;
}

/** One prompt of a dataset: its tokens and its own answer (and counterfactual). */
export interface AttributionRow {
  tokens: Token[];
  answer: number;
  counterfactual?: number;
}

export interface DatasetAttributionResult extends AttributionResult {
  /** Standard deviations over the prompts of `values`, `heads` and `logitDiff` (which are means). */
  spread: Float32Array;
  headsSpread: Float32Array;
  logitDiffSpread: number;
  prompts: number;
}

/** Direct logit attribution of every prompt of a dataset (at its last position): the mean of each component and its spread. */
export async function attributeDataset(tracer: Tracer, rows: readonly AttributionRow[], opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<DatasetAttributionResult> {
  const each: AttributionResult[] = [];
  for (const row of rows) {
    each.push(await directLogitAttribution(tracer, row.tokens, { answer: row.answer, counterfactual: row.counterfactual, signal: opts.signal }));
    opts.onProgress?.(each.length, rows.length);
  }
  const values = meanAndSpread(each.map((r) => r.values));
  const heads = meanAndSpread(each.map((r) => r.heads));
  const diff = meanAndSpread(each.map((r) => [r.logitDiff]));
  return {
    ...each[0],
    values: Float32Array.from(values.mean), spread: Float32Array.from(values.spread),
    heads: Float32Array.from(heads.mean), headsSpread: Float32Array.from(heads.spread),
    logitDiff: diff.mean[0], logitDiffSpread: diff.spread[0], prompts: rows.length,
  };
}
