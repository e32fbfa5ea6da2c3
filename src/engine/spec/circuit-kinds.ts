/**
 * The circuit-analysis kinds of an experiment spec (patching, ablation, attribution, detectors,
 * steering, generation): their types and how each is read from the JSONC tree, with a source range on
 * every value so diagnostics point at the exact text. Options, defaults and bounds come from the
 * vocabulary (vocabulary.ts), the same declaration the JSON schema is generated from.
 */
import { Node, findNodeAtLocation } from 'jsonc-parser/lib/esm/main.js';
import type { Located, SourceRange } from './types';
import { CircuitTestAnalysis, readCircuitTest } from './circuit-spec';
import {
  ABLATION_FIELDS, ATTRIBUTION_PATCHING_FIELDS, AblationMethod, AblationUnit, AtpMethod, CircuitKind, DETECTORS_FIELDS, DetectorKind, DetectorSource, EDGE_ATTRIBUTION_FIELDS, EdgeAblationName, EdgeMethodName, EnumField, FEATURES_FIELDS, Field, Fields, INPUT_ATTRIBUTION_FIELDS, KindDecl,
  KINDS, MetricName, NumberField, OptionOf, PATCHING_FIELDS, PatchDirection, PatchTarget, SAMPLING_FIELDS, STEERING_FIELDS,
} from './vocabulary';

export { CIRCUIT_KINDS, METRICS } from './vocabulary';
export type { CircuitKind, MetricName } from './vocabulary';

export interface CircuitBase {
  index: number;
  title: string;
  prompt?: Located<string>;
  range: SourceRange;
}

export interface Sampling {
  maxNewTokens: number;
  temperature: number;
  topK?: number;
  seed: number;
}

export interface PatchingAnalysis extends CircuitBase {
  kind: 'patching';
  /** The corrupted prompt's name (absent with a dataset: each of its prompts has its own). */
  corrupted?: Located<string>;
  /** Runs on every prompt of this dataset, each with its own corrupted prompt, instead of one pair. */
  dataset?: Located<string>;
  target: PatchTarget;
  metric: MetricName;
  direction: PatchDirection;
  layers?: Located<number>[];
  positions?: Located<number>[];
}

export interface AttributionPatchingAnalysis extends Omit<PatchingAnalysis, 'kind' | 'corrupted' | 'dataset'> {
  kind: 'attributionPatching';
  corrupted: Located<string>;
  method: AtpMethod;
  /** Integrated gradients: interpolation steps. */
  steps: number;
  /** Exact patching of this many largest estimates (0: none). */
  verify: number;
  /** Seed of the random cells verify also patches, for false negatives. */
  seed: number;
}

export interface InputAttributionAnalysis extends CircuitBase {
  kind: 'inputAttribution';
  /** The baseline prompt's name; absent: zero embeddings. */
  corrupted?: Located<string>;
  metric: MetricName;
  steps: number;
}

export interface AblationAnalysis extends CircuitBase {
  kind: 'ablation';
  unit: AblationUnit;
  method: AblationMethod;
  /** Prompt names whose activations give the mean or the resampled values. */
  reference: Located<string>[];
  /** Runs on every prompt of this dataset instead of one prompt. */
  dataset?: Located<string>;
  metric: MetricName;
  layers?: Located<number>[];
  neurons?: Located<number>[];
  positions?: Located<number>[];
  /** With unit features: the dictionary (index or hook) and the feature ids. */
  sae?: Located<number | string>;
  features?: Located<number>[];
}

export interface AttributionAnalysis extends CircuitBase {
  kind: 'attribution';
  /** Averages over every prompt of this dataset, each with its own answer tokens. */
  dataset?: Located<string>;
}

export interface DetectorsAnalysis extends CircuitBase {
  kind: 'detectors';
  source: DetectorSource;
  detectors: DetectorKind[];
  /** Random source: rows of BOS + length random tokens repeated once. */
  length: number;
  rows: number;
  seed: number;
  /** Scores every prompt of this dataset (instead of the source) and reports the mean score. */
  dataset?: Located<string>;
}

export interface SteeringAnalysis extends CircuitBase {
  kind: 'steering';
  /** Where the vector is added; with `feature`, the hook the dictionary reads. */
  hook: Located<string>;
  coefficient: number;
  vector?: Located<number[]>;
  positive: Located<string>[];
  negative: Located<string>[];
  /** Steering by a feature of the dictionary attached at `hook`: coefficient x W_dec[f], or its activation clamped. */
  feature?: Located<number>;
  clamp?: number;
  generation: Sampling;
  /** Runs on every prompt of this dataset: the mean shift of `metric`, no continuations. */
  dataset?: Located<string>;
  metric: MetricName;
}

export interface FeaturesAnalysis extends CircuitBase {
  kind: 'features';
  sae?: Located<number | string>;
  k: number;
  logitsK: number;
}

export interface GenerationAnalysis extends CircuitBase {
  kind: 'generation';
  generation: Sampling;
}

export interface EdgeAttributionAnalysis extends CircuitBase {
  kind: 'edgeAttribution';
  corrupted?: Located<string>;
  dataset?: Located<string>;
  metric: MetricName;
  method: EdgeMethodName;
  steps: number;
  /** The circuit: the top N edges by |score|, unless a threshold is given. */
  topN: number;
  threshold?: number;
  ablation: EdgeAblationName;
  reference?: Located<string>;
}

export type { CircuitTestAnalysis } from './circuit-spec';

export type CircuitAnalysis = PatchingAnalysis | AblationAnalysis | AttributionAnalysis | DetectorsAnalysis | SteeringAnalysis | GenerationAnalysis | CircuitTestAnalysis
  | EdgeAttributionAnalysis | FeaturesAnalysis | AttributionPatchingAnalysis | InputAttributionAnalysis;

/** What the spec reader lends: error reporting and its typed field readers. */
export interface FieldReader {
  error(n: Node | SourceRange, message: string): void;
  string(obj: Node, key: string, required?: boolean): Located<string> | undefined;
  integer(n: Node | undefined, what: string): Located<number> | undefined;
  array(obj: Node, key: string): Node[] | undefined;
}

function rangeOf(n: Node): SourceRange {
  return { offset: n.offset, length: n.length };
}

// The readers below take a kind's field declarations and a key, so the key read and the declaration
// that gives its options, default and bounds cannot disagree.
type EnumKey<F> = { [K in keyof F]: F[K] extends { type: 'enum'; default: string } ? K : never }[keyof F] & string;
type NumberKey<F> = { [K in keyof F]: F[K] extends { type: 'integer' | 'number'; minimum: number; maximum: number } ? K : never }[keyof F] & string;

export function choice<F extends Fields, K extends EnumKey<F>>(r: FieldReader, obj: Node, fields: F, key: K): OptionOf<F[K]> {
  const f = fields[key] as EnumField & { default: string };
  const fallback = f.default as OptionOf<F[K]>;
  const v = r.string(obj, key);
  if (!v) return fallback;
  if (!f.options.includes(v.value)) {
    r.error(v.range, `"${key}" must be one of ${f.options.join(', ')}.`);
    return fallback;
  }
  return v.value as OptionOf<F[K]>;
}

/** A number within the declared bounds; its default when absent or invalid (undefined without one). */
export function number<F extends Fields, K extends NumberKey<F>>(r: FieldReader, obj: Node, fields: F, key: K): F[K] extends { default: number } ? number : number | undefined {
  type Result = F[K] extends { default: number } ? number : number | undefined;
  const f = fields[key] as NumberField & { minimum: number; maximum: number };
  const n = findNodeAtLocation(obj, [key]);
  if (!n) return f.default as Result;
  if (n.type !== 'number' || !(n.value >= f.minimum && n.value <= f.maximum)) {
    r.error(n, `"${key}" must be a number from ${f.minimum} to ${f.maximum}.`);
    return f.default as Result;
  }
  return n.value as Result;
}

function integers(r: FieldReader, obj: Node, key: string, what: string): Located<number>[] | undefined {
  return r.array(obj, key)?.map((n) => r.integer(n, what)).filter((v): v is Located<number> => !!v);
}

function names(r: FieldReader, obj: Node, key: string): Located<string>[] {
  return (r.array(obj, key) ?? []).flatMap((n) => {
    if (n.type === 'string') return [{ value: n.value as string, range: rangeOf(n) }];
    r.error(n, `"${key}" lists prompt names (strings).`);
    return [];
  });
}

function sampling(r: FieldReader, obj: Node): Sampling {
  const F = SAMPLING_FIELDS;
  const topK = number(r, obj, F, 'topK'); // read first: its problem has always come first
  return {
    maxNewTokens: number(r, obj, F, 'maxNewTokens'),
    temperature: number(r, obj, F, 'temperature'),
    topK,
    seed: number(r, obj, F, 'seed'),
  };
}

/** `sae`: an attached dictionary's index or the hook it reads. */
function saeChoice(r: FieldReader, obj: Node): Located<number | string> | undefined {
  const n = findNodeAtLocation(obj, ['sae']);
  if (!n) return undefined;
  if (n.type === 'string' || (n.type === 'number' && Number.isInteger(n.value) && n.value >= 0)) return { value: n.value as number | string, range: rangeOf(n) };
  r.error(n, '"sae" is an attached dictionary\'s index in "saes" (0, 1, ...) or the hook it reads ("blocks.6.hook_resid_post").');
  return undefined;
}

const listsPrompts = (f: Field | undefined) => f?.type === 'array' && f.items.type === 'string' && f.items.refersTo === 'prompt';

/**
 * The kind's `needsOneOf`: at least one alternative given in full, else one problem on the analysis
 * ('steering needs "vector", or "positive" and "negative" prompt names.').
 */
function checkNeeds(r: FieldReader, n: Node, kind: CircuitKind, given: (key: string) => boolean): void {
  const decl: KindDecl = KINDS[kind];
  const alternatives = decl.needsOneOf;
  if (!alternatives || alternatives.some((keys) => keys.every(given))) return;
  const words = alternatives.map((keys) => keys.map((k) => JSON.stringify(k)).join(' and ') + (keys.every((k) => listsPrompts(decl.fields[k])) ? ' prompt names' : ''));
  r.error(n, `${kind} needs ${words.join(', or ')}.`);
}

/** Fields that mean nothing once the analysis runs on a dataset: each present one is an error naming why. */
function notWithDataset(r: FieldReader, n: Node, dataset: Located<string> | undefined, keys: readonly string[], why: string): void {
  if (!dataset) return;
  for (const key of keys) {
    const v = findNodeAtLocation(n, [key]);
    if (v) r.error(v.parent?.children?.[0] ?? v, `"${key}" does not go with "dataset": ${why} Remove it, or the "dataset".`);
  }
}

/** Reads one circuit analysis of a known kind. */
export function readCircuitAnalysis(r: FieldReader, n: Node, kind: CircuitKind, base: CircuitBase): CircuitAnalysis | undefined {
  switch (kind) {
    case 'patching': {
      const F = PATCHING_FIELDS;
      const dataset = r.string(n, 'dataset');
      const corrupted = r.string(n, 'corrupted');
      checkNeeds(r, n, kind, (k) => (k === 'dataset' ? !!dataset : !!corrupted));
      notWithDataset(r, n, dataset, ['corrupted'], 'each prompt of the dataset is patched with its own corrupted prompt (its "corrupted" field, or the template\'s).');
      if (!corrupted && !dataset) return undefined;
      return {
        ...base, kind, ...(corrupted ? { corrupted } : {}), ...(dataset ? { dataset } : {}),
        target: choice(r, n, F, 'target'),
        metric: choice(r, n, F, 'metric'),
        direction: choice(r, n, F, 'direction'),
        layers: integers(r, n, 'layers', 'a layer'),
        positions: integers(r, n, 'positions', 'a position'),
      };
    }
    case 'ablation': {
      const F = ABLATION_FIELDS;
      const dataset = r.string(n, 'dataset');
      const unit = choice(r, n, F, 'unit');
      const features = integers(r, n, 'features', 'a feature');
      const sae = saeChoice(r, n);
      if (unit === 'features' && dataset) r.error(dataset.range, 'unit "features" runs on one prompt; give "prompt" instead of "dataset".');
      return {
        ...base, kind,
        unit,
        method: choice(r, n, F, 'method'),
        reference: names(r, n, 'reference'),
        ...(dataset ? { dataset } : {}),
        metric: choice(r, n, F, 'metric'),
        layers: integers(r, n, 'layers', 'a layer'),
        neurons: integers(r, n, 'neurons', 'a neuron'),
        positions: integers(r, n, 'positions', 'a position'),
        ...(sae ? { sae } : {}),
        ...(features ? { features } : {}),
      };
    }
    case 'attribution': {
      const dataset = r.string(n, 'dataset');
      return { ...base, kind, ...(dataset ? { dataset } : {}) };
    }
    case 'detectors': {
      const F = DETECTORS_FIELDS;
      const options: readonly string[] = F.detectors.items.options;
      const detectors = (r.array(n, 'detectors') ?? []).flatMap((d): DetectorKind[] => {
        if (options.includes(d.value)) return [d.value as DetectorKind];
        r.error(d, `a detector is one of ${options.join(', ')}.`);
        return [];
      });
      const dataset = r.string(n, 'dataset');
      notWithDataset(r, n, dataset, ['source', 'rows', 'length', 'seed'], 'the dataset\'s prompts are scored, not generated random tokens.');
      return {
        ...base, kind, ...(dataset ? { dataset } : {}),
        source: choice(r, n, F, 'source'),
        // An empty or all-invalid list means the default, as an absent one does.
        detectors: detectors.length ? detectors : [...F.detectors.default],
        length: number(r, n, F, 'length'),
        rows: number(r, n, F, 'rows'),
        seed: number(r, n, F, 'seed'),
      };
    }
    case 'steering': {
      const F = STEERING_FIELDS;
      const hook = r.string(n, 'hook', F.hook.required);
      if (!hook) return undefined;
      const feature = r.integer(findNodeAtLocation(n, ['feature']), '"feature"');
      const clamp = number(r, n, F, 'clamp');
      const vecNode = findNodeAtLocation(n, ['vector']);
      let vector: Located<number[]> | undefined;
      if (vecNode) {
        const items = vecNode.type === 'array' ? vecNode.children ?? [] : [];
        if (vecNode.type !== 'array' || items.some((c) => c.type !== 'number')) r.error(vecNode, '"vector" is a list of numbers.');
        else vector = { value: items.map((c) => c.value as number), range: rangeOf(vecNode) };
      }
      const positive = names(r, n, 'positive');
      const negative = names(r, n, 'negative');
      const given: Record<string, boolean> = { vector: !!vector && vector.value.length > 0, positive: positive.length > 0, negative: negative.length > 0, feature: !!feature };
      checkNeeds(r, n, kind, (k) => given[k] ?? false);
      const dataset = r.string(n, 'dataset');
      notWithDataset(r, n, dataset, Object.keys(SAMPLING_FIELDS), 'over a dataset steering reports the mean metric shift, not continuations.');
      return {
        ...base, kind, hook, coefficient: number(r, n, F, 'coefficient'), vector, positive, negative,
        ...(feature ? { feature } : {}), ...(clamp !== undefined ? { clamp } : {}), generation: sampling(r, n),
        ...(dataset ? { dataset } : {}), metric: choice(r, n, F, 'metric'),
      };
    }
    case 'generation':
      return { ...base, kind, generation: sampling(r, n) };
    case 'circuit':
      return readCircuitTest(r, n, base);
    case 'edgeAttribution': {
      const F = EDGE_ATTRIBUTION_FIELDS;
      const corrupted = r.string(n, 'corrupted');
      const dataset = r.string(n, 'dataset');
      const reference = r.string(n, 'reference');
      checkNeeds(r, n, kind, (k) => (k === 'corrupted' ? !!corrupted : k === 'dataset' ? !!dataset : false));
      if (!corrupted && !dataset) return undefined;
      const threshold = number(r, n, F, 'threshold');
      return {
        ...base, kind, ...(corrupted ? { corrupted } : {}), ...(dataset ? { dataset } : {}), ...(reference ? { reference } : {}),
        metric: choice(r, n, F, 'metric'), method: choice(r, n, F, 'method'), steps: number(r, n, F, 'steps'),
        topN: number(r, n, F, 'topN'), ...(threshold !== undefined ? { threshold } : {}), ablation: choice(r, n, F, 'ablation'),
      };
    }
    case 'features': {
      const F = FEATURES_FIELDS;
      const sae = saeChoice(r, n);
      return { ...base, kind, ...(sae ? { sae } : {}), k: number(r, n, F, 'k'), logitsK: number(r, n, F, 'logitsK') };
    }
    case 'attributionPatching': {
      const F = ATTRIBUTION_PATCHING_FIELDS;
      const corrupted = r.string(n, 'corrupted', F.corrupted.required);
      if (!corrupted) return undefined;
      return {
        ...base, kind, corrupted,
        target: choice(r, n, F, 'target'),
        metric: choice(r, n, F, 'metric'),
        direction: choice(r, n, F, 'direction'),
        layers: integers(r, n, 'layers', 'a layer'),
        positions: integers(r, n, 'positions', 'a position'),
        method: choice(r, n, F, 'method'),
        steps: number(r, n, F, 'steps'),
        verify: number(r, n, F, 'verify'),
        seed: number(r, n, F, 'seed'),
      };
    }
    case 'inputAttribution': {
      const F = INPUT_ATTRIBUTION_FIELDS;
      const corrupted = r.string(n, 'corrupted');
      return { ...base, kind, ...(corrupted ? { corrupted } : {}), metric: choice(r, n, F, 'metric'), steps: number(r, n, F, 'steps') };
    }
  }
}
