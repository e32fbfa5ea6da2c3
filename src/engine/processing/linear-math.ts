/**
 * TransformerLens' processing formulas on one linear map y = x W + b held in memory, in either weight
 * layout ('in-out' [in, out] as GPT-2's Conv1D, 'out-in' [out, in] as torch.nn.Linear): fold a norm's
 * weight and bias into the map that reads the norm, centre a map's output (a writing weight), and centre
 * a map's input (a reading weight). Sums in float64.
 */

export interface HeldLinear {
  w: Float32Array;
  shape: [number, number];
  layout: 'in-out' | 'out-in';
  /** [out], created when a fold needs one. */
  b?: Float32Array;
}

export function inOut(l: HeldLinear): { inDim: number; outDim: number } {
  return l.layout === 'in-out' ? { inDim: l.shape[0], outDim: l.shape[1] } : { inDim: l.shape[1], outDim: l.shape[0] };
}

/** Index of W[i (input), j (output)] in the stored array. */
function at(l: HeldLinear, i: number, j: number): number {
  return l.layout === 'in-out' ? i * l.shape[1] + j : j * l.shape[1] + i;
}

/**
 * The map now reads the norm's input before its weight and bias: b += shift W (with W as it was), then
 * W[i, :] *= scale[i]. LayerNorm's fold then centres W over its input (TransformerLens' center_weights).
 */
export function foldNormInto(l: HeldLinear, scale: Float32Array, shift: Float32Array | undefined, centreInput: boolean): void {
  const { inDim, outDim } = inOut(l);
  if (shift) {
    const b = (l.b ??= new Float32Array(outDim));
    for (let j = 0; j < outDim; j++) {
      let s = 0;
      for (let i = 0; i < inDim; i++) s += shift[i] * l.w[at(l, i, j)];
      b[j] += s;
    }
  }
  for (let i = 0; i < inDim; i++) for (let j = 0; j < outDim; j++) l.w[at(l, i, j)] *= scale[i];
  if (centreInput) centreOverInput(l);
}

/** W[:, j] -= mean_i W[i, j]: the map ignores the mean of its input. */
export function centreOverInput(l: HeldLinear): void {
  const { inDim, outDim } = inOut(l);
  for (let j = 0; j < outDim; j++) {
    let mean = 0;
    for (let i = 0; i < inDim; i++) mean += l.w[at(l, i, j)];
    mean /= inDim;
    for (let i = 0; i < inDim; i++) l.w[at(l, i, j)] -= mean;
  }
}

/** W[i, :] -= mean_j W[i, j] and b -= mean(b): the map writes vectors of zero mean. */
export function centreOutput(l: HeldLinear): void {
  const { inDim, outDim } = inOut(l);
  for (let i = 0; i < inDim; i++) {
    let mean = 0;
    for (let j = 0; j < outDim; j++) mean += l.w[at(l, i, j)];
    mean /= outDim;
    for (let j = 0; j < outDim; j++) l.w[at(l, i, j)] -= mean;
  }
  if (l.b) centreVector(l.b);
}

export function centreVector(v: Float32Array): void {
  let mean = 0;
  for (let i = 0; i < v.length; i++) mean += v[i];
  mean /= v.length;
  for (let i = 0; i < v.length; i++) v[i] -= mean;
}

/** Each row of a [rows, width] matrix minus its mean (embeddings: every row written to the stream). */
export function centreRows(m: Float32Array, width: number): void {
  for (let r = 0; r < m.length / width; r++) centreVector(m.subarray(r * width, (r + 1) * width));
}
