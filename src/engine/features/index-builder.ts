/**
 * The feature index's accumulator: windows of a corpus go in one by one with their feature activations,
 * and per feature it keeps the top-N windows by the feature's largest activation in them (ties: the
 * earlier window), a uniform sample of the windows where it is active, how often it is above 0, its
 * largest value and a histogram of log10(activation). The sample is bottom-k by a hash of (window,
 * feature), so it is the same whatever order or how many sessions the windows came in: a resumed index
 * equals an uninterrupted one. The first position of a window (BOS) is left out of every figure.
 */
import { fail } from '../errors';

export interface IndexShape {
  dSae: number;
  /** Tokens per window, BOS included. */
  context: number;
  /** Examples kept per feature: the top ones, and the sampled ones. */
  top: number;
  samples: number;
}

/** Histogram of log10(activation) over active tokens: 0.1-decade bins from 1e-3 to 1e4 (outside: the end bins). */
export const HISTOGRAM = { log10From: -3, log10To: 4, bins: 70 } as const;

/** Examples of each feature in `n` slots: [d_sae, n] (window -1: empty) and the activations over each window [d_sae, n, context]. */
export interface Slots {
  n: number;
  act: Float32Array;
  window: Int32Array;
  pos: Int32Array;
  acts: Float32Array;
  /** Sample slots only: the hash the sample is ordered by. */
  key?: Uint32Array;
}

export interface IndexState {
  shape: IndexShape;
  windows: number;
  /** Positions counted (BOS left out). */
  tokens: number;
  /** [d_sae] positions where the feature is above 0. */
  fired: Float64Array;
  /** [d_sae] */
  maxAct: Float32Array;
  /** [HISTOGRAM.bins, d_sae]: bin-major, so a window's row of activations updates it in runs of features (the file is [d_sae, bins]). */
  histogram: Float64Array;
  top: Slots;
  samples: Slots;
  /** The token ids of every window added, in order ([windows, context] once joined). */
  windowIds: Int32Array[];
}

function slots(shape: IndexShape, n: number, keyed: boolean): Slots {
  const cells = shape.dSae * n;
  return {
    n, act: new Float32Array(cells), window: new Int32Array(cells).fill(-1), pos: new Int32Array(cells), acts: new Float32Array(cells * shape.context),
    ...(keyed ? { key: new Uint32Array(cells) } : {}),
  };
}

export function emptyState(shape: IndexShape): IndexState {
  return {
    shape, windows: 0, tokens: 0, fired: new Float64Array(shape.dSae), maxAct: new Float32Array(shape.dSae), histogram: new Float64Array(shape.dSae * HISTOGRAM.bins),
    top: slots(shape, shape.top, false), samples: slots(shape, shape.samples, true), windowIds: [],
  };
}

/** A 32-bit hash of (window, feature): the sample's order (murmur3's finaliser). */
export function sampleKey(window: number, feature: number): number {
  let h = Math.imul(window ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(feature + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const BIN_SCALE = HISTOGRAM.bins / (HISTOGRAM.log10To - HISTOGRAM.log10From);
const LOG10_FROM: number = HISTOGRAM.log10From;
const LAST_BIN: number = HISTOGRAM.bins - 1;

function binOf(a: number): number {
  const b = Math.floor((Math.log10(a) - LOG10_FROM) * BIN_SCALE);
  return b < 0 ? 0 : b > LAST_BIN ? LAST_BIN : b;
}

/** Puts an example in slot j of feature f, moving the filled slots after it down one (the last falls off when all are filled). */
function placeAt(s: Slots, context: number, f: number, j: number, act: number, window: number, pos: number, acts: Float32Array, dSae: number, key?: number): void {
  const base = f * s.n;
  const at = base + j;
  let used = at;
  while (used < base + s.n && s.window[used] >= 0) used++;
  const end = Math.min(base + s.n, used + 1); // the slots [at, end - 1) move to [at + 1, end)
  s.act.copyWithin(at + 1, at, end - 1);
  s.window.copyWithin(at + 1, at, end - 1);
  s.pos.copyWithin(at + 1, at, end - 1);
  s.key?.copyWithin(at + 1, at, end - 1);
  s.acts.copyWithin((at + 1) * context, at * context, (end - 1) * context);
  s.act[at] = act;
  s.window[at] = window;
  s.pos[at] = pos;
  if (s.key) s.key[at] = key!;
  const out = at * context;
  for (let p = 0; p < context; p++) s.acts[out + p] = acts[p * dSae + f]; // acts: [context, d_sae]
}

/**
 * Adds one window: `ids` its tokens ([context]), `acts` the dictionary's hook_sae_acts_post on it
 * ([context, d_sae]). Windows must come in order (window number = state.windows).
 */
export function addWindow(state: IndexState, ids: ArrayLike<number>, acts: Float32Array): void {
  const { dSae, context } = state.shape;
  if (ids.length !== context || acts.length !== context * dSae) fail('RUNTIME', { field: 'window' }, `a window of ${ids.length} tokens and ${acts.length} activations, expected ${context} and ${context * dSae}.`);
  const w = state.windows;
  const best = new Float32Array(dSae);
  const bestPos = new Int32Array(dSae).fill(-1);
  const { fired, histogram } = state;
  for (let p = 1; p < context; p++) {
    const row = p * dSae;
    for (let f = 0; f < dSae; f++) {
      const a = acts[row + f];
      if (a > 0) {
        fired[f]++;
        histogram[binOf(a) * dSae + f]++;
        if (a > best[f]) {
          best[f] = a;
          bestPos[f] = p;
        }
      }
    }
  }
  state.tokens += context - 1;
  const { top, samples } = state;
  for (let f = 0; f < dSae; f++) {
    if (bestPos[f] < 0) continue;
    const a = best[f];
    if (a > state.maxAct[f]) state.maxAct[f] = a;
    const tb = f * top.n;
    let j = 0;
    while (j < top.n && top.window[tb + j] >= 0 && top.act[tb + j] >= a) j++;
    if (j < top.n) placeAt(top, context, f, j, a, w, bestPos[f], acts, dSae);
    if (samples.n === 0) continue;
    const key = sampleKey(w, f);
    const sb = f * samples.n;
    let k = 0;
    while (k < samples.n && samples.window[sb + k] >= 0 && samples.key![sb + k] <= key) k++;
    if (k < samples.n) placeAt(samples, context, f, k, a, w, bestPos[f], acts, dSae, key);
  }
  state.windowIds.push(Int32Array.from(ids));
  state.windows++;
}
