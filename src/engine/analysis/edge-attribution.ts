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
 *
 * The gradients come a chunk of layers at a time (edge-gradients.ts), so a long prompt's gradient runs
 * stay within a memory bound; each chunk's scores are accumulated before its gradients are dropped.
 */
import type { ActivationCache } from '../cache';
import { fail } from '../errors';
import { selectHooks } from '../hooks';
import type { Tracer } from '../tracer';
import type { Token } from '../tokenizer';
import { logitsNeeded, normalizeMetric } from './metrics';
import { EdgeGraph, edgeGraph } from './edge-graph';
import { accumulateScores, differenceRows, sourceHookNames, sourceStack } from './edge-scores';
import { GRADIENT_RUN_BYTES, chunkDestinations, destinationHooks, gradientsOf, interpolatedGradients, layerChunks } from './edge-gradients';
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
  /**
   * Bound on what one gradient run's split layers hold (edge-gradients.ts; default 1 GiB): the
   * destinations' gradients come from runs that each split only as many layers as fit (GPT-2 small: all
   * 12 at 64 tokens, 4 at 512).
   */
  gradientRunBytes?: number;
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
  /** The layers each gradient run split (one run per chunk for eap, `steps` for eapIg, per pair). */
  gradientChunks: number[][];
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
  const n = graph.sources.length;
  const sourceHooks = selectHooks(hooks, sourceHookNames(config.nLayers).join(','));
  // The longest pair sets the chunks: every pair's gradient runs then fit the bound.
  const chunks = layerChunks(config, Math.max(...pairs.map((p) => p.clean.length)), opts.gradientRunBytes ?? GRADIENT_RUN_BYTES);
  const chunkDests = chunks.map((chunk) => chunkDestinations(graph, chunk));
  const chunkHooks = chunkDests.map((dests) => destinationHooks(tracer, graph, dests));
  // Per pair: the clean and corrupted runs, then per chunk one gradient run (eap; the first is the clean run itself) or `steps` (eapIg).
  const gradRuns = opts.method === 'eap' ? chunks.length - 1 : steps * chunks.length;
  const total = pairs.length * (2 + gradRuns + 2);
  let done = 0;
  const progress = () => opts.onProgress?.(++done, total);
  let forwards = 0;
  let backwards = 0;
  const onRun = () => (forwards++, backwards++, progress());

  // Scores are accumulated in units of the raw metric, over the pairs and chunk by chunk (a chunk's
  // gradients are dropped once scored), and scaled to the normalised metric at the end.
  const scores = new Float64Array(graph.edgeCount);
  const runs: (PairRuns & { embeds: { clean: Float32Array; corrupted: Float32Array } })[] = [];
  for (let c = 0; c < chunks.length; c++) {
    for (let r = 0; r < pairs.length; r++) {
      const pair = pairs[r];
      const pos = pair.clean.length;
      const logits = logitsNeeded(pair.metric);
      const grad = { metric: pair.metric, hooks: chunkHooks[c] };
      let cleanGrads: ActivationCache | undefined;
      if (c === 0) {
        const corrupted = await tracer.trace([pair.corrupted], { hooks: sourceHooks, logits, signal: opts.signal });
        const clean = await tracer.trace([pair.clean], { hooks: sourceHooks, logits, signal: opts.signal, ...(opts.method === 'eap' ? { grad } : {}) });
        forwards += 2;
        backwards += opts.method === 'eap' ? 1 : 0;
        progress();
        progress();
        if (opts.method === 'eap') cleanGrads = gradientsOf(clean);
        runs.push({
          pair, clean: sourceStack(clean.cache, graph, pos, d), corrupted: sourceStack(corrupted.cache, graph, pos, d),
          mClean: metricOfRun(clean.logits, pair, pair.clean), mCorrupted: metricOfRun(corrupted.logits, pair, pair.corrupted),
          embeds: { clean: clean.cache.get('blocks.0.hook_resid_pre').data, corrupted: corrupted.cache.get('blocks.0.hook_resid_pre').data }, // [1, pos, d_model]
        });
      }
      const run = runs[r];
      const cleanRun = async () => {
        const t = await tracer.trace([pair.clean], { logits, signal: opts.signal, grad });
        onRun();
        return gradientsOf(t);
      };
      const grads = opts.method === 'eapIg' ? await interpolatedGradients(tracer, pair, run.embeds, chunkHooks[c], steps, { signal: opts.signal, onRun }) : cleanGrads ?? (await cleanRun());
      await accumulateScores(tracer, scores, graph, differenceRows(run.clean, run.corrupted, n, pos, d), grads, chunkDests[c], pos, d, 1 / pairs.length);
    }
    // Refuses clean == corrupted, with its message, before the other chunks' runs.
    if (c === 0) normalizeMetric(metricMean(runs, 'mClean'), metricMean(runs, 'mClean'), metricMean(runs, 'mCorrupted'));
  }
  const cleanMean = metricMean(runs, 'mClean');
  const corruptedMean = metricMean(runs, 'mCorrupted');
  const perUnit = 1 / (cleanMean - corruptedMean); // d(normalised metric) / dM
  for (let e = 0; e < scores.length; e++) scores[e] *= perUnit;
  const scoreMs = performance.now() - t0;
  const kept = pickCircuit(scores, opts);
  const faithfulness = await measureEdgeCircuit(tracer, graph, runs, kept, { ablation: opts.ablation, meanOver: opts.meanOver, signal: opts.signal, onProgress: progress });
  return {
    graph, method: opts.method, steps, scores, clean: cleanMean, corrupted: corruptedMean, kept, faithfulness,
    forwards: forwards + faithfulness.forwards, backwards, scoreMs, gradientChunks: chunks,
  };
}

/** The mean over the pairs of their clean or corrupted metric. */
function metricMean(runs: readonly PairRuns[], which: 'mClean' | 'mCorrupted'): number {
  return runs.reduce((a, r) => a + r[which], 0) / runs.length;
}
