/**
 * A plain TypeScript CPU encoder/decoder for every dictionary the readers produce, for tests and for a
 * self-check on a few rows: the definition the graph version is checked against. It reads only the
 * SparseDictionary's fields (never its format), so each library's semantics must already be in them.
 */
import type { Linear, WeightRef } from '../params';
import { readTensor } from '../weight-reader';
import type { DictionarySource, InputNormalization, SparseDictionary } from './types';

/** The dictionary's tensors as float32 in one orientation: W_enc [d_in, d_sae], W_dec [d_sae, (n_targets,) d_out]. */
export interface DenseWeights {
  wEnc: Float32Array; // [d_in, d_sae]
  bEnc: Float32Array; // [d_sae]
  wDec: Float32Array; // [d_sae, d_out], or [d_sae, n_targets, d_out] for a cross-layer transcoder
  bDec: Float32Array; // [d_out]
  nTargets: number;
  wSkip?: Float32Array; // [d_in, d_out]
  threshold?: Float32Array; // [d_sae]
  bMag?: Float32Array; // [d_sae]
  rMag?: Float32Array; // [d_sae]
  /** ||W_dec row||, over all targets (TopK with rescaleActsByDecoderNorm). */
  decNorm?: Float32Array; // [d_sae]
}

export interface EncodeResult {
  /** The pre-activations (SAELens' hook_sae_acts_pre: the magnitude path for gated SAEs). */
  actsPre: Float32Array; // [n, d_sae]
  /** The feature activations (hook_sae_acts_post). */
  actsPost: Float32Array; // [n, d_sae]
  /** The reconstruction of hookIn (SAE) or prediction of hookOut (transcoder); for a cross-layer transcoder, of its own layer from its own features only. */
  recons: Float32Array; // [n, d_out]
  /** Cross-layer transcoders: this layer's features' contribution to each target layer, without biases. */
  contributions?: Float32Array[]; // n_targets x [n, d_out]
}

function norm(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s);
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/** A Linear's matrix as [in, out]: 'out-in' matrices ([out, in]) are transposed. */
function inOut(source: DictionarySource, l: Linear): Float32Array {
  const w = readTensor(source, l.w);
  return l.layout === 'in-out' ? w : transpose(w, l.w.shape[0], l.w.shape[1]);
}

function vec(source: DictionarySource, ref: WeightRef | undefined, size: number): Float32Array {
  return ref ? readTensor(source, ref) : new Float32Array(size);
}

/** Reads a dictionary's tensors once (the file reads are the slow part). */
export function denseWeights(d: SparseDictionary): DenseWeights {
  const s = d.source;
  const nTargets = d.crossLayer ? d.crossLayer.hooksOut.length : 1;
  const wDec = d.crossLayer ? readTensor(s, d.decoder.w) : inOut(s, d.decoder);
  const w: DenseWeights = {
    wEnc: inOut(s, d.encoder),
    bEnc: vec(s, d.encoder.b, d.dSae),
    wDec,
    bDec: vec(s, d.decoder.b, d.dOut),
    nTargets,
    wSkip: d.skip ? inOut(s, d.skip) : undefined,
  };
  if (d.activation.kind === 'jumprelu') w.threshold = readTensor(s, d.activation.threshold);
  if (d.activation.kind === 'gated') {
    w.bMag = readTensor(s, d.activation.bMag);
    w.rMag = readTensor(s, d.activation.rMag);
  }
  if (d.rescaleActsByDecoderNorm) {
    const row = nTargets * d.dOut;
    w.decNorm = new Float32Array(d.dSae).map((_, f) => norm(wDec.subarray(f * row, (f + 1) * row)));
  }
  return w;
}

/** x [n, a] @ w [a, b] (+ bias [b]) in float64 accumulation. */
function matmul(x: Float32Array, n: number, a: number, w: Float32Array, b: number, bias?: Float32Array): Float32Array {
  const out = new Float32Array(n * b);
  const acc = new Float64Array(b);
  for (let r = 0; r < n; r++) {
    if (bias) for (let j = 0; j < b; j++) acc[j] = bias[j];
    else acc.fill(0);
    for (let i = 0; i < a; i++) {
      const v = x[r * a + i];
      if (v === 0) continue;
      const row = i * b;
      for (let j = 0; j < b; j++) acc[j] += v * w[row + j];
    }
    for (let j = 0; j < b; j++) out[r * b + j] = acc[j];
  }
  return out;
}

/** Per-row normalisation: the normalised input, and the map that restores the output's scale. */
function normalize(mode: InputNormalization, x: Float32Array, n: number, dIn: number, dOut: number): { xn: Float32Array; restore: (y: Float32Array) => void } {
  const xn = new Float32Array(x);
  const perRow = (scaleIn: (r: number) => number, scaleOut: (r: number) => number) => {
    for (let r = 0; r < n; r++) for (let i = 0; i < dIn; i++) xn[r * dIn + i] *= scaleIn(r);
    return { xn, restore: (y: Float32Array) => { for (let r = 0; r < n; r++) for (let j = 0; j < dOut; j++) y[r * dOut + j] *= scaleOut(r); } };
  };
  switch (mode.kind) {
    case 'none':
      return { xn, restore: () => {} };
    case 'expected_average_only_in': {
      const s = mode.scalingFactor ?? 1;
      return perRow(() => s, () => 1 / s);
    }
    case 'dataset_wise':
      return perRow(() => Math.sqrt(dIn) / mode.normIn, () => mode.normOut / Math.sqrt(dOut));
    case 'constant_norm_rescale': {
      const f = Array.from({ length: n }, (_, r) => Math.sqrt(dIn) / norm(x.subarray(r * dIn, (r + 1) * dIn)));
      return perRow((r) => f[r], (r) => 1 / f[r]);
    }
    case 'layer_norm': {
      // SAELens: (x - mean) / (std + eps) in, y * std + mean out; std unbiased, as torch's.
      const mu = new Float64Array(n);
      const sd = new Float64Array(n);
      for (let r = 0; r < n; r++) {
        const row = x.subarray(r * dIn, (r + 1) * dIn);
        mu[r] = row.reduce((a, v) => a + v, 0) / dIn;
        sd[r] = Math.sqrt(row.reduce((a, v) => a + (v - mu[r]) ** 2, 0) / (dIn - 1));
        for (let i = 0; i < dIn; i++) xn[r * dIn + i] = (row[i] - mu[r]) / (sd[r] + mode.eps);
      }
      return { xn, restore: (y) => { for (let r = 0; r < n; r++) for (let j = 0; j < dOut; j++) y[r * dOut + j] = y[r * dOut + j] * sd[r] + mu[r]; } };
    }
  }
}

/** The activation on one row of pre-activations (`gate` is the gated SAE's gate path). */
function activate(d: SparseDictionary, w: DenseWeights, pre: Float32Array, gate: Float32Array | undefined, out: Float32Array): void {
  const a = d.activation;
  switch (a.kind) {
    case 'relu':
      for (let f = 0; f < pre.length; f++) out[f] = Math.max(pre[f], 0);
      return;
    case 'jumprelu':
      for (let f = 0; f < pre.length; f++) out[f] = pre[f] > w.threshold![f] ? (a.semantics === 'saelens' ? Math.max(pre[f], 0) : pre[f]) : 0;
      return;
    case 'gated':
      for (let f = 0; f < pre.length; f++) out[f] = gate![f] > 0 ? Math.max(pre[f], 0) : 0;
      return;
    case 'topk': {
      const z = w.decNorm ? pre.map((v, f) => v * w.decNorm![f]) : pre;
      const order = Array.from(z.keys()).sort((i, j) => z[j] - z[i] || i - j).slice(0, a.k);
      out.fill(0);
      for (const f of order) out[f] = a.semantics === 'saelens' ? Math.max(z[f], 0) : z[f];
    }
  }
}

/** Encodes and decodes a batch: x [n, d_in] (hook_z inputs already flattened). */
export function encodeBatch(d: SparseDictionary, x: Float32Array, n: number, w: DenseWeights = denseWeights(d)): EncodeResult {
  const { dIn, dSae, dOut } = d;
  const { xn, restore } = normalize(d.normalization, x, n, dIn, dOut);
  if (d.applyBDecToInput) for (let r = 0; r < n; r++) for (let i = 0; i < dIn; i++) xn[r * dIn + i] -= w.bDec[i];
  let actsPre: Float32Array;
  let gate: Float32Array | undefined;
  if (d.activation.kind === 'gated') {
    gate = matmul(xn, n, dIn, w.wEnc, dSae, w.bEnc);
    const wMag = w.wEnc.map((v, i) => v * Math.exp(w.rMag![i % dSae]));
    actsPre = matmul(xn, n, dIn, wMag, dSae, w.bMag);
  } else {
    actsPre = matmul(xn, n, dIn, w.wEnc, dSae, w.bEnc);
  }
  const actsPost = new Float32Array(n * dSae);
  for (let r = 0; r < n; r++) {
    activate(d, w, actsPre.subarray(r * dSae, (r + 1) * dSae), gate?.subarray(r * dSae, (r + 1) * dSae), actsPost.subarray(r * dSae, (r + 1) * dSae));
  }
  const decIn = w.decNorm ? actsPost.map((v, i) => v / w.decNorm![i % dSae]) : actsPost;
  let recons: Float32Array;
  let contributions: Float32Array[] | undefined;
  if (d.crossLayer) {
    contributions = Array.from({ length: w.nTargets }, (_, t) => {
      const slice = new Float32Array(dSae * dOut);
      for (let f = 0; f < dSae; f++) slice.set(w.wDec.subarray((f * w.nTargets + t) * dOut, (f * w.nTargets + t + 1) * dOut), f * dOut);
      return matmul(decIn, n, dSae, slice, dOut);
    });
    recons = contributions[0].map((v, i) => v + w.bDec[i % dOut]);
  } else {
    recons = matmul(decIn, n, dSae, w.wDec, dOut, w.bDec);
  }
  restore(recons);
  if (w.wSkip) {
    const skip = matmul(x, n, dIn, w.wSkip, dOut);
    for (let i = 0; i < recons.length; i++) recons[i] += skip[i];
  }
  return { actsPre, actsPost, recons, contributions };
}

/**
 * A cross-layer transcoder's output at every layer: layer j sums the contributions of source layers
 * 0..j plus its own bias and skip. `layers` in layer order, `inputs[i]` [n, d_in] at layer i's input hook.
 */
export function crossLayerReconstruct(layers: readonly SparseDictionary[], inputs: readonly Float32Array[], n: number): Float32Array[] {
  const results = layers.map((d, i) => encodeBatch(d, inputs[i], n));
  return layers.map((_, j) => {
    const out = new Float32Array(results[j].recons);
    for (let i = 0; i < j; i++) {
      const c = results[i].contributions![j - i];
      for (let e = 0; e < out.length; e++) out[e] += c[e];
    }
    return out;
  });
}
