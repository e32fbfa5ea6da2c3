/**
 * TransformerLens' processing formulas on one linear map y = x W + b held in memory, in either weight
 * layout ('in-out' [in, out] as GPT-2's Conv1D, 'out-in' [out, in] as torch.nn.Linear): fold a norm's
 * weight and bias into the map that reads the norm, centre a map's output (a writing weight), and centre
 * a map's input (a reading weight). Every loop walks stored rows, so memory is read in order; sums are
 * float64.
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

/** Row r of a row-major [rows, width] matrix. */
const row = (m: Float32Array, width: number, r: number) => m.subarray(r * width, (r + 1) * width);

/**
 * The map now reads the norm's input before its weight and bias: b += shift W (with W as it was), then
 * W[i, :] *= scale[i]. LayerNorm's fold then centres W over its input (TransformerLens' center_weights).
 */
export function foldNormInto(l: HeldLinear, scale: Float32Array, shift: Float32Array | undefined, centreInput: boolean): void {
  const { outDim } = inOut(l);
  const [rows, width] = l.shape;
  if (shift) {
    const b = (l.b ??= new Float32Array(outDim));
    const acc = Float64Array.from(b);
    for (let r = 0; r < rows; r++) {
      const w = row(l.w, width, r);
      if (l.layout === 'in-out') {
        const s = shift[r]; // input r
        for (let j = 0; j < width; j++) acc[j] += s * w[j];
      } else {
        let dot = 0; // output r
        for (let i = 0; i < width; i++) dot += w[i] * shift[i];
        acc[r] += dot;
      }
    }
    b.set(acc);
  }
  for (let r = 0; r < rows; r++) {
    const w = row(l.w, width, r);
    if (l.layout === 'in-out') {
      const s = scale[r];
      for (let j = 0; j < width; j++) w[j] *= s;
    } else {
      for (let i = 0; i < width; i++) w[i] *= scale[i];
    }
  }
  if (centreInput) centreOverInput(l);
}

/** W[:, j] -= mean_i W[i, j]: the map ignores the mean of its input. */
export function centreOverInput(l: HeldLinear): void {
  if (l.layout === 'in-out') centreColumns(l.w, l.shape[1]);
  else centreRows(l.w, l.shape[1]);
}

/** W[i, :] -= mean_j W[i, j] and b -= mean(b): the map writes vectors of zero mean. */
export function centreOutput(l: HeldLinear): void {
  if (l.layout === 'in-out') centreRows(l.w, l.shape[1]);
  else centreColumns(l.w, l.shape[1]);
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
  for (let r = 0; r < m.length / width; r++) centreVector(row(m, width, r));
}

/** Each column of a [rows, width] matrix minus its mean over the rows. */
export function centreColumns(m: Float32Array, width: number): void {
  const rows = m.length / width;
  const mean = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    const w = row(m, width, r);
    for (let j = 0; j < width; j++) mean[j] += w[j];
  }
  for (let j = 0; j < width; j++) mean[j] /= rows;
  for (let r = 0; r < rows; r++) {
    const w = row(m, width, r);
    for (let j = 0; j < width; j++) w[j] -= mean[j];
  }
}
