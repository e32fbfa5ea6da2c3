/**
 * circuit-tracer transcoders: a config.yaml (model_kind, feature_input_hook and feature_output_hook
 * relative to blocks.L) over either per-layer transcoders (`layer_{i}.safetensors`, or the files its
 * `transcoders:` list names, Gemma Scope npz included) or a cross-layer transcoder (`W_enc_{i}` and
 * `W_dec_{i}` files). circuit-tracer stores W_enc [d_transcoder, d_model], the transpose of SAELens', and
 * its JumpReLU and TopK keep values as they are (no relu): semantics 'circuit-tracer'.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail } from '../../errors';
import { readTensor } from '../../weight-reader';
import { ConfigObject, optPositiveInt, optString, readYamlConfig } from '../config-files';
import { resolveFileUri } from '../resolve';
import { TensorTable, need, optional, tensorTable } from '../tensors';
import type { Activation, SparseDictionary } from '../types';
import { ReaderOptions, isFile } from './common';
import { addNpzMembers } from './gemma-scope';

export const CIRCUIT_TRACER_CONFIG = 'config.yaml';

export function isCircuitTracerFolder(dir: string): boolean {
  return isFile(path.join(dir, CIRCUIT_TRACER_CONFIG));
}

interface Site {
  cfgFile: string;
  cfg: ConfigObject;
  inHook: string;
  outHook: string;
}

function site(dir: string): Site {
  const cfgFile = path.join(dir, CIRCUIT_TRACER_CONFIG);
  const cfg = readYamlConfig(cfgFile);
  const inHook = optString(cfgFile, cfg, 'feature_input_hook');
  const outHook = optString(cfgFile, cfg, 'feature_output_hook');
  if (!inHook) fail('BAD_CONFIG', { file: cfgFile, field: 'feature_input_hook' }, 'missing.', 'circuit-tracer configs name the hook (relative to blocks.L) their features read, e.g. ln2.hook_normalized.');
  if (!outHook) fail('BAD_CONFIG', { file: cfgFile, field: 'feature_output_hook' }, 'missing.', 'e.g. hook_mlp_out.');
  return { cfgFile, cfg, inHook, outHook };
}

/** The activation circuit-tracer applies: TopK when the config says so, else JumpReLU when there is a threshold, else ReLU. */
function activation(s: Site, t: TensorTable, thresholdName: string, dSae: number): Activation {
  const kind = optString(s.cfgFile, s.cfg, 'activation');
  if (kind === 'topk') {
    const kTensor = optional(t, 'k', []);
    const k = optPositiveInt(s.cfgFile, s.cfg, 'k') ?? (kTensor ? readTensor(t.source, kTensor)[0] : undefined);
    if (!k || !Number.isSafeInteger(k) || k > dSae) fail('BAD_CONFIG', { file: s.cfgFile, field: 'k' }, `a TopK transcoder needs k between 1 and ${dSae}, got ${k}.`);
    return { kind: 'topk', k, semantics: 'circuit-tracer' };
  }
  if (kind !== undefined && kind !== 'jumprelu' && kind !== 'relu') fail('UNSUPPORTED', { file: s.cfgFile, field: 'activation' }, `unknown activation ${JSON.stringify(kind)}.`, 'Known: topk, jumprelu, relu.');
  const threshold = optional(t, thresholdName, [['d_transcoder', dSae]]);
  if (kind === 'jumprelu' && !threshold) fail('BAD_WEIGHTS', { file: s.cfgFile, field: thresholdName }, 'the config says jumprelu but there is no threshold tensor.');
  return threshold ? { kind: 'jumprelu', threshold, semantics: 'circuit-tracer' } : { kind: 'relu' };
}

function architectureOf(a: Activation): SparseDictionary['architecture'] {
  return a.kind === 'topk' ? 'topk' : a.kind === 'jumprelu' ? 'jumprelu' : 'standard';
}

/** One per-layer transcoder file: circuit-tracer's safetensors layout, or a Gemma Scope params.npz. */
function perLayer(dir: string, s: Site, file: string, layer: number, opts: ReaderOptions): SparseDictionary {
  const npz = file.endsWith('.npz');
  const t = npz ? tensorTable([], path.dirname(file)) : tensorTable([file], path.dirname(file));
  if (npz) addNpzMembers(t, file, opts);
  // Gemma Scope stores W_enc [d_model, d_transcoder]; circuit-tracer's own files [d_transcoder, d_model].
  const wEnc = npz ? need(t, 'W_enc', [['d_model'], ['d_transcoder']]) : need(t, 'W_enc', [['d_transcoder'], ['d_model']]);
  const [dSae, dIn] = npz ? [wEnc.shape[1], wEnc.shape[0]] : wEnc.shape;
  const wDec = need(t, 'W_dec', [['d_transcoder', dSae], ['d_model']]); // [d_sae, d_out]
  const dOut = wDec.shape[1];
  const wSkip = optional(t, 'W_skip', [['d_model', dOut], ['d_model', dIn]]); // applied as x @ W_skip.T
  const act = activation(s, t, npz ? 'threshold' : 'activation_function.threshold', dSae);
  return {
    format: 'circuit-tracer',
    dir,
    kind: wSkip ? 'skip_transcoder' : 'transcoder',
    architecture: architectureOf(act),
    activation: act,
    dIn,
    dSae,
    dOut,
    hookIn: `blocks.${layer}.${s.inHook}`,
    hookOut: `blocks.${layer}.${s.outHook}`,
    hookSource: 'config',
    layer,
    encoder: { w: wEnc, b: need(t, 'b_enc', [['d_transcoder', dSae]]), layout: npz ? 'in-out' : 'out-in' },
    decoder: { w: wDec, b: need(t, 'b_dec', [['d_model', dOut]]), layout: 'in-out' },
    skip: wSkip ? { w: wSkip, layout: 'out-in' } : undefined,
    applyBDecToInput: false,
    normalization: { kind: 'none' },
    rescaleActsByDecoderNorm: false,
    reshapeActivations: 'none',
    modelName: optString(s.cfgFile, s.cfg, 'model_name'),
    notes: npz ? [`${path.basename(file)} is a Gemma Scope file read with circuit-tracer's semantics.`] : [],
    source: t.source,
  };
}

/** Files named PREFIX{i}.safetensors in a folder, by i; the indices must run 0..n-1. */
function indexedFiles(dir: string, prefix: string, what: string): string[] {
  const re = new RegExp(`^${prefix}(\\d+)\\.safetensors$`);
  const byIndex = new Map<number, string>();
  for (const f of fs.readdirSync(dir)) {
    const m = re.exec(f);
    if (m) byIndex.set(Number(m[1]), path.join(dir, f));
  }
  for (let i = 0; i < byIndex.size; i++) if (!byIndex.has(i)) fail('BAD_WEIGHTS', { file: dir }, `${what} ${i} is missing (${byIndex.size} files found).`);
  return [...byIndex.keys()].sort((a, b) => a - b).map((i) => byIndex.get(i)!);
}

function transcoderSet(dir: string, s: Site, opts: ReaderOptions): SparseDictionary[] {
  const listed = s.cfg.transcoders;
  let files: string[];
  if (listed !== undefined && listed !== null) {
    if (!Array.isArray(listed) || !listed.every((u) => typeof u === 'string')) fail('BAD_CONFIG', { file: s.cfgFile, field: 'transcoders' }, 'expected a list of file references.');
    files = listed.map((u, i) => resolveFileUri(u, dir, opts, { file: s.cfgFile, field: `transcoders[${i}]` }));
  } else {
    files = indexedFiles(dir, 'layer_', 'layer_');
  }
  if (files.length === 0) fail('BAD_WEIGHTS', { file: dir }, 'no layer_{i}.safetensors files and no transcoders list.', 'A circuit-tracer transcoder set has one file per layer.');
  return files.map((f, layer) => perLayer(dir, s, f, layer, opts));
}

function crossLayer(dir: string, s: Site): SparseDictionary[] {
  const encFiles = indexedFiles(dir, 'W_enc_', 'W_enc_');
  const decFiles = indexedFiles(dir, 'W_dec_', 'W_dec_');
  const n = encFiles.length;
  if (n === 0) fail('BAD_WEIGHTS', { file: dir }, 'no W_enc_{i}.safetensors files.', 'A cross-layer transcoder has W_enc_{i} and W_dec_{i} files per layer.');
  if (decFiles.length !== n) fail('BAD_WEIGHTS', { file: dir }, `${n} W_enc files but ${decFiles.length} W_dec files.`);
  return encFiles.map((encFile, i) => {
    const t = tensorTable([encFile, decFiles[i]], dir);
    const wEnc = need(t, `W_enc_${i}`, [['d_transcoder'], ['d_model']]); // [d_sae, d_in]
    const [dSae, dIn] = wEnc.shape;
    const wDec = need(t, `W_dec_${i}`, [['d_transcoder', dSae], ['n_layers - layer', n - i], ['d_model']]); // [d_sae, n - i, d_out]
    const dOut = wDec.shape[2];
    const wSkip = optional(t, `W_skip_${i}`, [['d_model', dOut], ['d_model', dIn]]);
    const act = activation(s, t, `threshold_${i}`, dSae);
    const hooksOut = Array.from({ length: n - i }, (_, j) => `blocks.${i + j}.${s.outHook}`);
    return {
      format: 'circuit-tracer-clt' as const,
      dir,
      kind: wSkip ? 'skip_transcoder' : 'transcoder',
      architecture: architectureOf(act),
      activation: act,
      dIn,
      dSae,
      dOut,
      hookIn: `blocks.${i}.${s.inHook}`,
      hookOut: hooksOut[0],
      hookSource: 'config' as const,
      layer: i,
      encoder: { w: wEnc, b: need(t, `b_enc_${i}`, [['d_transcoder', dSae]]), layout: 'out-in' },
      decoder: { w: wDec, b: need(t, `b_dec_${i}`, [['d_model', dOut]]), layout: 'in-out' },
      crossLayer: { hooksOut },
      skip: wSkip ? { w: wSkip, layout: 'out-in' } : undefined,
      applyBDecToInput: false,
      normalization: { kind: 'none' },
      rescaleActsByDecoderNorm: false,
      reshapeActivations: 'none',
      modelName: optString(s.cfgFile, s.cfg, 'model_name'),
      notes: [],
      source: t.source,
    } satisfies SparseDictionary;
  });
}

/** Every dictionary of a circuit-tracer folder, one per layer, in layer order (a user's hook is applied by the caller). */
export function readCircuitTracer(dir: string, opts: ReaderOptions): SparseDictionary[] {
  const s = site(dir);
  const kind = optString(s.cfgFile, s.cfg, 'model_kind') ?? 'transcoder_set';
  if (kind === 'transcoder_set') return transcoderSet(dir, s, opts);
  if (kind === 'cross_layer_transcoder') return crossLayer(dir, s);
  fail('UNSUPPORTED', { file: s.cfgFile, field: 'model_kind' }, `unknown model_kind ${JSON.stringify(kind)}.`, 'Known: transcoder_set, cross_layer_transcoder.');
}
