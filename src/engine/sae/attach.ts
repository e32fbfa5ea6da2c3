/**
 * Dictionaries attached to a model: which hook each one reads, whether it is spliced into the forward,
 * and the hook points it adds, with SAELens' names under the hook it reads (`<hook>.hook_sae_acts_post`,
 * ...). The graph (src/engine/graph/sae-graph.ts) computes them; everything that selects, caches or
 * intervenes on hooks sees them as ordinary hook points.
 *
 * A cross-layer transcoder attaches whole: one dictionary per source layer, all of them. Layer j's
 * dictionary names its target's hooks (hook_sae_recons is the full prediction of its output hook, from
 * the features of every layer i <= j), and layer i's features write to every later target, so a subset
 * of its layers would predict neither what the transcoder predicts nor where its features act. A partial
 * attachment is refused (withSaeHooks) with the folder to attach instead; a run that computes any layer
 * computes all of them (withWholeCrossLayers).
 */
import { fail } from '../errors';
import type { Dim, HookPoint } from '../hooks';
import type { SparseDictionary } from './types';

/** 'observe': the forward is unchanged; 'splice': the hook's value (a transcoder's output hook's) is replaced by the reconstruction. */
export type SaeMode = 'observe' | 'splice';

export interface AttachedSae {
  dict: SparseDictionary;
  mode: SaeMode;
}

/** The hooks a dictionary adds, in forward order (input to recons at its input hook, error and output at its output hook). */
export const SAE_HOOKS = ['hook_sae_input', 'hook_sae_acts_pre', 'hook_sae_acts_post', 'hook_sae_recons', 'hook_sae_error', 'hook_sae_output'] as const;
export type SaeHook = (typeof SAE_HOOKS)[number];

export function saeHookName(d: SparseDictionary, hook: SaeHook): string {
  return `${d.hookIn}.${hook}`;
}

/** The input hook of the dictionary a hook name belongs to (`<hookIn>.hook_sae_*`), if it is one. */
export function saeOwner(hookName: string): string | undefined {
  const m = /^(.*)\.hook_sae_[a-z_]+$/.exec(hookName);
  return m && (SAE_HOOKS as readonly string[]).includes(hookName.slice(m[1].length + 1)) ? m[1] : undefined;
}

/** The hook a dictionary's reconstruction stands for: its input hook (SAE) or the one it predicts (transcoder). */
export function targetHook(d: SparseDictionary): string {
  return d.hookOut ?? d.hookIn;
}

/** The attached layers of each cross-layer transcoder, by folder. */
function crossLayerGroups(saes: readonly AttachedSae[]): Map<string, SparseDictionary[]> {
  const groups = new Map<string, SparseDictionary[]>();
  for (const { dict: d } of saes) if (d.crossLayer) groups.set(d.dir, [...(groups.get(d.dir) ?? []), d]);
  return groups;
}

/** Every cross-layer transcoder attached with each of its layers once (layer i writes to n - i targets, so n is layer + targets). */
function checkWholeCrossLayers(saes: readonly AttachedSae[]): void {
  for (const [dir, layers] of crossLayerGroups(saes)) {
    const n = layers[0].layer! + layers[0].crossLayer!.hooksOut.length;
    const have = [...new Set(layers.map((d) => d.layer!))].sort((a, b) => a - b);
    if (have.length === n && layers.length === n) continue;
    const which = layers.length > have.length ? `a layer twice (layers ${layers.map((d) => d.layer).join(', ')})` : `${have.length} of its ${n} layers (${have.join(', ')})`;
    fail('BAD_INPUT', { file: dir }, `this cross-layer transcoder is attached with ${which}: layer j predicts its output from the features of every layer up to j, and each layer's features write to every later layer.`,
      `Attach the whole transcoder: name the folder without a hook (${dir}, not ${dir}@HOOK).`);
  }
}

/**
 * The input hooks a run computes: `active`, with every layer of each cross-layer transcoder one of them
 * belongs to (a target's prediction needs all earlier sources; an intervened source moves every later target).
 */
export function withWholeCrossLayers(active: readonly string[], saes: readonly AttachedSae[]): string[] {
  const out = new Set(active);
  for (const layers of crossLayerGroups(saes).values()) {
    if (layers.some((d) => out.has(d.hookIn))) for (const d of layers) out.add(d.hookIn);
  }
  return [...out];
}

/**
 * The model's hooks with each dictionary's added after the hooks they hang on, and any hook that is another
 * hook's tensor (resid_pre of block L + 1) marked as reading what the model continues with after a
 * dictionary there (HookPoint.afterSae).
 * SAELens' shapes: hook_sae_input [batch, pos, d_in] (hook_z flattened to n_heads * d_head), acts
 * [batch, pos, d_sae], recons, error and output shaped as the target hook.
 */
export function withSaeHooks(model: readonly HookPoint[], saes: readonly AttachedSae[]): HookPoint[] {
  const byName = new Map(model.map((h) => [h.name, h]));
  const atIn = new Map<string, SparseDictionary>();
  const atOut = new Map<string, SparseDictionary>();
  checkWholeCrossLayers(saes);
  for (const { dict: d } of saes) {
    for (const h of [d.hookIn, targetHook(d)]) if (!byName.has(h)) fail('UNKNOWN_HOOK', { file: d.dir, field: h }, 'not a hook point of this model.');
    if (atIn.has(d.hookIn)) fail('BAD_INPUT', { file: d.dir, field: d.hookIn }, 'two dictionaries read this hook.', 'Attach one dictionary per hook.');
    if (atOut.has(targetHook(d))) fail('BAD_INPUT', { file: d.dir, field: targetHook(d) }, 'two dictionaries reconstruct this hook.', 'Attach one dictionary per hook.');
    atIn.set(d.hookIn, d);
    atOut.set(targetHook(d), d);
  }
  const shape = (name: string): Dim[] => byName.get(name)!.shape;
  const out: HookPoint[] = [];
  const add = (name: string, s: Dim[]) => out.push({ name, shape: s, output: name, needsAttnResult: false });
  for (const h of model) {
    const source = atOut.get(h.output);
    // A hook that is another hook's tensor continues from the dictionary's output there (in graphs that have it).
    out.push(source && h.output !== h.name ? { ...h, afterSae: source.hookIn } : h);
    const d = atIn.get(h.name);
    if (d) {
      add(saeHookName(d, 'hook_sae_input'), ['batch', 'pos', d.dIn]);
      add(saeHookName(d, 'hook_sae_acts_pre'), ['batch', 'pos', d.dSae]);
      add(saeHookName(d, 'hook_sae_acts_post'), ['batch', 'pos', d.dSae]);
      add(saeHookName(d, 'hook_sae_recons'), shape(targetHook(d)));
    }
    const t = atOut.get(h.name);
    if (t) {
      add(saeHookName(t, 'hook_sae_error'), shape(h.name));
      add(saeHookName(t, 'hook_sae_output'), shape(h.name));
    }
  }
  return out;
}
