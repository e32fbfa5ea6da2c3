/**
 * A spec's `saes` entries checked against a checkpoint without loading the model: each dictionary opened
 * (config and tensor headers) with its hook and d_in checked against the model's hook points. A failure
 * is a problem on that entry, so the editor underlines the entry that is wrong; the dictionaries that
 * open add their hooks, so `cache` and other fields may name `<hook>.hook_sae_acts_post` and the like.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isEngineError } from '../engine/errors';
import type { HookPoint } from '../engine/hooks';
import type { Checkpoint } from '../engine/model';
import { AttachedSae, withSaeHooks } from '../engine/sae/attach';
import { resolveDictionaryPath } from '../engine/sae/resolve';
import type { SaeSpec } from '../engine/spec/types';
import type { SaeCheckInfo, SpecProblemInfo } from '../protocol/runner';
import { openAttachedSaes } from './attach-saes';

/** An entry's dictionaries: one, or every layer of a cross-layer transcoder. */
type Opened = { saes: AttachedSae[] } | { message: string };

/** When the folder (or file) an entry names last changed: a re-download or an edited cfg.json reopens it. */
function stampOf(entry: SaeSpec, baseDir: string): string {
  try {
    const p = resolveDictionaryPath(entry.path.value, { baseDir });
    const st = fs.statSync(p);
    const files = st.isDirectory() ? fs.readdirSync(p).map((f) => { try { return fs.statSync(path.join(p, f)).mtimeMs; } catch { return 0; } }) : [];
    return `${p}|${st.mtimeMs}|${Math.max(0, ...files)}`;
  } catch {
    return 'missing';
  }
}

/** Opened dictionaries by checkpoint, entry and stamp: diagnostics ask on every edit, and an npz inflates. */
export class SpecSaeProbe {
  private readonly opened = new Map<string, { stamp: string; result: Opened }>();

  private open(ckpt: Checkpoint, entry: SaeSpec, baseDir: string): Opened {
    const key = JSON.stringify([ckpt.dir, baseDir, entry.path.value, entry.hook?.value ?? '', entry.mode.value]);
    const stamp = stampOf(entry, baseDir);
    const hit = this.opened.get(key);
    if (hit && hit.stamp === stamp) return hit.result;
    let result: Opened;
    try {
      result = { saes: openAttachedSaes(ckpt, [{ path: entry.path.value, baseDir, ...(entry.hook ? { hook: entry.hook.value } : {}), mode: entry.mode.value }]) };
    } catch (e) {
      if (!isEngineError(e)) throw e;
      result = { message: e.message };
    }
    this.opened.set(key, { stamp, result });
    return result;
  }

  /** The entries' problems, and the model's hooks with those of every dictionary that opened. */
  check(ckpt: Checkpoint, entries: readonly SaeSpec[], specPath: string): { problems: SpecProblemInfo[]; hooks: readonly HookPoint[]; attached: { entry: SaeSpec; sae: AttachedSae }[] } {
    const baseDir = path.dirname(specPath);
    const problems: SpecProblemInfo[] = [];
    const attached: { entry: SaeSpec; saes: AttachedSae[] }[] = [];
    for (const entry of entries) {
      const r = this.open(ckpt, entry, baseDir);
      if ('message' in r) problems.push({ severity: 'error', message: `saes[${entry.index}]: ${r.message}`, range: entry.range });
      else attached.push({ entry, saes: r.saes });
    }
    // Two entries on one hook: the later one is the problem.
    const kept: AttachedSae[] = [];
    const ok: { entry: SaeSpec; sae: AttachedSae }[] = [];
    for (const { entry, saes } of attached) {
      try {
        withSaeHooks(ckpt.hooks, [...kept, ...saes]);
        kept.push(...saes);
        ok.push(...saes.map((sae) => ({ entry, sae })));
      } catch (e) {
        if (!isEngineError(e)) throw e;
        problems.push({ severity: 'error', message: `saes[${entry.index}]: ${e.message}`, range: entry.range });
      }
    }
    return { problems, hooks: kept.length ? withSaeHooks(ckpt.hooks, kept) : ckpt.hooks, attached: ok };
  }
}

const f = (v: number) => (Number.isFinite(v) ? v.toPrecision(3) : String(v));

/**
 * Warnings on an entry from its dictionary's check on load: each mis-load signal with its likely cause,
 * and a processing recommendation. Its figures lead each message, so a hover shows what was measured.
 */
export function checkProblems(entry: SaeSpec, c: SaeCheckInfo): SpecProblemInfo[] {
  const figures = `FVU ${f(c.stats.fvu)}, cosine ${f(c.stats.cosine)}, L0 ${f(c.stats.l0)}, dead ${(100 * c.stats.deadFraction).toFixed(1)}%${c.loss ? `, CE loss recovered ${f(c.loss.ceLossScore)}` : ''} on ${c.stats.n} tokens`;
  const messages = [...c.warnings.map((w) => `${w.message} (likely cause: ${w.likelyCause})`), ...(c.processed?.recommended && c.processed.message ? [c.processed.message] : [])];
  return messages.map((m) => ({ severity: 'warning', message: `saes[${entry.index}]: self-check on load (${figures}): ${m}`, range: entry.range }));
}
