/**
 * EleutherAI sparsify: cfg.json + sae.safetensors per hookpoint folder, the folder named by the module it
 * hooks (`layers.3`, `layers.3.mlp`). Tensors encoder.weight [d_sae, d_in] (torch.nn.Linear), encoder.bias,
 * W_dec [d_sae, d_out], b_dec [d_out], optional W_skip [d_out, d_in] (applied as x @ W_skip.T). Encoding
 * subtracts b_dec (not for transcoders), applies relu, then keeps the top k: the values SAELens' TopK gives.
 */
import * as path from 'node:path';
import { fail } from '../../errors';
import { optBool, optPositiveInt, optString, readJsonConfig } from '../config-files';
import { sparsifyHooks } from '../hook-names';
import { need, optional, tensorTable } from '../tensors';
import type { SparseDictionary } from '../types';
import { ReaderOptions, isFile, pickHook } from './common';

export const SPARSIFY_CONFIG = 'cfg.json';
export const SPARSIFY_WEIGHTS = 'sae.safetensors';

export function isSparsifyFolder(dir: string): boolean {
  return isFile(path.join(dir, SPARSIFY_CONFIG)) && isFile(path.join(dir, SPARSIFY_WEIGHTS));
}

export function readSparsify(dir: string, opts: ReaderOptions): SparseDictionary {
  const cfgFile = path.join(dir, SPARSIFY_CONFIG);
  const cfg = readJsonConfig(cfgFile);
  const activation = optString(cfgFile, cfg, 'activation') ?? 'topk';
  if (activation !== 'topk') fail('UNSUPPORTED', { file: cfgFile, field: 'activation' }, `activation ${JSON.stringify(activation)} is not implemented.`, 'Known: topk.');
  if (optBool(cfgFile, cfg, 'signed')) fail('UNSUPPORTED', { file: cfgFile, field: 'signed' }, 'signed sparse coders are not implemented.');
  const k = optPositiveInt(cfgFile, cfg, 'k');
  if (k === undefined) fail('BAD_CONFIG', { file: cfgFile, field: 'k' }, 'missing: a sparsify config names k.', 'Without it the TopK would be unknown.');
  const transcode = optBool(cfgFile, cfg, 'transcode') ?? false;
  const cfgDIn = optPositiveInt(cfgFile, cfg, 'd_in');
  const numLatents = optPositiveInt(cfgFile, cfg, 'num_latents');

  const file = path.join(dir, SPARSIFY_WEIGHTS);
  const t = tensorTable([file], dir);
  const wEnc = need(t, 'encoder.weight', [['num_latents', numLatents], ['d_in', cfgDIn]]); // [d_sae, d_in]
  const [dSae, dIn] = wEnc.shape;
  if (k > dSae) fail('BAD_CONFIG', { file: cfgFile, field: 'k' }, `k = ${k} is more than the ${dSae} latents.`);
  const bDec = need(t, 'b_dec', [['d_out', transcode ? undefined : dIn]]);
  const dOut = bDec.shape[0];
  const notes: string[] = [];
  // W_dec is [d_sae, d_out]; a transposed copy is read as it is, with its layout recorded.
  let wDec = t.refs.get('W_dec')?.ref.shape[0] === dOut && dOut !== dSae ? optional(t, 'W_dec', [['d_out', dOut], ['num_latents', dSae]]) : undefined;
  const decLayout = wDec ? 'out-in' : 'in-out';
  if (wDec) notes.push('W_dec is stored [d_out, num_latents], transposed from sparsify\'s layout.');
  else wDec = need(t, 'W_dec', [['num_latents', dSae], ['d_out', dOut]]);
  const wSkip = optional(t, 'W_skip', [['d_out', dOut], ['d_in', dIn]]);

  const folder = path.basename(path.resolve(dir));
  const derived = sparsifyHooks(folder, transcode);
  const hooks = pickHook(dir, opts, derived?.hookIn, 'folder', `the folder name ${JSON.stringify(folder)} is not a hookpoint sparsify writes (layers.N, layers.N.mlp, ...)`);
  if (transcode && !derived?.hookOut) fail('BAD_INPUT', { file: dir }, 'the output hook of a sparsify transcoder comes from its folder name, and this one names no MLP or attention module.', 'Name the folder after its hookpoint (layers.N.mlp).');
  if (wSkip && !transcode) fail('BAD_WEIGHTS', { file, field: 'W_skip' }, 'a skip connection in a dictionary whose config does not say transcode.');
  return {
    format: 'sparsify',
    dir,
    kind: !transcode ? 'sae' : wSkip ? 'skip_transcoder' : 'transcoder',
    architecture: 'topk',
    activation: { kind: 'topk', k, semantics: 'saelens' },
    dIn,
    dSae,
    dOut,
    ...hooks,
    hookOut: transcode ? derived?.hookOut : undefined,
    layer: derived?.layer,
    encoder: { w: wEnc, b: need(t, 'encoder.bias', [['num_latents', dSae]]), layout: 'out-in' },
    decoder: { w: wDec, b: bDec, layout: decLayout },
    skip: wSkip ? { w: wSkip, layout: 'out-in' } : undefined,
    applyBDecToInput: !transcode,
    normalization: { kind: 'none' },
    rescaleActsByDecoderNorm: false,
    reshapeActivations: 'none',
    notes: [...notes, ...(derived?.notes ?? [])],
    source: t.source,
  };
}
