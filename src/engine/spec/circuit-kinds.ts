/**
 * The circuit-analysis kinds of an experiment spec (patching, ablation, attribution, detectors,
 * steering, generation): their types and how each is read from the JSONC tree, with a source range on
 * every value so diagnostics point at the exact text.
 */
import { Node, findNodeAtLocation } from 'jsonc-parser/lib/esm/main.js';
import type { Located, SourceRange } from './types';
import { PATCH_TARGETS, PatchTarget } from '../analysis/patching';
import { DETECTOR_KINDS, DetectorKind } from '../analysis/head-detectors';

export const CIRCUIT_KINDS = ['patching', 'ablation', 'attribution', 'detectors', 'steering', 'generation'] as const;
export type CircuitKind = (typeof CIRCUIT_KINDS)[number];
export const METRICS = ['logitDiff', 'answerProb', 'loss'] as const;
export type MetricName = (typeof METRICS)[number];

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
  /** The corrupted prompt's name. */
  corrupted: Located<string>;
  target: PatchTarget;
  metric: MetricName;
  direction: 'denoise' | 'noise';
  layers?: Located<number>[];
  positions?: Located<number>[];
}

export interface AblationAnalysis extends CircuitBase {
  kind: 'ablation';
  unit: 'heads' | 'neurons' | 'layers';
  method: 'zero' | 'mean' | 'resample';
  /** Prompt names whose activations give the mean or the resampled values. */
  reference: Located<string>[];
  metric: MetricName;
  layers?: Located<number>[];
  neurons?: Located<number>[];
  positions?: Located<number>[];
}

export interface AttributionAnalysis extends CircuitBase {
  kind: 'attribution';
}

export interface DetectorsAnalysis extends CircuitBase {
  kind: 'detectors';
  source: 'prompt' | 'random';
  detectors: DetectorKind[];
  /** Random source: rows of BOS + length random tokens repeated once. */
  length: number;
  rows: number;
  seed: number;
}

export interface SteeringAnalysis extends CircuitBase {
  kind: 'steering';
  hook: Located<string>;
  coefficient: number;
  vector?: Located<number[]>;
  positive: Located<string>[];
  negative: Located<string>[];
  generation: Sampling;
}

export interface GenerationAnalysis extends CircuitBase {
  kind: 'generation';
  generation: Sampling;
}

export type CircuitAnalysis = PatchingAnalysis | AblationAnalysis | AttributionAnalysis | DetectorsAnalysis | SteeringAnalysis | GenerationAnalysis;

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

function choice<T extends string>(r: FieldReader, obj: Node, key: string, options: readonly T[], fallback: T): T {
  const v = r.string(obj, key);
  if (!v) return fallback;
  if (!(options as readonly string[]).includes(v.value)) {
    r.error(v.range, `"${key}" must be one of ${options.join(', ')}.`);
    return fallback;
  }
  return v.value as T;
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

function number(r: FieldReader, obj: Node, key: string, fallback: number, min: number, max: number): number {
  const n = findNodeAtLocation(obj, [key]);
  if (!n) return fallback;
  if (n.type !== 'number' || !(n.value >= min && n.value <= max)) {
    r.error(n, `"${key}" must be a number from ${min} to ${max}.`);
    return fallback;
  }
  return n.value as number;
}

function sampling(r: FieldReader, obj: Node): Sampling {
  const topK = findNodeAtLocation(obj, ['topK']) ? number(r, obj, 'topK', 0, 1, 1e6) : undefined;
  return {
    maxNewTokens: number(r, obj, 'maxNewTokens', 20, 0, 1000),
    temperature: number(r, obj, 'temperature', 0, 0, 100),
    topK: topK || undefined,
    seed: number(r, obj, 'seed', 0, 0, 2 ** 31),
  };
}

/** Reads one circuit analysis of a known kind. */
export function readCircuitAnalysis(r: FieldReader, n: Node, kind: CircuitKind, base: CircuitBase): CircuitAnalysis | undefined {
  switch (kind) {
    case 'patching': {
      const corrupted = r.string(n, 'corrupted', true);
      if (!corrupted) return undefined;
      return {
        ...base, kind, corrupted,
        target: choice(r, n, 'target', PATCH_TARGETS, 'resid_pre'),
        metric: choice(r, n, 'metric', METRICS, 'logitDiff'),
        direction: choice(r, n, 'direction', ['denoise', 'noise'] as const, 'denoise'),
        layers: integers(r, n, 'layers', 'a layer'),
        positions: integers(r, n, 'positions', 'a position'),
      };
    }
    case 'ablation':
      return {
        ...base, kind,
        unit: choice(r, n, 'unit', ['heads', 'neurons', 'layers'] as const, 'heads'),
        method: choice(r, n, 'method', ['zero', 'mean', 'resample'] as const, 'zero'),
        reference: names(r, n, 'reference'),
        metric: choice(r, n, 'metric', METRICS, 'logitDiff'),
        layers: integers(r, n, 'layers', 'a layer'),
        neurons: integers(r, n, 'neurons', 'a neuron'),
        positions: integers(r, n, 'positions', 'a position'),
      };
    case 'attribution':
      return { ...base, kind };
    case 'detectors': {
      const detectors = (r.array(n, 'detectors') ?? []).flatMap((d): DetectorKind[] => {
        if ((DETECTOR_KINDS as readonly unknown[]).includes(d.value)) return [d.value as DetectorKind];
        r.error(d, `a detector is one of ${DETECTOR_KINDS.join(', ')}.`);
        return [];
      });
      return {
        ...base, kind,
        source: choice(r, n, 'source', ['prompt', 'random'] as const, 'random'),
        detectors: detectors.length ? detectors : [...DETECTOR_KINDS],
        length: number(r, n, 'length', 50, 1, 1e5),
        rows: number(r, n, 'rows', 8, 1, 256),
        seed: number(r, n, 'seed', 0, 0, 2 ** 31),
      };
    }
    case 'steering': {
      const hook = r.string(n, 'hook', true);
      if (!hook) return undefined;
      const vecNode = findNodeAtLocation(n, ['vector']);
      let vector: Located<number[]> | undefined;
      if (vecNode) {
        const items = vecNode.type === 'array' ? vecNode.children ?? [] : [];
        if (vecNode.type !== 'array' || items.some((c) => c.type !== 'number')) r.error(vecNode, '"vector" is a list of numbers.');
        else vector = { value: items.map((c) => c.value as number), range: rangeOf(vecNode) };
      }
      const positive = names(r, n, 'positive');
      const negative = names(r, n, 'negative');
      if (!vector && (positive.length === 0 || negative.length === 0)) r.error(n, 'steering needs "vector", or "positive" and "negative" prompt names.');
      return { ...base, kind, hook, coefficient: number(r, n, 'coefficient', 1, -1e6, 1e6), vector, positive, negative, generation: sampling(r, n) };
    }
    case 'generation':
      return { ...base, kind, generation: sampling(r, n) };
  }
}
