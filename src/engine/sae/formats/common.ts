/** What every format reader shares: its options and the choice between the user's hook and the derived one. */
import * as fs from 'node:fs';
import { noHook } from '../hook-names';
import type { ResolveDictionaryOptions } from '../resolve';
import type { SparseDictionary } from '../types';

export interface ReaderOptions extends ResolveDictionaryOptions {
  /** The user's hook: replaces whatever the config or the folder says. */
  hook?: string;
  /** The most bytes of float32 an .npz may inflate to (default 8 GiB: a 1M-wide Gemma 2 2B SAE is about 19 GB, refused). */
  maxInMemoryBytes?: number;
}

export const DEFAULT_MAX_IN_MEMORY_BYTES = 8 * 1024 ** 3;

export function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The user's hook when given, else the derived one; neither is an error saying how to name it. */
export function pickHook(dir: string, opts: ReaderOptions, derived: string | undefined, source: 'config' | 'folder', why: string): Pick<SparseDictionary, 'hookIn' | 'hookSource'> {
  if (opts.hook) return { hookIn: opts.hook, hookSource: 'user' };
  if (!derived) noHook(dir, why);
  return { hookIn: derived, hookSource: source };
}
