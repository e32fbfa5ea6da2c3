/**
 * The sample of the check on load (the caller's texts first, then the bundled text; rows and total
 * bounded) and the size bar of the processed-twin comparison.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { openCheckpoint } from '../../src/engine/model';
import { CHECK_ROW_TOKENS, CHECK_SAMPLE_TOKENS, TWIN_MAX_BYTES, fp32WeightBytes, sampleRows } from '../../src/worker/sae-checks-on-load';

const ROOT = path.join(__dirname, '..', '..');
const demo = openCheckpoint(path.join(ROOT, 'media', 'models', 'demo'));
const sample = path.join(ROOT, 'media', 'sae-sample.txt');

test('sample rows: the caller\'s texts first, each with BOS and cut, the whole bounded', () => {
  const long = ' the cat sat on the mat'.repeat(60);
  const rows = sampleRows(demo, ['Hello there', long], sample);
  const bos = demo.tokenizer!.encode('x', { prependBos: true })[0].id;
  assert.deepEqual(rows[0].map((t) => t.id), demo.tokenizer!.encode('Hello there', { prependBos: true }).map((t) => t.id));
  assert.equal(rows[1].length, Math.min(CHECK_ROW_TOKENS, demo.config.nCtx), 'a long text is cut, not refused');
  assert.ok(rows.length > 2, 'the bundled text follows');
  for (const r of rows) assert.equal(r[0].id, bos);
  const total = rows.reduce((a, r) => a + r.length, 0);
  assert.ok(total <= CHECK_SAMPLE_TOKENS && total > CHECK_SAMPLE_TOKENS - CHECK_ROW_TOKENS, `${total} tokens`);
  // No sample file: the caller's texts alone.
  assert.equal(sampleRows(demo, ['Hello there'], path.join(ROOT, 'no-such-sample.txt')).length, 1);
});

test('the processed twin is compared for GPT-2-sized models, not for billion-parameter ones', () => {
  const gpt2 = fp32WeightBytes({ ...demo.config, nLayers: 12, dModel: 768, dMlp: 3072, dVocab: 50257 });
  assert.ok(gpt2 > 600e6 && gpt2 < 700e6, `${gpt2}`); // 124M parameters, the tied unembedding counted twice
  assert.ok(gpt2 < TWIN_MAX_BYTES);
  assert.ok(fp32WeightBytes({ ...demo.config, nLayers: 26, dModel: 2304, dMlp: 9216, dVocab: 256000 }) > TWIN_MAX_BYTES); // Gemma 2 2B
});
