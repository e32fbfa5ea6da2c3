/** Next-token cross-entropy from logits. */
import { logSoftmax } from '../math';
import type { TensorData } from '../../protocol/tensor';

/** Loss of predicting tokens[b][p + 1] at position p: [batch][pos - 1], in nats. */
export function tokenLosses(logits: TensorData, tokens: readonly (readonly number[])[]): number[][] {
  const [batch, pos, vocab] = logits.dims; // [batch, pos, d_vocab]
  return Array.from({ length: batch }, (_, b) =>
    Array.from({ length: pos - 1 }, (_, p) => {
      const row = logits.data.subarray((b * pos + p) * vocab, (b * pos + p + 1) * vocab);
      return -logSoftmax(row)[tokens[b][p + 1]];
    }),
  );
}
