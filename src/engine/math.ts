/** Small numeric helpers on flat rows of logits. */

/** Probabilities of one row of logits (numerically stable softmax). */
export function softmax(row: Float32Array): Float32Array {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  const out = new Float32Array(row.length);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += out[i] = Math.exp(row[i] - max);
  for (let i = 0; i < row.length; i++) out[i] /= sum;
  return out;
}

/** log softmax of one row at one index, in float64 for the normaliser (no row-sized allocation: loss metrics call it per position). */
export function logProbAt(row: Float32Array, index: number): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  return row[index] - (max + Math.log(sum));
}

export interface Ranked {
  index: number;
  value: number;
}

/** The k largest entries of a row, largest first (ties: lower index first). */
export function topK(row: ArrayLike<number>, k: number): Ranked[] {
  const n = Math.min(k, row.length);
  const best: Ranked[] = [];
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (best.length === n && v <= best[n - 1].value) continue;
    let j = best.length < n ? best.length : n - 1;
    while (j > 0 && best[j - 1].value < v) j--;
    best.splice(j, 0, { index: i, value: v });
    if (best.length > n) best.pop();
  }
  return best;
}

/** A small seeded generator of floats in [0, 1) (mulberry32): sampled continuations and drawn datasets reproduce. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
