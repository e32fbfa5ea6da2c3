/** A checkpoint's facts as the editor and the CLI see them (src/protocol/runner.ts ModelFacts). */
import { familyOf } from '../engine/families/registry';
import { HookPoint, selectHooks } from '../engine/hooks';
import type { Checkpoint } from '../engine/model';
import type { ModelFacts } from '../protocol/runner';
import { isProcessed, processingLabel } from '../protocol/processing';

/** How replies name a model: its name, and the weight processing when there is any. */
export function modelLabel(ckpt: Checkpoint): string {
  const p = ckpt.processing?.options;
  return isProcessed(p) ? `${ckpt.name} · ${processingLabel(p)}` : ckpt.name;
}

/**
 * With `hooks` (globs), only the hook points they select; a glob that selects none is an error. `all`: the
 * hook points to select from (a loaded model's, with its dictionaries').
 */
export function factsOf(ckpt: Checkpoint, hooks?: string, all: readonly HookPoint[] = ckpt.hooks): ModelFacts {
  const c = ckpt.config;
  const selected = hooks ? selectHooks(all, hooks) : all;
  return {
    dir: ckpt.dir, name: ckpt.name, modelType: c.modelType, family: familyOf(c).label,
    nLayers: c.nLayers, dModel: c.dModel, nHeads: c.nHeads, nKvHeads: c.nKvHeads, dHead: c.dHead, dMlp: c.dMlp, dVocab: c.dVocab, nCtx: c.nCtx,
    tiedUnembedding: ckpt.params.tied, hasTokenizer: ckpt.tokenizer !== null,
    hooks: selected.map((h) => ({ name: h.name, shape: [...h.shape], ...(h.needsAttnResult ? { needsAttnResult: true } : {}) })),
  };
}
