/**
 * Features of a kept trace with dictionaries attached: the token x feature table (the Features panel,
 * the spec hover), one feature's card (activation over the prompt, logits, index entry, label), and the
 * logits of a few features (the features analysis's logitEffects), cached per dictionary and feature
 * (a hover asks for the same ones again).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail } from '../engine/errors';
import { topK } from '../engine/math';
import type { AttachedSae } from '../engine/sae/attach';
import { logitEffects } from '../engine/analysis/features';
import { readFeatureEntry, readIndexMeta } from '../engine/features/index-files';
import { readLabels } from '../engine/features/labels';
import type { FeatureCard, FeatureCardParams, FeatureLabel, FeatureLogits, FeaturesSlice, FeaturesSliceRequest } from '../protocol/features';
import { processingKey } from '../protocol/processing';
import type { LoadedModel } from './loaded-model';
import { TraceRun, decoder } from './trace-run';

const DEFAULT_COLUMNS = 24;
const DEFAULT_K = 5;
const DEFAULT_LOGITS = 10;
/** Features whose logits are kept (a few KB each). */
const LOGIT_CACHE = 4096;

export const actsHook = (hook: string) => `${hook}.hook_sae_acts_post`;

function checkFeatureIds(sae: AttachedSae, features: readonly number[]): void {
  const { dSae, dir, hookIn } = sae.dict;
  for (const f of features) if (!(Number.isInteger(f) && f >= 0 && f < dSae)) fail('BAD_INPUT', { file: dir, field: 'feature' }, `feature ${f} is outside [0, ${dSae}) of the dictionary at ${hookIn}.`);
}

/** The attached dictionary at `hook` (default the first one). */
export function saeAt(model: LoadedModel, hook: string | undefined): AttachedSae {
  if (model.saes.length === 0) fail('BAD_INPUT', { field: 'saes' }, 'no dictionary is attached to this model.', 'Attach one: the spec\'s "saes", the circuitLens.saes setting, or --sae DIR[@HOOK].');
  const found = hook === undefined ? model.saes[0] : model.saes.find((s) => s.dict.hookIn === hook);
  if (!found) fail('BAD_INPUT', { field: hook }, 'no dictionary is attached at this hook.', `Attached: ${model.saes.map((s) => s.dict.hookIn).join(', ')}.`);
  return found;
}

/** The label files of a dictionary: its folder's own feature-labels.json when there is one, then the given ones. */
export function labelFilesOf(sae: AttachedSae, given: readonly string[] | undefined): string[] {
  const own = path.join(fs.statSync(sae.dict.dir).isDirectory() ? sae.dict.dir : path.dirname(sae.dict.dir), 'feature-labels.json');
  return [...(fs.existsSync(own) ? [own] : []), ...(given ?? [])];
}

function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/** The BOS the tokenizer prepended (no characters of the prompt: start = end = 0). */
function isBos(run: TraceRun, p: number): boolean {
  const t = run.tokens[p];
  return p === 0 && t !== undefined && t.start === 0 && t.end === 0;
}

/** The run's activations of one dictionary: [pos, d_sae] (batch item 0). */
function runActs(run: TraceRun, hook: string): Float32Array {
  const name = actsHook(hook);
  if (!run.trace.cache.has(name)) fail('NOT_KEPT', { field: name }, 'this run did not cache the dictionary\'s activations.', 'Show the features of the prompt again.');
  return run.trace.cache.get(name).data;
}

export function featuresSlice(model: LoadedModel, run: TraceRun, req: FeaturesSliceRequest): FeaturesSlice {
  const sae = saeAt(model, req.hook);
  const { hookIn: hook, dSae } = sae.dict;
  const acts = runActs(run, hook); // [pos, d_sae]
  const pos = run.tokens.length;
  const k = Math.max(1, Math.min(req.k ?? DEFAULT_K, 64));
  const topIds = new Int32Array(pos * k).fill(-1); // [pos, k]
  const topValues = new Float32Array(pos * k); // [pos, k]
  const peak = new Float32Array(dSae); // each feature's largest activation over the prompt, BOS left out (as the index leaves it out)
  const first = isBos(run, 0) ? 1 : 0;
  for (let p = 0; p < pos; p++) {
    const row = acts.subarray(p * dSae, (p + 1) * dSae);
    if (p >= first) for (let f = 0; f < dSae; f++) if (row[f] > peak[f]) peak[f] = row[f];
    topK(row, k).filter((r) => r.value > 0).forEach((r, j) => {
      topIds[p * k + j] = r.index;
      topValues[p * k + j] = r.value;
    });
  }
  const columns = topK(peak, Math.max(1, Math.min(req.columns ?? DEFAULT_COLUMNS, 256))).filter((r) => r.value > 0).map((r) => r.index);
  const table = new Float32Array(pos * columns.length); // [pos, columns]
  for (let p = 0; p < pos; p++) columns.forEach((f, j) => (table[p * columns.length + j] = acts[p * dSae + f]));
  const all = readLabels(labelFilesOf(sae, req.labelFiles));
  const labels: Record<number, FeatureLabel> = {};
  for (const f of [...columns, ...topIds]) {
    const l = f >= 0 ? all.get(f) : undefined;
    if (l) labels[f] = l;
  }
  return {
    view: 'features', model: run.model, hook, dSae, hooks: model.saes.map((s) => s.dict.hookIn),
    tokens: run.tokens.map((t) => ({ text: t.text, start: t.start, end: t.end })), columns, acts: table, k, topIds, topValues, labels,
  };
}

export class FeatureLogitCache {
  private readonly kept = new Map<string, FeatureLogits>();

  async get(model: LoadedModel, sae: AttachedSae, features: readonly number[], k = DEFAULT_LOGITS): Promise<FeatureLogits[]> {
    checkFeatureIds(sae, features);
    const key = (f: number) => `${model.ckpt.dir}|${processingKey(model.ckpt.processing?.options)}|${sae.dict.dir}|${sae.dict.hookIn}|${k}|${f}`;
    const missing = [...new Set(features.filter((f) => !this.kept.has(key(f))))];
    if (missing.length) {
      const effects = await logitEffects(model, sae.dict, missing, k, decoder(model));
      missing.forEach((f, i) => this.kept.set(key(f), { feature: f, ...effects[i] }));
      while (this.kept.size > LOGIT_CACHE) this.kept.delete(this.kept.keys().next().value!);
    }
    return features.map((f) => this.kept.get(key(f))!);
  }
}

export async function featureCard(model: LoadedModel, run: TraceRun, p: FeatureCardParams, logits: FeatureLogitCache): Promise<FeatureCard> {
  const sae = saeAt(model, p.hook);
  const { dSae, hookIn: hook } = sae.dict;
  checkFeatureIds(sae, [p.feature]);
  const acts = runActs(run, hook);
  const pos = run.tokens.length;
  const prompt = Float32Array.from({ length: pos }, (_, i) => acts[i * dSae + p.feature]); // [pos]
  const label = readLabels(labelFilesOf(sae, p.labelFiles)).get(p.feature);
  const card: FeatureCard = {
    model: run.model, hook, feature: p.feature, dSae, ...(label ? { label } : {}),
    prompt: { tokens: run.tokens.map((t) => ({ text: t.text, start: t.start, end: t.end })), acts: prompt },
    logits: (await logits.get(model, sae, [p.feature], p.logits ?? DEFAULT_LOGITS))[0],
  };
  if (!p.featureIndex) return card;
  const meta = readIndexMeta(p.featureIndex);
  if (meta.sae.hook !== hook || meta.sae.dSae !== dSae || realPath(meta.sae.dir) !== realPath(sae.dict.dir)) {
    return { ...card, indexNote: `the index in ${p.featureIndex} is of the dictionary in ${meta.sae.dir} at ${meta.sae.hook} with ${meta.sae.dSae} features, not of this one in ${sae.dict.dir} at ${hook} with ${dSae}.` };
  }
  return { ...card, index: readFeatureEntry(p.featureIndex, p.feature, decoder(model)) };
}
