/**
 * A spec's dataset as token rows: a JSONL file read from disk (relative to the spec), a template filled
 * from its slots with a seeded draw, or generated repeated random tokens. Every row of a dataset has the
 * same token length (batching and per-position means need it); errors name the file and line, or the
 * slot value, that broke it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail } from '../errors';
import { tokensFromIds } from '../model';
import { repeatedRandomTokens } from '../analysis/head-detectors';
import { singleTokenIssue } from '../single-token';
import type { Token } from '../tokenizer';
import type { Tracer } from '../tracer';
import type { DatasetSpec, FileDataset, GeneratedDataset, TemplateDataset } from '../spec/datasets';
import { seededRandom } from '../math';

export interface DatasetRow {
  /** BOS first for text prompts; token lists as given. */
  tokens: Token[];
  answer?: number;
  counterfactual?: number;
  /** The corrupted prompt (same length), for patch ablation. */
  corrupted?: Token[];
  /** Where the row came from, for messages: "prompts.jsonl:3", "ioi prompt 2". */
  origin: string;
}

export interface Dataset {
  name: string;
  rows: DatasetRow[];
  /** Tokens per row. */
  length: number;
  /** The targets the loss metric averages over, [from, to): the repeated half of repeated random tokens. */
  lossTargets?: [number, number];
  /** One line on what it is ("32 prompts from ioi.jsonl"). */
  description: string;
}

/** The one token of a string, or the id given as a number. */
function tokenId(tracer: Tracer, v: unknown, where: { file?: string; field: string }): number {
  const tok = tracer.ckpt.tokenizer;
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v >= tracer.ckpt.config.dVocab) fail('BAD_INPUT', where, `token id ${v} is outside the vocabulary [0, ${tracer.ckpt.config.dVocab}).`);
    return v;
  }
  if (typeof v !== 'string') fail('BAD_INPUT', where, 'must be a one-token string (" Mary") or a token id.');
  if (!tok) fail('BAD_INPUT', where, 'this model has no tokenizer to read it with.', 'Give a token id instead.');
  const encode = (t: string) => tok.encode(t, { prependBos: false });
  const ids = encode(v);
  if (ids.length === 1) return ids[0].id;
  const issue = singleTokenIssue(encode, v)!;
  fail('BAD_INPUT', where, issue.problem, issue.hint);
}

/** A prompt given as text (BOS prepended) or as a list of token ids (used as given). */
function promptTokens(tracer: Tracer, v: unknown, where: { file?: string; field: string }): Token[] {
  if (typeof v === 'string') return tracer.tokenize(v);
  if (Array.isArray(v) && v.every((x) => Number.isInteger(x))) return tokensFromIds(tracer.ckpt, v as number[], `${where.file}: ${where.field}`);
  fail('BAD_INPUT', where, 'must be a string or a list of token ids.');
}

function sameLength(ds: { rows: DatasetRow[] }, where: (row: DatasetRow) => { file?: string; field: string }): number {
  const n = ds.rows[0].tokens.length;
  for (const row of ds.rows) {
    if (row.tokens.length !== n) fail('BAD_INPUT', where(row), `is ${row.tokens.length} tokens, the first prompt ${n}.`, 'Every prompt of a dataset needs the same token length.');
    if (row.corrupted && row.corrupted.length !== n) fail('BAD_INPUT', { ...where(row), field: `${where(row).field} corrupted` }, `is ${row.corrupted.length} tokens, its prompt ${n}.`, 'A corrupted prompt has the token length of its prompt.');
  }
  return n;
}

const JSONL_FIELDS = ['text', 'tokens', 'answer', 'counterfactual', 'corrupted'];

function fromFile(tracer: Tracer, d: FileDataset, specDir: string): Dataset {
  const file = path.resolve(specDir, d.file.value);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    fail('NOT_FOUND', { file: d.file.value, field: `datasets.${d.name.value}` }, `cannot read ${file}.`, 'The path is relative to the spec file.');
  }
  const rows: DatasetRow[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const at = (field: string) => ({ file: d.file.value, field: `line ${i + 1}${field ? `: ${field}` : ''}` });
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      fail('BAD_INPUT', at(''), `is not JSON (${(e as Error).message}).`, 'One JSON object a line.');
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) fail('BAD_INPUT', at(''), 'is not a JSON object.');
    const unknown = Object.keys(obj).find((k) => !JSONL_FIELDS.includes(k));
    if (unknown) fail('BAD_INPUT', at(unknown), 'is not a field of a dataset line.', `Fields: ${JSONL_FIELDS.join(', ')}.`);
    if (('text' in obj) === ('tokens' in obj)) fail('BAD_INPUT', at('text'), 'give exactly one of "text" and "tokens".');
    const key = 'text' in obj ? 'text' : 'tokens';
    rows.push({
      tokens: promptTokens(tracer, obj[key], at(key)),
      ...(obj.answer !== undefined ? { answer: tokenId(tracer, obj.answer, at('answer')) } : {}),
      ...(obj.counterfactual !== undefined ? { counterfactual: tokenId(tracer, obj.counterfactual, at('counterfactual')) } : {}),
      ...(obj.corrupted !== undefined ? { corrupted: promptTokens(tracer, obj.corrupted, at('corrupted')) } : {}),
      origin: `${d.file.value}:${i + 1}`,
    });
  });
  if (!rows.length) fail('BAD_INPUT', { file: d.file.value }, 'has no prompts.', 'One JSON object a line: {"text": ..., "answer": ...}.');
  const length = sameLength({ rows }, (row) => ({ file: d.file.value, field: `line ${row.origin.slice(d.file.value.length + 1)}` }));
  return { name: d.name.value, rows, length, description: `${rows.length} prompts from ${d.file.value}` };
}

const fill = (text: string, values: ReadonlyMap<string, string>) => text.replace(/\{([^{}]*)\}/g, (_, k: string) => values.get(k) ?? `{${k}}`);

function fromTemplate(tracer: Tracer, d: TemplateDataset): Dataset {
  const field = `datasets.${d.name.value}`;
  const next = seededRandom(d.seed);
  // Each prompt draws every slot in turn, never a value another slot of the same prompt already has.
  const draws = Array.from({ length: d.count }, (_, i) => {
    const chosen = new Map<string, string>();
    for (const slot of d.slots) {
      const free = slot.values.map((v) => v.value).filter((v) => ![...chosen.values()].includes(v));
      if (!free.length) fail('BAD_INPUT', { field: `${field}.slots.${slot.name}` }, `has no value left for prompt ${i} that the other slots have not taken.`, 'Give this slot more values.');
      chosen.set(slot.name, free[Math.floor(next() * free.length)]);
    }
    return chosen;
  });
  const texts = [d.template, d.corrupted].filter((t) => t !== undefined);
  // Every value in every slot must fill each text to the length the first prompt has: name the first that does not.
  const lengths = (values: ReadonlyMap<string, string>) => texts.map((t) => tracer.tokenize(fill(t.value, values)).length);
  const base = lengths(draws[0]);
  for (const slot of d.slots) {
    for (const v of slot.values) {
      const got = lengths(new Map(draws[0]).set(slot.name, v.value));
      const k = got.findIndex((n, j) => n !== base[j]);
      if (k >= 0) {
        fail('BAD_INPUT', { field: `${field}.slots.${slot.name}` }, `${JSON.stringify(v.value)} makes the ${k === 0 ? 'prompt' : 'corrupted prompt'} ${got[k]} tokens where ${JSON.stringify(draws[0].get(slot.name))} makes it ${base[k]}.`,
          'Every value of a slot must fill the template to the same token length: drop it or pick one of the same length.');
      }
    }
  }
  const rows = draws.map((values, i): DatasetRow => {
    const where = (k: string) => ({ field: `${field}.${k} (prompt ${i}: ${[...values].map(([s, v]) => `${s}=${JSON.stringify(v)}`).join(', ')})` });
    return {
      tokens: tracer.tokenize(fill(d.template.value, values)),
      ...(d.answer ? { answer: tokenId(tracer, fill(d.answer.value, values), where('answer')) } : {}),
      ...(d.counterfactual ? { counterfactual: tokenId(tracer, fill(d.counterfactual.value, values), where('counterfactual')) } : {}),
      ...(d.corrupted ? { corrupted: tracer.tokenize(fill(d.corrupted.value, values)) } : {}),
      origin: `${d.name.value} prompt ${i} (${[...values.values()].join(', ')})`,
    };
  });
  const length = sameLength({ rows }, (row) => ({ field: `${field}: ${row.origin}` }));
  return { name: d.name.value, rows, length, description: `${d.count} prompts from a template (seed ${d.seed})` };
}

function generated(tracer: Tracer, d: GeneratedDataset): Dataset {
  const { ckpt } = tracer;
  const field = `datasets.${d.name.value}`;
  const bos = ckpt.tokenizer?.bosTokenId;
  if (bos === null || bos === undefined) fail('BAD_INPUT', { field }, 'this model has no BOS token to start random sequences with.');
  if (2 * d.length + 1 > ckpt.config.nCtx) fail('BAD_INPUT', { field: `${field}.length` }, `2 x ${d.length} + 1 tokens exceed the context of ${ckpt.config.nCtx}.`);
  const rows = repeatedRandomTokens(d.count, d.length, ckpt.config.dVocab, bos, d.seed)
    .map((ids, i): DatasetRow => ({ tokens: tokensFromIds(ckpt, ids, field), origin: `${d.name.value} sequence ${i}` }));
  return {
    name: d.name.value, rows, length: 2 * d.length + 1,
    // Targets d.length + 1 ... 2 d.length: the repeated half, predicted from the token before each.
    lossTargets: [d.length + 1, 2 * d.length + 1],
    description: `${d.count} sequences of BOS and ${d.length} random tokens repeated once (seed ${d.seed})`,
  };
}

/** Loads a dataset of the spec at `specPath` for the tracer's model. */
export function loadDataset(tracer: Tracer, d: DatasetSpec, specPath: string): Dataset {
  switch (d.source) {
    case 'file':
      return fromFile(tracer, d, path.dirname(specPath));
    case 'template':
      return fromTemplate(tracer, d);
    case 'generate':
      return generated(tracer, d);
  }
}
