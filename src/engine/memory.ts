/**
 * Memory a run will need on the caller's side: the fetched activations and logits, before the run
 * starts, so an oversized request is refused with a clear message instead of exhausting memory.
 */
import { fail } from './errors';
import { HookPoint, concreteShape } from './hooks';
import type { ModelConfig } from './config';
import type { Limit } from '../protocol/runner';

/** Bytes of the logits and the fetched hooks (each graph output counted once) for batch x pos tokens. */
export function runBytes(config: ModelConfig, hooks: readonly HookPoint[], batch: number, pos: number, lastPositionLogits = false): number {
  const outputs = new Map<string, number>();
  outputs.set('logits', batch * (lastPositionLogits ? 1 : pos) * config.dVocab * 4);
  for (const h of hooks) outputs.set(h.output, concreteShape(h.shape, batch, pos).reduce((a, b) => a * b, 1) * 4);
  return [...outputs.values()].reduce((a, b) => a + b, 0);
}

/** Refuses a run over the user's limit, naming the setting (editor) or flag (CLI) it was set by. */
export function checkMemory(bytes: number, limit: Limit | undefined, what: string): void {
  if (limit === undefined || bytes <= limit.value) return;
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
  fail('OVER_LIMIT', { field: limit.name }, `${what} needs about ${mb(bytes)} for its activations, over the limit of ${mb(limit.value)}.`,
    `Cache fewer hook points, shorten the prompt or batch, or raise ${limit.name}.`);
}
