/**
 * One traced prompt and everything the panels and inline views derive from it. No `vscode` here: this
 * is plain data and engine calls, so it runs (and is tested) in plain Node.
 */
import { selectHooks } from '../../engine/hooks';
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
  const globs = [ATTENTION_HOOKS, LOGIT_LENS_HOOKS, ...(opts.extraHooks ?? [])].join(',');
  const hooks = selectHooks(engine.ckpt.hooks, globs, 'cache');
  const trace = await engine.trace([tokens], { hooks, signal: opts.signal });
  const targetId = opts.target !== undefined ? singleTokenId(engine, opts.target) : undefined;
  const lens = await engine.logitLens(trace, { k: opts.k ?? 5, targetId, signal: opts.signal });
  return { model: engine.ckpt.name, prompt, tokens, trace, lens, targetId, ms: performance.now() - started };
}
