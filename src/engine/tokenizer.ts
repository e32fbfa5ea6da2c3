/**
 * Tokenizer from a checkpoint's own files, through @huggingface/tokenizers: tokenizer.json, or GPT-2's
 * vocab.json + merges.txt (assembled into the equivalent byte-level BPE tokenizer.json in memory).
 * Every token carries its character range in the prompt (UTF-16 code units, as editors count them).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { fail } from './errors';

export interface Token {
  id: number;
  /** The token decoded on its own (a piece of a multi-byte character decodes to U+FFFD). */
  text: string;
  /** Character range [start, end) in the prompt; a prepended BOS has start = end = 0. */
  start: number;
  end: number;
}

export interface EncodeOptions {
  /** Prepend the BOS token, as TransformerLens does by default. */
  prependBos?: boolean;
}

/** GPT-2's reversible map from bytes to printable characters, inverted: character -> byte. */
function unicodeToByte(): Map<string, number> {
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    map.set(String.fromCharCode(printable ? b : 256 + extra++), b);
  }
  return map;
}
/** GPT-2's byte-level alphabet inverted: the byte each character of a byte-level BPE token stands for. */
export const BYTE_OF: ReadonlyMap<string, number> = unicodeToByte();

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail('BAD_TOKENIZER', { file }, `cannot read it as JSON (${(e as Error).message}).`);
  }
}

/** tokenizer.json equivalent of GPT-2's vocab.json + merges.txt (byte-level BPE, no prefix space). */
function byteLevelBpe(vocab: Record<string, number>, merges: string[], specials: string[]): object {
  const added = specials
    .filter((s) => s in vocab)
    .map((s) => ({ id: vocab[s], content: s, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  return {
    version: '1.0',
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

/** Ids of a token -> id vocabulary: distinct integers in [0, 2^24). One pass, no per-entry allocation (GPT-2 has 50,257). */
function checkVocabIds(vocab: unknown, file: string): void {
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) fail('BAD_TOKENIZER', { file, field: 'vocab' }, 'is not a token -> id object.');
  const seen = new Uint8Array(2 ** 21); // one bit per possible id
  const entries = vocab as Record<string, unknown>;
  for (const token in entries) {
    const id = entries[token];
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= 2 ** 24) fail('BAD_TOKENIZER', { file, field: `vocab[${JSON.stringify(token)}]` }, `id ${JSON.stringify(id)} is not an integer in [0, 2^24).`);
    const byte = (id as number) >>> 3;
    const bit = 1 << ((id as number) & 7);
    if (seen[byte] & bit) fail('BAD_TOKENIZER', { file, field: `vocab[${JSON.stringify(token)}]` }, `id ${id} is used twice.`);
    seen[byte] |= bit;
  }
}

/** Each merge is two non-empty tokens: "a b" (one space) or ["a", "b"]. */
function checkMerges(merges: unknown, file: string): void {
  if (!Array.isArray(merges)) fail('BAD_TOKENIZER', { file, field: 'merges' }, 'is not a list.');
  merges.forEach((m, i) => {
    const ok = typeof m === 'string'
      ? m.indexOf(' ') > 0 && m.indexOf(' ') === m.lastIndexOf(' ') && m.indexOf(' ') < m.length - 1
      : Array.isArray(m) && m.length === 2 && m.every((x) => typeof x === 'string' && x.length > 0);
    if (!ok) fail('BAD_TOKENIZER', { file, field: `merges[${i}]` }, `${JSON.stringify(m)} is not a pair of two tokens.`);
  });
}

/** A Unigram vocabulary: a list of [piece, log-probability] pairs. */
function checkUnigram(vocab: unknown, file: string): void {
  if (!Array.isArray(vocab)) fail('BAD_TOKENIZER', { file, field: 'vocab' }, 'is not a list of [piece, score] pairs.');
  vocab.forEach((e, i) => {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'number' || !Number.isFinite(e[1])) {
      fail('BAD_TOKENIZER', { file, field: `vocab[${i}]` }, `${JSON.stringify(e)} is not a [piece, score] pair.`);
    }
  });
}

const MODEL_TYPES = ['BPE', 'WordPiece', 'Unigram'];

/**
 * The model section of a tokenizer.json, checked before the tokenizer library sees it: the library
 * loops forever on some malformed vocabularies, so they are refused here with the entry at fault.
 */
function checkModel(model: unknown, file: string): void {
  if (typeof model !== 'object' || model === null || Array.isArray(model)) fail('BAD_TOKENIZER', { file, field: 'model' }, 'is not an object.');
  const { type, vocab, merges } = model as { type?: unknown; vocab?: unknown; merges?: unknown };
  switch (type) {
    case 'BPE':
      checkVocabIds(vocab, file);
      checkMerges(merges, file);
      return;
    case 'WordPiece':
      checkVocabIds(vocab, file);
      return;
    case 'Unigram':
      checkUnigram(vocab, file);
      return;
    default:
      fail('BAD_TOKENIZER', { file, field: 'model.type' }, `${JSON.stringify(type)} is not a tokenizer model Circuit Lens reads.`, `Supported: ${MODEL_TYPES.join(', ')}.`);
  }
}

function tokenString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

const TOKENIZER_FILES = ['tokenizer.json', 'vocab.json', 'merges.txt', 'tokenizer_config.json'];
/** Tokenizers built recently, by folder and file versions (least recently used first). */
const built = new Map<string, ModelTokenizer | null>();
const KEPT_TOKENIZERS = 4;

/** Size and modification time of a file, or '-' when it is absent. */
function fileStamp(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return '-';
  }
}

export class ModelTokenizer {
  private readonly added = new Set<number>();
  private readonly byteLevel: boolean;

  private constructor(
    private readonly tok: Tokenizer,
    readonly bosTokenId: number | null,
    readonly vocabSize: number,
    json: { pre_tokenizer?: unknown; decoder?: unknown },
    private readonly source: string,
  ) {
    for (const id of tok.get_added_tokens_decoder().keys()) this.added.add(id);
    this.byteLevel = JSON.stringify(json.decoder ?? json.pre_tokenizer ?? '').includes('ByteLevel');
  }

  /**
   * The tokenizer of a checkpoint folder (null when it has no tokenizer files), built once per folder and
   * version of its files: building GPT-2's takes a few hundred ms of the calling thread, and the spec
   * diagnostics and the engine both ask for it.
   */
  static fromDir(dir: string, configBosId: number | null): ModelTokenizer | null {
    const key = JSON.stringify([path.resolve(dir), configBosId, ...TOKENIZER_FILES.map((f) => fileStamp(path.join(dir, f)))]);
    const hit = built.get(key);
    if (hit !== undefined) {
      built.delete(key); // most recently used last
      built.set(key, hit);
      return hit;
    }
    const tok = ModelTokenizer.build(dir, configBosId);
    built.set(key, tok);
    for (const old of built.keys()) {
      if (built.size <= KEPT_TOKENIZERS) break;
      built.delete(old);
    }
    return tok;
  }

  private static build(dir: string, configBosId: number | null): ModelTokenizer | null {
    const tjPath = path.join(dir, 'tokenizer.json');
    const vocabPath = path.join(dir, 'vocab.json');
    const mergesPath = path.join(dir, 'merges.txt');
    const cfgPath = path.join(dir, 'tokenizer_config.json');
    const config = (fs.existsSync(cfgPath) ? readJson(cfgPath) : {}) as Record<string, unknown>;
    let json: Record<string, unknown>;
    if (fs.existsSync(tjPath)) {
      json = readJson(tjPath) as Record<string, unknown>;
      if (typeof json !== 'object' || json === null) fail('BAD_TOKENIZER', { file: tjPath }, 'is not a JSON object.');
      checkModel(json.model, tjPath);
    } else if (fs.existsSync(vocabPath) && fs.existsSync(mergesPath)) {
      const vocab = readJson(vocabPath) as Record<string, number>;
      if (typeof vocab !== 'object' || vocab === null) fail('BAD_TOKENIZER', { file: vocabPath }, 'not a token -> id object.');
      const merges = fs.readFileSync(mergesPath, 'utf8').split(/\r?\n/).filter((l) => l && !l.startsWith('#version'));
      checkVocabIds(vocab, vocabPath);
      checkMerges(merges, mergesPath);
      const specials = ['bos_token', 'eos_token', 'unk_token', 'pad_token'].map((k) => tokenString(config[k])).filter((s): s is string => !!s);
      json = byteLevelBpe(vocab, merges, specials.length ? specials : ['<|endoftext|>']) as Record<string, unknown>;
    } else {
      return null;
    }
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(json, config);
    } catch (e) {
      fail('BAD_TOKENIZER', { file: fs.existsSync(tjPath) ? tjPath : vocabPath }, `cannot build the tokenizer (${(e as Error).message}).`);
    }
    const bosText = tokenString(config.bos_token);
    const bosId = (bosText !== undefined ? tok.token_to_id(bosText) : undefined) ?? configBosId;
    const source = fs.existsSync(tjPath) ? tjPath : vocabPath;
    const made = new ModelTokenizer(tok, bosId ?? null, tok.get_vocab(true).size, json, source);
    made.encode('Hello, world! é 😀 123', { prependBos: false }); // fail at load, not at the first prompt
    return made;
  }

  /** Tokens of `text` with their character ranges; BOS first when asked (and the model has one). */
  encode(text: string, opts: EncodeOptions = {}): Token[] {
    const ids = this.guard(() => this.tok.encode(text, { add_special_tokens: false }).ids);
    const tokens = this.withOffsets(text, ids);
    if (opts.prependBos ?? true) {
      if (this.bosTokenId === null) fail('BAD_INPUT', { field: 'prepend_bos' }, 'this model has no BOS token.', 'Turn prepend_bos off.');
      tokens.unshift({ id: this.bosTokenId, text: this.decode([this.bosTokenId]), start: 0, end: 0 });
    }
    return tokens;
  }

  decode(ids: number[]): string {
    return this.guard(() => this.tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }));
  }

  /** The tokenizer library's own errors (from malformed files) become one clear error naming the file. */
  private guard<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      fail('BAD_TOKENIZER', { file: this.source }, `the tokenizer failed (${(e as Error)?.message ?? e}).`, 'The tokenizer files are malformed: restore them from the model\'s source.');
    }
  }

  /** The raw vocabulary string of one id, for display when decoding would lose information. */
  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  /**
   * Character ranges. Byte-level BPE tokens spell UTF-8 bytes, and sentencepiece-style tokens (Llama,
   * Mistral) spell text with '▁' for a space and <0xNN> for a fallback byte, so walking the prompt's
   * bytes gives exact ranges; a token that ends inside a multi-byte character covers that whole
   * character. A space the tokenizer prepends (sentencepiece's dummy prefix) belongs to no character.
   */
  private withOffsets(text: string, ids: number[]): Token[] {
    const bytes = new TextEncoder().encode(text);
    // utf16At[i] = UTF-16 index of the character that byte i starts or continues; utf16At[len] = text.length.
    const utf16At = new Int32Array(bytes.length + 1);
    let b = 0;
    for (let i = 0; i < text.length; i++) {
      const cp = text.codePointAt(i)!;
      const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      for (let k = 0; k < n; k++) utf16At[b++] = i;
      if (cp >= 0x10000) i++;
    }
    utf16At[bytes.length] = text.length;
    const charEnd = (byteEnd: number): number => {
      if (byteEnd >= bytes.length) return text.length;
      // The byte at byteEnd starts a new character unless it is a continuation byte (10xxxxxx).
      let e = byteEnd;
      while (e < bytes.length && (bytes[e] & 0xc0) === 0x80) e++;
      return utf16At[e];
    };
    const lengths = ids.map((id) => this.byteLength(id));
    // Bytes the tokenizer added in front of the prompt (a prepended '▁'): the first token's start absorbs them.
    let cursor = Math.min(0, bytes.length - lengths.reduce<number>((a, n) => a + (n ?? 0), 0));
    return ids.map((id, i) => {
      const len = lengths[i];
      const start = utf16At[Math.min(Math.max(cursor, 0), bytes.length)];
      cursor = len === undefined ? cursor : cursor + len;
      return { id, text: this.decode([id]), start, end: len === undefined ? start : charEnd(Math.max(cursor, 0)) };
    });
  }

  private byteLength(id: number): number | undefined {
    const piece = this.tok.id_to_token(id);
    if (piece === undefined) return undefined;
    if (this.added.has(id)) return new TextEncoder().encode(piece).length;
    if (!this.byteLevel) return /^<0x[0-9A-Fa-f]{2}>$/.test(piece) ? 1 : new TextEncoder().encode(piece.replaceAll('\u2581', ' ')).length;
    let n = 0;
    for (const ch of piece) if (BYTE_OF.has(ch)) n++;
    return n;
  }
}
