/**
 * Golden files: JSON outputs checked into test/golden/ and compared structurally, with a tolerance for
 * numbers where asked. `CIRCUIT_LENS_UPDATE_GOLDEN=1` rewrites them instead of comparing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const UPDATE_ENV = 'CIRCUIT_LENS_UPDATE_GOLDEN';
export const updating = (): boolean => !!process.env[UPDATE_ENV] && process.env[UPDATE_ENV] !== '0';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface CompareOptions {
  /** Numbers match when |actual - golden| <= abs + rel * |golden|; both 0 means exactly. */
  abs: number;
  rel: number;
  /** Also report objects whose keys come in another order (for outputs whose key order means something). */
  keyOrder?: boolean;
  /** Differences listed before "... and N more". */
  maxLines?: number;
}

/** Numbers rounded to `digits` significant digits, recursively, so golden files stay readable. */
export function roundNumbers(v: Json, digits = 6): Json {
  if (typeof v === 'number') return Number.isFinite(v) ? Number(v.toPrecision(digits)) : v;
  if (Array.isArray(v)) return v.map((x) => roundNumbers(x, digits));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, roundNumbers(x, digits)]));
  return v;
}

/** Drops every key (at any depth) that `drop` selects. */
export function dropKeys(v: Json, drop: (key: string) => boolean): Json {
  if (Array.isArray(v)) return v.map((x) => dropKeys(x, drop));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => !drop(k)).map(([k, x]) => [k, dropKeys(x, drop)]));
  return v;
}

const show = (v: Json | undefined): string => {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};
const kind = (v: Json): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const key = (p: string, k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? `${p ? `${p}.` : ''}${k}` : `${p}[${JSON.stringify(k)}]`);

/** Every difference between `actual` and `golden`, one line each: `analyses[1].values[37]: 0.4312 vs golden 0.439`. */
export function differences(actual: Json, golden: Json, opts: CompareOptions, at = ''): string[] {
  const where = at || '(root)';
  if (typeof actual === 'number' && typeof golden === 'number') {
    const ok = actual === golden || Math.abs(actual - golden) <= opts.abs + opts.rel * Math.abs(golden);
    return ok ? [] : [`${where}: ${actual} vs golden ${golden}`];
  }
  if (kind(actual) !== kind(golden)) return [`${where}: ${show(actual)} vs golden ${show(golden)}`];
  if (Array.isArray(actual) && Array.isArray(golden)) {
    const out: string[] = [];
    if (actual.length !== golden.length) out.push(`${where}: ${actual.length} items vs golden ${golden.length}`);
    for (let i = 0; i < Math.min(actual.length, golden.length); i++) out.push(...differences(actual[i], golden[i], opts, `${at}[${i}]`));
    return out;
  }
  if (actual && golden && typeof actual === 'object' && typeof golden === 'object') {
    const a = actual as Record<string, Json>;
    const g = golden as Record<string, Json>;
    const out: string[] = [];
    for (const k of Object.keys(g)) {
      if (!(k in a)) out.push(`${key(at, k)}: missing (golden ${show(g[k])})`);
      else out.push(...differences(a[k], g[k], opts, key(at, k)));
    }
    for (const k of Object.keys(a)) if (!(k in g)) out.push(`${key(at, k)}: ${show(a[k])} not in golden`);
    if (opts.keyOrder && !out.length) {
      const [ka, kg] = [Object.keys(a), Object.keys(g)];
      const i = ka.findIndex((k, j) => k !== kg[j]);
      if (i >= 0) out.push(`${where}: key ${i} is ${JSON.stringify(ka[i])} vs golden ${JSON.stringify(kg[i])} (same keys, another order)`);
    }
    return out;
  }
  if (typeof actual === 'string' && typeof golden === 'string' && actual !== golden && (JSON.stringify(actual).length > 60 || JSON.stringify(golden).length > 60)) {
    // Long texts: from a little before the first different character.
    let i = 0;
    while (i < actual.length && actual[i] === golden[i]) i++;
    const from = Math.max(0, i - 10);
    const cut = (t: string) => `${from ? '...' : ''}${JSON.stringify(t.slice(from, from + 40))}${t.length > from + 40 ? '...' : ''}`;
    return [`${where} (from character ${from}): ${cut(actual)} vs golden ${cut(golden)}`];
  }
  return actual === golden ? [] : [`${where}: ${show(actual)} vs golden ${show(golden)}`];
}

/** `actual`, with every number that matches its counterpart in `golden` (same place) replaced by the golden one. */
export function keepWithinTolerance(actual: Json, golden: Json, opts: CompareOptions): Json {
  if (typeof actual === 'number' && typeof golden === 'number') return differences(actual, golden, opts).length ? actual : golden;
  if (Array.isArray(actual)) return Array.isArray(golden) ? actual.map((x, i) => (i < golden.length ? keepWithinTolerance(x, golden[i], opts) : x)) : actual;
  if (actual && typeof actual === 'object') {
    if (!golden || typeof golden !== 'object' || Array.isArray(golden)) return actual;
    return Object.fromEntries(Object.entries(actual).map(([k, x]) => [k, k in golden ? keepWithinTolerance(x, golden[k], opts) : x]));
  }
  return actual;
}

/**
 * JSON with two-space indentation where short arrays of numbers and strings (shapes, axis labels of a
 * few items) stay on one line and longer ones get one item a line, so a changed value is a one-line diff.
 */
export function formatGolden(v: Json): string {
  const fmt = (x: Json, indent: string): string => {
    if (x === null || typeof x !== 'object') return JSON.stringify(x);
    const inner = `${indent}  `;
    if (Array.isArray(x)) {
      if (x.length === 0) return '[]';
      if (x.every((e) => e === null || typeof e !== 'object')) {
        const flat = `[${x.map((e) => JSON.stringify(e)).join(', ')}]`;
        if (flat.length + indent.length <= 100 && x.length <= 12) return flat;
      }
      return `[\n${x.map((e) => inner + fmt(e, inner)).join(',\n')}\n${indent}]`;
    }
    const entries = Object.entries(x);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, e]) => `${inner}${JSON.stringify(k)}: ${fmt(e, inner)}`).join(',\n')}\n${indent}}`;
  };
  return `${fmt(v, '')}\n`;
}

export interface GoldenResult {
  /** Under CIRCUIT_LENS_UPDATE_GOLDEN: the file (relative to the root) and whether it was (re)written. */
  updated?: { file: string; wrote: boolean };
}

/**
 * Compares `actual` with the golden file (or rewrites it under CIRCUIT_LENS_UPDATE_GOLDEN=1). Throws an
 * Error listing the first differences, or naming the missing file, with the hint to rewrite.
 */
export function checkGolden(file: string, actual: Json, opts: CompareOptions, root: string): GoldenResult {
  const rel = path.relative(root, file).split(path.sep).join('/');
  if (updating()) {
    const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
    let previous: Json | undefined;
    try {
      previous = old === undefined ? undefined : JSON.parse(old);
    } catch {
      previous = undefined;
    }
    // Numbers still within the tolerance keep their old digits, so a rewrite on another CPU only shows real changes.
    const text = formatGolden(previous === undefined ? actual : keepWithinTolerance(actual, previous, opts));
    if (old === text) return { updated: { file: rel, wrote: false } };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return { updated: { file: rel, wrote: true } };
  }
  const hint = `If the change is intended, write the golden files with\n  ${UPDATE_ENV}=1 node --import tsx --test test/engine/golden.test.ts\nand review the diff (git diff test/golden).`;
  if (!fs.existsSync(file)) throw new Error(`golden file ${rel} is missing.\n${hint}`);
  let golden: Json;
  try {
    golden = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`golden file ${rel} is not valid JSON: ${(e as Error).message}\n${hint}`);
  }
  const diffs = differences(actual, golden, opts);
  if (diffs.length) {
    const max = opts.maxLines ?? 20;
    const lines = diffs.slice(0, max).map((d) => `  ${d}`);
    if (diffs.length > max) lines.push(`  ... and ${diffs.length - max} more`);
    throw new Error(`output differs from ${rel} (${diffs.length} difference${diffs.length > 1 ? 's' : ''}):\n${lines.join('\n')}\n${hint}`);
  }
  return {};
}
