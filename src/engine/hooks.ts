/**
 * TransformerLens hook points: names, shapes and the graph output that holds each one. Shapes use the
 * symbolic dims 'batch' and 'pos'; everything else is a number fixed by the model.
 */
import { fail } from './errors';
import type { ModelConfig } from './model-config';

export type Dim = number | 'batch' | 'pos';

export interface HookPoint {
  name: string;
  shape: Dim[];
  /** The graph output that holds this hook's value (hook_resid_pre of block L > 0 is block L-1's resid_post). */
  output: string;
  /** Only computed by the graph variant with per-head results (TransformerLens' use_attn_result). */
  needsAttnResult: boolean;
  /** Only computed by the graph variant with split inputs (TransformerLens' use_split_qkv_input and use_hook_mlp_in). */
  needsSplitInputs?: boolean;
  /**
   * A hook that is another hook's tensor, where a dictionary reconstructs that hook: the dictionary's input
   * hook. In a graph with the dictionary, this hook reads its hook_sae_output (src/engine/sae/attach.ts).
   */
  afterSae?: string;
}

/**
 * Every hook point of a model, in forward order, with TransformerLens' names and shapes: rotary models
 * have no hook_pos_embed (blocks.0.hook_resid_pre is hook_embed) and add attn.hook_rot_q/hook_rot_k;
 * hook_k, hook_v and hook_rot_k have the key/value head count; parallel attention and MLP (GPT-NeoX)
 * have no hook_resid_mid; gated MLPs add mlp.hook_pre_linear; per-head q/k norms (Qwen3) add
 * attn.q_norm.hook_scale/hook_normalized and attn.k_norm.* after hook_q/hook_k, per head
 * ([batch, pos, head, 1] and [batch, pos, head, d_head]; TransformerLens flattens batch, pos and head), or
 * over the whole projection (OLMo 2: [batch, pos, 1] and [batch, pos, heads * d_head]); post norms (OLMo 2)
 * put ln1's hooks after hook_attn_out and ln2's after hook_mlp_out; sandwich norms (Gemma) keep ln1 / ln2 where
 * they are and add ln1_post.* between attn.hook_result and hook_attn_out, ln2_post.* between mlp.hook_post and
 * hook_mlp_out.
 */
export function hookPoints(c: ModelConfig): HookPoint[] {
  const { dModel: d, nHeads: h, nKvHeads: kv, dHead: dh, dMlp: m } = c;
  const rotary = c.positional === 'rotary';
  const hooks: HookPoint[] = [];
  const add = (name: string, shape: Dim[], output = name, needsAttnResult = false) => hooks.push({ name, shape, output, needsAttnResult });
  add('hook_embed', ['batch', 'pos', d]);
  if (!rotary) add('hook_pos_embed', ['batch', 'pos', d]);
  for (let l = 0; l < c.nLayers; l++) {
    const b = `blocks.${l}.`;
    add(b + 'hook_resid_pre', ['batch', 'pos', d], l > 0 ? `blocks.${l - 1}.hook_resid_post` : rotary ? 'hook_embed' : b + 'hook_resid_pre');
    const ln = (n: 'ln1' | 'ln2' | 'ln1_post' | 'ln2_post') => {
      add(b + n + '.hook_scale', ['batch', 'pos', 1]);
      add(b + n + '.hook_normalized', ['batch', 'pos', d]);
    };
    if (!c.postNorms) ln('ln1');
    add(b + 'attn.hook_q', ['batch', 'pos', h, dh]);
    add(b + 'attn.hook_k', ['batch', 'pos', kv, dh]);
    add(b + 'attn.hook_v', ['batch', 'pos', kv, dh]);
    if (c.qkNorm && c.qkNormOverProjection) {
      add(b + 'attn.q_norm.hook_scale', ['batch', 'pos', 1]);
      add(b + 'attn.q_norm.hook_normalized', ['batch', 'pos', h * dh]);
      add(b + 'attn.k_norm.hook_scale', ['batch', 'pos', 1]);
      add(b + 'attn.k_norm.hook_normalized', ['batch', 'pos', kv * dh]);
    } else if (c.qkNorm) {
      add(b + 'attn.q_norm.hook_scale', ['batch', 'pos', h, 1]);
      add(b + 'attn.q_norm.hook_normalized', ['batch', 'pos', h, dh]);
      add(b + 'attn.k_norm.hook_scale', ['batch', 'pos', kv, 1]);
      add(b + 'attn.k_norm.hook_normalized', ['batch', 'pos', kv, dh]);
    }
    if (rotary) {
      add(b + 'attn.hook_rot_q', ['batch', 'pos', h, dh]);
      add(b + 'attn.hook_rot_k', ['batch', 'pos', kv, dh]);
    }
    add(b + 'attn.hook_attn_scores', ['batch', h, 'pos', 'pos']);
    add(b + 'attn.hook_pattern', ['batch', h, 'pos', 'pos']);
    add(b + 'attn.hook_z', ['batch', 'pos', h, dh]);
    add(b + 'attn.hook_result', ['batch', 'pos', h, d], b + 'attn.hook_result', true);
    if (c.sandwichNorms) ln('ln1_post');
    add(b + 'hook_attn_out', ['batch', 'pos', d]);
    if (c.postNorms) ln('ln1');
    if (!c.parallelAttnMlp) add(b + 'hook_resid_mid', ['batch', 'pos', d]);
    if (!c.postNorms) ln('ln2');
    add(b + 'mlp.hook_pre', ['batch', 'pos', m]);
    if (c.gatedMlp) add(b + 'mlp.hook_pre_linear', ['batch', 'pos', m]);
    add(b + 'mlp.hook_post', ['batch', 'pos', m]);
    if (c.sandwichNorms) ln('ln2_post');
    add(b + 'hook_mlp_out', ['batch', 'pos', d]);
    if (c.postNorms) ln('ln2');
    add(b + 'hook_resid_post', ['batch', 'pos', d]);
  }
  add('ln_final.hook_scale', ['batch', 'pos', 1]);
  add('ln_final.hook_normalized', ['batch', 'pos', d]);
  return hooks;
}

/**
 * TransformerLens' split-input hooks (use_split_qkv_input, use_hook_mlp_in), computed only by a graph
 * variant that splits their layer (GraphVariant.splitInputs): blocks.L.hook_q_input [batch, pos, head, d_model] (resid_pre copied per query
 * head), hook_k_input / hook_v_input with the key/value heads (as TransformerLens under grouped-query
 * attention), each through ln1 on its own, and blocks.L.hook_mlp_in [batch, pos, d_model] before ln2 (the
 * MLP's input: resid_mid, or resid_pre with parallel attention and MLP). Not in the checkpoint's default
 * list, so a trace of every hook costs what it did; edge attribution (analysis/edge-graph.ts) asks for them.
 */
export function splitInputHooks(c: ModelConfig): HookPoint[] {
  const { dModel: d, nHeads: h, nKvHeads: kv } = c;
  const hooks: HookPoint[] = [];
  const add = (name: string, shape: Dim[]) => hooks.push({ name, shape, output: name, needsAttnResult: false, needsSplitInputs: true });
  for (let l = 0; l < c.nLayers; l++) {
    add(`blocks.${l}.hook_q_input`, ['batch', 'pos', h, d]);
    add(`blocks.${l}.hook_k_input`, ['batch', 'pos', kv, d]);
    add(`blocks.${l}.hook_v_input`, ['batch', 'pos', kv, d]);
    add(`blocks.${l}.hook_mlp_in`, ['batch', 'pos', d]);
  }
  return hooks;
}

export function isSplitInputHook(name: string): boolean {
  return /^blocks\.\d+\.hook_(q_input|k_input|v_input|mlp_in)$/.test(name);
}

/** Concrete shape of a hook for a run of `batch` sequences of `pos` tokens. */
export function concreteShape(shape: Dim[], batch: number, pos: number): number[] {
  return shape.map((d) => (d === 'batch' ? batch : d === 'pos' ? pos : d));
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Edit distance, for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

export function closestHookName(name: string, hooks: readonly HookPoint[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const h of hooks) {
    const d = distance(name, h.name);
    if (d < bestD) [best, bestD] = [h.name, d];
  }
  return best;
}

/**
 * Hook points selected by comma-separated globs (`*` any characters, `?` one), in forward order.
 * A glob that matches nothing is an error naming the closest hook.
 */
export function selectHooks(hooks: readonly HookPoint[], globs: string, argName = '--hooks'): HookPoint[] {
  const patterns = globs.split(',').map((g) => g.trim()).filter(Boolean);
  if (patterns.length === 0) fail('UNKNOWN_HOOK', { field: argName }, 'no hook pattern given.', 'Example: blocks.*.attn.hook_pattern');
  const chosen = new Set<string>();
  for (const p of patterns) {
    const re = globToRegExp(p);
    const matched = hooks.filter((h) => re.test(h.name));
    if (matched.length === 0) {
      const near = closestHookName(p.replace(/[*?]/g, '0'), hooks);
      fail('UNKNOWN_HOOK', { field: argName }, `${JSON.stringify(p)} matches no hook point of this model.`,
        `${near ? `Closest: ${near}. ` : ''}List them with: circuit-lens hooks --model <model>`);
    }
    for (const h of matched) chosen.add(h.name);
  }
  return hooks.filter((h) => chosen.has(h.name));
}
