/**
 * Feature labels from two kinds of file:
 * - a workspace file `feature-labels.json`: {"<feature id>": "label", ...};
 * - a Neuronpedia explanations export (`.jsonl`, or `.jsonl.gz` as Neuronpedia's bulk exports are): one
 *   JSON object a line, of which we read `index` (the feature id, a string or a number), `description`
 *   (the label) and `layer` (Neuronpedia's source id, e.g. "6-res-jb"); `modelId` and the rest are
 *   ignored. An export holding several sources must be named with the one to keep: `FILE#SOURCE`.
 * The first label of a feature in a file is kept; a later file overrides an earlier one.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { fail } from '../errors';
import type { FeatureLabel } from '../../protocol/features';

/** Largest label file read (a whole Neuronpedia export of a 24k-feature SAE is a few MB). */
const MAX_LABEL_BYTES = 256 * 2 ** 20;

const isId = (s: string) => /^\d+$/.test(s);

function readText(file: string): string {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    fail('NOT_FOUND', { file }, 'no such label file.', 'Fix the path in circuitLens.featureLabels (or --labels).');
  }
  if (size > MAX_LABEL_BYTES) fail('OVER_LIMIT', { file }, `is ${size} bytes, over the ${MAX_LABEL_BYTES}-byte limit for a label file.`);
  const raw = fs.readFileSync(file);
  if (!file.endsWith('.gz')) return raw.toString('utf8');
  try {
    return zlib.gunzipSync(raw, { maxOutputLength: MAX_LABEL_BYTES }).toString('utf8');
  } catch (e) {
    fail('BAD_INPUT', { file }, `could not be decompressed (${(e as Error).message}).`);
  }
}

function readJsonLabels(file: string, into: Map<number, FeatureLabel>): void {
  let obj: unknown;
  try {
    obj = JSON.parse(readText(file));
  } catch (e) {
    fail('BAD_INPUT', { file }, `is not valid JSON (${(e as Error).message}).`, 'A label file is {"<feature id>": "label", ...}.');
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) fail('BAD_INPUT', { file }, 'must be a JSON object.', 'A label file is {"<feature id>": "label", ...}.');
  for (const [k, v] of Object.entries(obj)) {
    if (!isId(k)) fail('BAD_INPUT', { file, field: k }, 'is not a feature id (a non-negative integer).', 'Keys are feature ids: {"123": "label"}.');
    if (typeof v !== 'string') fail('BAD_INPUT', { file, field: k }, `has a ${typeof v} label; labels are strings.`);
    into.set(Number(k), { text: v, source: file });
  }
}

function readNeuronpedia(file: string, source: string | undefined, into: Map<number, FeatureLabel>): void {
  const found = new Map<number, string>();
  const sources = new Set<string>();
  readText(file).split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      fail('BAD_INPUT', { file, field: `line ${i + 1}` }, `is not valid JSON (${(e as Error).message}).`);
    }
    const index = typeof row.index === 'number' ? String(row.index) : row.index;
    if (typeof index !== 'string' || !isId(index)) fail('BAD_INPUT', { file, field: `line ${i + 1} index` }, `is ${JSON.stringify(row.index)}, not a feature id.`, 'Neuronpedia explanation lines have modelId, layer, index and description.');
    if (typeof row.description !== 'string') fail('BAD_INPUT', { file, field: `line ${i + 1} description` }, 'is missing or not a string.');
    const layer = typeof row.layer === 'string' ? row.layer : '';
    if (source !== undefined && layer !== source) return;
    sources.add(layer);
    if (!found.has(Number(index))) found.set(Number(index), row.description);
  });
  if (source === undefined && sources.size > 1) {
    fail('BAD_INPUT', { file, field: 'layer' }, `holds explanations of ${sources.size} sources (${[...sources].slice(0, 5).join(', ')}).`, `Name the one of this dictionary: ${file}#${[...sources][0]}`);
  }
  for (const [f, text] of found) into.set(f, { text, source: file });
}

/** Labels by feature id from label files (`FILE` or `FILE#SOURCE` for a Neuronpedia export), in order. */
export function readLabels(files: readonly string[]): Map<number, FeatureLabel> {
  const out = new Map<number, FeatureLabel>();
  for (const spec of files) {
    const hash = spec.lastIndexOf('#');
    const [file, source] = hash > 0 ? [spec.slice(0, hash), spec.slice(hash + 1)] : [spec, undefined];
    if (/\.jsonl(\.gz)?$/.test(file)) readNeuronpedia(file, source, out);
    else readJsonLabels(file, out);
  }
  return out;
}
