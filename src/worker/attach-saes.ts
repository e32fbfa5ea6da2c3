/**
 * The dictionaries a ModelRef names, opened against its checkpoint: each folder read in its format, its
 * hook (and d_in) checked against the model's hook points, and described for the reply. A cross-layer
 * transcoder's folder named without a hook attaches all its layers.
 */
import type { Checkpoint } from '../engine/model';
import { openAttachable } from '../engine/sae';
import type { AttachedSae } from '../engine/sae/attach';
import type { AttachedSaeInfo, SaeRef } from '../protocol/runner';

export function openAttachedSaes(ckpt: Checkpoint, refs: readonly SaeRef[], baseDir?: string): AttachedSae[] {
  return refs.flatMap((r) => openAttachable(r.path, { hook: r.hook, baseDir: r.baseDir ?? baseDir, modelDir: ckpt.dir, modelHooks: ckpt.hooks }).map((dict) => ({ dict, mode: r.mode ?? 'observe' })));
}

export function attachedSaeInfo({ dict: d, mode }: AttachedSae): AttachedSaeInfo {
  return {
    dir: d.dir, format: d.format, kind: d.kind, architecture: d.architecture, dIn: d.dIn, dSae: d.dSae, dOut: d.dOut,
    hook: d.hookIn, ...(d.hookOut ? { hookOut: d.hookOut } : {}), hookSource: d.hookSource, mode, notes: d.notes,
  };
}

/**
 * The part of a runner's load key the dictionaries make: the same folders, hooks and modes load once.
 * The folder relative paths are taken from counts only when there are dictionaries (a model named from
 * two folders is the same model).
 */
export function saesKey(refs: readonly SaeRef[] | undefined, baseDir: string | undefined): string {
  if (!refs?.length) return '';
  return JSON.stringify([baseDir ?? '', ...refs.map((r) => [r.baseDir ?? '', r.path, r.hook ?? '', r.mode ?? 'observe'])]);
}
