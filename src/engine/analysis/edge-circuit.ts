/**
 * The faithfulness of a circuit of edges (edge-graph.ts): the metric with every edge outside it ablated,
 * one forward of the edge-ablation variant (graph/edge-ablation.ts) per prompt pair, against the full
 * model and the model with every edge ablated: F = (M(circuit) - M(none)) / (M(full) - M(none)), 0 =
 * every edge ablated (the corrupted run, under patch ablation), 1 = the full model, as the circuit kind.
 * Ablated values: the pair's corrupted run (patch), zeros, or the per-position mean of the sources over
 * reference prompts (default: every clean and corrupted prompt of the pairs).
 */
import { fail } from '../errors';
import { selectHooks } from '../hooks';
import type { Tracer } from '../tracer';
import type { Token } from '../tokenizer';
import type { TensorData } from '../../protocol/tensor';
import { MetricSpec, logitsNeeded, metricValues, normalizeMetric } from './metrics';
import { EdgeGraph, ablationMasks } from './edge-graph';
import { sourceHookNames, sourceStack } from './edge-scores';

export type EdgeAblationKind = 'mean' | 'zero' | 'patch';

export interface EdgePair {
  clean: Token[];
  corrupted: Token[];
  metric: MetricSpec;
}

/** A pair's runs: its sources' outputs ([pos, n_sources, d_model]) and metrics. */
export interface PairRuns {
  pair: EdgePair;
  clean: Float32Array;
  corrupted: Float32Array;
  mClean: number;
  mCorrupted: number;
}

export interface EdgeFaithfulness {
  ablation: EdgeAblationKind;
  /** Means over the pairs of the raw metric: full model, every edge ablated, the circuit alone. */
  full: number;
  none: number;
  circuit: number;
  /** (circuit - none) / (full - none). */
  faithfulness: number;
  forwards: number;
}

export const metricOfRun = (logits: TensorData, pair: EdgePair, tokens: Token[]) => metricValues(logits, pair.metric, [tokens.map((t) => t.id)])[0];

/** The clean and corrupted runs of a pair, with their sources cached. */
export async function pairRuns(tracer: Tracer, graph: EdgeGraph, pair: EdgePair, signal?: AbortSignal): Promise<PairRuns> {
  const hooks = selectHooks(tracer.ckpt.hooks, sourceHookNames(graph.nLayers).join(','));
  const d = tracer.ckpt.config.dModel;
  const logits = logitsNeeded(pair.metric);
  const [clean, corrupted] = [await tracer.trace([pair.clean], { hooks, logits, signal }), await tracer.trace([pair.corrupted], { hooks, logits, signal })];
  return {
    pair, clean: sourceStack(clean.cache, graph, pair.clean.length, d), corrupted: sourceStack(corrupted.cache, graph, pair.clean.length, d),
    mClean: metricOfRun(clean.logits, pair, pair.clean), mCorrupted: metricOfRun(corrupted.logits, pair, pair.corrupted),
  };
}

export interface EdgeCircuitOptions {
  ablation: EdgeAblationKind;
  meanOver?: Token[][];
  signal?: AbortSignal;
  onProgress?: () => void;
}

export async function measureEdgeCircuit(tracer: Tracer, graph: EdgeGraph, runs: readonly PairRuns[], kept: Uint8Array, opts: EdgeCircuitOptions): Promise<EdgeFaithfulness> {
  const d = tracer.ckpt.config.dModel;
  const n = graph.sources.length;
  let forwards = 0;
  let meanValues: Float32Array | undefined;
  if (opts.ablation === 'mean') {
    const over = opts.meanOver ?? runs.flatMap((r) => [r.pair.clean, r.pair.corrupted]);
    const pos = over[0]?.length ?? 0;
    if (!pos || over.some((t) => t.length !== pos)) fail('BAD_INPUT', { field: 'ablation' }, 'mean ablation averages per position: it needs prompts, all of one token length.');
    const hooks = selectHooks(tracer.ckpt.hooks, sourceHookNames(graph.nLayers).join(','));
    meanValues = new Float32Array(pos * n * d); // [pos, n_sources, d_model]
    for (const toks of over) {
      const run = await tracer.trace([toks], { hooks, logits: 'last', signal: opts.signal });
      const z = sourceStack(run.cache, graph, pos, d);
      for (let i = 0; i < z.length; i++) meanValues[i] += z[i] / over.length;
      forwards++;
    }
  }
  const allAblated = ablationMasks(graph, () => false);
  const circuitMasks = ablationMasks(graph, (e) => kept[e] === 1);
  const none: number[] = [];
  const circuit: number[] = [];
  for (const r of runs) {
    const pos = r.pair.clean.length;
    if (meanValues && meanValues.length !== pos * n * d) fail('BAD_INPUT', { field: 'ablation' }, 'the mean-ablation prompts and the prompt pairs differ in token length.');
    const values = opts.ablation === 'patch' ? r.corrupted : opts.ablation === 'mean' ? meanValues! : new Float32Array(r.clean.length);
    const ablated: TensorData = { dims: [1, pos, n, d], data: values };
    for (const [masks, into] of [[allAblated, none], [circuitMasks, circuit]] as const) {
      const run = await tracer.trace([r.pair.clean], { edges: { ablated, masks }, logits: logitsNeeded(r.pair.metric), signal: opts.signal });
      into.push(metricOfRun(run.logits, r.pair, r.pair.clean));
      forwards++;
      opts.onProgress?.();
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const full = mean(runs.map((r) => r.mClean));
  const noneMean = mean(none);
  const circuitMean = mean(circuit);
  return { ablation: opts.ablation, full, none: noneMean, circuit: circuitMean, faithfulness: normalizeMetric(circuitMean, full, noneMean), forwards };
}
