/**
 * The `circuit` kind of an experiment spec: a circuit (heads, MLP layers, neurons), the ablation of
 * everything outside it, a metric over a dataset, and claims with bounds. Read from the JSONC tree with
 * a source range on every component and claim, so a failed claim can point at its text.
 */
import { Node, findNodeAtLocation } from 'jsonc-parser/lib/esm/main.js';
import type { CircuitBase, FieldReader } from './circuit-kinds';
import { choice } from './circuit-kinds';
import type { Located, SourceRange } from './types';
import { CIRCUIT_ABLATIONS, CIRCUIT_FIELDS, CLAIM_EXPECTATIONS, CLAIM_KINDS, CircuitAblation, ClaimKind, MetricName } from './vocabulary';

export interface CircuitComponents {
  /** "L.H" heads. */
  heads: Located<{ layer: number; head: number }>[];
  mlps: Located<number>[];
  /** "L.N" neurons. */
  neurons: Located<{ layer: number; neuron: number }>[];
  /** "HOOK:FEATURE" features of attached dictionaries, HOOK the hook a dictionary reads. */
  features: Located<{ hook: string; feature: number }>[];
  range: SourceRange;
}

export interface ClaimSpec {
  kind: ClaimKind;
  min?: number;
  max?: number;
  /** The ablations it is checked under: its own list, else the circuit's ablation. */
  ablations: CircuitAblation[];
  /** 'fail': a documented false claim, reported as an expected failure. */
  expect: 'pass' | 'fail';
  range: SourceRange;
}

export interface CircuitTestAnalysis extends CircuitBase {
  kind: 'circuit';
  dataset: Located<string>;
  /** Mean and resample ablation: the dataset the values come from (default: `dataset`). */
  reference?: Located<string>;
  components: CircuitComponents;
  ablation: CircuitAblation;
  metric: MetricName;
  /** Absent when the spec gives none: the analysis then reports faithfulness only. */
  claims?: ClaimSpec[];
}

function rangeOf(n: Node): SourceRange {
  return { offset: n.offset, length: n.length };
}

/** "L.X" pairs such as "1.37": heads and neurons. */
function pairs<K extends string>(r: FieldReader, obj: Node, key: string, second: K): Located<{ layer: number } & Record<K, number>>[] {
  return (r.array(obj, key) ?? []).flatMap((n) => {
    const m = n.type === 'string' ? /^(\d+)\.(\d+)$/.exec(n.value as string) : null;
    if (!m) {
      r.error(n, `"components.${key}" lists ${second}s as "LAYER.${second.toUpperCase()}" strings, such as "1.3".`);
      return [];
    }
    return [{ value: { layer: Number(m[1]), [second]: Number(m[2]) } as { layer: number } & Record<K, number>, range: rangeOf(n) }];
  });
}

/** "HOOK:FEATURE" strings such as "blocks.1.hook_resid_pre:123". */
function features(r: FieldReader, obj: Node): Located<{ hook: string; feature: number }>[] {
  return (r.array(obj, 'features') ?? []).flatMap((n) => {
    const m = n.type === 'string' ? /^(.+):(\d+)$/.exec(n.value as string) : null;
    if (!m) {
      r.error(n, '"components.features" lists features as "HOOK:FEATURE" strings, HOOK the hook the dictionary reads, such as "blocks.1.hook_resid_pre:123".');
      return [];
    }
    return [{ value: { hook: m[1], feature: Number(m[2]) }, range: rangeOf(n) }];
  });
}

function components(r: FieldReader, n: Node): CircuitComponents | undefined {
  const c = findNodeAtLocation(n, ['components']);
  if (!c) return void r.error(n, '"components" is required: {"heads": ["0.0", ...], "mlps": [0, ...], "neurons": ["1.37", ...]}.');
  if (c.type !== 'object') return void r.error(c, '"components" is an object {"heads", "mlps", "neurons", "features"}.');
  for (const prop of c.children ?? []) {
    const key = prop.children?.[0];
    if (key && !(key.value in CIRCUIT_FIELDS.components.fields)) r.error(key, `"components" has no ${JSON.stringify(key.value)}: heads, mlps, neurons or features.`);
  }
  const heads = pairs(r, c, 'heads', 'head');
  const mlps = (r.array(c, 'mlps') ?? []).map((m) => r.integer(m, 'an MLP layer')).filter((m): m is Located<number> => !!m);
  const neurons = pairs(r, c, 'neurons', 'neuron');
  const feats = features(r, c);
  const seen = new Set<string>();
  for (const [kind, list] of [['head', heads], ['mlp', mlps], ['neuron', neurons], ['feature', feats]] as const) {
    for (const v of list) {
      const key = `${kind} ${JSON.stringify(v.value)}`;
      if (seen.has(key)) r.error(v.range, `this ${kind} is listed twice.`);
      seen.add(key);
    }
  }
  for (const v of neurons) {
    if (mlps.some((m) => m.value === v.value.layer)) r.error(v.range, `neuron ${v.value.layer}.${v.value.neuron} is in MLP layer ${v.value.layer}, which the circuit lists whole.`);
  }
  // Nothing written at all (a wrong item or type has its own problem).
  const written = (c.children ?? []).some((p) => p.children?.[1]?.type !== 'array' || (p.children[1].children ?? []).length > 0);
  if (!written) r.error(c, '"components" lists no heads, MLP layers, neurons or features.');
  return { heads, mlps, neurons, features: feats, range: rangeOf(c) };
}

function bound(r: FieldReader, claim: Node, key: 'min' | 'max', name: string): number | undefined {
  const b = findNodeAtLocation(claim, [key]);
  if (!b) return undefined;
  if (b.type !== 'number') return void r.error(b, `"claims.${name}.${key}" must be a number.`);
  return b.value as number;
}

function claim(r: FieldReader, claims: Node, kind: ClaimKind, fallback: CircuitAblation): ClaimSpec | undefined {
  const n = findNodeAtLocation(claims, [kind]);
  if (!n) return undefined;
  if (n.type !== 'object') return void r.error(n, `"claims.${kind}" is an object such as {"min": 0.8}.`);
  for (const prop of n.children ?? []) {
    const key = prop.children?.[0];
    if (key && !['min', 'max', 'ablations', 'expect'].includes(key.value)) r.error(key, `"claims.${kind}" has no ${JSON.stringify(key.value)}: min, max, ablations or expect.`);
  }
  const [min, max] = [bound(r, n, 'min', kind), bound(r, n, 'max', kind)];
  if (min === undefined && max === undefined && !findNodeAtLocation(n, ['min']) && !findNodeAtLocation(n, ['max'])) r.error(n, `"claims.${kind}" needs a bound: "min", "max" or both.`);
  const ablations = (r.array(n, 'ablations') ?? []).flatMap((a): CircuitAblation[] => {
    if ((CIRCUIT_ABLATIONS as readonly unknown[]).includes(a.value)) return [a.value as CircuitAblation];
    r.error(a, `an ablation is one of ${CIRCUIT_ABLATIONS.join(', ')}.`);
    return [];
  });
  const expect = r.string(n, 'expect');
  if (expect && !(CLAIM_EXPECTATIONS as readonly string[]).includes(expect.value)) r.error(expect.range, `"expect" must be one of ${CLAIM_EXPECTATIONS.join(', ')}.`);
  return {
    kind, ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}),
    ablations: ablations.length ? [...new Set(ablations)] : [fallback],
    expect: expect?.value === 'fail' ? 'fail' : 'pass',
    range: rangeOf(n),
  };
}

/** Reads a `circuit` analysis; undefined when its dataset or components are missing. */
export function readCircuitTest(r: FieldReader, n: Node, base: CircuitBase): CircuitTestAnalysis | undefined {
  const F = CIRCUIT_FIELDS;
  const dataset = r.string(n, 'dataset', F.dataset.required);
  const comps = components(r, n);
  const ablation = choice(r, n, F, 'ablation');
  const metric = choice(r, n, F, 'metric');
  const reference = r.string(n, 'reference');
  const claimsNode = findNodeAtLocation(n, ['claims']);
  const claims: ClaimSpec[] = [];
  if (claimsNode && claimsNode.type !== 'object') r.error(claimsNode, '"claims" is an object: {"faithfulness": {"min": 0.8}, ...}.');
  else if (claimsNode) {
    for (const prop of claimsNode.children ?? []) {
      const key = prop.children?.[0];
      if (key && !(CLAIM_KINDS as readonly string[]).includes(key.value)) r.error(key, `unknown claim ${JSON.stringify(key.value)}: one of ${CLAIM_KINDS.join(', ')}.`);
    }
    for (const kind of CLAIM_KINDS) {
      const c = claim(r, claimsNode, kind, ablation);
      if (c) claims.push(c);
    }
  }
  if (!dataset || !comps) return undefined;
  return { ...base, kind: 'circuit', dataset, ...(reference ? { reference } : {}), components: comps, ablation, metric, ...(claimsNode ? { claims } : {}) };
}
