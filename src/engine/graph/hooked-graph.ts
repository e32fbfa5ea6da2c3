/**
 * Hook points inside a graph being built: each hook's tensor is a named graph output, and a hook can
 * carry an intervention, x' = x * keep + add, with `keep` and `add` graph inputs of any shape that
 * broadcasts to the hook's shape. That one form covers zero and mean ablation (keep 0, add the mean),
 * patching from another run (keep = 1 - mask, add = mask * cached) and steering (keep 1, add alpha v).
 * The hook's value (and everything downstream) is the value after the intervention.
 */
import { fail } from '../errors';
import type { HookPoint } from '../hooks';
import type { GraphBuilder } from './builder';
import type { GradMetric } from '../analysis/metrics';

export interface GraphVariant {
  /** Also compute `attn.hook_result` (TransformerLens' use_attn_result). */
  attnResult: boolean;
  /**
   * Split inputs (TransformerLens' use_split_qkv_input and use_hook_mlp_in) at these layers (sorted): each
   * head's query, key and value input and the MLP's input is a hook of its own (hooks.ts splitInputHooks), so
   * it can be cached, intervened on and differentiated per destination. Other layers run unsplit (the same
   * values): a backward through split layers holds a per-head copy of the residual per layer, so a gradient
   * run splits only the layers it reads (analysis/edge-attribution.ts). None by default: plain runs do not pay for it.
   */
  splitInputs?: readonly number[];
  /**
   * Edge ablation (edge-ablation.ts): destinations' inputs minus their ablated edges' corrections, from
   * mask and ablated-value inputs. Needs every layer's inputs split and attnResult, and runs from the tokens.
   */
  edgeAblation?: boolean;
  /** Hook names with an intervention input pair. */
  interventions: readonly string[];
  /** Unembed only the last position (logits [batch, 1, d_vocab]): what patching metrics read, for a fraction of the cost. */
  lastPositionLogits?: boolean;
  /**
   * Start at this block (undefined: from the tokens): the graph input `resid_start` is blocks.L.hook_resid_pre and nothing before it
   * is computed (hooks of earlier layers do not exist in this variant). Patching at layer L reuses the
   * runs' own earlier layers this way instead of recomputing them.
   */
  startLayer?: number;
  /**
   * Input hooks of the attached dictionaries this graph computes (default none: a run that reads no
   * dictionary hook and splices none runs the plain graph, at the plain graph's cost).
   */
  saes?: readonly string[];
  /** Of those, the ones spliced into the forward (the others observe). */
  saeSplice?: readonly string[];
  /**
   * A backward pass after the forward (src/engine/graph/autodiff/): the gradient of `metric` (summed over
   * the batch rows) at each of `hooks`, as graph outputs `<hook>_grad`, and the rows' metric as `metric`.
   */
  grad?: GradVariant;
}

export interface GradVariant {
  metric: GradMetric;
  /** Hook names (their gradients are outputs in this order). */
  hooks: readonly string[];
}

/** The graph output holding a hook's gradient in a variant with `grad`. */
export function gradOutput(hook: string): string {
  return `${hook}_grad`;
}

/** The graph input holding blocks.startLayer.hook_resid_pre in a variant that starts there. */
export const START_INPUT = 'resid_start';

/** Whether a hook is computed by a variant (not before its start layer). */
export function computedIn(hookName: string, variant: GraphVariant): boolean {
  const start = variant.startLayer;
  if (start === undefined) return true;
  const layer = hookLayer(hookName);
  return layer !== undefined ? layer >= start : !hookName.startsWith('hook_');
}

export const PLAIN_VARIANT: GraphVariant = { attnResult: false, interventions: [] };

/** The layer of a hook `blocks.L.…` (undefined for hooks outside the blocks). */
export function hookLayer(hookName: string): number | undefined {
  const m = /^blocks\.(\d+)\./.exec(hookName);
  return m ? Number(m[1]) : undefined;
}

/** Whether a variant splits layer `layer`'s inputs. */
export function splitsLayer(variant: GraphVariant, layer: number): boolean {
  return !!variant.splitInputs?.includes(layer);
}

/** Every layer 0 .. nLayers - 1: the split of the edge-ablated forward. */
export function allLayers(nLayers: number): number[] {
  return Array.from({ length: nLayers }, (_, l) => l);
}

export function keepInput(hook: string): string {
  return `${hook}::keep`;
}
export function addInput(hook: string): string {
  return `${hook}::add`;
}

/** Hooks whose value is consumed inside a fused operator, so an intervention could not reach downstream. */
export function isIntervenable(h: HookPoint): boolean {
  return !h.name.endsWith('.hook_scale');
}

export class HookedGraph {
  private readonly points: Map<string, HookPoint>;
  private readonly intervened: Set<string>;
  private readonly emitted = new Set<string>();
  /** Runs the attached dictionaries after a hook's value is final; returns what the model continues with. */
  private afterHook: (name: string, x: string) => string = (_, x) => x;

  constructor(readonly g: GraphBuilder, points: readonly HookPoint[], readonly variant: GraphVariant) {
    this.points = new Map(points.map((p) => [p.name, p]));
    this.intervened = new Set(variant.interventions);
    for (const name of variant.interventions) {
      const p = this.points.get(name);
      if (!p) fail('UNKNOWN_HOOK', { field: name }, 'no such hook point for an intervention.');
      if (!isIntervenable(p)) fail('BAD_INPUT', { field: name }, 'interventions on LayerNorm scales are not supported.', 'Intervene on hook_normalized instead.');
      if (p.needsAttnResult && !variant.attnResult) fail('BAD_INPUT', { field: name }, 'needs the per-head result variant.');
      if (p.needsSplitInputs && !splitsLayer(variant, hookLayer(name)!)) fail('BAD_INPUT', { field: name }, `needs the split-input variant with layer ${hookLayer(name)} split.`);
      if (!computedIn(name, variant)) fail('BAD_INPUT', { field: name }, `is before the start layer ${variant.startLayer} of this run.`);
    }
  }

  /** Attaches dictionaries (src/engine/graph/sae-graph.ts): `after` runs on every hook's final value. */
  attach(after: (name: string, x: string) => string): void {
    this.afterHook = after;
  }

  has(name: string): boolean {
    return this.intervened.has(name);
  }

  /** Whether the variant asks for this hook's gradient. */
  wantsGrad(name: string): boolean {
    return !!this.variant.grad?.hooks.includes(name);
  }

  /** A hook point of this graph. */
  point(name: string): HookPoint {
    const p = this.points.get(name);
    if (!p) fail('UNKNOWN_HOOK', { field: name }, 'no such hook point.');
    return p;
  }

  /**
   * Emits hook `name`: `produce(out)` builds the hook's value into tensor `out`. Returns the tensor
   * downstream nodes must use (the value after any intervention).
   */
  hook(name: string, produce: (out: string) => string): string {
    if (!this.points.has(name)) fail('RUNTIME', { field: name }, 'graph builder emitted an unknown hook point.');
    this.emitted.add(name);
    const value = this.intervened.has(name) ? this.intervene(name, produce(this.g.tmp('pre_intervention'))) : produce(name);
    return this.afterHook(name, value);
  }

  /**
   * A hook that is another hook's tensor (resid_pre of block L > 0 is resid_post of block L - 1): no
   * tensor of its own unless it carries an intervention.
   */
  alias(name: string, source: string): string {
    if (!this.intervened.has(name)) return this.afterHook(name, source);
    this.emitted.add(name);
    return this.afterHook(name, this.intervene(name, source));
  }

  private intervene(name: string, x: string): string {
    const dims = this.points.get(name)!.shape.map((_, i) => `${name}::d${i}`);
    const keep = this.g.input(keepInput(name), 'float', dims);
    const add = this.g.input(addInput(name), 'float', dims.map((d) => d + 'a'));
    return this.g.op('Add', [this.g.op('Mul', [x, keep]), add], {}, name);
  }

  /**
   * `logits` from the final normalized residual x [batch, pos, d_model] and an unembedding weight
   * [d_vocab, d_model] (and bias [d_vocab]), at every position or only the last, soft-capped to
   * tanh(z / softcap) * softcap when `softcap` is set (Gemma 2's final_logit_softcapping). Gemm on a 2-D view
   * with transB: a MatMul with a Transpose would be constant-folded into a second copy of the unembedding.
   */
  logits(x: string, unembed: string, dModel: number, dVocab: number, bias?: string, softcap?: number): void {
    const g = this.g;
    const last = !!this.variant.lastPositionLogits;
    const rows = last ? g.op('Slice', [x, g.constI([-1]), g.constI([2 ** 31 - 1]), g.constI([1])]) : x; // [batch, pos or 1, d_model]
    const lead = g.op('Shape', [rows], { start: 0, end: 2 }); // (batch, pos or 1)
    const flat = g.op('Reshape', [rows, g.constI([-1, dModel])]); // [rows, d_model]
    const z = g.op('Gemm', bias ? [flat, unembed, bias] : [flat, unembed], { transB: 1 }); // [rows, d_vocab]
    const logits2d = softcap ? g.op('Mul', [g.op('Tanh', [g.op('Div', [z, g.constF([softcap], [])])]), g.constF([softcap], [])]) : z;
    g.op('Reshape', [logits2d, g.op('Concat', [lead, g.constI([dVocab])], { axis: 0 })], {}, 'logits');
    g.output('logits', 'float', ['batch', last ? 1 : 'pos', dVocab]);
  }

  /** Declares every emitted hook as a graph output. */
  declareOutputs(): void {
    for (const p of this.points.values()) if (this.emitted.has(p.name)) this.g.output(p.name, 'float', p.shape);
  }
}

/** The graph output holding a hook's value in a variant: an alias reads its source unless intervened. */
export function outputFor(h: HookPoint, variant: GraphVariant): string {
  if (variant.interventions.includes(h.name)) return h.name;
  if (h.afterSae && variant.saes?.includes(h.afterSae)) return `${h.afterSae}.hook_sae_output`;
  // A run that starts at layer L has no block L-1 output: its resid_pre is the input.
  if (variant.startLayer !== undefined && h.name === `blocks.${variant.startLayer}.hook_resid_pre`) return START_INPUT;
  return h.output;
}
