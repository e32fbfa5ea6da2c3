/**
 * TransformerLens hook names for dictionaries whose config does not give one: from the folder's place
 * (Gemma Scope 1's repository suffix and layer_L folder, sparsify's hookpoint folder names) or from
 * Hugging Face module paths (Gemma Scope 2's hf_hook_point_in / _out).
 */
import * as path from 'node:path';
import { fail } from '../errors';

export interface DerivedHooks {
  hookIn: string;
  /** Transcoders only. */
  hookOut?: string;
  layer?: number;
  notes: string[];
}

/** The repository name in a path: a Hugging Face cache entry (models--ORG--NAME) or a folder named like one. */
function repoName(dir: string, pattern: RegExp): string | undefined {
  for (const part of path.resolve(dir).split(path.sep).reverse()) {
    const cached = /^models--[^-].*?--(.+)$/.exec(part)?.[1];
    const name = cached ?? part;
    if (pattern.test(name)) return name;
  }
  return undefined;
}

function layerFolder(dir: string): number | undefined {
  for (const part of path.resolve(dir).split(path.sep).reverse()) {
    const m = /^layer_(\d+)$/.exec(part);
    if (m) return Number(m[1]);
  }
  return undefined;
}

const TL_LN2_NOTE = "TransformerLens' ln2.hook_normalized excludes the norm's weight unless the model is loaded with fold_ln; the dictionary was trained on the MLP's input, weight included.";

/**
 * Gemma Scope 1: `gemma-scope-2b-pt-res/layer_2/...` is blocks.2.hook_resid_post; -mlp is hook_mlp_out;
 * -att is attn.hook_z flattened; -transcoders read ln2.hook_normalized and write hook_mlp_out (as
 * SAELens' Gemma Scope loaders name them).
 */
export function gemmaScopeHooks(dir: string): DerivedHooks | undefined {
  const repo = repoName(dir, /gemma-scope-.*-(res|mlp|att|transcoders)$/);
  const site = repo && /-(res|mlp|att|transcoders)$/.exec(repo)?.[1];
  const layer = layerFolder(dir);
  if (!site || layer === undefined) return undefined;
  const b = `blocks.${layer}.`;
  switch (site) {
    case 'res':
      return { hookIn: b + 'hook_resid_post', layer, notes: [] };
    case 'mlp':
      return { hookIn: b + 'hook_mlp_out', layer, notes: [] };
    case 'att':
      return { hookIn: b + 'attn.hook_z', layer, notes: [] };
    default:
      return { hookIn: b + 'ln2.hook_normalized', hookOut: b + 'hook_mlp_out', layer, notes: [TL_LN2_NOTE] };
  }
}

/**
 * A Hugging Face module path (`model.layers.17.output`) as the TransformerLens hook holding the same
 * tensor, for Gemma-style decoder layers (Gemma Scope 2's sites).
 */
export function hfModuleToHook(module: string): { hook: string; notes: string[] } | undefined {
  const m = /^(?:model\.)?(?:language_model\.)?(?:model\.)?layers\.(\d+)(?:\.(.+))?\.(input|output)$/.exec(module);
  if (!m) return undefined;
  const [, layer, sub, io] = m;
  const b = `blocks.${layer}.`;
  const site = `${sub ?? ''}:${io}`;
  switch (site) {
    case ':output':
      return { hook: b + 'hook_resid_post', notes: [] };
    case ':input':
      return { hook: b + 'hook_resid_pre', notes: [] };
    case 'post_feedforward_layernorm:output':
    case 'mlp:output':
      return { hook: b + 'hook_mlp_out', notes: [] };
    case 'pre_feedforward_layernorm:output':
    case 'mlp:input':
      return { hook: b + 'ln2.hook_normalized', notes: [TL_LN2_NOTE] };
    case 'self_attn.o_proj:input':
      return { hook: b + 'attn.hook_z', notes: [] };
    case 'post_attention_layernorm:output':
    case 'self_attn:output':
      return { hook: b + 'hook_attn_out', notes: [] };
    default:
      return undefined;
  }
}

/**
 * sparsify names a folder by the module it hooks: `layers.3` (the layer's output: hook_resid_post),
 * `layers.3.mlp` (hook_mlp_out; a transcoder reads the MLP's input), `layers.3.attention` / `self_attn`
 * (hook_attn_out), `embed_tokens` (hook_embed).
 */
export function sparsifyHooks(folder: string, transcode: boolean): DerivedHooks | undefined {
  const name = folder.replace(/^(?:gpt_neox\.|model\.|transformer\.)/, '');
  if (/^(embed_tokens|embed_in|wte)$/.test(name)) return { hookIn: 'hook_embed', notes: [] };
  const m = /^(?:layers|h)\.(\d+)(?:\.(mlp|attention|self_attn|attn))?$/.exec(name);
  if (!m) return undefined;
  const layer = Number(m[1]);
  const b = `blocks.${layer}.`;
  if (!m[2]) return { hookIn: b + 'hook_resid_post', layer, notes: [] };
  if (m[2] === 'mlp') {
    return transcode
      ? { hookIn: b + 'ln2.hook_normalized', hookOut: b + 'hook_mlp_out', layer, notes: [TL_LN2_NOTE] }
      : { hookIn: b + 'hook_mlp_out', layer, notes: [] };
  }
  return transcode
    ? { hookIn: b + 'ln1.hook_normalized', hookOut: b + 'hook_attn_out', layer, notes: [] }
    : { hookIn: b + 'hook_attn_out', layer, notes: [] };
}

/** The layer a TransformerLens hook belongs to (blocks.L.*). */
export function hookLayer(hook: string): number | undefined {
  const m = /^blocks\.(\d+)\./.exec(hook);
  return m ? Number(m[1]) : undefined;
}

/** The error for a dictionary whose hook cannot be determined: says how to name it. */
export function noHook(dir: string, why: string): never {
  fail('BAD_INPUT', { file: dir }, `cannot tell which hook this dictionary reads: ${why}.`,
    'Name it after the folder: DIR@HOOK on the command line (e.g. DIR@blocks.2.hook_resid_post), or {"path": DIR, "hook": HOOK} in a spec.');
}
