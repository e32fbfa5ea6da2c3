/**
 * Finished runs kept in the worker, by run id, so panels and the CLI read slices of them (one head, the
 * lens with another target, one hook) without running the model again. Each run counts its holders (a
 * panel showing it, a caller that has not released it); it goes when the last one releases it, or when
 * the kept runs exceed the byte budget (least recently used first; the newest run always stays, so the
 * panel that asked for it can read it). Reading a run that went is a NOT_KEPT error saying how to get it back.
 */
import { fail } from '../engine/errors';

interface Entry<T> {
  run: T;
  /** What identifies the same work (model, prompt, hooks): a new request with it reuses this run. */
  key?: string;
  bytes: number;
  holders: number;
}

export class KeptRuns<T> {
  private nextId: number;
  /** In order of last use: the first entry is evicted first. */
  private readonly runs = new Map<number, Entry<T>>();

  /**
   * `firstId`: where this store's ids start. A fresh worker after a crash starts elsewhere, so a panel
   * still holding an id of the dead one gets NOT_KEPT instead of another run that took its number.
   */
  constructor(private readonly budgetBytes: () => number, private readonly budgetName: string, firstId = 1) {
    this.nextId = firstId;
  }

  /** Keeps a new run held once; returns its id. */
  add(run: T, bytes: number, key?: string): number {
    const id = this.nextId++;
    this.runs.set(id, { run, key, bytes, holders: 1 });
    this.evict(id);
    return id;
  }

  /** A kept run with this key, held once more; undefined when none is kept. */
  reuse(key: string): { id: number; run: T } | undefined {
    for (const [id, e] of this.runs) {
      if (e.key !== key) continue;
      e.holders++;
      this.touch(id, e);
      return { id, run: e.run };
    }
    return undefined;
  }

  get(id: number): T {
    const e = this.runs.get(id);
    if (!e) fail('NOT_KEPT', { field: `run ${id}` }, 'this run is no longer kept (its panels closed, the kept runs went over their budget, or the engine restarted).', `Run it again, or raise ${this.budgetName}.`);
    this.touch(id, e);
    return e.run;
  }

  /** The run, if kept, without counting as a use. */
  peek(id: number): T | undefined {
    return this.runs.get(id)?.run;
  }

  /** One more holder (a second panel showing the same run). */
  hold(id: number): void {
    const e = this.runs.get(id);
    if (!e) this.get(id); // throws NOT_KEPT
    else e.holders++;
  }

  release(id: number): void {
    const e = this.runs.get(id);
    if (!e) return;
    e.holders--;
    if (e.holders <= 0) this.runs.delete(id);
  }

  /** Runs kept (those `counted`, default all) and the bytes of all. */
  usage(counted: (run: T) => boolean = () => true): { runs: number; bytes: number } {
    let bytes = 0;
    let runs = 0;
    for (const e of this.runs.values()) {
      bytes += e.bytes;
      if (counted(e.run)) runs++;
    }
    return { runs, bytes };
  }

  /** Drops every run for which `stale` holds (the model they need was closed). */
  drop(stale: (run: T) => boolean): void {
    for (const [id, e] of this.runs) if (stale(e.run)) this.runs.delete(id);
  }

  private touch(id: number, e: Entry<T>): void {
    this.runs.delete(id); // re-insert: Map order is the recency order
    this.runs.set(id, e);
  }

  private evict(newest: number): void {
    let { bytes } = this.usage();
    const budget = this.budgetBytes();
    for (const [id, e] of this.runs) {
      if (bytes <= budget) break;
      if (id === newest) continue;
      this.runs.delete(id);
      bytes -= e.bytes;
    }
  }
}
