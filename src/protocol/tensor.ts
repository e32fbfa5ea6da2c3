/** Tensors cross thread and webview boundaries as a typed array plus its shape, never nested arrays. */
export interface TensorData {
  /** Row-major (C order) shape. */
  dims: number[];
  data: Float32Array;
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}
