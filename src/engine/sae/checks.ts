/**
 * The figures a dictionary's self-check measures on a sample (FVU, cosine, L0, dead features) and the
 * warnings that signal a mis-load, each with its likely cause: the silent failures users report most
 * (TopK run as ReLU, a dropped threshold, a missing normalisation, the wrong hook or model processing).
 */
import type { SparseDictionary } from './types';

export interface ReconstructionStats {
  /** Rows measured. */
  n: number;
  /** Fraction of variance unexplained: sum ||y - y_hat||^2 / sum ||y - mean(y)||^2 over the sample. */
  fvu: number;
  /** Mean cosine between each row and its reconstruction. */
  cosine: number;
  /** Mean count of non-zero feature activations per row. */
  l0: number;
  /** Fraction of features never active in the sample. */
  deadFraction: number;
}

/** Stats of target [n, d_out] against recons [n, d_out], with the activations [n, d_sae]. */
export function reconstructionStats(target: Float32Array, recons: Float32Array, acts: Float32Array, n: number, dOut: number, dSae: number): ReconstructionStats {
  const mean = new Float64Array(dOut);
  for (let r = 0; r < n; r++) for (let j = 0; j < dOut; j++) mean[j] += target[r * dOut + j] / n;
  let err = 0;
  let variance = 0;
  let cosSum = 0;
  for (let r = 0; r < n; r++) {
    let dot = 0;
    let yy = 0;
    let hh = 0;
    for (let j = 0; j < dOut; j++) {
      const y = target[r * dOut + j];
      const h = recons[r * dOut + j];
      err += (y - h) ** 2;
      variance += (y - mean[j]) ** 2;
      dot += y * h;
      yy += y * y;
      hh += h * h;
    }
    cosSum += yy > 0 && hh > 0 ? dot / Math.sqrt(yy * hh) : 0;
  }
  let active = 0;
  const alive = new Uint8Array(dSae);
  for (let r = 0; r < n; r++) {
    for (let f = 0; f < dSae; f++) {
      if (acts[r * dSae + f] !== 0) {
        active++;
        alive[f] = 1;
      }
    }
  }
  return { n, fvu: variance > 0 ? err / variance : err > 0 ? Infinity : 0, cosine: cosSum / n, l0: active / n, deadFraction: 1 - alive.reduce((a, b) => a + b, 0) / dSae };
}

export interface MisloadWarning {
  metric: 'fvu' | 'cosine' | 'l0' | 'topk_l0' | 'expected_l0';
  value: number;
  /** The bar it crossed. */
  bar: number;
  message: string;
  likelyCause: 'hook' | 'normalisation' | 'architecture' | 'weight processing';
}

/** What a release publishes about its dictionary (SAELens' pretrained_saes.yaml: l0), when known. */
export interface PublishedFigures {
  l0?: number;
}

const FVU_BAR = 0.5;
const COSINE_BAR = 0.8;
/** Measured L0 more than this factor off the published one is a different function, not noise. */
const L0_FACTOR = 2;

const f = (v: number) => (Number.isFinite(v) ? v.toPrecision(3) : String(v));

/** The warnings `stats` raise for `dict`: none for a dictionary that loaded as trained. */
export function misloadSignals(stats: ReconstructionStats, dict: SparseDictionary, published: PublishedFigures = {}): MisloadWarning[] {
  const out: MisloadWarning[] = [];
  const reconCause = dict.normalization.kind === 'none' ? 'hook' : 'normalisation';
  if (stats.fvu > FVU_BAR) {
    out.push({ metric: 'fvu', value: stats.fvu, bar: FVU_BAR, likelyCause: reconCause,
      message: `FVU ${f(stats.fvu)} is above ${FVU_BAR}: the dictionary reconstructs its input poorly. Likely the wrong hook (${dict.hookIn}), an input normalisation not applied, or the model's weights processed differently from training.` });
  }
  if (stats.cosine < COSINE_BAR) {
    out.push({ metric: 'cosine', value: stats.cosine, bar: COSINE_BAR, likelyCause: reconCause,
      message: `cosine ${f(stats.cosine)} between activations and reconstructions is below ${COSINE_BAR}. Likely the wrong hook (${dict.hookIn}) or a missing normalisation.` });
  }
  if (stats.l0 < 1) {
    out.push({ metric: 'l0', value: stats.l0, bar: 1, likelyCause: 'normalisation',
      message: `L0 ${f(stats.l0)}: features almost never fire. Likely inputs on the wrong scale (a normalisation not applied) or the wrong hook.` });
  }
  if (stats.l0 > dict.dSae / 2) {
    out.push({ metric: 'l0', value: stats.l0, bar: dict.dSae / 2, likelyCause: 'architecture',
      message: `L0 ${f(stats.l0)} is above half of d_sae (${dict.dSae}): not a sparse code. Likely a TopK or JumpReLU dictionary run as ReLU (architecture field, or a dropped threshold).` });
  }
  if (dict.activation.kind === 'topk' && stats.l0 > dict.activation.k) {
    out.push({ metric: 'topk_l0', value: stats.l0, bar: dict.activation.k, likelyCause: 'architecture',
      message: `L0 ${f(stats.l0)} exceeds the TopK k = ${dict.activation.k}: the activation is not the TopK it was trained with.` });
  }
  if (published.l0 !== undefined && published.l0 > 0 && (stats.l0 > published.l0 * L0_FACTOR || stats.l0 < published.l0 / L0_FACTOR)) {
    out.push({ metric: 'expected_l0', value: stats.l0, bar: published.l0, likelyCause: stats.l0 > published.l0 ? 'architecture' : 'normalisation',
      message: `L0 ${f(stats.l0)} is far from the published ${f(published.l0)}. ${stats.l0 > published.l0 ? 'Likely the wrong architecture (TopK or JumpReLU run as ReLU).' : 'Likely inputs on the wrong scale or the wrong hook.'}` });
  }
  return out;
}
