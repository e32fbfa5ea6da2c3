/**
 * Activation patching for a clean/corrupted prompt pair (same length): the activation of one unit
 * (a layer's residual stream / attention output / MLP output at one position, or a head's z at all or
 * one position) is taken from the source run and patched into the receiving run, and the metric is
 * normalized to 0 = corrupted, 1 = clean. Denoising (default) patches clean into corrupted; noising
 * patches corrupted into clean.
 *
 * Batched: one run per layer (split only to bound memory) whose rows are the clean run, the corrupted
 * run, and one patched row per unit; clean and corrupted baselines come from the same runs as the
 * patched rows, so patching every unit of a layer reproduces the clean metric exactly.
 *
 * Over a dataset (each prompt with its own corrupted prompt and answer tokens), every value is a ratio
 * of dataset means: (mean M(patched) - mean M(corrupted)) / (mean M(clean) - mean M(corrupted)), so a
 * prompt whose own clean and corrupted metrics happen to agree does not divide by zero. Its spread is
 * the standard deviation over the prompts of (M_i(patched) - M_i(corrupted)) / (mean M(clean) - mean
 * M(corrupted)), whose mean is that value.
 */
import { fail } from '../errors';
import { selectHooks } from '../hooks';
import type { Tracer } from '../tracer';
import type { Token } from '../tokenizer';
import { MetricSpec, logitsNeeded, metricName, metricValues, normalizeMetric } from './metrics';
import { rowIntervention, stackRows } from './row-interventions';
import { itemProgress, meanAndSpread } from './dataset-stats';

// The targets are spec vocabulary (declared once there, with the schema's text); re-exported for callers.
import type { PatchTarget } from '../spec/vocabulary';
export { PATCH_TARGETS } from '../spec/vocabulary';
export type { PatchTarget } from '../spec/vocabulary';

/** The hook each target patches (per layer: blocks.L.<hook>). */
export const PATCH_HOOK: Record<PatchTarget, string> = {
  resid_pre: 'hook_resid_pre',
  attn_out: 'hook_attn_out',
  mlp_out: 'hook_mlp_out',
  heads: 'attn.hook_z',
  heads_pos: 'attn.hook_z',
};

/** One patched row: which positions (and heads, for z) it takes from the source run. */
export interface PatchUnit {
  label: string;
  position?: number;
  head?: number;
}

export interface PatchingOptions {
  target: PatchTarget;
  metric: MetricSpec;
  direction?: 'denoise' | 'noise';
  /** Layers to sweep (default all). */
  layers?: number[];
  /** Positions to sweep (default all) for the per-position targets. */
  positions?: number[];
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Upper bound on the bytes of one run's patch values (default 64 MiB). */
  maxPatchBytes?: number;
  /** Patch only these cells (by layer index in `layers` and unit index); the others' values are NaN. Default: all. */
  cells?: (layerIndex: number, unitIndex: number) => boolean;
}

export interface PatchingResult {
  target: PatchTarget;
  metric: string;
  direction: 'denoise' | 'noise';
  /** Row axis: layers. */
  layers: number[];
  /** Column axis: unit labels (positions as "pos 3 'tok'", heads as "H5", or "H5 pos 3"). */
  units: string[];
  /** [layer, unit] normalized metric (0 = corrupted, 1 = clean). */
  values: Float32Array;
  /** [layer, unit] raw metric. */
  raw: Float64Array;
  clean: number;
  corrupted: number;
}

/** A target's units (the columns of each layer's row), in the order patching reports them. */
export function patchUnits(target: PatchTarget, tokens: readonly Token[], nHeads: number, positions: number[]): PatchUnit[] {
  const posLabel = (p: number) => `pos ${p} ${JSON.stringify(tokens[p].text)}`;
  switch (target) {
    case 'heads':
      return Array.from({ length: nHeads }, (_, h) => ({ label: `H${h}`, head: h }));
    case 'heads_pos':
      return Array.from({ length: nHeads }, (_, h) => positions.map((p) => ({ label: `H${h} ${posLabel(p)}`, head: h, position: p }))).flat();
    default:
      return positions.map((p) => ({ label: posLabel(p), position: p }));
  }
}

/** The swept layers and positions (default all), checked against the model and the prompts (of one length). */
export function patchAxes(nLayers: number, clean: readonly Token[], corrupted: readonly Token[], opts: { layers?: number[]; positions?: number[] }): { layers: number[]; positions: number[] } {
  if (clean.length !== corrupted.length) {
    fail('BAD_INPUT', { field: 'corrupted' }, `the clean prompt has ${clean.length} tokens and the corrupted one ${corrupted.length}; patching needs equal lengths.`, 'Edit the corrupted prompt so it tokenizes to the same length.');
  }
  const pos = clean.length;
  const layers = opts.layers ?? Array.from({ length: nLayers }, (_, l) => l);
  const positions = opts.positions ?? Array.from({ length: pos }, (_, p) => p);
  for (const l of layers) if (!Number.isInteger(l) || l < 0 || l >= nLayers) fail('BAD_INPUT', { field: 'layers' }, `layer ${l} is outside [0, ${nLayers}).`);
  for (const p of positions) if (!Number.isInteger(p) || p < 0 || p >= pos) fail('BAD_INPUT', { field: 'positions' }, `position ${p} is outside [0, ${pos}).`);
  return { layers, positions };
}

export async function activationPatching(tracer: Tracer, clean: Token[], corrupted: Token[], opts: PatchingOptions): Promise<PatchingResult> {
  const r = await patchingSweep(tracer, clean, corrupted, opts);
  return { ...r, values: Float32Array.from(r.raw, (m) => normalizeMetric(m, r.clean, r.corrupted)) };
}

/** The sweep's raw metric per unit (NaN outside `cells`) and its clean and corrupted baselines, not normalized. */
async function patchingSweep(tracer: Tracer, clean: Token[], corrupted: Token[], opts: PatchingOptions): Promise<Omit<PatchingResult, 'values'>> {
  const { config, hooks } = tracer.ckpt;
  const pos = clean.length;
  const { layers, positions } = patchAxes(config.nLayers, clean, corrupted, opts);
  const direction = opts.direction ?? 'denoise';
  const [receiving, sourceTokens] = direction === 'denoise' ? [corrupted, clean] : [clean, corrupted];
  const hookNames = layers.map((l) => `blocks.${l}.${PATCH_HOOK[opts.target]}`);
  // Each layer's runs start at that layer from the runs' own residual streams (earlier layers are
  // identical to the receiving run), so the source and receiving runs cache every swept resid_pre.
  const starts = layers.map((l) => `blocks.${l}.hook_resid_pre`);
  const source = await tracer.trace([sourceTokens], { hooks: selectHooks(hooks, [...new Set([...hookNames, ...starts])].join(',')), logits: 'last', signal: opts.signal });
  const target = await tracer.trace([receiving], { hooks: selectHooks(hooks, starts.join(',')), logits: 'last', signal: opts.signal });
  const [cleanRun, corruptedRun] = direction === 'denoise' ? [source, target] : [target, source];
  const units = patchUnits(opts.target, clean, config.nHeads, positions);

  const bytesPerRow = (source.cache.get(hookNames[0]).data.length + pos * config.nHeads) * 4;
  const perRun = Math.max(1, Math.floor((opts.maxPatchBytes ?? 64 * 2 ** 20) / bytesPerRow) - 2);
  const raw = new Float64Array(layers.length * units.length);
  let clean0 = NaN;
  let corrupted0 = NaN;
  let done = 0;
  const chosen = layers.map((_, li) => units.map((_, ui) => ui).filter((ui) => opts.cells?.(li, ui) ?? true));
  const total = chosen.reduce((n, c) => n + Math.ceil(c.length / perRun), 0);
  if (opts.cells) raw.fill(NaN);
  for (const [li, hook] of hookNames.entries()) {
    for (let first = 0; first < chosen[li].length; first += perRun) {
      const index = chosen[li].slice(first, first + perRun);
      const chunk = index.map((ui) => units[ui]);
      const src = source.cache.get(hook); // [1, pos, ...rest]
      const iv = rowIntervention(hook, src.dims.slice(1), [null, null, ...chunk.map((u) => ({ positions: u.position === undefined ? undefined : [u.position], component: u.head, values: src.data }))]);
      const batch = [clean, corrupted, ...chunk.map(() => receiving)];
      const startHook = starts[li];
      const resid = stackRows([cleanRun.cache.get(startHook), corruptedRun.cache.get(startHook), ...chunk.map(() => target.cache.get(startHook))]);
      const run = await tracer.trace(batch, { interventions: [iv], logits: logitsNeeded(opts.metric), startAt: { layer: layers[li], resid }, signal: opts.signal });
      const m = metricValues(run.logits, opts.metric, batch.map((r) => r.map((t) => t.id)));
      if (Number.isNaN(clean0)) [clean0, corrupted0] = [m[0], m[1]];
      index.forEach((ui, i) => (raw[li * units.length + ui] = m[2 + i]));
      opts.onProgress?.(++done, total);
    }
  }
  return { target: opts.target, metric: metricName(opts.metric), direction, layers, units: units.map((u) => u.label), raw, clean: clean0, corrupted: corrupted0 };
}

/** One prompt of a dataset to patch: its tokens, its corrupted prompt's (same length) and its metric. */
export interface PatchingRow {
  clean: Token[];
  corrupted: Token[];
  metric: MetricSpec;
}

export interface DatasetPatchingResult extends PatchingResult {
  /** [layer, unit]: the standard deviation over the prompts of each prompt's share (see the module comment). */
  spread: Float32Array;
  /** `raw`, `clean` and `corrupted` are means over this many prompts. */
  prompts: number;
}

/** `activationPatching` on every prompt of a dataset, combined as ratios of dataset means. */
export async function patchDataset(tracer: Tracer, rows: readonly PatchingRow[], opts: Omit<PatchingOptions, 'metric'>): Promise<DatasetPatchingResult> {
  const sweeps: Omit<PatchingResult, 'values'>[] = [];
  for (const [i, row] of rows.entries()) {
    sweeps.push(await patchingSweep(tracer, row.clean, row.corrupted, { ...opts, metric: row.metric, onProgress: itemProgress(opts.onProgress, i, rows.length) }));
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const [clean, corrupted] = [mean(sweeps.map((s) => s.clean)), mean(sweeps.map((s) => s.corrupted))];
  // Each prompt's share: (M_i(patched) - M_i(corrupted)) / (mean clean - mean corrupted); its mean is the value.
  if (clean === corrupted) fail('BAD_INPUT', { field: 'metric' }, `the mean clean and mean corrupted metrics over the ${rows.length} prompts are equal (${clean}), so patching cannot be normalized.`, 'Use corrupted prompts or answer tokens that the model tells apart.');
  const shares = meanAndSpread(sweeps.map((s) => s.raw.map((m) => (m - s.corrupted) / (clean - corrupted))));
  const raw = meanAndSpread(sweeps.map((s) => s.raw)).mean;
  return {
    ...sweeps[0], raw, clean, corrupted,
    values: Float32Array.from(shares.mean, (v) => v + 0), // + 0 turns -0 into 0
    spread: Float32Array.from(shares.spread), prompts: rows.length,
  };
}
