/**
 * Attribution patching: gradient estimates of what activation patching (patching.ts) measures, on the
 * same [layer, unit] cells and normalised the same way (0 = corrupted, 1 = clean).
 *
 * With the receiving run r (corrupted when denoising, clean when noising), the source run s and a unit
 * u's activation slice a_u, patching u measures M(r with a_u := a_u^s); its first-order estimate is
 *
 *   estimate(u) = N(r) + g_u . (a_u^s - a_u^r) / (M(clean) - M(corrupted)),   g_u = dM/da_u at r,
 *
 * N(r) = 0 for denoising (gradient at the corrupted run x (clean - corrupted)) and 1 for noising
 * (gradient at the clean run x (corrupted - clean)). Methods:
 * - atp: one source forward, one receiving forward + backward.
 * - atpStar: atp with the QK fix (qk-fix.ts) for resid_pre; every other target is read past its own
 *   layer's softmax (hook_z, the attention and MLP outputs), so its estimate is atp's.
 * - integratedGradients: g_u averaged over `steps` receiving runs whose input embeddings
 *   (blocks.0.hook_resid_pre, replaced by an intervention) are e^r + alpha (e^s - e^r) at
 *   alpha = k/steps, k = 1..steps; the activation difference is still the endpoints' a^s - a^r.
 */
import { ActivationCache } from '../cache';
import { fail } from '../errors';
import type { HookPoint } from '../hooks';
import type { Tracer } from '../tracer';
import type { Token } from '../tokenizer';
import type { AtpMethod } from '../spec/vocabulary';
import type { TensorData } from '../../protocol/tensor';
import { MetricSpec, logitsNeeded, metricName, metricValues, normalizeMetric } from './metrics';
import { PATCH_HOOK, PatchTarget, PatchUnit, patchAxes, patchUnits } from './patching';
import { checkQkFixSupported, qkCorrection, qkHooks } from './qk-fix';

export interface AtpOptions {
  target: PatchTarget;
  metric: MetricSpec;
  direction?: 'denoise' | 'noise';
  method?: AtpMethod;
  /** integratedGradients: interpolation steps (default 16). */
  steps?: number;
  layers?: number[];
  positions?: number[];
  signal?: AbortSignal;
}

export interface AtpResult {
  target: PatchTarget;
  method: AtpMethod;
  metric: string;
  direction: 'denoise' | 'noise';
  /** Row axis: layers; columns: the units patching has (the same labels). */
  layers: number[];
  units: string[];
  /** [layer, unit] estimated normalised metric (0 = corrupted, 1 = clean). */
  values: Float32Array;
  clean: number;
  corrupted: number;
  /** integratedGradients: steps used. */
  steps?: number;
}

/** IG rows run in batches of at most this many, to bound the backward's memory. */
const IG_ROWS_PER_RUN = 4;

const DEFAULT_STEPS = 16;

/** g . d summed over a unit's slice of a [1, pos, ...rest] activation (rest[0] = heads for hook_z). */
export function unitDot(g: TensorData, d: Float32Array, u: PatchUnit, src: TensorData): number {
  const [, pos, ...rest] = src.dims;
  const inner = rest.reduce((a, b) => a * b, 1); // values per position
  const comps = u.head === undefined ? 1 : rest[0];
  const per = inner / comps;
  let sum = 0;
  for (let p = 0; p < pos; p++) {
    if (u.position !== undefined && u.position !== p) continue;
    const from = p * inner + (u.head === undefined ? 0 : u.head * per);
    const to = from + (u.head === undefined ? inner : per);
    for (let i = from; i < to; i++) sum += g.data[i] * d[i];
  }
  return sum;
}

/** a - b elementwise (a loop: Float32Array.from with a map function is 30x slower on millions of values). */
function diff(a: TensorData, b: TensorData): Float32Array {
  const out = new Float32Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i] - b.data[i];
  return out;
}

function pick(hooks: readonly HookPoint[], names: Iterable<string>): HookPoint[] {
  const want = new Set(names);
  const out = hooks.filter((h) => want.has(h.name));
  for (const n of want) if (!out.some((h) => h.name === n)) fail('UNKNOWN_HOOK', { field: 'target' }, `this model has no hook ${n}.`);
  return out;
}

/** Gradients averaged over the interpolated runs (integrated gradients), one per hook. */
export async function integratedGrads(tracer: Tracer, receiving: Token[], eFrom: TensorData, eTo: TensorData, metric: MetricSpec, gradHooks: readonly HookPoint[], steps: number, signal?: AbortSignal): Promise<ActivationCache> {
  const embed = 'blocks.0.hook_resid_pre';
  const per = eFrom.data.length; // pos * d_model
  const sums = new Map<string, { dims: number[]; acc: Float64Array }>();
  for (let first = 1; first <= steps; first += IG_ROWS_PER_RUN) {
    const alphas = Array.from({ length: Math.min(IG_ROWS_PER_RUN, steps - first + 1) }, (_, i) => (first + i) / steps);
    const add = new Float32Array(alphas.length * per); // [rows, pos, d_model]
    alphas.forEach((a, r) => {
      for (let i = 0; i < per; i++) add[r * per + i] = eFrom.data[i] + a * (eTo.data[i] - eFrom.data[i]);
    });
    const keep = { dims: [alphas.length, eFrom.dims[1], 1], data: new Float32Array(alphas.length * eFrom.dims[1]) }; // replace everything
    const run = await tracer.trace(alphas.map(() => receiving), {
      interventions: [{ hook: embed, keep, add: { dims: [alphas.length, ...eFrom.dims.slice(1)], data: add } }],
      logits: logitsNeeded(metric), grad: { metric, hooks: gradHooks }, signal,
    });
    for (const h of gradHooks) {
      const g = gradsOf(run.grads, h.name); // [rows, ...rest]
      const n = g.data.length / alphas.length;
      const s = sums.get(h.name) ?? { dims: [1, ...g.dims.slice(1)], acc: new Float64Array(n) };
      for (let i = 0; i < g.data.length; i++) s.acc[i % n] += g.data[i];
      sums.set(h.name, s);
    }
  }
  const mean = [...sums].map(([name, s]): [string, TensorData] => {
    const data = new Float32Array(s.acc.length);
    for (let i = 0; i < data.length; i++) data[i] = s.acc[i] / steps;
    return [name, { dims: s.dims, data }];
  });
  return new ActivationCache(new Map(mean), tracer.ckpt.config);
}

function gradsOf(grads: { get(name: string): TensorData } | undefined, name: string): TensorData {
  if (!grads) fail('RUNTIME', { field: 'grad' }, 'the tracer returned no gradients.', 'This build has no backward pass: update Circuit Lens.');
  return grads.get(name);
}

export async function attributionPatching(tracer: Tracer, clean: Token[], corrupted: Token[], opts: AtpOptions): Promise<AtpResult> {
  const { target, ...rest } = opts;
  return (await attributionPatchingTargets(tracer, clean, corrupted, [target], rest))[0];
}

/** Several targets from the same runs: one source forward, one receiving forward + backward for all of them. */
export async function attributionPatchingTargets(tracer: Tracer, clean: Token[], corrupted: Token[], targets: readonly PatchTarget[], opts: Omit<AtpOptions, 'target'>): Promise<AtpResult[]> {
  const { config, hooks } = tracer.ckpt;
  const { layers, positions } = patchAxes(config.nLayers, clean, corrupted, opts);
  const method = opts.method ?? 'atp';
  const direction = opts.direction ?? 'denoise';
  const steps = opts.steps ?? DEFAULT_STEPS;
  if (!Number.isInteger(steps) || steps < 1) fail('BAD_INPUT', { field: 'steps' }, `must be a positive integer, got ${steps}.`);
  const qkFix = method === 'atpStar' && targets.includes('resid_pre');
  if (qkFix) checkQkFixSupported(config);
  const [receiving, sourceTokens] = direction === 'denoise' ? [corrupted, clean] : [clean, corrupted];
  const unitHooks = (t: PatchTarget) => layers.map((l) => `blocks.${l}.${PATCH_HOOK[t]}`);
  const allUnitHooks = targets.flatMap(unitHooks);
  const qk = qkFix ? layers.map((l) => qkHooks(config, l)) : [];
  const qkNames = qk.flatMap((h) => [h.q, h.k]);
  const embed = 'blocks.0.hook_resid_pre';
  const cached = pick(hooks, [...allUnitHooks, ...qkNames, ...(method === 'integratedGradients' ? [embed] : [])]);
  const gradHooks = pick(hooks, [...allUnitHooks, ...qkNames, ...qk.map((h) => h.pattern)]);
  const logits = logitsNeeded(opts.metric);

  const source = await tracer.trace([sourceTokens], { hooks: cached, logits, signal: opts.signal });
  // The receiving run's activations, and (except with integrated gradients) its gradients.
  const target = await tracer.trace([receiving], {
    hooks: qkFix ? pick(hooks, [...cached.map((h) => h.name), ...qk.map((h) => h.pattern)]) : cached, logits, signal: opts.signal,
    ...(method === 'integratedGradients' ? {} : { grad: { metric: opts.metric, hooks: gradHooks } }),
  });
  const mSource = metricValues(source.logits, opts.metric, [sourceTokens.map((t) => t.id)])[0];
  const mTarget = metricValues(target.logits, opts.metric, [receiving.map((t) => t.id)])[0];
  const [mClean, mCorrupted] = direction === 'denoise' ? [mSource, mTarget] : [mTarget, mSource];
  const base = normalizeMetric(mTarget, mClean, mCorrupted); // 0 denoising, 1 noising
  const span = mClean - mCorrupted;

  const grads: { get(name: string): TensorData } = method === 'integratedGradients'
    ? await integratedGrads(tracer, receiving, target.cache.get(embed), source.cache.get(embed), opts.metric, gradHooks, steps, opts.signal)
    : { get: (n: string) => gradsOf(target.grads, n) };

  // [layer][pos] the QK fix's corrections of the resid_pre estimates.
  const fixes = qk.map((h, li) => qkCorrection({
    config, layer: layers[li],
    q: target.cache.get(h.q), k: target.cache.get(h.k), pattern: target.cache.get(h.pattern),
    qSource: source.cache.get(h.q), kSource: source.cache.get(h.k),
    gradQ: grads.get(h.q), gradK: grads.get(h.k), gradPattern: grads.get(h.pattern),
  }));
  return targets.map((t) => {
    const units = patchUnits(t, clean, config.nHeads, positions);
    const values = new Float32Array(layers.length * units.length);
    for (const [li, hook] of unitHooks(t).entries()) {
      const src = source.cache.get(hook); // [1, pos, ...rest]
      const d = diff(src, target.cache.get(hook));
      const g = grads.get(hook);
      const fix = t === 'resid_pre' ? fixes[li] : undefined;
      units.forEach((u, ui) => {
        const effect = unitDot(g, d, u, src) + (fix && u.position !== undefined ? fix[u.position] : 0);
        values[li * units.length + ui] = base + effect / span;
      });
    }
    return {
      target: t, method, metric: metricName(opts.metric), direction, layers, units: units.map((u) => u.label), values,
      clean: mClean, corrupted: mCorrupted, ...(method === 'integratedGradients' ? { steps } : {}),
    };
  });
}
