/**
 * A feature index on disk (written by `circuit-lens features index`, read by the feature card).
 *
 * Format (version 1), in one folder:
 * - `index.json`: {format: "circuit-lens-feature-index", version, model, sae: {dir, hook, dSae}, corpus,
 *   context, top, samples, windows, tokens, histogram: {log10From, log10To, bins}}. Written last: a folder
 *   without it is not a finished index.
 * - `density.npy` f4 [d_sae]: fraction of the corpus's tokens (BOS left out) where the feature is above 0.
 * - `max.npy` f4 [d_sae]: the feature's largest activation.
 * - `histogram.npy` f4 [d_sae, bins]: counts of log10(activation) over active tokens.
 * - `top-acts.npy` f4 [d_sae, top, context] and `top-meta.npy` i4 [d_sae, top, 2] (window, position of the
 *   largest activation; window -1: an empty slot): the top windows by the feature's largest activation.
 * - `sample-acts.npy` / `sample-meta.npy`: the same for a uniform sample of the windows where it is active.
 * - `windows.npy` i4 [windows, context]: every window's token ids.
 * While it runs, `checkpoint.json` ({fingerprint, windows, generation}) names `state-<generation>/`, the
 * accumulator's arrays as raw little-endian bytes; a rerun with the same options continues from it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail } from '../errors';
import { encodeNpy, encodeNpyInt32 } from '../../protocol/npy';
import type { FeatureExample, FeatureIndexEntry } from '../../protocol/features';
import { HISTOGRAM, IndexShape, IndexState, Slots, emptyState } from './index-builder';

export const INDEX_FORMAT = 'circuit-lens-feature-index';
const VERSION = 1;

/** What an index was made from: a checkpoint is resumed only with the same. */
export interface IndexFingerprint {
  model: string;
  saeDir: string;
  hook: string;
  corpus: string;
  corpusBytes: number;
  dSae: number;
  context: number;
  top: number;
  samples: number;
}

export interface IndexMeta {
  format: typeof INDEX_FORMAT;
  version: number;
  model: string;
  sae: { dir: string; hook: string; dSae: number };
  corpus: string;
  context: number;
  top: number;
  samples: number;
  windows: number;
  tokens: number;
  histogram: { log10From: number; log10To: number; bins: number };
}

/** Writes a whole file so readers never see half of it (the CLI's writeFileAtomic). */
export type AtomicWrite = (file: string, data: string | Uint8Array) => void;

const shapeOf = (f: IndexFingerprint): IndexShape => ({ dSae: f.dSae, context: f.context, top: f.top, samples: f.samples });

function bytes(a: Float32Array | Float64Array | Int32Array | Uint32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The accumulator's arrays by file name. */
function stateArrays(s: IndexState): Record<string, Float32Array | Float64Array | Int32Array | Uint32Array> {
  const slotArrays = (prefix: string, x: Slots) => ({ [`${prefix}-act`]: x.act, [`${prefix}-window`]: x.window, [`${prefix}-pos`]: x.pos, [`${prefix}-acts`]: x.acts, ...(x.key ? { [`${prefix}-key`]: x.key } : {}) });
  return { fired: s.fired, max: s.maxAct, histogram: s.histogram, ...slotArrays('top', s.top), ...slotArrays('sample', s.samples) };
}

function joinedWindows(s: IndexState): Int32Array {
  const out = new Int32Array(s.windows * s.shape.context);
  s.windowIds.forEach((w, i) => out.set(w, i * s.shape.context));
  return out;
}

const CHECKPOINT = 'checkpoint.json';

/** Saves the accumulator: a new state folder, then checkpoint.json naming it (atomically), then the old folder goes. */
export function saveCheckpoint(out: string, fp: IndexFingerprint, s: IndexState, write: AtomicWrite): void {
  const prev = readCheckpointFile(out);
  const generation = (prev?.generation ?? 0) + 1;
  const dir = path.join(out, `state-${generation}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, a] of Object.entries(stateArrays(s))) fs.writeFileSync(path.join(dir, `${name}.bin`), bytes(a));
  fs.writeFileSync(path.join(dir, 'windows.bin'), bytes(joinedWindows(s)));
  write(path.join(out, CHECKPOINT), JSON.stringify({ fingerprint: fp, windows: s.windows, tokens: s.tokens, generation }) + '\n');
  if (prev) fs.rmSync(path.join(out, `state-${prev.generation}`), { recursive: true, force: true });
}

interface CheckpointFile {
  fingerprint: IndexFingerprint;
  windows: number;
  tokens: number;
  generation: number;
}

function readCheckpointFile(out: string): CheckpointFile | undefined {
  const file = path.join(out, CHECKPOINT);
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as CheckpointFile;
  } catch (e) {
    fail('BAD_INPUT', { file }, `is not a readable checkpoint (${(e as Error).message}).`, 'Delete it to start the index again.');
  }
}

/** The saved accumulator when out/ has a checkpoint made with the same fingerprint; undefined when none. */
export function loadCheckpoint(out: string, fp: IndexFingerprint): IndexState | undefined {
  const cp = readCheckpointFile(out);
  if (!cp) return undefined;
  const file = path.join(out, CHECKPOINT);
  for (const k of Object.keys(fp) as (keyof IndexFingerprint)[]) {
    if (cp.fingerprint?.[k] !== fp[k]) {
      fail('BAD_INPUT', { file, field: k }, `the checkpoint was made with ${k} ${JSON.stringify(cp.fingerprint?.[k])}, this run has ${JSON.stringify(fp[k])}.`, `Run with the same options to continue it, or give another --out (or delete ${file}) to start again.`);
    }
  }
  const s = emptyState(shapeOf(fp));
  const dir = path.join(out, `state-${cp.generation}`);
  for (const [name, a] of Object.entries(stateArrays(s))) {
    const f = path.join(dir, `${name}.bin`);
    const b = fs.readFileSync(f);
    if (b.byteLength !== a.byteLength) fail('BAD_INPUT', { file: f }, `has ${b.byteLength} bytes, expected ${a.byteLength}.`, `Delete ${file} to start the index again.`);
    bytes(a).set(b);
  }
  const w = fs.readFileSync(path.join(dir, 'windows.bin'));
  const ids = new Int32Array(w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength));
  for (let i = 0; i < cp.windows; i++) s.windowIds.push(ids.slice(i * fp.context, (i + 1) * fp.context));
  s.windows = cp.windows;
  s.tokens = cp.tokens;
  return s;
}

/** Writes the finished index (each file atomically, index.json last) and removes the checkpoint. */
export function writeIndex(out: string, fp: IndexFingerprint, s: IndexState, write: AtomicWrite): IndexMeta {
  const { dSae, context } = s.shape;
  const density = Float32Array.from(s.fired, (n) => (s.tokens ? n / s.tokens : 0));
  const meta2 = (x: Slots) => {
    const m = new Int32Array(dSae * x.n * 2); // [d_sae, n, 2]: window, pos
    for (let i = 0; i < dSae * x.n; i++) {
      m[2 * i] = x.window[i];
      m[2 * i + 1] = x.pos[i];
    }
    return m;
  };
  write(path.join(out, 'density.npy'), encodeNpy({ dims: [dSae], data: density }));
  write(path.join(out, 'max.npy'), encodeNpy({ dims: [dSae], data: s.maxAct }));
  const histogram = new Float32Array(dSae * HISTOGRAM.bins); // [d_sae, bins] from the accumulator's [bins, d_sae]
  for (let b = 0; b < HISTOGRAM.bins; b++) for (let f = 0; f < dSae; f++) histogram[f * HISTOGRAM.bins + b] = s.histogram[b * dSae + f];
  write(path.join(out, 'histogram.npy'), encodeNpy({ dims: [dSae, HISTOGRAM.bins], data: histogram }));
  write(path.join(out, 'top-acts.npy'), encodeNpy({ dims: [dSae, s.top.n, context], data: s.top.acts }));
  write(path.join(out, 'top-meta.npy'), encodeNpyInt32([dSae, s.top.n, 2], meta2(s.top)));
  write(path.join(out, 'sample-acts.npy'), encodeNpy({ dims: [dSae, s.samples.n, context], data: s.samples.acts }));
  write(path.join(out, 'sample-meta.npy'), encodeNpyInt32([dSae, s.samples.n, 2], meta2(s.samples)));
  write(path.join(out, 'windows.npy'), encodeNpyInt32([s.windows, context], joinedWindows(s)));
  const meta: IndexMeta = {
    format: INDEX_FORMAT, version: VERSION, model: fp.model, sae: { dir: fp.saeDir, hook: fp.hook, dSae }, corpus: fp.corpus,
    context, top: s.top.n, samples: s.samples.n, windows: s.windows, tokens: s.tokens, histogram: { ...HISTOGRAM },
  };
  write(path.join(out, 'index.json'), JSON.stringify(meta, null, 1) + '\n');
  const cp = readCheckpointFile(out);
  fs.rmSync(path.join(out, CHECKPOINT), { force: true });
  if (cp) fs.rmSync(path.join(out, `state-${cp.generation}`), { recursive: true, force: true });
  return meta;
}

export function readIndexMeta(dir: string): IndexMeta {
  const file = path.join(dir, 'index.json');
  if (!fs.existsSync(file)) {
    const partial = fs.existsSync(path.join(dir, CHECKPOINT));
    fail('NOT_FOUND', { file }, partial ? 'the index is not finished (a checkpoint is there).' : 'no feature index here.', partial ? 'Run circuit-lens features index again with the same options to finish it.' : 'Build one with circuit-lens features index --model M --sae DIR --corpus FILE --out DIR.');
  }
  let meta: IndexMeta;
  try {
    meta = JSON.parse(fs.readFileSync(file, 'utf8')) as IndexMeta;
  } catch (e) {
    fail('BAD_INPUT', { file }, `is not valid JSON (${(e as Error).message}).`);
  }
  if (meta.format !== INDEX_FORMAT) fail('BAD_INPUT', { file, field: 'format' }, `is ${JSON.stringify(meta.format)}, not ${INDEX_FORMAT}.`);
  if (meta.version !== VERSION) fail('BAD_INPUT', { file, field: 'version' }, `is ${meta.version}; this version reads ${VERSION}.`, 'Build the index again.');
  return meta;
}

/** A .npy file's element type, shape and where its data starts. */
function npyHeader(fd: number, file: string): { descr: string; dims: number[]; start: number } {
  const head = Buffer.alloc(12);
  fs.readSync(fd, head, 0, 12, 0);
  if (head.toString('latin1', 1, 6) !== 'NUMPY') fail('BAD_INPUT', { file }, 'is not a .npy file.');
  const long = head[6] !== 1;
  const len = long ? head.readUInt32LE(8) : head.readUInt16LE(8);
  const start = (long ? 12 : 10) + len;
  const text = Buffer.alloc(len);
  fs.readSync(fd, text, 0, len, long ? 12 : 10);
  const h = text.toString('latin1');
  const descr = /'descr': '([^']+)'/.exec(h)?.[1] ?? '';
  const dims = (/'shape': \(([^)]*)\)/.exec(h)?.[1] ?? '').split(',').map((x) => x.trim()).filter(Boolean).map(Number);
  return { descr, dims, start };
}

/** Row `row` of a .npy file's first dimension, read alone (the file may be hundreds of MB). */
function npyRow(dir: string, name: string, row: number): { data: Float32Array | Int32Array; dims: number[] } {
  const file = path.join(dir, name);
  const fd = fs.openSync(file, 'r');
  try {
    const h = npyHeader(fd, file);
    const per = h.dims.slice(1).reduce((a, b) => a * b, 1);
    if (!(row >= 0 && row < h.dims[0])) fail('BAD_INPUT', { file }, `row ${row} is outside [0, ${h.dims[0]}).`);
    const buf = Buffer.alloc(per * 4);
    fs.readSync(fd, buf, 0, buf.length, h.start + row * per * 4);
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    if (h.descr === '<f4') return { data: new Float32Array(ab), dims: h.dims.slice(1) };
    if (h.descr === '<i4') return { data: new Int32Array(ab), dims: h.dims.slice(1) };
    fail('BAD_INPUT', { file, field: 'descr' }, `element type ${h.descr} is not float32 or int32.`);
  } finally {
    fs.closeSync(fd);
  }
}

/** One feature's entry of an index: figures and examples, tokens named by `decode`. */
export function readFeatureEntry(dir: string, feature: number, decode: (id: number) => string): FeatureIndexEntry {
  const meta = readIndexMeta(dir);
  if (!(Number.isInteger(feature) && feature >= 0 && feature < meta.sae.dSae)) fail('BAD_INPUT', { file: path.join(dir, 'index.json'), field: 'feature' }, `feature ${feature} is outside [0, ${meta.sae.dSae}).`);
  const examples = (prefix: 'top' | 'sample'): FeatureExample[] => {
    const acts = npyRow(dir, `${prefix}-acts.npy`, feature).data as Float32Array; // [n, context]
    const m = npyRow(dir, `${prefix}-meta.npy`, feature).data as Int32Array; // [n, 2]
    const out: FeatureExample[] = [];
    for (let j = 0; j < m.length / 2; j++) {
      const window = m[2 * j];
      if (window < 0) continue;
      const ids = npyRow(dir, 'windows.npy', window).data as Int32Array;
      const a = acts.slice(j * meta.context, (j + 1) * meta.context);
      out.push({ window, pos: m[2 * j + 1], act: a[m[2 * j + 1]], tokens: Array.from(ids, decode), acts: a });
    }
    return out.sort((x, y) => y.act - x.act || x.window - y.window);
  };
  return {
    dir, tokens: meta.tokens,
    density: readScalar(dir, 'density.npy', feature),
    maxAct: readScalar(dir, 'max.npy', feature),
    histogram: { log10From: meta.histogram.log10From, log10To: meta.histogram.log10To, counts: npyRow(dir, 'histogram.npy', feature).data as Float32Array },
    top: examples('top'),
    samples: examples('sample'),
  };
}

/** Element `i` of a 1-D float32 .npy. */
function readScalar(dir: string, name: string, i: number): number {
  const file = path.join(dir, name);
  const fd = fs.openSync(file, 'r');
  try {
    const h = npyHeader(fd, file);
    if (h.descr !== '<f4' || h.dims.length !== 1 || !(i < h.dims[0])) fail('BAD_INPUT', { file }, `expected a float32 vector longer than ${i}.`);
    const b = Buffer.alloc(4);
    fs.readSync(fd, b, 0, 4, h.start + i * 4);
    return b.readFloatLE(0);
  } finally {
    fs.closeSync(fd);
  }
}
