/**
 * A checkpoint opened for use: its config, weight index, family-neutral parameter map, tokenizer and hook points.
 * Opening reads only headers and small JSON files, so it is fast and can happen in any thread.
 */
import * as path from 'node:path';
import { readConfig } from './config';
import type { ModelConfig } from './model-config';
import { ResolveOptions, WeightIndex, openWeights, resolveCheckpointDir } from './checkpoint';
import { fail } from './errors';
import { familyOf } from './families/registry';
import { HookPoint, hookPoints } from './hooks';
import type { ModelParams } from './params';
import type { AppliedProcessing } from '../protocol/processing';
import { ModelTokenizer, Token } from './tokenizer';

export interface Checkpoint {
  /** What the user named: a folder, ORG/NAME or a bundled model name. */
  ref: string;
  dir: string;
  name: string;
  config: ModelConfig;
  weights: WeightIndex;
  /**
   * Where each parameter is, family-neutral: `params.finalNorm` (kind: `config.normalization`) and
   * `params.unembed` ([d_vocab, d_model]) serve direct logit attribution.
   */
  params: ModelParams;
  tokenizer: ModelTokenizer | null;
  hooks: HookPoint[];
  /** Weight processing in effect (src/engine/processing/); absent: Hugging Face's weights as they are. */
  processing?: AppliedProcessing;
  /** Processed tensors by WeightRef.location; when present, every parameter is one of them. */
  memory?: ReadonlyMap<string, Float32Array>;
}

export interface OpenCheckpointOptions extends ResolveOptions {
  /** false: leave the tokenizer files unread (a tokenizer's regexes run on every prompt); default true. */
  loadTokenizer?: boolean;
}

export function openCheckpoint(ref: string, opts: OpenCheckpointOptions = {}): Checkpoint {
  const dir = resolveCheckpointDir(ref, opts);
  const configPath = path.join(dir, 'config.json');
  const config = readConfig(configPath);
  const weights = openWeights(dir);
  const params = familyOf(config).findParams(config, weights, configPath);
  const tokenizer = opts.loadTokenizer === false ? null : ModelTokenizer.fromDir(dir, config.bosTokenId);
  return { ref, dir, name: displayName(ref, dir), config, weights, params, tokenizer, hooks: hookPoints(config) };
}

function displayName(ref: string, dir: string): string {
  const m = /models--([^/\\]+)--([^/\\]+)[/\\]snapshots/.exec(dir);
  return m ? `${m[1]}/${m[2]}` : ref.includes('/') || ref.includes('\\') ? path.basename(dir) : ref;
}

/** Tokens for a text prompt, checked against the context length. */
export function tokenizePrompt(ckpt: Checkpoint, text: string, prependBos = true): Token[] {
  if (!ckpt.tokenizer) fail('BAD_INPUT', { file: ckpt.dir, field: '--prompt' }, 'this checkpoint has no tokenizer files (tokenizer.json or vocab.json + merges.txt).', 'Give token ids with --tokens instead.');
  const tokens = ckpt.tokenizer.encode(text, { prependBos });
  checkLength(ckpt, tokens.length, '--prompt');
  return tokens;
}

/** Token ids given directly, used as given (no BOS added), checked against the vocabulary and context. */
export function tokensFromIds(ckpt: Checkpoint, ids: number[], field = '--tokens'): Token[] {
  if (ids.length === 0) fail('BAD_INPUT', { field }, 'no token ids given.', 'Example: --tokens 50256,15496,995');
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= ckpt.config.dVocab) {
      fail('BAD_INPUT', { field }, `token id ${id} is outside the vocabulary [0, ${ckpt.config.dVocab}).`);
    }
  }
  checkLength(ckpt, ids.length, field);
  return ids.map((id) => ({ id, text: ckpt.tokenizer ? ckpt.tokenizer.decode([id]) : `<${id}>`, start: 0, end: 0 }));
}

function checkLength(ckpt: Checkpoint, n: number, field: string): void {
  if (n > ckpt.config.nCtx) {
    fail('BAD_INPUT', { field }, `${n} tokens exceed the model's context of ${ckpt.config.nCtx} (${familyOf(ckpt.config).contextField} in config.json).`, 'Shorten the prompt.');
  }
}
