/**
 * Llama Scope (Llama-3.1-8B, OpenMOSS): hyperparams.json + checkpoints/final.safetensors with
 * torch.nn.Linear layouts, encoder.weight [d_sae, d_model] and decoder.weight [d_model, d_sae]; JumpReLU
 * with one scalar threshold for all features; dataset-wise normalisation (the input scaled by
 * sqrt(d_model) / in-norm, the output by out-norm / sqrt(d_model)). Hooks are TransformerLens names.
 */
import * as path from 'node:path';
import { fail } from '../../errors';
import { optBool, optNumber, optObject, optPositiveInt, optString, readJsonConfig } from '../config-files';
import { hookLayer } from '../hook-names';
import { constantVector, need, optional, tensorTable } from '../tensors';
import type { Activation, InputNormalization, SparseDictionary } from '../types';
import { ReaderOptions, isFile, pickHook } from './common';

export const LLAMA_SCOPE_CONFIG = 'hyperparams.json';
export const LLAMA_SCOPE_WEIGHTS = path.join('checkpoints', 'final.safetensors');

export function isLlamaScopeFolder(dir: string): boolean {
  return isFile(path.join(dir, LLAMA_SCOPE_CONFIG)) && isFile(path.join(dir, LLAMA_SCOPE_WEIGHTS));
}

export function readLlamaScope(dir: string, opts: ReaderOptions): SparseDictionary {
  const cfgFile = path.join(dir, LLAMA_SCOPE_CONFIG);
  const cfg = readJsonConfig(cfgFile);
  const file = path.join(dir, LLAMA_SCOPE_WEIGHTS);
  const t = tensorTable([file], dir);
  const cfgD = optPositiveInt(cfgFile, cfg, 'd_model');
  const wEnc = need(t, 'encoder.weight', [['d_sae', optPositiveInt(cfgFile, cfg, 'd_sae')], ['d_model', cfgD]]); // [d_sae, d_in]
  const [dSae, dIn] = wEnc.shape;
  const wDec = need(t, 'decoder.weight', [['d_model'], ['d_sae', dSae]]); // [d_out, d_sae]
  const dOut = wDec.shape[0];
  const useDecoderBias = optBool(cfgFile, cfg, 'use_decoder_bias') ?? true;
  const bDec = useDecoderBias ? need(t, 'decoder.bias', [['d_model', dOut]]) : optional(t, 'decoder.bias', [['d_model', dOut]]);
  const applyBDecToInput = optBool(cfgFile, cfg, 'apply_decoder_bias_to_pre_encoder') ?? false;
  if (applyBDecToInput && !bDec) fail('BAD_CONFIG', { file: cfgFile, field: 'apply_decoder_bias_to_pre_encoder' }, 'is true but there is no decoder bias.');

  const actFn = optString(cfgFile, cfg, 'act_fn') ?? 'relu';
  let activation: Activation;
  if (actFn === 'jumprelu') {
    const theta = optNumber(cfgFile, cfg, 'jump_relu_threshold');
    if (theta === undefined) fail('BAD_CONFIG', { file: cfgFile, field: 'jump_relu_threshold' }, 'missing for act_fn jumprelu.', 'Without it the SAE would run as ReLU.');
    // SAELens' JumpReLU; Llama Scope's thresholds are positive, where both definitions agree.
    activation = { kind: 'jumprelu', threshold: constantVector(t, 'jump_relu_threshold', dSae, theta, cfgFile), semantics: 'saelens' };
  } else if (actFn === 'relu') {
    activation = { kind: 'relu' };
  } else {
    fail('UNSUPPORTED', { file: cfgFile, field: 'act_fn' }, `unknown activation ${JSON.stringify(actFn)}.`, 'Known: jumprelu, relu.');
  }

  const normMode = optString(cfgFile, cfg, 'norm_activation') ?? 'none';
  let normalization: InputNormalization;
  if (normMode === 'dataset-wise') {
    const norms = optObject(cfgFile, cfg, 'dataset_average_activation_norm');
    const normIn = norms && optNumber(cfgFile, norms, 'in');
    const normOut = norms && optNumber(cfgFile, norms, 'out');
    if (!normIn || !normOut || normIn <= 0 || normOut <= 0) fail('BAD_CONFIG', { file: cfgFile, field: 'dataset_average_activation_norm' }, 'needs positive "in" and "out" norms for dataset-wise normalisation.', 'Without them the input would reach the SAE unscaled.');
    normalization = { kind: 'dataset_wise', normIn, normOut };
  } else if (normMode === 'none') {
    normalization = { kind: 'none' };
  } else {
    fail('UNSUPPORTED', { file: cfgFile, field: 'norm_activation' }, `${JSON.stringify(normMode)} normalisation is not implemented.`, 'Known: dataset-wise, none.');
  }

  const hookIn = optString(cfgFile, cfg, 'hook_point_in') ?? optString(cfgFile, cfg, 'hook_point');
  const hookOut = optString(cfgFile, cfg, 'hook_point_out') ?? hookIn;
  const hooks = pickHook(dir, opts, hookIn, 'config', `${LLAMA_SCOPE_CONFIG} has no hook_point_in`);
  const transcoder = hookOut !== undefined && hookIn !== undefined && hookOut !== hookIn;
  if (!transcoder && dOut !== dIn) fail('BAD_WEIGHTS', { file, field: 'decoder.weight' }, `writes ${dOut} values but the SAE reads ${dIn}.`);
  return {
    format: 'llama-scope',
    dir,
    kind: transcoder ? 'transcoder' : 'sae',
    architecture: actFn === 'jumprelu' ? 'jumprelu' : 'standard',
    activation,
    dIn,
    dSae,
    dOut,
    ...hooks,
    hookOut: transcoder ? hookOut : undefined,
    layer: hookLayer(hooks.hookIn),
    encoder: { w: wEnc, b: need(t, 'encoder.bias', [['d_sae', dSae]]), layout: 'out-in' },
    decoder: { w: wDec, b: bDec, layout: 'out-in' },
    applyBDecToInput,
    normalization,
    rescaleActsByDecoderNorm: false,
    reshapeActivations: 'none',
    notes: actFn === 'jumprelu' && optNumber(cfgFile, cfg, 'top_k') !== undefined ? ['top_k in hyperparams.json is a training setting; inference is the JumpReLU.'] : [],
    source: t.source,
  };
}
