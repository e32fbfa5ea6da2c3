/** The inline prediction after a traced prompt stays short: two tokens, at most 30 characters. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PREDICTION_CHARS, predictionText } from '../../src/host/inline/prediction-text';

test('the first two predictions, quoted, with their probabilities', () => {
  assert.equal(predictionText([{ text: ' mat', prob: 0.4636 }, { text: '\n', prob: 0.042 }, { text: ' the', prob: 0.01 }]), '→ " mat" 46%, "\\n" 4.2%');
  assert.equal(predictionText([{ text: ' mat', prob: 1 }]), '→ " mat" 100%');
});

test('EXPECTED FAILURE - a long prediction is cut to 30 characters, never inside a character', () => {
  const long = predictionText([{ text: ' ----------------------------------------', prob: 0.5 }, { text: ' x', prob: 0.2 }]);
  assert.equal([...long].length, PREDICTION_CHARS);
  assert.equal(long, '→ " -------------------------…');
  const emoji = predictionText([{ text: ' 😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀', prob: 0.5 }]);
  assert.equal([...emoji].length, PREDICTION_CHARS);
  assert.ok(!/[\uD800-\uDBFF]…$/.test(emoji), 'no lone surrogate before the ellipsis');
});
