/**
 * SAELens folders: cfg.json + sae_weights.safetensors (+ sparsity.safetensors), both the 6.x config
 * (architecture, metadata.hook_name, ...) and the older ones (hook_point, activation_fn_str, boolean
 * normalize_activations), read with SAELens' semantics for every architecture it saves for inference.
 */
import * as path from 'node:path';
import { fail } from '../../errors';
import { readTensor } from '../../weight-reader';
import { ConfigObject, optBool, optNumber, optObject, optPositiveInt, optString, readJsonConfig } from '../config-files';
import { hookLayer } from '../hook-names';
import { need, optional, tensorTable } from '../tensors';
import type { Activation, Architecture, DictionaryKind, InputNormalization, SparseDictionary } from '../types';
import { ReaderOptions, isFile, pickHook } from './common';

export const SAELENS_CONFIG = 'cfg.json';
export const SAELENS_WEIGHTS = 'sae_weights.safetensors';

export function isSaeLensFolder(dir: string): boolean {
  return isFile(path.join(dir, SAELENS_CONFIG)) && isFile(path.join(dir, SAELENS_WEIGHTS));
}

/** The architectures SAELens saves for inference, as (architecture, kind, jumprelu?) here. */
const ARCHITECTURES: Record<string, { architecture: Architecture; kind: DictionaryKind; threshold: boolean }> = {
  standard: { architecture: 'standard', kind: 'sae', threshold: false },
  jumprelu: { architecture: 'jumprelu', kind: 'sae', threshold: true },
  topk: { architecture: 'topk', kind: 'sae', threshold: false },
  batchtopk: { architecture: 'batchtopk', kind: 'sae', threshold: true },
  gated: { architecture: 'gated', kind: 'sae', threshold: false },
  transcoder: { architecture: 'standard', kind: 'transcoder', threshold: false },
  skip_transcoder: { architecture: 'standard', kind: 'skip_transcoder', threshold: false },
  jumprelu_transcoder: { architecture: 'jumprelu', kind: 'transcoder', threshold: true },
  jumprelu_skip_transcoder: { architecture: 'jumprelu', kind: 'skip_transcoder', threshold: true },
};

/** SAELens' TopK default when a config names no k. */
const SAELENS_DEFAULT_K = 100;

function normalization(file: string, dir: string, cfg: ConfigObject, notes: string[]): InputNormalization {
  const raw = cfg.normalize_activations;
  // Pre-6 configs stored a boolean; true meant expected_average_only_in.
  const mode = raw === true ? 'expected_average_only_in' : raw === false || raw === undefined || raw === null ? 'none' : optString(file, cfg, 'normalize_activations');
  switch (mode) {
    case 'none':
      return { kind: 'none' };
    case 'constant_norm_rescale':
      return { kind: 'constant_norm_rescale' };
    case 'layer_norm':
      return { kind: 'layer_norm', eps: 1e-5 };
    case 'expected_average_only_in': {
      const scalerFile = path.join(dir, 'activation_scaler.json');
      const scaler = isFile(scalerFile) ? optNumber(scalerFile, readJsonConfig(scalerFile), 'scaling_factor') : undefined;
      if (scaler === undefined) notes.push('normalize_activations is expected_average_only_in but no scaling factor is given: SAELens applies none at inference (training folds it into the weights).');
      return { kind: 'expected_average_only_in', scalingFactor: scaler ?? undefined };
    }
    default:
      fail('UNSUPPORTED', { file, field: 'normalize_activations' }, `${JSON.stringify(mode)} is not a normalisation Circuit Lens implements.`, 'Known: none, expected_average_only_in, constant_norm_rescale, layer_norm.');
  }
}

export function readSaeLens(dir: string, opts: ReaderOptions): SparseDictionary {
  const cfgFile = path.join(dir, SAELENS_CONFIG);
  const cfg = readJsonConfig(cfgFile);
  const meta = optObject(cfgFile, cfg, 'metadata') ?? {};
  const notes: string[] = [];
  // Before 6.0: hook_point, activation_fn_str, and topk as an activation function rather than an architecture.
  const hookName = optString(cfgFile, meta, 'hook_name') ?? optString(cfgFile, cfg, 'hook_name') ?? optString(cfgFile, cfg, 'hook_point');
  const hookNameOut = optString(cfgFile, meta, 'hook_name_out') ?? optString(cfgFile, cfg, 'hook_name_out');
  const headIndex = meta.hook_head_index ?? cfg.hook_head_index ?? cfg.hook_point_head_index;
  if (headIndex !== undefined && headIndex !== null) fail('UNSUPPORTED', { file: cfgFile, field: 'hook_head_index' }, `the SAE reads one head (${JSON.stringify(headIndex)}) of its hook.`, 'Per-head SAEs are not supported yet.');
  const activationFn = optString(cfgFile, cfg, 'activation_fn') ?? optString(cfgFile, cfg, 'activation_fn_str');
  const fnKwargs = optObject(cfgFile, cfg, 'activation_fn_kwargs') ?? {};
  let archName = optString(cfgFile, cfg, 'architecture') ?? 'standard';
  if (activationFn === 'topk') archName = 'topk';
  else if (activationFn !== undefined && activationFn !== 'relu') fail('UNSUPPORTED', { file: cfgFile, field: 'activation_fn' }, `activation ${JSON.stringify(activationFn)} is not one SAELens saves for inference.`);
  const arch = ARCHITECTURES[archName];
  if (!arch) fail('UNSUPPORTED', { file: cfgFile, field: 'architecture' }, `unknown architecture ${JSON.stringify(archName)}.`, `Known: ${Object.keys(ARCHITECTURES).join(', ')}.`);
  const transcoder = arch.kind !== 'sae';

  const cfgDIn = optPositiveInt(cfgFile, cfg, 'd_in');
  const cfgDSae = optPositiveInt(cfgFile, cfg, 'd_sae');
  if (cfgDIn === undefined) fail('BAD_CONFIG', { file: cfgFile, field: 'd_in' }, 'missing.', 'A SAELens cfg.json names d_in.');
  const cfgDOut = transcoder ? optPositiveInt(cfgFile, cfg, 'd_out') : cfgDIn;

  const files = [path.join(dir, SAELENS_WEIGHTS)];
  const sparsityFile = path.join(dir, 'sparsity.safetensors');
  if (isFile(sparsityFile)) files.push(sparsityFile);
  const t = tensorTable(files, dir);
  const wEnc = need(t, 'W_enc', [['d_in', cfgDIn], ['d_sae', cfgDSae]]); // [d_in, d_sae]
  const [dIn, dSae] = wEnc.shape;
  const wDec = need(t, 'W_dec', [['d_sae', dSae], ['d_out', cfgDOut]]); // [d_sae, d_out]
  const dOut = wDec.shape[1];
  const bDec = need(t, 'b_dec', [['d_out', dOut]]);

  let activation: Activation;
  let bEnc;
  if (arch.architecture === 'gated') {
    bEnc = need(t, 'b_gate', [['d_sae', dSae]]);
    activation = { kind: 'gated', bMag: need(t, 'b_mag', [['d_sae', dSae]]), rMag: need(t, 'r_mag', [['d_sae', dSae]]) };
  } else {
    bEnc = need(t, 'b_enc', [['d_sae', dSae]]);
    if (arch.threshold) {
      const threshold = optional(t, 'threshold', [['d_sae', dSae]]);
      if (!threshold) fail('BAD_WEIGHTS', { file: files[0], field: 'threshold' }, `architecture ${archName} needs a threshold tensor and there is none.`, 'Without it the SAE would run as ReLU and give wrong activations.');
      activation = { kind: 'jumprelu', threshold, semantics: 'saelens' };
    } else if (arch.architecture === 'topk') {
      const k = optPositiveInt(cfgFile, cfg, 'k') ?? optPositiveInt(cfgFile, fnKwargs, 'k');
      if (k === undefined) notes.push(`no k in the config: SAELens' default k = ${SAELENS_DEFAULT_K}.`);
      activation = { kind: 'topk', k: k ?? SAELENS_DEFAULT_K, semantics: 'saelens' };
      if (activation.k > dSae) fail('BAD_CONFIG', { file: cfgFile, field: 'k' }, `k = ${activation.k} is more than d_sae = ${dSae}.`);
    } else {
      activation = { kind: 'relu' };
    }
  }
  const skip = arch.kind === 'skip_transcoder' ? { w: need(t, 'W_skip', [['d_out', dOut], ['d_in', dIn]]), layout: 'out-in' as const } : undefined;

  const scaling = optional(t, 'scaling_factor', [['d_sae', dSae]]);
  if (scaling && readTensor(t.source, scaling).some((v) => v !== 1)) {
    fail('UNSUPPORTED', { file: files[0], field: 'scaling_factor' }, 'the SAE has a fine-tuning scaling factor that is not all ones.', 'Fold it into W_dec and save the SAE again.');
  }

  const applyBDecToInput = optBool(cfgFile, cfg, 'apply_b_dec_to_input') ?? true;
  if (transcoder && applyBDecToInput) fail('BAD_CONFIG', { file: cfgFile, field: 'apply_b_dec_to_input' }, 'is true for a transcoder, whose b_dec lives in the output space.', 'SAELens requires false for transcoders.');
  const reshapeRaw = optString(cfgFile, cfg, 'reshape_activations') ?? (hookName?.includes('hook_z') ? 'hook_z' : 'none');
  if (reshapeRaw !== 'none' && reshapeRaw !== 'hook_z') fail('UNSUPPORTED', { file: cfgFile, field: 'reshape_activations' }, `${JSON.stringify(reshapeRaw)} is not none or hook_z.`);

  const hooks = pickHook(dir, opts, hookName, 'config', `${SAELENS_CONFIG} has no hook_name`);
  if (transcoder && !hookNameOut) fail('BAD_CONFIG', { file: cfgFile, field: 'hook_name_out' }, 'missing: a transcoder names the hook it predicts.');
  const kwargs = optObject(cfgFile, meta, 'model_from_pretrained_kwargs') ?? optObject(cfgFile, cfg, 'model_from_pretrained_kwargs');
  const sparsity = optional(t, 'sparsity', [['d_sae', dSae]]);
  return {
    format: 'saelens',
    dir,
    kind: arch.kind,
    architecture: arch.architecture,
    activation,
    dIn,
    dSae,
    dOut,
    ...hooks,
    hookOut: transcoder ? hookNameOut : undefined,
    layer: hookLayer(hooks.hookIn),
    encoder: { w: wEnc, b: bEnc, layout: 'in-out' },
    decoder: { w: wDec, b: bDec, layout: 'in-out' },
    skip,
    applyBDecToInput,
    normalization: normalization(cfgFile, dir, cfg, notes),
    rescaleActsByDecoderNorm: arch.architecture === 'topk' && (optBool(cfgFile, cfg, 'rescale_acts_by_decoder_norm') ?? false),
    reshapeActivations: reshapeRaw,
    modelFromPretrainedKwargs: kwargs,
    sparsity,
    modelName: optString(cfgFile, meta, 'model_name') ?? optString(cfgFile, cfg, 'model_name'),
    notes,
    source: t.source,
  };
}
