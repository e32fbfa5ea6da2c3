/**
 * Direct logit attribution (TransformerLens' decompose_resid / stack_head_results with apply_ln): each
 * component written to the residual stream at one position, centred (LayerNorm models) and divided by
 * that position's final norm scale from the run, dotted with the direction that the final LayerNorm's weight and
 * the unembedding give the logit difference (answer - counterfactual, or the answer's logit alone).
 * The final LayerNorm's bias adds a constant term, reported as its own component, so the components
 * sum to the logit difference. Refused for post-norm models (OLMo 2), whose hook_attn_out / hook_mlp_out are
 * before the norm that precedes the residual add.
 */
import { fail } from '../errors';
import { selectHooks } from '../hooks';
import type { Tracer } from '../tracer';
import type { Token } from '../tokenizer';
import { readWeightRows } from '../weight-reader';

export interface AttributionOptions {
  answer: number;
  counterfactual?: number;
  /** Position (default: last). */
  position?: number;
  signal?: AbortSignal;
}

export interface AttributionResult {
  /** 'embed', 'pos_embed', 'L0 attn', 'L0 mlp', ..., 'ln_final bias' */
  labels: string[];
  /** Contribution of each component, same order as labels. */
  values: Float32Array;
  /** [layer, head]: each head's contribution (its attn.hook_result; the layer's b_O is in 'L attn'). */
  heads: Float32Array;
  nLayers: number;
  nHeads: number;
  /** The run's logit difference (or answer logit) at the position, for comparison with the sum. */
  logitDiff: number;
}

export async function directLogitAttribution(tracer: Tracer, prompt: Token[], opts: AttributionOptions): Promise<AttributionResult> {
  const { config, hooks, params, weights } = tracer.ckpt;
  const { nLayers, nHeads, dModel: d, dVocab } = config;
  if (config.postNorms) {
    fail('UNSUPPORTED', { field: 'model' }, `direct logit attribution is not supported for ${config.modelType}: its post norms (TransformerLens' ln1 / ln2) come after hook_attn_out, attn.hook_result and hook_mlp_out, so those hooks are not what is added to the residual stream.`,
      'Use the logit lens over the residual stream, activation patching or ablation, which do not assume that.');
  }
  const pos = opts.position ?? prompt.length - 1;
  if (!Number.isInteger(pos) || pos < 0 || pos >= prompt.length) fail('BAD_INPUT', { field: 'position' }, `must be in [0, ${prompt.length}), got ${pos}.`);
  for (const [field, id] of [['answer', opts.answer], ['counterfactual', opts.counterfactual]] as const) {
    if (id !== undefined && !(Number.isInteger(id) && id >= 0 && id < dVocab)) fail('BAD_INPUT', { field }, `token id ${id} is outside the vocabulary [0, ${dVocab}).`);
  }
  const hasPos = hooks.some((h) => h.name === 'hook_pos_embed'); // rotary models have none
  const names = `hook_embed,${hasPos ? 'hook_pos_embed,' : ''}blocks.*.hook_attn_out,blocks.*.hook_mlp_out,blocks.*.attn.hook_result,ln_final.hook_scale`;
  const run = await tracer.trace([prompt], { hooks: selectHooks(hooks, names), signal: opts.signal });

  // The logit-difference direction in the residual stream, after the final LayerNorm's weight.
  const ids = opts.counterfactual === undefined ? [opts.answer] : [opts.answer, opts.counterfactual];
  const rows = readWeightRows(weights.dataDir, params.unembed, ids); // [n, d_model]
  const [lnW] = readWeightRows(weights.dataDir, params.finalNorm.w);
  const lnB = params.finalNorm.b ? readWeightRows(weights.dataDir, params.finalNorm.b)[0] : undefined; // RMSNorm has none
  const center = config.normalization === 'layernorm';
  const unembedDiff = Float64Array.from({ length: d }, (_, i) => rows[0][i] - (rows[1]?.[i] ?? 0));
  const direction = unembedDiff.map((u, i) => u * lnW[i]);
  const scale = run.cache.get('ln_final.hook_scale').data[pos]; // [1, pos, 1]

  /** Contribution of a d_model vector at `offset` in `data`. */
  const contribution = (data: Float32Array, offset: number): number => {
    let mean = 0;
    if (center) {
      for (let i = 0; i < d; i++) mean += data[offset + i];
      mean /= d;
    }
    let dot = 0;
    for (let i = 0; i < d; i++) dot += (data[offset + i] - mean) * direction[i];
    return dot / scale;
  };
  const at = (hook: string) => contribution(run.cache.get(hook).data, pos * d); // [1, pos, d_model]
  const labels = hasPos ? ['embed', 'pos_embed'] : ['embed'];
  const values = hasPos ? [at('hook_embed'), at('hook_pos_embed')] : [at('hook_embed')];
  const heads = new Float32Array(nLayers * nHeads);
  for (let l = 0; l < nLayers; l++) {
    labels.push(`L${l} attn`, `L${l} mlp`);
    values.push(at(`blocks.${l}.hook_attn_out`), at(`blocks.${l}.hook_mlp_out`));
    const result = run.cache.get(`blocks.${l}.attn.hook_result`).data; // [1, pos, head, d_model]
    for (let h = 0; h < nHeads; h++) heads[l * nHeads + h] = contribution(result, (pos * nHeads + h) * d);
  }
  if (lnB) {
    labels.push('ln_final bias');
    values.push(unembedDiff.reduce((a, u, i) => a + u * lnB[i], 0));
  }
  const logits = run.logits.data.subarray(pos * dVocab, (pos + 1) * dVocab);
  return {
    labels,
    values: Float32Array.from(values),
    heads,
    nLayers,
    nHeads,
    logitDiff: logits[opts.answer] - (opts.counterfactual === undefined ? 0 : logits[opts.counterfactual]),
  };
}
