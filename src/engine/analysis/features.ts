/**
 * The `features` analysis: an attached dictionary's top k features at each token of a prompt (from
 * hook_sae_acts_post), each shown feature's logit effects (its decoder row, summed over a cross-layer
 * transcoder's targets, centred for a LayerNorm final norm, times the final norm's weight, through W_U:
 * the worker's unembedding session), and, when the
 * prompt has an answer, direct logit attribution per active feature at the last position (protocol
 * FeatureAttribution says exactly what is computed). One forward pass; the logits are one unembedding
 * of the shown features' rows.
 */
import { fail } from '../errors';
import { selectHooks } from '../hooks';
import { topK } from '../math';
import { saeHookName, targetHook } from '../sae/attach';
import { contributionScale, pickSae, residualWrites } from '../sae/feature-vectors';
import type { SparseDictionary } from '../sae/types';
import type { Token } from '../tokenizer';
import type { Tracer } from '../tracer';
import { readWeightRows } from '../weight-reader';
import type { FeatureAttribution, FeatureInfo, FeaturesResult, FeatureTokenRow, TokenValue } from '../../protocol/features';
import { normWeight } from './attribution';

export interface FeaturesOptions {
  /** The attached dictionary: its index or the hook it reads (default: the only one). */
  sae?: number | string;
  /** Features per token (default 5). */
  k?: number;
  /** Top and bottom logits per feature (default 10). */
  logitsK?: number;
  /** For the attribution: the answer token and, optionally, the counterfactual. */
  answer?: number;
  counterfactual?: number;
  /** How a token id reads in labels. */
  label: (id: number) => string;
  signal?: AbortSignal;
}

/** Subtracts the mean of a row in place (the final LayerNorm's centring). */
function centre(v: Float32Array): Float32Array {
  const mu = v.reduce((a, x) => a + x, 0) / v.length;
  for (let i = 0; i < v.length; i++) v[i] -= mu;
  return v;
}

/**
 * Logit effects of features of a dictionary writing d_model vectors (FeatureInfo.topLogits): each decoder
 * row, centred for a LayerNorm final norm, times the final norm's weight, through W_U; top and bottom k.
 */
export async function logitEffects(tracer: Tracer, d: SparseDictionary, ids: readonly number[], k: number, label: (id: number) => string, signal?: AbortSignal): Promise<{ top: TokenValue[]; bottom: TokenValue[] }[]> {
  const { config } = tracer.ckpt;
  if (!tracer.directionLogits) fail('RUNTIME', { field: 'logits' }, 'this tracer cannot unembed directions.');
  if (d.dOut !== config.dModel || d.reshapeActivations === 'hook_z') {
    fail('BAD_INPUT', { file: d.dir, field: d.hookIn }, `the dictionary writes ${d.dOut}-wide vectors, not d_model (${config.dModel}) ones: its features have no logit effects.`);
  }
  const centred = config.normalization === 'layernorm';
  const rows = residualWrites(d, ids);
  const flat = new Float32Array(ids.length * config.dModel); // [features, d_model]
  rows.forEach((r, i) => flat.set(centred ? centre(Float32Array.from(r)) : r, i * config.dModel));
  const l = await tracer.directionLogits({ dims: [ids.length, config.dModel], data: flat }, k, signal);
  const list = (idsOf: Int32Array, values: Float32Array, i: number): TokenValue[] =>
    Array.from({ length: l.k }, (_, j) => ({ id: idsOf[i * l.k + j], text: label(idsOf[i * l.k + j]), value: values[i * l.k + j] }));
  return ids.map((_, i) => ({ top: list(l.topIds, l.topValues, i), bottom: list(l.bottomIds, l.bottomValues, i) }));
}

export async function promptFeatures(tracer: Tracer, prompt: Token[], opts: FeaturesOptions): Promise<FeaturesResult> {
  const { sae, index } = pickSae(tracer.saes ?? [], opts.sae);
  const d = sae.dict;
  const { config } = tracer.ckpt;
  const k = opts.k ?? 5;
  const notes: string[] = [];
  const writesResidual = d.dOut === config.dModel && d.reshapeActivations !== 'hook_z';
  const attribute = opts.answer !== undefined && writesResidual && !(config.postNorms && !/hook_resid_(pre|mid|post)$/.test(targetHook(d)));
  const names = [saeHookName(d, 'hook_sae_acts_post'), ...(attribute ? [saeHookName(d, 'hook_sae_input'), 'ln_final.hook_scale'] : [])];
  const run = await tracer.trace([prompt], { hooks: selectHooks(tracer.hooks ?? tracer.ckpt.hooks, names.join(',')), logits: 'last', signal: opts.signal });
  const acts = run.cache.get(names[0]).data; // [1, pos, d_sae]
  const pos = prompt.length;
  const actsAt = (p: number) => acts.subarray(p * d.dSae, (p + 1) * d.dSae);

  const tokens: FeatureTokenRow[] = prompt.map((t, p) => ({
    pos: p, text: opts.label(t.id), start: t.start, end: t.end,
    features: topK(actsAt(p), k).filter((r) => r.value > 0).map((r) => ({ id: r.index, act: r.value })),
  }));
  const ids = [...new Set(tokens.flatMap((t) => t.features.map((f) => f.id)))].sort((a, b) => a - b);
  const features: FeatureInfo[] = ids.map((id) => {
    let maxAct = -Infinity;
    let maxPos = 0;
    for (let p = 0; p < pos; p++) if (acts[p * d.dSae + id] > maxAct) [maxAct, maxPos] = [acts[p * d.dSae + id], p];
    return { id, maxAct, maxPos, topLogits: [], bottomLogits: [] };
  });

  if (!writesResidual) notes.push(`The dictionary at ${d.hookIn} writes ${d.dOut}-wide vectors${d.reshapeActivations === 'hook_z' ? ' (hook_z)' : ''}, not d_model ones: no logits or attribution.`);
  else if (ids.length && tracer.directionLogits) {
    const effects = await logitEffects(tracer, d, ids, opts.logitsK ?? 10, opts.label, opts.signal);
    features.forEach((f, i) => ((f.topLogits = effects[i].top), (f.bottomLogits = effects[i].bottom)));
  } else if (ids.length) notes.push('This tracer cannot unembed directions: no logits.');

  let attribution: FeatureAttribution | undefined;
  if (attribute) {
    attribution = featureAttribution(tracer, d, acts, run.cache.get(names[1]).data, run.cache.get('ln_final.hook_scale').data, run.logits.data, pos, opts);
  } else if (opts.answer !== undefined && writesResidual) {
    notes.push(`Post-norm blocks add a normalised ${targetHook(d)}: no direct logit attribution for a dictionary there.`);
  }
  return { sae: { index, hook: d.hookIn, dSae: d.dSae, mode: sae.mode }, k, tokens, features, ...(attribution ? { attribution } : {}), notes };
}

/** DLA of every active feature at the last position (protocol FeatureAttribution). */
function featureAttribution(
  tracer: Tracer, d: SparseDictionary,
  acts: Float32Array, saeInput: Float32Array, lnScale: Float32Array, lastLogits: Float32Array, pos: number, opts: FeaturesOptions,
): FeatureAttribution {
  const { config, params } = tracer.ckpt;
  const dm = config.dModel;
  const p = pos - 1;
  const answer = opts.answer!;
  const cf = opts.counterfactual;
  for (const [field, id] of [['answer', answer], ['counterfactual', cf]] as const) {
    if (id !== undefined && !(Number.isInteger(id) && id >= 0 && id < config.dVocab)) fail('BAD_INPUT', { field }, `token id ${id} is outside the vocabulary [0, ${config.dVocab}).`);
  }
  const u = readWeightRows(tracer.ckpt, params.unembed, cf === undefined ? [answer] : [answer, cf]); // [n, d_model]
  const lnW = normWeight(tracer.ckpt, params.finalNorm, dm);
  const direction = Float64Array.from({ length: dm }, (_, i) => (u[0][i] - (u[1]?.[i] ?? 0)) * lnW[i]);
  const scale = lnScale[p]; // [1, pos, 1]
  const row = acts.subarray(p * d.dSae, (p + 1) * d.dSae);
  const active = [...row.keys()].filter((f) => row[f] > 0);
  const x = saeInput.subarray(p * d.dIn, (p + 1) * d.dIn);
  const vectors = residualWrites(d, active);
  const centred = config.normalization === 'layernorm';
  const features = active.map((f, i) => {
    const v = Float32Array.from(vectors[i], (w) => w * row[f] * contributionScale(d, vectors[i], x));
    if (centred) centre(v);
    let dot = 0;
    for (let j = 0; j < dm; j++) dot += v[j] * direction[j];
    return { id: f, act: row[f], value: dot / scale };
  }).sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  const cap = config.finalLogitSoftcap;
  const raw = (id: number) => (cap ? cap * Math.atanh(lastLogits[id] / cap) : lastLogits[id]); // [1, 1, d_vocab]: before the soft-cap
  const label = (id: number) => `'${opts.label(id).replace(/\n/g, '\\n')}'`;
  return {
    metric: cf === undefined ? `logit of ${label(answer)}` : `logit difference ${label(answer)} - ${label(cf)}`,
    position: p,
    metricValue: raw(answer) - (cf === undefined ? 0 : raw(cf)),
    features,
    total: features.reduce((a, f) => a + f.value, 0),
  };
}
