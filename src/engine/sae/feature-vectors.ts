/**
 * What one feature of an attached dictionary writes: its decoder row W_dec[f] as stored, and its part of
 * the reconstruction at a token, a_f x W_dec[f] / ||W_dec[f]|| (TopK rescaled by decoder norm) times the
 * input normalisation's output scale at that token (types.ts InputNormalization: the restore is affine in
 * the decoded vector, so each feature's part is that scale times its decoded vector; b_dec, the restored
 * mean and a skip term belong to no feature). Also: which attached dictionary a spec's `sae` names.
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

/** Decoder rows W_dec[f] [d_out] as stored (raw, not divided by their norm). */
export function decoderRows(d: SparseDictionary, ids: readonly number[]): Float32Array[] {
  if (d.crossLayer) fail('BAD_INPUT', { file: d.dir }, 'cross-layer transcoders have one decoder per target layer.', 'Use a per-layer transcoder or an SAE.');
  for (const f of ids) if (!(Number.isInteger(f) && f >= 0 && f < d.dSae)) fail('BAD_INPUT', { field: 'features' }, `feature ${f} is outside [0, ${d.dSae}) of the dictionary at ${d.hookIn}.`);
  if (d.decoder.layout === 'in-out') return readWeightRows(d.source, d.decoder.w, ids); // [d_sae, d_out]
  const w = readTensor(d.source, d.decoder.w); // [d_out, d_sae]
  return ids.map((f) => Float32Array.from({ length: d.dOut }, (_, j) => w[j * d.dSae + f]));
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
