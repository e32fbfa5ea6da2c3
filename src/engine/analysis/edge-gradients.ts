/**
 * The metric's gradients at edge attribution's destinations, a chunk of layers at a time. A destination's
 * input is a split-input hook (hook_q_input / hook_k_input / hook_v_input [batch, pos, heads, d_model],
 * hook_mlp_in), which exists only where the graph splits that layer (GraphVariant.splitInputs), and a
 * backward through a split layer holds several per-head copies of its residual: all 12 layers of GPT-2
 * small at 512 tokens are gigabytes. So each gradient run splits one chunk of consecutive layers and asks
 * only that chunk's destinations; its caller consumes them (edge-scores.ts accumulateScores) before the
 * next chunk. The other layers run unsplit, which computes the same values (the copies are equal) up to
 * float rounding: on GPT-2-small shapes at 128 tokens, EAP scores from 4-layer chunks and from one run
 * differ by 5e-6 of the largest, and each is about 2e-5 of it from a float64 reference.
 */
import { ActivationCache } from '../cache';
import { fail } from '../errors';
import { HookPoint, concreteShape, splitInputHooks } from '../hooks';
import type { ModelConfig } from '../model-config';
import type { Trace, Tracer } from '../tracer';
import type { TensorData } from '../../protocol/tensor';
import { logitsNeeded } from './metrics';
import { EdgeGraph, destinationHook } from './edge-graph';
import type { EdgePair } from './edge-circuit';
import { addGradients } from './edge-scores';

/** Default bound on what one gradient run's split layers hold (splitLayerBytes each). */
export const GRADIENT_RUN_BYTES = 2 ** 30;

/**
 * Per-head residual copies [pos, n_heads + 2 kv_heads, d_model] (float32) one split layer adds to a
 * gradient run's peak (the split inputs, their norms, the gradients flowing back): 3.1 to 4.4 measured on
 * GPT-2-small shapes at 512 and 128 tokens.
 */
const SPLIT_COPIES = 4;

/** Bytes one split layer adds to a gradient run of 1 x pos tokens. */
export function splitLayerBytes(c: ModelConfig, pos: number): number {
  return SPLIT_COPIES * pos * (c.nHeads + 2 * c.nKvHeads) * c.dModel * 4;
}

/** Consecutive chunks of layers, as many layers each as fit in `bound` bytes (at least one): [[0, 1, 2], [3, 4, 5], ...]. */
export function layerChunks(c: ModelConfig, pos: number, bound: number): number[][] {
  if (!(bound > 0)) fail('BAD_INPUT', { field: 'gradientRunBytes' }, `must be a positive number of bytes, got ${bound}.`);
  const per = Math.max(1, Math.floor(bound / splitLayerBytes(c, pos)));
  const chunks: number[][] = [];
  for (let from = 0; from < c.nLayers; from += per) chunks.push(Array.from({ length: Math.min(per, c.nLayers - from) }, (_, i) => from + i));
  return chunks;
}

/** The destinations (graph indices) whose inputs are in a chunk: its layers' heads and MLPs, and the logits with the last layer. */
export function chunkDestinations(graph: EdgeGraph, chunk: readonly number[]): number[] {
  const lastLayer = chunk.includes(graph.nLayers - 1);
  return graph.destinations.flatMap((d, i) => (chunk.includes(d.layer) || (lastLayer && d.kind === 'logits') ? [i] : []));
}

/** The hook points holding those destinations' inputs, in splitInputHooks' then the model's order. */
export function destinationHooks(tracer: Tracer, graph: EdgeGraph, dests: readonly number[]): HookPoint[] {
  const names = new Set(dests.map((di) => destinationHook(graph.destinations[di], graph.nLayers)));
  return [...splitInputHooks(tracer.ckpt.config), ...tracer.ckpt.hooks].filter((h) => names.has(h.name));
}

/** A gradient run's gradients. */
export function gradientsOf(run: Trace): ActivationCache {
  return run.grads ?? fail('RUNTIME', { field: 'grad' }, 'the tracer returned no gradients.');
}

/**
 * EAP-IG's gradients at `hooks`: their mean over `steps` runs of the clean prompt whose embeddings
 * (blocks.0.hook_resid_pre, [1, pos, d_model]) are e_corrupted + (k / steps)(e_clean - e_corrupted), k = 0 .. steps - 1.
 */
export async function interpolatedGradients(tracer: Tracer, pair: EdgePair, embeds: { clean: Float32Array; corrupted: Float32Array }, hooks: readonly HookPoint[], steps: number, opts: { signal?: AbortSignal; onRun: () => void }): Promise<ActivationCache> {
  const pos = pair.clean.length;
  const d = tracer.ckpt.config.dModel;
  const names = hooks.map((h) => h.name);
  const { clean: eClean, corrupted: eCorrupted } = embeds;
  const sum = new Map<string, Float32Array>();
  for (let k = 0; k < steps; k++) {
    const add = new Float32Array(eClean.length); // [1, pos, d_model]
    for (let i = 0; i < add.length; i++) add[i] = eCorrupted[i] + (k / steps) * (eClean[i] - eCorrupted[i]);
    const run = await tracer.trace([pair.clean], {
      interventions: [{ hook: 'blocks.0.hook_resid_pre', keep: { dims: [1], data: new Float32Array(1) }, add: { dims: [1, pos, d], data: add } }],
      logits: logitsNeeded(pair.metric), signal: opts.signal, grad: { metric: pair.metric, hooks },
    });
    addGradients(sum, gradientsOf(run), names);
    opts.onRun();
  }
  for (const g of sum.values()) for (let i = 0; i < g.length; i++) g[i] /= steps;
  return new ActivationCache(new Map(hooks.map((h): [string, TensorData] => [h.name, { dims: concreteShape(h.shape, 1, pos), data: sum.get(h.name)! }])), tracer.ckpt.config);
}
