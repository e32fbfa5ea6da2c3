/**
 * Opens a checkpoint as the worker does (a LoadedModel: sessions and analyses in this thread, one
 * intra-op thread) for one test body, and always disposes it. Tests of the worker boundary itself use
 * the RunnerClient (test/helpers/runner.ts).
 */
import * as path from 'node:path';
import type { ResolveOptions } from '../../src/engine/checkpoint';
import { openCheckpoint, tokensFromIds } from '../../src/engine/model';
import { processCheckpoint } from '../../src/engine/processing/process-checkpoint';
import type { WeightProcessing } from '../../src/protocol/processing';
import { LoadOptions, LoadedModel } from '../../src/worker/loaded-model';
import type { SessionOptions } from '../../src/worker/session';
import { ROOT } from './reference';

/** The weight scan's bundle: under tsx, LoadedModel's default (beside its own file) is src/worker/. */
export const SCAN_WORKER = path.join(ROOT, 'dist', 'scan-worker.js');

export interface OpenModelOptions {
  resolve?: ResolveOptions;
  session?: SessionOptions;
  limits?: LoadOptions['limits'];
  processing?: WeightProcessing;
}

export function openModel(ref: string, opts: OpenModelOptions = {}): Promise<LoadedModel> {
  return LoadedModel.open(processCheckpoint(openCheckpoint(ref, opts.resolve), opts.processing), { session: { threads: 1, ...opts.session }, limits: opts.limits, scanWorkerPath: SCAN_WORKER });
}

export async function withModel<T>(ref: string, f: (m: LoadedModel) => Promise<T>, opts: OpenModelOptions = {}): Promise<T> {
  const model = await openModel(ref, opts);
  try {
    return await f(model);
  } finally {
    await model.dispose();
  }
}

/** Each prompt's most and least likely next token on a model: an answer and counterfactual whose logit difference it carries. */
export async function extremeNextTokens(model: LoadedModel, prompts: readonly number[][]): Promise<{ answers: number[]; counterfactuals: number[] }> {
  const run = await model.trace(prompts.map((p) => tokensFromIds(model.ckpt, p)), { logits: 'last' });
  const vocab = model.ckpt.config.dVocab;
  const rows = prompts.map((_, b) => Array.from(run.logits.data.subarray(b * vocab, (b + 1) * vocab)));
  return { answers: rows.map((r) => r.indexOf(Math.max(...r))), counterfactuals: rows.map((r) => r.indexOf(Math.min(...r))) };
}
