/**
 * Drives the independent family references (test/reference/{neox,llama,phi3,gptneo,gemma}_reference.py; Qwen3 and OLMo 2 are in the
 * Llama-style reference, Gemma 2 and Gemma 3 in the Gemma one) from tests,
 * and compares a trace with a reference run on every hook point.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Intervention } from '../../src/protocol/runner';
import type { TensorData } from '../../src/protocol/tensor';
import type { Trace } from '../../src/engine/tracer';
import { ROOT, RandomShape, forwardWith, makeRandomWith, maxAbsDiff, tmpDir } from './reference';

export type ReferenceFamily = 'neox' | 'llama' | 'phi3' | 'gptneo' | 'gemma';

const SCRIPTS: Record<string, string> = { gpt_neox: 'neox', llama: 'llama', mistral: 'llama', qwen2: 'llama', qwen3: 'llama', olmo2: 'llama', phi3: 'phi3', gpt_neo: 'gptneo', gemma2: 'gemma', gemma3_text: 'gemma', gemma3: 'gemma' };

function script(family: string): string {
  return path.join(ROOT, 'test', 'reference', `${family}_reference.py`);
}

export interface FamilySpec extends RandomShape {
  family: ReferenceFamily;
  tied?: boolean;
  /** Family options of make-random, e.g. ['--kv-heads', '2']. */
  extra?: string[];
  /** Positions of the test prompts (default: ctx, at most 19). */
  pos?: number;
}

export function makeFamilyCheckpoint(spec: FamilySpec, dir = tmpDir(`ckpt-${spec.family}`)): string {
  return makeRandomWith(script(spec.family), spec, [...(spec.extra ?? []), ...(spec.tied ? ['--tied'] : [])], dir);
}

/** The family reference's forward on [batch][pos] token ids: every hook point and `logits`. */
export function familyReferenceActivations(modelDir: string, batch: number[][], interventions: Intervention[] = []): Map<string, TensorData> {
  const modelType = (JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8')) as { model_type: string }).model_type;
  return forwardWith(script(SCRIPTS[modelType]), modelDir, batch, interventions);
}

/** [name, max abs difference] of the logits and every cached hook point beyond `tolerance` (shape mismatches included). */
export function mismatches(trace: Trace, ref: Map<string, TensorData>, tolerance: number): [string, number | string][] {
  const bad: [string, number | string][] = [];
  for (const name of ['logits', ...trace.cache.names()]) {
    const mine = name === 'logits' ? trace.logits : trace.cache.get(name);
    const theirs = ref.get(name);
    if (!theirs) bad.push([name, 'not in the reference']);
    else if (mine.dims.join() !== theirs.dims.join()) bad.push([name, `shape [${mine.dims}] vs [${theirs.dims}]`]);
    else {
      const d = maxAbsDiff(mine.data, theirs.data);
      if (!(d <= tolerance)) bad.push([name, d]);
    }
  }
  for (const name of ref.keys()) if (name !== 'logits' && !trace.cache.has(name)) bad.push([name, 'not in the engine cache']);
  return bad;
}
