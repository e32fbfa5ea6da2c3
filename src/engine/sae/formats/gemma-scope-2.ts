/**
 * Gemma Scope 2 (Gemma 3): config.json + params.safetensors with lower-case tensors w_enc [d_in, d_sae],
 * w_dec [d_sae, d_out], b_enc, b_dec, threshold and, for affine transcoders, affine_skip_connection
 * [d_in, d_out]. The sites are Hugging Face module paths (hf_hook_point_in / _out), mapped to
 * TransformerLens hooks in hook-names.ts. JumpReLU with SAELens' semantics, no b_dec subtraction.
 */
import * as path from 'node:path';
import { fail } from '../../errors';
import { optBool, optString, readJsonConfig } from '../config-files';
import { hfModuleToHook, hookLayer } from '../hook-names';
import { need, optional, tensorTable } from '../tensors';
import type { SparseDictionary } from '../types';
import { ReaderOptions, isFile, pickHook } from './common';

export const GEMMA_SCOPE_2_CONFIG = 'config.json';
export const GEMMA_SCOPE_2_WEIGHTS = 'params.safetensors';

export function isGemmaScope2Folder(dir: string): boolean {
  return isFile(path.join(dir, GEMMA_SCOPE_2_CONFIG)) && isFile(path.join(dir, GEMMA_SCOPE_2_WEIGHTS));
}

export function readGemmaScope2(dir: string, opts: ReaderOptions): SparseDictionary {
  const cfgFile = path.join(dir, GEMMA_SCOPE_2_CONFIG);
  const cfg = readJsonConfig(cfgFile);
  const arch = optString(cfgFile, cfg, 'architecture') ?? 'jump_relu';
  if (arch !== 'jump_relu' && arch !== 'jumprelu') fail('UNSUPPORTED', { file: cfgFile, field: 'architecture' }, `unknown architecture ${JSON.stringify(arch)}.`, 'Gemma Scope 2 dictionaries are jump_relu.');
  const type = optString(cfgFile, cfg, 'type') ?? 'sae';
  if (type !== 'sae' && type !== 'transcoder') fail('UNSUPPORTED', { file: cfgFile, field: 'type' }, `${JSON.stringify(type)} dictionaries are not supported (sae and transcoder are).`, 'Cross-layer transcoders load from circuit-tracer\'s W_enc_i / W_dec_i layout.');
  const hfIn = optString(cfgFile, cfg, 'hf_hook_point_in');
  const hfOut = optString(cfgFile, cfg, 'hf_hook_point_out') ?? hfIn;
  const site = hfIn ? hfModuleToHook(hfIn) : undefined;
  const siteOut = hfOut ? hfModuleToHook(hfOut) : undefined;
  const transcoder = type === 'transcoder';

  const file = path.join(dir, GEMMA_SCOPE_2_WEIGHTS);
  const t = tensorTable([file], dir);
  const wEnc = need(t, 'w_enc', [['d_in'], ['d_sae']]); // [d_in, d_sae]
  const [dIn, dSae] = wEnc.shape;
  const wDec = need(t, 'w_dec', [['d_sae', dSae], ['d_out', transcoder ? undefined : dIn]]); // [d_sae, d_out]
  const dOut = wDec.shape[1];
  const affine = optional(t, 'affine_skip_connection', [['d_in', dIn], ['d_out', dOut]]); // [d_in, d_out]
  if (optBool(cfgFile, cfg, 'affine_connection') && !affine) fail('BAD_WEIGHTS', { file, field: 'affine_skip_connection' }, 'config says affine_connection but the tensor is missing.');
  if (affine && !transcoder) fail('BAD_WEIGHTS', { file, field: 'affine_skip_connection' }, `a skip connection in a dictionary of type ${JSON.stringify(type)}; only transcoders have one.`);

  const hooks = pickHook(dir, opts, site?.hook, 'config', hfIn ? `hf_hook_point_in ${JSON.stringify(hfIn)} is not a module path Circuit Lens maps` : `${GEMMA_SCOPE_2_CONFIG} has no hf_hook_point_in`);
  if (transcoder && !siteOut) fail('BAD_INPUT', { file: cfgFile, field: 'hf_hook_point_out' }, `${JSON.stringify(hfOut)} is not a module path Circuit Lens maps to a hook.`);
  const notes = [...(site?.notes ?? [])];
  if (hfIn) notes.push(`site: ${hfIn}${transcoder ? ` -> ${hfOut}` : ''} (Hugging Face module path).`);
  if (hfIn?.endsWith('o_proj.input')) notes.push('SAELens names this site blocks.L.hook_attn_out; the tensor is o_proj\'s input, the heads\' z concatenated, which is TransformerLens\' attn.hook_z flattened.');
  return {
    format: 'gemma-scope-2',
    dir,
    kind: !transcoder ? 'sae' : affine ? 'skip_transcoder' : 'transcoder',
    architecture: 'jumprelu',
    activation: { kind: 'jumprelu', threshold: need(t, 'threshold', [['d_sae', dSae]]), semantics: 'saelens' },
    dIn,
    dSae,
    dOut,
    ...hooks,
    hookOut: transcoder ? siteOut!.hook : undefined,
    layer: hookLayer(hooks.hookIn),
    encoder: { w: wEnc, b: need(t, 'b_enc', [['d_sae', dSae]]), layout: 'in-out' },
    decoder: { w: wDec, b: need(t, 'b_dec', [['d_out', dOut]]), layout: 'in-out' },
    skip: affine ? { w: affine, layout: 'in-out' } : undefined,
    applyBDecToInput: false,
    normalization: { kind: 'none' },
    rescaleActsByDecoderNorm: false,
    // o_proj's input is TransformerLens' attn.hook_z ([.., n_heads, d_head]) flattened.
    reshapeActivations: hooks.hookIn.endsWith('attn.hook_z') ? 'hook_z' : 'none',
    modelName: optString(cfgFile, cfg, 'model_name'),
    notes,
    source: t.source,
  };
}
