/**
 * The `datasets` map of an experiment spec: each name is a JSONL file, a template with slots, or
 * generated repeated random tokens. Read here as declarations with source ranges (nothing is opened or
 * tokenized: the worker does that when an analysis runs, src/engine/datasets/).
 */
import { Node, findNodeAtLocation } from 'jsonc-parser/lib/esm/main.js';
import type { FieldReader } from './circuit-kinds';
import { number } from './circuit-kinds';
import type { Located, SourceRange } from './types';
import { DATASET_GENERATE_FIELDS, DATASET_GENERATORS, DATASET_TEMPLATE_FIELDS } from './vocabulary';

interface DatasetBase {
  name: Located<string>;
  /** The whole declaration. */
  range: SourceRange;
}

export interface FileDataset extends DatasetBase {
  source: 'file';
  /** Relative to the spec's folder. */
  file: Located<string>;
}

export interface TemplateSlot {
  name: string;
  values: Located<string>[];
  range: SourceRange;
}

export interface TemplateDataset extends DatasetBase {
  source: 'template';
  template: Located<string>;
  slots: TemplateSlot[];
  answer?: Located<string>;
  counterfactual?: Located<string>;
  corrupted?: Located<string>;
  count: number;
  seed: number;
}

export interface GeneratedDataset extends DatasetBase {
  source: 'generate';
  generate: (typeof DATASET_GENERATORS)[number];
  count: number;
  length: number;
  seed: number;
}

export type DatasetSpec = FileDataset | TemplateDataset | GeneratedDataset;

const rangeOf = (n: Node): SourceRange => ({ offset: n.offset, length: n.length });

/** `{A}` placeholders of a template text. */
export function placeholders(text: string): string[] {
  return [...text.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]);
}

function unknownKeys(r: FieldReader, n: Node, allowed: readonly string[], what: string): void {
  for (const prop of n.children ?? []) {
    const key = prop.children?.[0];
    if (key && !allowed.includes(key.value)) r.error(key, `${what} has no ${JSON.stringify(key.value)}; its fields: ${allowed.join(', ')}.`);
  }
}

function template(r: FieldReader, n: Node, base: DatasetBase, where: string): TemplateDataset | undefined {
  const F = DATASET_TEMPLATE_FIELDS;
  unknownKeys(r, n, Object.keys(F), where);
  const text = r.string(n, 'template', true);
  const slotsNode = findNodeAtLocation(n, ['slots']);
  const slots: TemplateSlot[] = [];
  if (!slotsNode) r.error(n, `${where}: "slots" is required: {"A": ["Mary", "John"], ...}.`);
  else if (slotsNode.type !== 'object') r.error(slotsNode, `${where}: "slots" is an object of value lists.`);
  else {
    for (const prop of slotsNode.children ?? []) {
      const [key, list] = prop.children ?? [];
      if (!key || !list) continue;
      if (list.type !== 'array' || !(list.children ?? []).length || list.children!.some((v) => v.type !== 'string')) {
        r.error(list, `${where}: slot ${JSON.stringify(key.value)} is a non-empty list of strings.`);
        continue;
      }
      slots.push({ name: key.value as string, values: list.children!.map((v) => ({ value: v.value as string, range: rangeOf(v) })), range: rangeOf(list) });
    }
  }
  const [answer, counterfactual, corrupted] = (['answer', 'counterfactual', 'corrupted'] as const).map((k) => r.string(n, k));
  for (const t of [text, answer, counterfactual, corrupted]) {
    for (const p of t ? placeholders(t.value) : []) {
      const names = (slotsNode?.children ?? []).map((prop) => prop.children?.[0]?.value as string);
      if (slotsNode?.type === 'object' && !names.includes(p)) r.error(t!.range, `${where}: {${p}} is not a slot; slots: ${names.join(', ') || 'none'}.`);
    }
  }
  if (!text) return undefined;
  return {
    ...base, source: 'template', template: text, slots,
    ...(answer ? { answer } : {}), ...(counterfactual ? { counterfactual } : {}), ...(corrupted ? { corrupted } : {}),
    count: number(r, n, F, 'count'), seed: number(r, n, F, 'seed'),
  };
}

function dataset(r: FieldReader, key: Node, n: Node): DatasetSpec | undefined {
  const name = { value: key.value as string, range: rangeOf(key) };
  const where = `dataset ${JSON.stringify(name.value)}`;
  if (n.type !== 'object') return void r.error(n, `${where} is an object: {"file": "prompts.jsonl"}, {"template", "slots", ...} or {"generate": "repeatedRandomTokens", ...}.`);
  const base = { name, range: rangeOf(n) };
  if (findNodeAtLocation(n, ['file'])) {
    unknownKeys(r, n, ['file'], where);
    const file = r.string(n, 'file', true);
    return file && { ...base, source: 'file', file };
  }
  if (findNodeAtLocation(n, ['template'])) return template(r, n, base, where);
  const generate = findNodeAtLocation(n, ['generate']);
  if (!generate) return void r.error(n, `${where} needs "file", "template" or "generate".`);
  const F = DATASET_GENERATE_FIELDS;
  unknownKeys(r, n, Object.keys(F), where);
  if (!(DATASET_GENERATORS as readonly unknown[]).includes(generate.value)) return void r.error(generate, `"generate" must be one of ${DATASET_GENERATORS.join(', ')}.`);
  return { ...base, source: 'generate', generate: generate.value, count: number(r, n, F, 'count'), length: number(r, n, F, 'length'), seed: number(r, n, F, 'seed') };
}

/** The spec's `datasets`, in the order written. */
export function readDatasets(r: FieldReader, root: Node): DatasetSpec[] {
  const n = findNodeAtLocation(root, ['datasets']);
  if (!n) return [];
  if (n.type !== 'object') {
    r.error(n, '"datasets" is an object: {"NAME": {...}, ...}.');
    return [];
  }
  return (n.children ?? []).flatMap((prop) => {
    const [key, value] = prop.children ?? [];
    const d = key && value ? dataset(r, key, value) : undefined;
    return d ? [d] : [];
  });
}
