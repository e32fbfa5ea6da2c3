/** Tensors cross thread and webview boundaries as a typed array plus its shape, never nested arrays. */
export interface TensorData {
  /** Row-major (C order) shape. */
  dims: number[];
  data: Float32Array;
}
