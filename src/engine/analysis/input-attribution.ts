/**
 * Integrated gradients of a metric to the input embeddings (blocks.0.hook_resid_pre: hook_embed +
 * hook_pos_embed, or hook_embed alone for rotary models), per token:
 *
 *   attribution(t) = sum_d (x[t,d] - x0[t,d]) * (1/steps) sum_{k=1..steps} dM/dx[t,d] at x0 + (k/steps)(x - x0)
 *
 * The baseline x0 is the corrupted prompt's embeddings when one is given, else zero embeddings. By the
 * completeness axiom the attributions sum to M(x) - M(x0), up to the Riemann sum's error (which falls
 * with more steps); both numbers are reported.
 */
import { selectHooks } from '../hooks';
import type { Tracer } from '../tracer';
import type { Token } from '../tokenizer';
import type { TensorData } from '../../protocol/tensor';
import { integratedGrads } from './attribution-patching';
import { MetricSpec, logitsNeeded, metricValues } from './metrics';
import { patchAxes } from './patching';

export interface InputAttributionOptions {
  metric: MetricSpec;
  /** Baseline prompt (same token length); absent: zero embeddings. */
  baseline?: Token[];
  steps?: number;
  signal?: AbortSignal;
}

export interface InputAttributionResult {
  /** [pos] attribution of each token. */
  values: Float64Array;
  /** M(x) and M(x0): the metric on the prompt and on the baseline embeddings. */
  metric: number;
  baselineMetric: number;
  /** Sum of the attributions (compare with metric - baselineMetric). */
  sum: number;
  baseline: 'corrupted' | 'zero';
  steps: number;
}

const EMBED = 'blocks.0.hook_resid_pre';

export async function inputAttribution(tracer: Tracer, tokens: Token[], opts: InputAttributionOptions): Promise<InputAttributionResult> {
  const steps = opts.steps ?? 16;
  const hooks = selectHooks(tracer.ckpt.hooks, EMBED);
  const ids = [tokens.map((t) => t.id)];
  const logits = logitsNeeded(opts.metric);
  const run = await tracer.trace([tokens], { hooks, logits, signal: opts.signal });
  const x = run.cache.get(EMBED); // [1, pos, d_model]
  let x0: TensorData = { dims: x.dims, data: new Float32Array(x.data.length) };
  if (opts.baseline) {
    patchAxes(tracer.ckpt.config.nLayers, tokens, opts.baseline, {}); // one token length
    x0 = (await tracer.trace([opts.baseline], { hooks, logits, signal: opts.signal })).cache.get(EMBED);
  }
  // M(x0) with the prompt's own tokens (only the loss metric reads them), as every interpolated run has.
  const baselineMetric = metricValues((await embeddedRun(tracer, tokens, x0, logits, opts.signal)).logits, opts.metric, ids)[0];
  const grads = await integratedGrads(tracer, tokens, x0, x, opts.metric, hooks, steps, opts.signal);
  const g = grads.get(EMBED).data; // [1, pos, d_model]
  const [, pos, d] = x.dims;
  const values = new Float64Array(pos);
  for (let p = 0; p < pos; p++) for (let i = p * d; i < (p + 1) * d; i++) values[p] += (x.data[i] - x0.data[i]) * g[i];
  return {
    values, metric: metricValues(run.logits, opts.metric, ids)[0], baselineMetric, sum: values.reduce((a, b) => a + b, 0),
    baseline: opts.baseline ? 'corrupted' : 'zero', steps,
  };
}

/** A run of `tokens` whose input embeddings are replaced by `e` ([1, pos, d_model]). */
function embeddedRun(tracer: Tracer, tokens: Token[], e: TensorData, logits: 'all' | 'last', signal?: AbortSignal) {
  const pos = e.dims[1];
  return tracer.trace([tokens], { interventions: [{ hook: EMBED, keep: { dims: [1, pos, 1], data: new Float32Array(pos) }, add: e }], logits, signal });
}
