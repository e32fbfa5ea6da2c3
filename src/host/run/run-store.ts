/**
 * The traced runs whose panels are open. A panel holds the run it shows; while any panel holds a run,
 * its activation cache is kept so the lens can be re-coloured or a head opened without running the
 * model again. A run is released when the last panel holding it closes (or shows another run), and the
 * oldest runs are dropped first when the kept caches would exceed the byte budget. No `vscode` here.
 */
import type { PromptRun } from './prompt-run';

interface Kept {
  run: PromptRun;
  bytes: number;
  holders: Set<string>;
}

/** Which run: the model (as the session opened it) and the exact prompt text. */
export function runKey(modelRef: string, prompt: string): string {
  return JSON.stringify([modelRef, prompt]);
}

export class RunStore {
  /** In order of last use: the first entry is dropped first. */
  private readonly kept = new Map<string, Kept>();
  /** What each holder (a panel) holds. */
  private readonly heldBy = new Map<string, string>();

  constructor(private readonly budgetBytes: () => number) {}

  get(key: string): PromptRun | undefined {
    const k = this.kept.get(key);
    if (!k) return undefined;
    this.kept.delete(key); // re-insert: most recently used last
    this.kept.set(key, k);
    return k.run;
  }

  /** `holder` now shows `run`: keeps it (releasing what the holder held before), within the budget. */
  hold(holder: string, key: string, run: PromptRun): void {
    this.release(holder);
    let k = this.kept.get(key);
    if (!k || k.run !== run) {
      k = { run, bytes: run.trace.cache.byteSize() + run.trace.logits.data.byteLength, holders: k?.holders ?? new Set() };
    }
    k.holders.add(holder);
    this.kept.delete(key);
    this.kept.set(key, k);
    this.heldBy.set(holder, key);
    this.evict();
  }

  /** The holder closed: its run goes when no other holder has it. */
  release(holder: string): void {
    const key = this.heldBy.get(holder);
    if (key === undefined) return;
    this.heldBy.delete(holder);
    const k = this.kept.get(key);
    if (!k) return;
    k.holders.delete(holder);
    if (k.holders.size === 0) this.kept.delete(key);
  }

  /** Runs kept and the bytes of their caches and logits. */
  usage(): { runs: number; bytes: number } {
    let bytes = 0;
    for (const k of this.kept.values()) bytes += k.bytes;
    return { runs: this.kept.size, bytes };
  }

  private evict(): void {
    const budget = this.budgetBytes();
    let { bytes } = this.usage();
    for (const [key, k] of this.kept) {
      if (bytes <= budget) break;
      this.kept.delete(key);
      for (const h of k.holders) this.heldBy.delete(h);
      bytes -= k.bytes;
    }
  }
}
