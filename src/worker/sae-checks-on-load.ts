/**
 * The check every dictionary gets when it is loaded for an analysis or a trace: the self-check
 * (src/engine/sae/self-check.ts) on a bounded sample made of the caller's prompts and the bundled
 * public-domain text, once per loaded (model, dictionary), the result kept so reruns do not check again.
 * Loss figures are measured for spliced dictionaries only (an observing one does not change the loss).
 * A dictionary whose files name no model processing, on an unprocessed model, is also measured on the
 * model with TransformerLens' default processing, and that processing is recommended when it
 * reconstructs clearly better: FVU at most half the unprocessed FVU and at least 0.05 lower.
 */
import * as fs from 'node:fs';
import type { Checkpoint } from '../engine/model';
import type { AttachedSae } from '../engine/sae/attach';
import { dictionaryProcessing } from '../engine/sae/model-processing';
import { sampleParagraphs } from '../engine/sae/sample';
import { checkDictionaries } from '../engine/sae/self-check';
import type { Token } from '../engine/tokenizer';
import { cancelledError } from '../protocol/errors';
import { isProcessed, processingLabel } from '../protocol/processing';
import type { SaeCheckInfo } from '../protocol/runner';
import type { LoadedModel } from './loaded-model';

/** Tokens per sample row at most (BOS included), and in the whole sample: a few model runs on a CPU. */
export const CHECK_ROW_TOKENS = 128;
export const CHECK_SAMPLE_TOKENS = 512;
/** "Clearly better": the processed FVU at most this fraction of the unprocessed one... */
const BETTER_RATIO = 0.5;
/** ...and lower by at least this much (two small FVUs are not a recommendation). */
const BETTER_BY = 0.05;

/**
 * The processed twin holds a second, processed copy of the weights in memory while it checks: only for
 * models whose float32 weights are at most this (GPT-2 medium is about 1.4 GB; billion-parameter models are skipped).
 */
export const TWIN_MAX_BYTES = 2 * 2 ** 30;

/** About how many bytes a model's weights take in float32 (blocks and embeddings; norms left out). */
export function fp32WeightBytes(c: Checkpoint['config']): number {
  return 4 * (c.nLayers * (4 * c.dModel * c.dModel + 2 * c.dModel * c.dMlp) + 2 * c.dVocab * c.dModel);
}

/** The key of one dictionary's check on one loaded model. */
export function checkKey(loadKey: string, s: AttachedSae): string {
  return JSON.stringify([loadKey, s.dict.dir, s.dict.hookIn, s.mode]);
}

/**
 * Sample rows: each text with BOS, cut to CHECK_ROW_TOKENS; the caller's texts first, then the sample
 * file's paragraphs, until CHECK_SAMPLE_TOKENS. Empty when the checkpoint has no tokenizer.
 */
export function sampleRows(ckpt: Checkpoint, texts: readonly string[], sampleFile: string | undefined, extra: readonly Token[][] = []): Token[][] {
  const tok = ckpt.tokenizer;
  const rows: Token[][] = [];
  let total = 0;
  const push = (row: Token[]) => {
    const cut = row.slice(0, Math.min(CHECK_ROW_TOKENS, ckpt.config.nCtx, CHECK_SAMPLE_TOKENS - total));
    if (cut.length < 2) return;
    rows.push(cut);
    total += cut.length;
  };
  for (const r of extra) push(r);
  if (!tok) return rows;
  let paragraphs: string[] = [];
  try {
    paragraphs = sampleFile ? sampleParagraphs(fs.readFileSync(sampleFile, 'utf8')) : [];
  } catch {
    paragraphs = []; // a missing sample leaves the caller's prompts
  }
  for (const t of [...texts, ...paragraphs]) {
    if (total >= CHECK_SAMPLE_TOKENS) break;
    push(tok.encode(t, { prependBos: true }));
  }
  return rows;
}

const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : String(v));

export class SaeChecksOnLoad {
  private readonly done = new Map<string, SaeCheckInfo>();

  cached(loadKey: string, s: AttachedSae): SaeCheckInfo | undefined {
    return this.done.get(checkKey(loadKey, s));
  }

  /** Forgets the checks of one loaded model (its dictionaries' files changed, so it was loaded again). */
  forget(loadKey: string): void {
    for (const k of [...this.done.keys()]) if ((JSON.parse(k) as string[])[0] === loadKey) this.done.delete(k);
  }

  /**
   * The checks of `model`'s dictionaries (in its order), running the ones not done yet on `rows`.
   * `processedTwin`: the same model and dictionaries with TransformerLens' default processing, opened on
   * demand and disposed here (undefined when processing would change nothing for this family).
   */
  async ensure(model: LoadedModel, loadKey: string, rows: Token[][], signal: AbortSignal, processedTwin: () => Promise<LoadedModel | undefined>): Promise<SaeCheckInfo[]> {
    const todo = model.saes.filter((s) => !this.done.has(checkKey(loadKey, s)));
    if (todo.length && rows.length) {
      const checks = await checkDictionaries(model, model.hooks, todo, rows, signal, (s) => s.mode === 'splice');
      if (signal.aborted) throw cancelledError();
      const results: SaeCheckInfo[] = checks.map((c) => ({ ...c, warnings: c.warnings.map((w) => ({ ...w })) }));
      // Only an unprocessed model, and only dictionaries that do not say what they were trained on.
      const unsure = isProcessed(model.ckpt.processing?.options) ? [] : todo.map((s, i) => ({ s, i })).filter(({ s }) => !dictionaryProcessing(s.dict));
      const twinBytes = fp32WeightBytes(model.ckpt.config);
      if (unsure.length && twinBytes > TWIN_MAX_BYTES) {
        const note = `not compared with TransformerLens' processing: a processed copy of this model (about ${(twinBytes / 2 ** 30).toFixed(1)} GB) is too large to hold next to it.`;
        for (const { i } of unsure) results[i].notes = [...results[i].notes ?? [], note];
      } else if (unsure.length) {
        const twin = await processedTwin();
        if (twin) {
          try {
            const twinSaes = unsure.map(({ s }) => twin.saes.find((t) => t.dict.dir === s.dict.dir && t.dict.hookIn === s.dict.hookIn)!);
            const other = await checkDictionaries(twin, twin.hooks, twinSaes, rows, signal, () => false);
            if (signal.aborted) throw cancelledError();
            const label = processingLabel(twin.ckpt.processing?.options);
            unsure.forEach(({ i }, j) => {
              const [mine, theirs] = [results[i].stats.fvu, other[j].stats.fvu];
              const recommended = theirs <= mine * BETTER_RATIO && mine - theirs >= BETTER_BY;
              results[i].processed = {
                processing: label, fvu: theirs, recommended,
                ...(recommended ? { message: `FVU ${f(theirs)} with ${label} against ${f(mine)} unprocessed: the dictionary was likely trained on the processed model. Set "processing": "transformerlens" in the spec (--processing transformerlens on the CLI).` } : {}),
              };
            });
          } finally {
            await twin.dispose();
          }
        }
      }
      todo.forEach((s, i) => this.done.set(checkKey(loadKey, s), results[i]));
    }
    return model.saes.flatMap((s) => this.done.get(checkKey(loadKey, s)) ?? []);
  }
}
