/**
 * Turns a spec's "model" value into what Engine.open takes, and reads the model facts its diagnostics
 * need (config, hooks, tokenizer) from the checkpoint's small files, without starting the engine.
 * Plain Node, no `vscode`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isEngineError } from '../../engine/errors';
import { resolveCheckpointDir } from '../../engine/checkpoint';
import { openCheckpoint } from '../../engine/model';
import type { ModelFacts } from '../../engine/spec/validate';

/** A relative folder ("./ckpt", "../models/x") is taken relative to the spec file's folder. */
export function resolveModelRef(value: string, specDir: string): string {
  if (path.isAbsolute(value)) return value;
  if (value.startsWith('.') || (value.includes(path.sep) && fs.existsSync(path.join(specDir, value)))) return path.resolve(specDir, value);
  return value;
}

export type FactsResult = { facts: ModelFacts } | { error: string };

/**
 * Model facts by resolved model ref, read once per ref and change of its config.json. `mayTokenize(dir)`
 * says whether that checkpoint's tokenizer may be loaded: its regexes run on the spec's text in this
 * thread, so in Restricted Mode only the bundled models' own tokenizers are used (token-count checks
 * wait for trust).
 */
export class ModelFactsCache {
  private readonly cache = new Map<string, { stamp: string; result: FactsResult }>();

  constructor(private readonly bundledModelsDir: string, private readonly mayTokenize: (dir: string) => boolean = () => true) {}

  /** Whether `dir` is one of the bundled models (shipped with the extension). */
  isBundled(dir: string): boolean {
    const rel = path.relative(fs.realpathSync(this.bundledModelsDir), fs.realpathSync(dir));
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  }

  get(ref: string): FactsResult {
    try {
      // Resolving the folder is cheap; opening the checkpoint (tokenizer included) is done once per change.
      const dir = resolveCheckpointDir(ref, { bundledModelsDir: this.bundledModelsDir });
      const loadTokenizer = this.mayTokenize(dir);
      const stamp = `${dir}|${fs.statSync(path.join(dir, 'config.json')).mtimeMs}|${loadTokenizer}`;
      const hit = this.cache.get(ref);
      if (hit && hit.stamp === stamp) return hit.result;
      const { config, tokenizer, hooks } = openCheckpoint(dir, { loadTokenizer });
      const result: FactsResult = {
        facts: {
          nLayers: config.nLayers,
          nHeads: config.nHeads,
          nCtx: config.nCtx,
          hooks,
          countTokens: tokenizer ? (text, prependBos) => tokenizer.encode(text, { prependBos }).length : null,
        },
      };
      this.cache.set(ref, { stamp, result });
      return result;
    } catch (e) {
      if (!isEngineError(e)) throw e;
      return { error: e.message };
    }
  }
}
