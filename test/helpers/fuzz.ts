/** Seeded property-based fuzzing: every case must end in a result or an EngineError, nothing else. */
import * as assert from 'node:assert/strict';
import { writeSync } from 'node:fs';
import { EngineError } from '../../src/engine/errors';

/** mulberry32: a small seeded generator, so a failing case can be replayed from its seed. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)];
  return { next, int, pick };
}
export type Rng = ReturnType<typeof rng>;

export interface FuzzOutcome {
  ok: number;
  engineErrors: number;
  /** Distinct error messages with the first part of the message, for the report. */
  kinds: Map<string, number>;
}

/** Runs `cases` cases; any thrown value that is not an EngineError fails with the case's seed. */
export function fuzz(name: string, cases: number, seed: number, body: (r: Rng, i: number) => void): FuzzOutcome {
  const out: FuzzOutcome = { ok: 0, engineErrors: 0, kinds: new Map() };
  for (let i = 0; i < cases; i++) {
    const caseSeed = seed * 1_000_003 + i;
    if (process.env.FUZZ_TRACE) writeSync(2, `${name} case ${i}\n`); // FUZZ_TRACE=1: the last line names a case that hangs
    try {
      body(rng(caseSeed), i);
      out.ok++;
    } catch (e) {
      if (!(e instanceof EngineError)) {
        if (process.env.FUZZ_DEBUG) console.error(e); // FUZZ_DEBUG=1 prints the stack of the failing case
        assert.fail(`${name}: case ${i} (seed ${caseSeed}) threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      }
      out.engineErrors++;
      const kind = `${e.code}: ${e.message.replace(/^[^:]*: /, '').replace(/[0-9]+/g, 'N').slice(0, 60)}`;
      out.kinds.set(kind, (out.kinds.get(kind) ?? 0) + 1);
    }
  }
  // FUZZ_KINDS=1 lists every error kind with its count, most frequent first (for the bad-input report).
  if (process.env.FUZZ_KINDS) for (const [k, n] of [...out.kinds].sort((a, b) => b[1] - a[1])) console.log(`# ${name} | ${n} | ${k}`);
  return out;
}
