/**
 * The feature index's driver: reads the corpus document by document, tokenizes each, cuts the token
 * stream into windows, runs them in batches for the dictionary's activations and feeds the accumulator
 * (src/engine/features/index-builder.ts). A checkpoint is saved every `checkpointEvery` windows and when
 * stopped; a rerun with the same options skips the windows the checkpoint holds (they are tokenized
 * again, not run). The model work comes through `io`, so the CLI drives the worker and tests a model.
 */
import * as fs from 'node:fs';
import { cancelledError } from '../protocol/errors';
import { WindowCutter, corpusDocuments } from '../engine/features/corpus';
import { addWindow, emptyState } from '../engine/features/index-builder';
import { AtomicWrite, IndexFingerprint, IndexMeta, loadCheckpoint, saveCheckpoint, writeIndex } from '../engine/features/index-files';

export interface IndexOptions {
  out: string;
  corpus: string;
  fingerprint: IndexFingerprint;
  bos: number | undefined;
  /** Windows per request to the model. */
  batch: number;
  checkpointEvery: number;
  /** Stop after this many windows (all of the corpus by default). */
  maxWindows?: number;
}

export interface IndexIo {
  tokenize(text: string): Promise<ArrayLike<number>>;
  /** hook_sae_acts_post of the windows: [windows, context, d_sae]. */
  acts(windows: number[][]): Promise<Float32Array>;
  write: AtomicWrite;
  signal: AbortSignal;
  /** Called after each batch: windows done, and how far through the corpus's bytes. */
  progress?(windows: number, fraction: number): void;
}

export type IndexOutcome = { complete: true; meta: IndexMeta; resumedFrom: number } | { complete: false; windows: number; resumedFrom: number };

export async function buildFeatureIndex(o: IndexOptions, io: IndexIo): Promise<IndexOutcome> {
  fs.mkdirSync(o.out, { recursive: true });
  const fp = o.fingerprint;
  const state = loadCheckpoint(o.out, fp) ?? emptyState({ dSae: fp.dSae, context: fp.context, top: fp.top, samples: fp.samples });
  const resumedFrom = state.windows;
  const cutter = new WindowCutter(fp.context, o.bos);
  const per = fp.context * fp.dSae;
  let seen = 0; // windows cut so far, including those the checkpoint holds
  let bytes = 0;
  let pending: number[][] = [];
  let sinceCheckpoint = 0;
  const limit = o.maxWindows ?? Infinity;

  const flush = async () => {
    if (!pending.length) return;
    if (io.signal.aborted) throw cancelledError();
    const acts = await io.acts(pending); // [windows, context, d_sae]
    pending.forEach((ids, i) => addWindow(state, ids, acts.subarray(i * per, (i + 1) * per)));
    sinceCheckpoint += pending.length;
    pending = [];
    io.progress?.(state.windows, Math.min(1, bytes / Math.max(1, fp.corpusBytes)));
    if (sinceCheckpoint >= o.checkpointEvery) {
      saveCheckpoint(o.out, fp, state, io.write);
      sinceCheckpoint = 0;
    }
  };

  try {
    outer: for await (const doc of corpusDocuments(o.corpus)) {
      bytes += Buffer.byteLength(doc) + 1;
      for (const w of cutter.push(await io.tokenize(doc))) {
        if (seen >= limit) break outer;
        if (seen++ < resumedFrom) continue;
        pending.push(w);
        if (pending.length >= o.batch) await flush();
      }
    }
    await flush();
  } catch (e) {
    if (!io.signal.aborted) throw e;
    saveCheckpoint(o.out, fp, state, io.write);
    return { complete: false, windows: state.windows, resumedFrom };
  }
  return { complete: true, meta: writeIndex(o.out, fp, state, io.write), resumedFrom };
}
