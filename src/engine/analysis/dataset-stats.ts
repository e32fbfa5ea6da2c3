/**
 * Statistics over the prompts of a dataset: the mean of each value and its spread (the population
 * standard deviation, over n), for results that are one array per prompt.
 */

export interface MeanAndSpread {
  mean: Float64Array;
  spread: Float64Array;
}

/** rows: [prompt][k] -> mean[k] and standard deviation[k] over the prompts. */
export function meanAndSpread(rows: readonly ArrayLike<number>[]): MeanAndSpread {
  const n = rows.length;
  const k = rows[0]?.length ?? 0;
  const mean = new Float64Array(k);
  const spread = new Float64Array(k);
  for (const r of rows) for (let i = 0; i < k; i++) mean[i] += r[i] / n;
  for (const r of rows) for (let i = 0; i < k; i++) spread[i] += (r[i] - mean[i]) ** 2 / n;
  for (let i = 0; i < k; i++) spread[i] = Math.sqrt(spread[i]);
  return { mean, spread };
}

/** Progress of item `i` of `n`, each reporting its own (done, total): one count over all items. */
export function itemProgress(onProgress: ((done: number, total: number) => void) | undefined, i: number, n: number): ((done: number, total: number) => void) | undefined {
  return onProgress && ((done, total) => onProgress(i * total + done, n * total));
}
