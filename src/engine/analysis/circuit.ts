/**
 * Measures a circuit over a dataset: the dataset mean of a metric with sets of components ablated.
 * A component is a head (attn.hook_z, one head), an MLP layer (hook_mlp_out), a neuron
 * (mlp.hook_post, one neuron) or a feature of an attached dictionary ("HOOK:FEATURE", ablated at
 * HOOK.hook_sae_acts_post with the error term kept, so only that feature's decoder contribution changes). The universe is every component of the kinds the circuit lists; the
 * circuit's complement in it is what gets ablated. Ablated values are zeros, the per-position mean over
 * a reference dataset, reference prompt i + 1's values for prompt i (resample, cyclically), or each
 * prompt's corrupted run (patch). Every ablation is the hook intervention x' = x * keep + add.
 *
 * Runs: one plain forward per prompt (the full model), the reference or corrupted prompts once
 * (their activations), then one forward per prompt and ablated set, batched in chunks that keep the
 * intervention tensors under a byte bound.
 */
import { fail } from '../errors';
import { selectHooks } from '../hooks';
import type { Tracer } from '../tracer';
import type { Token } from '../tokenizer';
import type { Intervention } from '../../protocol/runner';
import type { Dataset, DatasetRow } from '../datasets/load';
import type { CircuitAblation, MetricName } from '../spec/vocabulary';
import { MetricSpec, metricValues } from './metrics';
import { RowPatch, rowIntervention } from './row-interventions';
import { batchMean } from './ablation';

export type Component =
  | { kind: 'head'; layer: number; head: number }
  | { kind: 'mlp'; layer: number }
  | { kind: 'neuron'; layer: number; neuron: number }
  /** A feature of the dictionary attached at `hook` (the hook it reads). */
  | { kind: 'feature'; hook: string; feature: number };

/** As the spec writes it, and as reports key it: "0.0", "mlp0", "n1.37", "blocks.1.hook_resid_pre:123". */
export function componentLabel(c: Component): string {
  return c.kind === 'head' ? `${c.layer}.${c.head}` : c.kind === 'mlp' ? `mlp${c.layer}` : c.kind === 'neuron' ? `n${c.layer}.${c.neuron}` : `${c.hook}:${c.feature}`;
}

/**
 * Every component of the kinds the circuit lists: all heads if it lists heads; with neurons listed, the
 * MLP layers it lists whole plus every neuron of the other layers; else all MLP layers if it lists any;
 * every feature of each dictionary whose features it lists (`dSae`: a dictionary's width by its hook).
 */
export function componentUniverse(config: { nLayers: number; nHeads: number; dMlp: number }, circuit: readonly Component[], dSae: (hook: string) => number = () => 0): Component[] {
  const has = (k: Component['kind']) => circuit.some((c) => c.kind === k);
  const layers = Array.from({ length: config.nLayers }, (_, l) => l);
  const out: Component[] = [];
  if (has('head')) for (const layer of layers) for (let head = 0; head < config.nHeads; head++) out.push({ kind: 'head', layer, head });
  const whole = new Set(circuit.filter((c) => c.kind === 'mlp').map((c) => c.layer));
  for (const layer of layers) {
    if (has('neuron') && !whole.has(layer)) for (let neuron = 0; neuron < config.dMlp; neuron++) out.push({ kind: 'neuron', layer, neuron });
    else if (has('mlp')) out.push({ kind: 'mlp', layer });
  }
  const dictionaries = new Set(circuit.flatMap((c) => (c.kind === 'feature' ? [c.hook] : [])));
  for (const hook of dictionaries) for (let feature = 0; feature < dSae(hook); feature++) out.push({ kind: 'feature', hook, feature });
  return out;
}

function hookOf(c: Component): string {
  switch (c.kind) {
    case 'head':
      return `blocks.${c.layer}.attn.hook_z`;
    case 'mlp':
      return `blocks.${c.layer}.hook_mlp_out`;
    case 'neuron':
      return `blocks.${c.layer}.mlp.hook_post`;
    case 'feature':
      return `${c.hook}.hook_sae_acts_post`;
  }
}

const indexOf = (c: Component) => (c.kind === 'head' ? c.head : c.kind === 'neuron' ? c.neuron : c.kind === 'feature' ? c.feature : undefined);

export interface CircuitMeasureOptions {
  circuit: readonly Component[];
  ablation: CircuitAblation;
  metric: MetricName;
  /** M(C without v) for each v of the circuit (minimality, completeness). */
  withoutEach: boolean;
  /** M(full without v) for each v (completeness). */
  fullWithoutEach: boolean;
  /** Mean and resample: where the values come from (default: the dataset itself). */
  reference?: Dataset;
  /** Per-prompt M(full), when another ablation's measurement has it already (it does not depend on the ablation). */
  fullValues?: Float64Array;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Upper bound on the bytes of one run's intervention values and logits (default 64 MiB). */
  maxRunBytes?: number;
}

export interface CircuitMeasurement {
  ablation: CircuitAblation;
  /** Dataset means: M(full), M(none), M(C). */
  full: number;
  none: number;
  circuit: number;
  /** Standard deviation over the prompts of the metric with the circuit alone. */
  circuitStd: number;
  /** Per circuit component, in order: M(C without v) and M(full without v) (empty when not asked). */
  without: number[];
  fullWithout: number[];
  /** Per-prompt M(full), to share with the next ablation. */
  fullValues: Float64Array;
  /** Sequence forward passes run for this measurement (the reference's and the full model's included). */
  forwardPasses: number;
}

/** A metric spec for one row: its answer tokens, or the dataset's loss targets. */
export function rowMetric(metric: MetricName, ds: Dataset, row: DatasetRow): MetricSpec {
  if (metric === 'loss') {
    const [from, to] = ds.lossTargets ?? [1, ds.length];
    return { kind: 'loss', from, to };
  }
  const need = (v: number | undefined, what: string) => v ?? fail('BAD_INPUT', { field: `datasets.${ds.name}` }, `${row.origin} has no ${what}, and the metric ${metric} needs it.`, 'Give it, or use "metric": "loss".');
  const answer = need(row.answer, '"answer"');
  return metric === 'answerProb' ? { kind: 'answerProb', answer } : { kind: 'logitDiff', answer, counterfactual: need(row.counterfactual, '"counterfactual"') };
}

const mean = (xs: Float64Array) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function measureCircuit(tracer: Tracer, ds: Dataset, opts: CircuitMeasureOptions): Promise<CircuitMeasurement> {
  const { config } = tracer.ckpt;
  const hooks = tracer.hooks ?? tracer.ckpt.hooks;
  const widths = new Map((tracer.saes ?? []).map((s) => [s.dict.hookIn, s.dict.dSae]));
  for (const c of opts.circuit) {
    if (c.kind === 'feature') {
      const width = widths.get(c.hook);
      if (width === undefined) fail('BAD_INPUT', { field: 'components' }, `${componentLabel(c)}: no dictionary is attached at ${c.hook}; attached: ${[...widths.keys()].join(', ') || 'none'}.`, 'Attach one there ("saes" in the spec, or --sae), or name the hook an attached one reads.');
      if (c.feature >= width) fail('BAD_INPUT', { field: 'components' }, `${componentLabel(c)}: feature ${c.feature} is outside [0, ${width}) of the dictionary at ${c.hook}.`);
      continue;
    }
    const bad = c.layer >= config.nLayers ? `layer ${c.layer}` : c.kind === 'head' && c.head >= config.nHeads ? `head ${c.head}` : c.kind === 'neuron' && c.neuron >= config.dMlp ? `neuron ${c.neuron}` : undefined;
    if (bad) fail('BAD_INPUT', { field: 'components' }, `${componentLabel(c)}: ${bad} is out of range for this model.`);
  }
  const universe = componentUniverse(config, opts.circuit, (hook) => widths.get(hook) ?? 0);
  const inCircuit = new Set(opts.circuit.map(componentLabel));
  const complement = universe.filter((c) => !inCircuit.has(componentLabel(c)));
  const hookNames = [...new Set(universe.map(hookOf))];
  const pos = ds.length;
  const shapeOf = (hook: string) => hooks.find((h) => h.name === hook)!.shape.slice(1).map((d) => (d === 'pos' ? pos : (d as number)));
  const perRow = new Map(hookNames.map((h) => [h, shapeOf(h).reduce((a, b) => a * b, 1)]));
  const logits = opts.metric === 'loss' ? 'all' : 'last';
  const maxBytes = opts.maxRunBytes ?? 64 * 2 ** 20;
  const logitBytes = (logits === 'all' ? pos : 1) * config.dVocab * 4;
  let forwardPasses = 0;

  // Ablated values per hook and prompt: undefined = zeros.
  const reference = opts.ablation === 'patch' ? undefined : opts.reference ?? ds;
  if (reference && reference.length !== pos) fail('BAD_INPUT', { field: 'reference' }, `dataset ${JSON.stringify(reference.name)} has ${reference.length} tokens a prompt, ${JSON.stringify(ds.name)} ${pos}.`, 'Mean and resample ablation need one token length.');
  let valuesFor: (hook: string, prompt: number) => Float32Array | undefined = () => undefined;
  if (opts.ablation !== 'zero') {
    const sources: Token[][] = opts.ablation === 'patch'
      ? ds.rows.map((r) => r.corrupted ?? fail('BAD_INPUT', { field: `datasets.${ds.name}` }, `${r.origin} has no "corrupted" prompt, which patch ablation takes its values from.`, 'Give every prompt a corrupted one, or use another ablation.'))
      : reference!.rows.map((r) => r.tokens);
    const cached = new Map(hookNames.map((h) => [h, new Float32Array(sources.length * perRow.get(h)!)])); // [source, pos, ...rest]
    const rowsPerRun = Math.max(1, Math.floor(maxBytes / [...perRow.values()].reduce((a, b) => a + b * 4, 0)));
    for (let first = 0; first < sources.length; first += rowsPerRun) {
      const batch = sources.slice(first, first + rowsPerRun);
      const run = await tracer.trace(batch, { hooks: selectHooks(hooks, hookNames.join(',')), logits: 'last', signal: opts.signal });
      for (const h of hookNames) cached.get(h)!.set(run.cache.get(h).data, first * perRow.get(h)!);
      forwardPasses += batch.length;
    }
    const slice = (h: string, s: number) => cached.get(h)!.subarray(s * perRow.get(h)!, (s + 1) * perRow.get(h)!);
    if (opts.ablation === 'mean') {
      const means = new Map(hookNames.map((h) => [h, batchMean({ dims: [sources.length, perRow.get(h)!], data: cached.get(h)! })])); // [pos, ...rest]
      valuesFor = (h) => means.get(h);
    } else if (opts.ablation === 'resample') {
      valuesFor = (h, p) => slice(h, (p + 1) % sources.length);
    } else {
      valuesFor = (h, p) => slice(h, p);
    }
  }

  // The ablated sets: everything, the complement, the complement plus each v, each v alone.
  const sets: Component[][] = [universe, complement];
  if (opts.withoutEach) for (const v of opts.circuit) sets.push([...complement, v]);
  if (opts.fullWithoutEach) for (const v of opts.circuit) sets.push([v]);
  const metricOf = ds.rows.map((r) => rowMetric(opts.metric, ds, r));
  const ids = ds.rows.map((r) => r.tokens.map((t) => t.id));
  const metricRows = (l: { dims: number[]; data: Float32Array }, prompts: number[]) => {
    const per = l.data.length / prompts.length;
    return prompts.map((p, i) => metricValues({ dims: [1, ...l.dims.slice(1)], data: l.data.subarray(i * per, (i + 1) * per) }, metricOf[p], [ids[p]])[0]);
  };
  const jobs = sets.flatMap((_, s) => ds.rows.map((__, p) => ({ set: s, prompt: p })));
  // Per row: every hook's add values, its keep mask ([pos, components]) and the logits.
  const ivBytes = hookNames.reduce((a, h) => a + perRow.get(h)! * 4 + pos * (h.endsWith('hook_mlp_out') ? 1 : shapeOf(h)[1]) * 4, 0);
  const perRun = Math.max(1, Math.floor(maxBytes / (ivBytes + logitBytes)));
  const plainPerRun = Math.max(1, Math.floor(maxBytes / logitBytes));
  const total = (opts.fullValues ? 0 : Math.ceil(ds.rows.length / plainPerRun)) + Math.ceil(jobs.length / perRun);
  let done = 0;

  let fullValues = opts.fullValues;
  if (!fullValues) {
    fullValues = new Float64Array(ds.rows.length);
    for (let first = 0; first < ds.rows.length; first += plainPerRun) {
      const prompts = ds.rows.slice(first, first + plainPerRun).map((_, i) => first + i);
      const run = await tracer.trace(prompts.map((p) => ds.rows[p].tokens), { logits, signal: opts.signal });
      metricRows(run.logits, prompts).forEach((m, i) => (fullValues![first + i] = m));
      forwardPasses += prompts.length;
      opts.onProgress?.(++done, total);
    }
  }

  const sums = new Float64Array(sets.length);
  const circuitValues = new Float64Array(ds.rows.length);
  // Per set and hook: the components of that hook it ablates.
  const ablatedBy = sets.map((set) => new Map(hookNames.map((h) => [h, set.filter((c) => hookOf(c) === h)])));
  for (let first = 0; first < jobs.length; first += perRun) {
    const chunk = jobs.slice(first, first + perRun);
    const interventions: Intervention[] = hookNames.map((hook) => rowIntervention(hook, shapeOf(hook), chunk.map(({ set, prompt }): RowPatch | null => {
      const ablated = ablatedBy[set].get(hook)!;
      if (!ablated.length) return null;
      const values = valuesFor(hook, prompt);
      const whole = ablated.some((c) => indexOf(c) === undefined);
      return { ...(whole ? {} : { components: ablated.map((c) => indexOf(c)!) }), ...(values ? { values } : {}) };
    })));
    const run = await tracer.trace(chunk.map((j) => ds.rows[j.prompt].tokens), { interventions, logits, signal: opts.signal });
    metricRows(run.logits, chunk.map((j) => j.prompt)).forEach((m, i) => {
      sums[chunk[i].set] += m;
      if (chunk[i].set === 1) circuitValues[chunk[i].prompt] = m;
    });
    forwardPasses += chunk.length;
    opts.onProgress?.(++done, total);
  }
  const n = ds.rows.length;
  const means = Array.from(sums, (s) => s / n);
  const k = opts.circuit.length;
  const circuit = means[1];
  return {
    ablation: opts.ablation,
    full: mean(fullValues), none: means[0], circuit,
    circuitStd: Math.sqrt(circuitValues.reduce((a, v) => a + (v - circuit) ** 2, 0) / n),
    without: opts.withoutEach ? means.slice(2, 2 + k) : [],
    fullWithout: opts.fullWithoutEach ? means.slice(2 + (opts.withoutEach ? k : 0)) : [],
    fullValues, forwardPasses,
  };
}
