/**
 * Edge attribution patching over EAP-IG's graph (edge-graph.ts), and the faithfulness of the circuit its
 * scores pick (edge-circuit.ts).
 *
 * Scores (noising, the convention of EAP and EAP-IG): edge u -> v gets (z_u^corrupted - z_u^clean) ·
 * ∂M'/∂input_v, summed over positions and averaged over the prompt pairs, where M' is the normalised metric
 * (M - M_corrupted) / (M_clean - M_corrupted) (0 = corrupted, 1 = clean, as patching reports). It
 * estimates the change of M' when that one edge carries the corrupted value into the clean run, so an
 * edge the task needs scores negative. `eap` takes the gradient at the clean run (Syed et al. 2023);
 * `eapIg` averages it over `steps` runs whose embeddings (blocks.0.hook_resid_pre) are
 * e_corrupted + (k / steps)(e_clean - e_corrupted), k = 0 .. steps - 1 (Hanna et al. 2024's code).
 *
 * The circuit: the `topN` edges by |score|, or those with |score| >= `threshold`.
 */
import { ActivationCache } from '../cache';
import { fail } from '../errors';
import { concreteShape, selectHooks, splitInputHooks } from '../hooks';
import type { Tracer } from '../tracer';
import type { Token } from '../tokenizer';
import { logitsNeeded, normalizeMetric } from './metrics';
import { EdgeGraph, destinationHook, edgeGraph } from './edge-graph';
import { accumulateScores, addGradients, sourceHookNames, sourceStack } from './edge-scores';
import { EdgeAblationKind, EdgeFaithfulness, EdgePair, PairRuns, measureEdgeCircuit, metricOfRun } from './edge-circuit';

export type EdgeMethod = 'eap' | 'eapIg';

export interface EdgeAttributionOptions {
  method: EdgeMethod;
  /** eapIg: interpolation steps (default 16). */
  steps?: number;
  /** The circuit: the N edges of largest |score|, or every edge with |score| >= threshold. */
  topN?: number;
  threshold?: number;
  ablation: EdgeAblationKind;
  /** Mean ablation: the prompts whose source outputs are averaged per position (default: every clean and corrupted prompt). */
  meanOver?: Token[][];
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface EdgeAttributionResult {
  graph: EdgeGraph;
  method: EdgeMethod;
  steps: number;
  /** Per edge (graph order), the estimated change of the normalised metric. */
  scores: Float64Array;
  /** Means over the pairs of the raw metric. */
  clean: number;
  corrupted: number;
  /** 1 where the edge is in the circuit. */
  kept: Uint8Array;
  faithfulness: EdgeFaithfulness;
  forwards: number;
  backwards: number;
  /** Milliseconds spent on the scores (runs and arithmetic), before the circuit is measured. */
  scoreMs: number;
}

/** The circuit's edges: top N by |score|, or |score| >= threshold. */
export function pickCircuit(scores: Float64Array, choice: { topN?: number; threshold?: number }): Uint8Array {
  const kept = new Uint8Array(scores.length);
  if (choice.threshold !== undefined) {
    scores.forEach((s, e) => (kept[e] = Math.abs(s) >= choice.threshold! ? 1 : 0));
    return kept;
  }
  const n = Math.min(choice.topN ?? 0, scores.length);
  const order = Array.from(scores.keys()).sort((a, b) => Math.abs(scores[b]) - Math.abs(scores[a]));
  for (let i = 0; i < n; i++) kept[order[i]] = 1;
  return kept;
}

export async function edgeAttribution(tracer: Tracer, pairs: readonly EdgePair[], opts: EdgeAttributionOptions): Promise<EdgeAttributionResult> {
  const t0 = performance.now();
  const { config, hooks } = tracer.ckpt;
  const graph = edgeGraph(config);
  if (!pairs.length) fail('BAD_INPUT', { field: 'prompt' }, 'edge attribution needs at least one clean/corrupted pair.');
  for (const p of pairs) {
    if (p.clean.length !== p.corrupted.length) fail('BAD_INPUT', { field: 'corrupted' }, `the clean prompt has ${p.clean.length} tokens and the corrupted one ${p.corrupted.length}.`, 'Edge attribution compares positions one to one: give prompts of the same token length.');
  }
  if (opts.topN === undefined && opts.threshold === undefined) fail('BAD_INPUT', { field: 'topN' }, 'the circuit needs "topN" or "threshold".');
  const steps = opts.method === 'eapIg' ? opts.steps ?? 16 : 1;
  const d = config.dModel;
  const sourceHooks = selectHooks(hooks, sourceHookNames(config.nLayers).join(','));
  const gradNames = [...new Set(graph.destinations.map((dest) => destinationHook(dest, config.nLayers)))];
  const gradHooks = [...splitInputHooks(config), ...hooks].filter((h) => gradNames.includes(h.name));
  const total = pairs.length * (2 + (opts.method === 'eapIg' ? steps : 0) + 2);
  let done = 0;
  const progress = () => opts.onProgress?.(++done, total);
  let forwards = 0;
  let backwards = 0;

  const runs: (PairRuns & { grads: ActivationCache })[] = [];
  for (const pair of pairs) {
    const logits = logitsNeeded(pair.metric);
    const pos = pair.clean.length;
    const grad = { metric: pair.metric, hooks: gradHooks };
    const clean = await tracer.trace([pair.clean], { hooks: sourceHooks, logits, signal: opts.signal, ...(opts.method === 'eap' ? { grad } : {}) });
    const corrupted = await tracer.trace([pair.corrupted], { hooks: sourceHooks, logits, signal: opts.signal });
    forwards += 2;
    backwards += opts.method === 'eap' ? 1 : 0;
    progress();
    progress();
    let grads = clean.grads;
    if (opts.method === 'eapIg') {
      // Embeddings interpolated from corrupted to clean; the gradients summed, then averaged.
      const eClean = clean.cache.get('blocks.0.hook_resid_pre').data; // [1, pos, d_model]
      const eCorrupted = corrupted.cache.get('blocks.0.hook_resid_pre').data;
      const sum = new Map<string, Float32Array>();
      for (let k = 0; k < steps; k++) {
        const add = new Float32Array(eClean.length); // [1, pos, d_model]
        for (let i = 0; i < add.length; i++) add[i] = eCorrupted[i] + (k / steps) * (eClean[i] - eCorrupted[i]);
        const run = await tracer.trace([pair.clean], {
          interventions: [{ hook: 'blocks.0.hook_resid_pre', keep: { dims: [1], data: new Float32Array(1) }, add: { dims: [1, pos, d], data: add } }],
          logits, signal: opts.signal, grad,
        });
        addGradients(sum, run.grads ?? fail('RUNTIME', { field: 'grad' }, 'the tracer returned no gradients.'), gradNames);
        forwards++;
        backwards++;
        progress();
      }
      for (const g of sum.values()) for (let i = 0; i < g.length; i++) g[i] /= steps;
      grads = new ActivationCache(new Map(gradHooks.map((h) => [h.name, { dims: concreteShape(h.shape, 1, pos), data: sum.get(h.name)! }])), config);
    }
    runs.push({
      pair, clean: sourceStack(clean.cache, graph, pos, d), corrupted: sourceStack(corrupted.cache, graph, pos, d),
      mClean: metricOfRun(clean.logits, pair, pair.clean), mCorrupted: metricOfRun(corrupted.logits, pair, pair.corrupted),
      grads: grads ?? fail('RUNTIME', { field: 'grad' }, 'the tracer returned no gradients.'),
    });
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const cleanMean = mean(runs.map((r) => r.mClean));
  const corruptedMean = mean(runs.map((r) => r.mCorrupted));
  normalizeMetric(cleanMean, cleanMean, corruptedMean); // refuses clean == corrupted, with its message
  const perUnit = 1 / (cleanMean - corruptedMean); // d(normalised metric) / dM

  const scores = new Float64Array(graph.edgeCount);
  for (const r of runs) {
    const diff = new Float32Array(r.clean.length); // [pos, n_sources, d_model]
    for (let i = 0; i < diff.length; i++) diff[i] = r.corrupted[i] - r.clean[i];
    await accumulateScores(tracer, scores, graph, diff, r.grads, r.pair.clean.length, d, perUnit / runs.length);
  }
  const scoreMs = performance.now() - t0;
  const kept = pickCircuit(scores, opts);
  const faithfulness = await measureEdgeCircuit(tracer, graph, runs, kept, { ablation: opts.ablation, meanOver: opts.meanOver, signal: opts.signal, onProgress: progress });
  return {
    graph, method: opts.method, steps, scores, clean: cleanMean, corrupted: corruptedMean, kept, faithfulness,
    forwards: forwards + faithfulness.forwards, backwards, scoreMs,
  };
}
