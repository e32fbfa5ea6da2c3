/**
 * A checkpoint with weight processing applied: the parameters replaced by processed tensors held in
 * memory, and what was applied (with a note for each option a family switched off). Reads every weight
 * once, so it runs in the worker, next to the sessions.
 */
import type { Checkpoint } from '../model';
import { WeightProcessing, isProcessed } from '../../protocol/processing';
import { effectiveProcessing } from './effective';
import { processParams } from './process-params';

export function processCheckpoint(ckpt: Checkpoint, asked: WeightProcessing | undefined): Checkpoint {
  if (!asked || !isProcessed(asked)) return ckpt;
  const applied = effectiveProcessing(ckpt.config, ckpt.params, asked);
  if (!isProcessed(applied.options)) return { ...ckpt, processing: applied };
  const { params, memory } = processParams(ckpt.config, ckpt.params, ckpt, applied.options);
  return { ...ckpt, params, memory, processing: applied };
}
