/** Timing for the benchmarks: two warm-up calls, then the median of `repeats` timed calls. */
export function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

export async function medianMs(repeats: number, f: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2; i++) await f();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Medians of `repeats` rounds, each timing every case once in turn (two warm-up rounds): ratios within one noisy run. */
export async function interleavedMedians(repeats: number, cases: (() => Promise<unknown>)[]): Promise<number[]> {
  const times = cases.map(() => [] as number[]);
  for (let r = 0; r < repeats + 2; r++) {
    for (const [i, f] of cases.entries()) {
      const t0 = performance.now();
      await f();
      if (r >= 2) times[i].push(performance.now() - t0);
    }
  }
  return times.map(median);
}
