/**
 * One traced prompt and everything the panels and inline views derive from it. No `vscode` here: this
 * is plain data and engine calls, so it runs (and is tested) in plain Node.
 */
import { HookPoint, concreteShape, selectHooks } from '../../engine/hooks';
import { fail } from '../../engine/errors';
import type { LogitLens } from '../../engine/logit-lens';
import type { Token } from '../../engine/tokenizer';
import { Engine, LOGIT_LENS_HOOKS, Trace } from '../../worker/engine';

export const ATTENTION_HOOKS = 'blocks.*.attn.hook_pattern';

export interface PromptRun {
  model: string;
  prompt: string;
  tokens: Token[];
  trace: Trace;
  /** Logit lens of the prompt, with the target token's probability when one was asked for. */
  lens: LogitLens;
  targetId?: number;
  /** Wall time of the trace plus the lens, in ms. */
  ms: number;
}

export interface PromptRunOptions {
  /** Extra hook names or globs to cache. */
  extraHooks?: readonly string[];
  /** A single-token string whose probability the lens tracks. */
  target?: string;
  k?: number;
  /** Refuse prompts longer than this many tokens (BOS included). */
  maxTokens?: number;
  /** Refuse runs whose cache would exceed this many bytes. */
  maxCacheBytes?: number;
  signal?: AbortSignal;
}

/** The id of a text that must be exactly one token, or undefined when it is not. */
export function singleTokenId(engine: Engine, text: string): number | undefined {
  const ids = engine.tokenize(text, false);
  return ids.length === 1 ? ids[0].id : undefined;
}

export async function runPrompt(engine: Engine, prompt: string, opts: PromptRunOptions = {}): Promise<PromptRun> {
  const started = performance.now();
  const tokens = engine.tokenize(prompt, true);
  if (opts.maxTokens !== undefined && tokens.length > opts.maxTokens) {
    fail('BAD_INPUT', { field: 'circuitLens.maxPromptTokens' }, `the prompt is ${tokens.length} tokens, over the limit of ${opts.maxTokens}.`, 'Shorten the prompt or raise the limit.');
  }
  const globs = [ATTENTION_HOOKS, LOGIT_LENS_HOOKS, ...(opts.extraHooks ?? [])].join(',');
  const hooks = selectHooks(engine.ckpt.hooks, globs, 'cache');
  const bytes = cacheBytes(hooks, tokens.length);
  if (opts.maxCacheBytes !== undefined && bytes > opts.maxCacheBytes) {
    fail('BAD_INPUT', { field: 'circuitLens.cacheMemoryLimitMB' }, `this run would cache ${(bytes / 2 ** 20).toFixed(0)} MB of activations, over the limit of ${(opts.maxCacheBytes / 2 ** 20).toFixed(0)} MB.`, 'Shorten the prompt or raise the limit.');
  }
  // The lens gives every position's predictions; full logits ([pos, d_vocab]) would only be kept.
  const trace = await engine.trace([tokens], { hooks, logits: 'last', signal: opts.signal });
  const targetId = opts.target !== undefined ? singleTokenId(engine, opts.target) : undefined;
  const lens = await engine.logitLens(trace, { k: opts.k ?? 5, targetId, signal: opts.signal });
  return { model: engine.ckpt.name, prompt, tokens, trace, lens, targetId, ms: performance.now() - started };
}

/**
 * The same run with its lens coloured by another target: the kept residual stream is unembedded again,
 * the model does not run. Returns `run` itself when the target token is the same.
 */
export async function retarget(engine: Engine, run: PromptRun, target: string | undefined, opts: { k?: number; signal?: AbortSignal } = {}): Promise<PromptRun> {
  const started = performance.now();
  const targetId = target !== undefined ? singleTokenId(engine, target) : undefined;
  if (targetId === run.targetId) return run;
  const lens = await engine.logitLens(run.trace, { k: opts.k ?? 5, targetId, signal: opts.signal });
  return { ...run, lens, targetId, ms: performance.now() - started };
}

/** Bytes the cached hook points of a run of `pos` tokens take, to check against the memory limit. */
export function cacheBytes(hooks: readonly HookPoint[], pos: number): number {
  return hooks.reduce((sum, h) => sum + 4 * concreteShape(h.shape, 1, pos).reduce((a, b) => a * b, 1), 0);
}
