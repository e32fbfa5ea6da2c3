/**
 * What one feature of an attached dictionary writes: its decoder row W_dec[f] as stored, and its part of
 * the reconstruction at a token, a_f x W_dec[f] / ||W_dec[f]|| (TopK rescaled by decoder norm) times the
 * input normalisation's output scale at that token (types.ts InputNormalization: the restore is affine in
 * the decoded vector, so each feature's part is that scale times its decoded vector; b_dec, the restored
 * mean and a skip term belong to no feature); a cross-layer transcoder's feature has one row per layer it
 * writes to, summed for what it writes into the residual. Also: which attached dictionary a spec's `sae` names.
 */
import { fail } from '../errors';
import { readTensor, readWeightRows } from '../weight-reader';
import type { AttachedSae } from './attach';
import type { SparseDictionary } from './types';

/** The attached dictionary `sel` names (its index, or the hook it reads); the only one when `sel` is absent. */
export function pickSae(saes: readonly AttachedSae[], sel: number | string | undefined, field = 'sae'): { sae: AttachedSae; index: number } {
  const list = saes.map((s, i) => `${i}: ${s.dict.hookIn}`).join(', ');
  if (saes.length === 0) fail('BAD_INPUT', { field }, 'no dictionary is attached to this model.', 'List one in the spec\'s "saes" (or give --sae DIR on the CLI).');
  if (sel === undefined) {
    if (saes.length > 1) fail('BAD_INPUT', { field }, `${saes.length} dictionaries are attached (${list}); this analysis needs one.`, `Name it with "${field}": its index or its hook.`);
    return { sae: saes[0], index: 0 };
  }
  const index = typeof sel === 'number' ? sel : saes.findIndex((s) => s.dict.hookIn === sel);
  if (!Number.isInteger(index) || index < 0 || index >= saes.length) fail('BAD_INPUT', { field }, `${JSON.stringify(sel)} names no attached dictionary; attached: ${list}.`, 'Give an index or the hook a dictionary reads.');
  return { sae: saes[index], index };
}

function checkIds(d: SparseDictionary, ids: readonly number[]): void {
  for (const f of ids) if (!(Number.isInteger(f) && f >= 0 && f < d.dSae)) fail('BAD_INPUT', { field: 'features' }, `feature ${f} is outside [0, ${d.dSae}) of the dictionary at ${d.hookIn}.`);
}

/** Decoder rows W_dec[f] [d_out] as stored (raw, not divided by their norm). */
export function decoderRows(d: SparseDictionary, ids: readonly number[]): Float32Array[] {
  if (d.crossLayer) {
    fail('BAD_INPUT', { file: d.dir, field: d.hookIn }, `a feature of this cross-layer transcoder writes to ${d.crossLayer.hooksOut.length} layers, one decoder row each, so it has no single decoder row to add at one hook.`,
      'Clamp the feature instead (its decoded change reaches every layer it writes to), or steer with an SAE or a per-layer transcoder.');
  }
  checkIds(d, ids);
  if (d.decoder.layout === 'in-out') return readWeightRows(d.source, d.decoder.w, ids); // [d_sae, d_out]
  const w = readTensor(d.source, d.decoder.w); // [d_out, d_sae]
  return ids.map((f) => Float32Array.from({ length: d.dOut }, (_, j) => w[j * d.dSae + f]));
}

/**
 * What each feature writes into the residual stream, [d_out] per feature: its decoder row; for a
 * cross-layer transcoder, its rows summed over every target (each target is a block's output added to the
 * residual, so the final residual receives the sum from it directly: its logit effects and attribution).
 */
export function residualWrites(d: SparseDictionary, ids: readonly number[]): Float32Array[] {
  if (!d.crossLayer) return decoderRows(d, ids);
  checkIds(d, ids);
  const targets = d.crossLayer.hooksOut.length;
  const rows = readWeightRows(d.source, { ...d.decoder.w, shape: [d.dSae, targets * d.dOut] }, ids); // [n_targets * d_out] per feature
  return rows.map((r) => {
    const sum = new Float32Array(d.dOut); // [d_out]
    for (let t = 0; t < targets; t++) for (let j = 0; j < d.dOut; j++) sum[j] += r[t * d.dOut + j];
    return sum;
  });
}

const norm = (v: Float32Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));

/**
 * The factor taking a_f x W_dec[f] to the feature's part of the reconstruction at one token, from that
 * token's hook_sae_input row `x` [d_in]: 1 / ||W_dec[f]|| when TopK rescales by decoder norm, times the
 * normalisation's output scale (1 / s, normOut / sqrt(d_out), ||x|| / sqrt(d_in), or x's std).
 */
export function contributionScale(d: SparseDictionary, row: Float32Array, x: Float32Array): number {
  const dec = d.rescaleActsByDecoderNorm ? 1 / norm(row) : 1;
  const m = d.normalization;
  switch (m.kind) {
    case 'none':
      return dec;
    case 'expected_average_only_in':
      return dec / (m.scalingFactor ?? 1);
    case 'dataset_wise':
      return (dec * m.normOut) / Math.sqrt(d.dOut);
    case 'constant_norm_rescale':
      return (dec * norm(x)) / Math.sqrt(d.dIn);
    case 'layer_norm': {
      const mu = x.reduce((a, v) => a + v, 0) / x.length;
      return dec * Math.sqrt(x.reduce((a, v) => a + (v - mu) ** 2, 0) / (x.length - 1));
    }
  }
}
