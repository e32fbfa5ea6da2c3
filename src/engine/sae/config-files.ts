/**
 * Reading a dictionary's small config files (cfg.json, config.json, hyperparams.json, config.yaml) with
 * their size bounded before parsing and their nesting bounded after, so a hostile file fails with a clear
 * error instead of exhausting memory or the stack.
 */
import * as fs from 'node:fs';
import { JSON_SCHEMA, load as loadYaml } from 'js-yaml';
import { fail } from '../errors';

/** Real configs are a few KB; SAELens' largest (with metadata) is under 10 KB. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Real configs nest 3 deep at most (SAELens' metadata.model_from_pretrained_kwargs). */
const MAX_CONFIG_DEPTH = 16;
/** Bounds the walk over a parsed document (YAML aliases can make a small file describe a huge tree). */
const MAX_CONFIG_NODES = 100_000;

export type ConfigObject = Record<string, unknown>;

function readBounded(file: string): string {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (e) {
    fail('NOT_FOUND', { file }, `cannot read the config (${(e as NodeJS.ErrnoException).code ?? e}).`);
  }
  if (size > MAX_CONFIG_BYTES) fail('BAD_CONFIG', { file }, `config is ${size} bytes, more than the ${MAX_CONFIG_BYTES} a dictionary config can be.`, 'This is not a dictionary config.');
  const bytes = fs.readFileSync(file);
  if (bytes.length > MAX_CONFIG_BYTES) fail('BAD_CONFIG', { file }, 'config grew while being read.');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    fail('BAD_CONFIG', { file }, 'config is not valid UTF-8.');
  }
}

/** Fails on a document nested deeper than MAX_CONFIG_DEPTH or with more than MAX_CONFIG_NODES values. */
function checkShape(file: string, doc: unknown): void {
  let nodes = 0;
  const stack: [unknown, number][] = [[doc, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (++nodes > MAX_CONFIG_NODES) fail('BAD_CONFIG', { file }, `config has more than ${MAX_CONFIG_NODES} values.`, 'This is not a dictionary config.');
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= MAX_CONFIG_DEPTH) fail('BAD_CONFIG', { file }, `config is nested deeper than ${MAX_CONFIG_DEPTH} levels.`, 'This is not a dictionary config.');
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
}

function asObject(file: string, doc: unknown): ConfigObject {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('BAD_CONFIG', { file }, 'config is not an object.');
  return doc as ConfigObject;
}

/** A JSON config as an object (JSON.parse's own recursion is bounded by the size limit). */
export function readJsonConfig(file: string): ConfigObject {
  const text = readBounded(file);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail('BAD_CONFIG', { file }, `not valid JSON (${(e as Error).message}).`);
  }
  checkShape(file, doc);
  return asObject(file, doc);
}

/** A YAML config with the JSON schema (no custom tags, no code), depth-limited while parsing. */
export function readYamlConfig(file: string): ConfigObject {
  const text = readBounded(file);
  let doc: unknown;
  try {
    doc = loadYaml(text, { schema: JSON_SCHEMA, maxDepth: MAX_CONFIG_DEPTH, filename: file });
  } catch (e) {
    fail('BAD_CONFIG', { file }, `not valid YAML (${(e as Error).message.split('\n')[0]}).`);
  }
  checkShape(file, doc);
  return asObject(file, doc);
}

/** Typed field readers: each failure names the file and the field. */
export function optString(file: string, cfg: ConfigObject, key: string): string | undefined {
  const v = cfg[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail('BAD_CONFIG', { file, field: key }, `expected a string, got ${JSON.stringify(v)}.`);
  return v;
}

export function optNumber(file: string, cfg: ConfigObject, key: string): number | undefined {
  const v = cfg[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail('BAD_CONFIG', { file, field: key }, `expected a finite number, got ${JSON.stringify(v)}.`);
  return v;
}

export function optPositiveInt(file: string, cfg: ConfigObject, key: string): number | undefined {
  const v = optNumber(file, cfg, key);
  if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) fail('BAD_CONFIG', { file, field: key }, `expected a positive integer, got ${v}.`);
  return v;
}

export function optBool(file: string, cfg: ConfigObject, key: string): boolean | undefined {
  const v = cfg[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') fail('BAD_CONFIG', { file, field: key }, `expected true or false, got ${JSON.stringify(v)}.`);
  return v;
}

export function optObject(file: string, cfg: ConfigObject, key: string): ConfigObject | undefined {
  const v = cfg[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) fail('BAD_CONFIG', { file, field: key }, `expected an object, got ${JSON.stringify(v).slice(0, 80)}.`);
  return v as ConfigObject;
}
