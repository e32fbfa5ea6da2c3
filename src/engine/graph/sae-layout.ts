/**
 * How attached dictionaries' tensors reach onnxruntime beside the model's. onnxruntime takes external
 * data all from files or all from memory, and refuses a location that is absolute or leaves the folder
 * it resolves against (model_external_initializers_file_folder_path). So:
 * - model in files: every external location is written relative to the common ancestor of the model's
 *   and the dictionaries' folders, and that ancestor is the folder onnxruntime resolves against; a
 *   dictionary tensor held only in memory (an npz member) goes into the model as a raw initializer.
 * - model in memory (processed weights): every dictionary tensor joins it in memory, under `sae<i>/`.
 */
import * as path from 'node:path';
import type { WeightRef } from '../params';
import type { AttachedSae } from '../sae/attach';
import { isInMemory } from '../sae/types';
import { commonAncestor } from '../sae/tensors';
import { readTensor } from '../weight-reader';

export interface SaeLayout {
  saes: readonly AttachedSae[];
  storage: 'files' | 'memory';
  /** The folder external locations resolve against (files storage). */
  baseDir: string;
  /** The model's data folder relative to baseDir ('' when it is baseDir). */
  modelPrefix: string;
}

export function saeLayout(saes: readonly AttachedSae[], modelDataDir: string, modelInMemory: boolean): SaeLayout {
  if (modelInMemory || saes.length === 0) return { saes, storage: modelInMemory ? 'memory' : 'files', baseDir: modelDataDir, modelPrefix: '' };
  const baseDir = commonAncestor([modelDataDir, ...saes.map((s) => s.dict.source.weights.dataDir)]);
  return { saes, storage: 'files', baseDir, modelPrefix: path.relative(baseDir, modelDataDir) };
}

/** The in-memory key of dictionary `index`'s tensor (memory storage): one per tensor, though several share a file. */
export function saeMemoryPath(index: number, ref: WeightRef): string {
  return `sae${index}/${ref.location}/${ref.offset}/${ref.name}`;
}

/** Memory storage: every dictionary tensor as fp32, by its key (for the session's externalData). */
export function saeMemory(layout: SaeLayout): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  if (layout.storage !== 'memory') return out;
  layout.saes.forEach(({ dict }, i) => {
    for (const ref of dictionaryRefs(dict)) out.set(saeMemoryPath(i, ref), readTensor(dict.source, ref));
  });
  return out;
}

/** Every tensor a dictionary's graph reads. */
export function dictionaryRefs(d: AttachedSae['dict']): WeightRef[] {
  const a = d.activation;
  return [d.encoder.w, d.encoder.b, d.decoder.w, d.decoder.b, d.skip?.w, d.skip?.b,
    a.kind === 'jumprelu' ? a.threshold : undefined, a.kind === 'gated' ? a.bMag : undefined, a.kind === 'gated' ? a.rMag : undefined]
    .filter((r): r is WeightRef => r !== undefined);
}

/** Whether a dictionary tensor goes into the model as a raw initializer (files storage, held only in memory). */
export function inlined(layout: SaeLayout, d: AttachedSae['dict'], ref: WeightRef): boolean {
  return layout.storage === 'files' && isInMemory(d.source, ref);
}
