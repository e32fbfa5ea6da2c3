/**
 * The last results of each spec's claims, kept in the workspace's state so the Testing view shows them
 * again after a reload. An entry holds the hash of the spec text it was measured on, and is valid only
 * while the spec still has that text. Works on any key-value store with VS Code's Memento shape, so it
 * is tested without VS Code.
 */
import { createHash } from 'node:crypto';
import type { ClaimMark } from './claim-messages';

/** Marks a run can leave on an item: a claim's, or `errored` when its circuit or spec could not run. */
export type StoredMark = ClaimMark | 'errored';

/** One item's last result. */
export interface StoredResult {
  /** The item's id within its spec. */
  id: string;
  mark: StoredMark;
  message?: string;
  actual?: string;
  expected?: string;
  ms?: number;
}

export interface StoredSpec {
  hash: string;
  results: StoredResult[];
}

/** What the cache needs of `ExtensionContext.workspaceState`. */
export interface StateStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void>;
}

const PREFIX = 'circuitLens.claimResults:';

/** The state key of a spec: its path (a uri string, so specs of different roots never clash). */
export const cacheKey = (specUri: string) => PREFIX + specUri;

/** The hash of a spec's text: a result is valid while the text has it. */
export const contentHash = (text: string) => createHash('sha256').update(text).digest('hex');

export class ResultCache {
  constructor(private readonly store: StateStore) {}

  /** The results measured on exactly this text, if any; a stale entry is dropped. */
  get(specUri: string, text: string): StoredResult[] | undefined {
    const entry = this.store.get<StoredSpec>(cacheKey(specUri));
    if (!entry) return undefined;
    if (entry.hash === contentHash(text)) return entry.results;
    void this.store.update(cacheKey(specUri), undefined);
    return undefined;
  }

  /**
   * Records results measured on `text`. Results of the same text merge with those kept (a run of one
   * claim keeps its neighbours' marks); a different text replaces them.
   */
  set(specUri: string, text: string, results: readonly StoredResult[]): Thenable<void> {
    const hash = contentHash(text);
    const entry = this.store.get<StoredSpec>(cacheKey(specUri));
    const kept = entry?.hash === hash ? entry.results.filter((k) => !results.some((r) => r.id === k.id)) : [];
    return this.store.update(cacheKey(specUri), { hash, results: [...kept, ...results] } satisfies StoredSpec);
  }

  /** Forgets a spec (it was deleted or its text changed). */
  drop(specUri: string): Thenable<void> {
    return this.store.update(cacheKey(specUri), undefined);
  }
}
