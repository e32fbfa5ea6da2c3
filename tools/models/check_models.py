#!/usr/bin/python3
"""Independent Python cross-check of the bundled models in media/models/.

  OMP_NUM_THREADS=1 /usr/bin/python3 tools/models/check_models.py [--models demo planted-induction]

Reads each shipped folder only (config.json, model.safetensors through its own parser, vocab.json
and merges.txt), runs a float64 GPT-2 forward written here (not shared with the build scripts) and
prints, on seeded random repeated sequences (BOS + 50 random regular tokens + the same 50 again,
seed 2026, 20 sequences; tokens never seen by the build scripts):
  * for every head: previous-token score (mean attention from t to t-1, t >= 1), duplicate-token
    score (repeated half: total attention on earlier occurrences of the current token), induction
    score at offset (repeated half: attention from t to t - 49, the token right after the earlier
    copy) and induction score with the TransformerLens pattern (total attention on every token right
    after an earlier occurrence of the current token, over repeated-half positions);
  * mean loss on the first half (tokens 2..50) and the repeated half (tokens 51..100);
  * for the demo: the same with head 0.0's output zeroed (the circuit check), the validation loss
    on the held-out split (needs .cache/demo-train/corpus.npz from train_demo.py; skipped otherwise)
    and the top-5 next-token predictions for five English prompts.
"""
import argparse
import json
import math
import os
import struct
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from tokenizer_prefix import PrefixBPE  # noqa: E402

PROMPTS = [
    "In the beginning, God created the",
    "Speak to the children of",
    "The Python interpreter",
    "A hacker is a person who",
    "The dog is a domesticated",
]


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info["dtype"]
        b, e = info["data_offsets"]
        arr = np.frombuffer(raw[8 + n + b: 8 + n + e], dtype="<f4").reshape(info["shape"])
        out[name] = torch.from_numpy(arr.astype(np.float64))
    return out


class Model:
    def __init__(self, folder):
        with open(os.path.join(folder, "config.json")) as f:
            self.cfg = json.load(f)
        self.W = load_safetensors(os.path.join(folder, "model.safetensors"))
        self.tok = PrefixBPE(folder)
        c = self.cfg
        self.L, self.D, self.H = c["n_layer"], c["n_embd"], c["n_head"]
        self.V, self.eps = c["vocab_size"], c["layer_norm_epsilon"]
        self.bos = c["bos_token_id"]
        self.n_params = sum(t.numel() for t in self.W.values())
        self.file_size = os.path.getsize(os.path.join(folder, "model.safetensors"))

    def ln(self, x, p):
        return torch.nn.functional.layer_norm(x, (self.D,), self.W[p + ".weight"], self.W[p + ".bias"], self.eps)

    @torch.no_grad()
    def forward(self, ids, ablate=None):
        W, D, H = self.W, self.D, self.H
        dh = D // H
        B, T = ids.shape
        x = W["transformer.wte.weight"][ids] + W["transformer.wpe.weight"][:T]
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        pats = []
        for i in range(self.L):
            h = "transformer.h.%d." % i
            a = self.ln(x, h + "ln_1")
            qkv = a @ W[h + "attn.c_attn.weight"] + W[h + "attn.c_attn.bias"]
            q, k, v = [t.reshape(B, T, H, dh).transpose(1, 2) for t in qkv.split(D, -1)]
            s = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
            p = s.masked_fill(~mask, float("-inf")).softmax(-1)
            pats.append(p)
            z = p @ v
            if ablate is not None and ablate[0] == i:
                z[:, ablate[1]] = 0
            x = x + z.transpose(1, 2).reshape(B, T, D) @ W[h + "attn.c_proj.weight"] + W[h + "attn.c_proj.bias"]
            m = self.ln(x, h + "ln_2") @ W[h + "mlp.c_fc.weight"] + W[h + "mlp.c_fc.bias"]
            m = 0.5 * m * (1 + torch.tanh(math.sqrt(2 / math.pi) * (m + 0.044715 * m ** 3)))
            x = x + m @ W[h + "mlp.c_proj.weight"] + W[h + "mlp.c_proj.bias"]
        x = self.ln(x, "transformer.ln_f")
        return x @ W["lm_head.weight"].T, pats


def repeated(model, seed=2026, n=20, half=50):
    rng = np.random.default_rng(seed)
    regular = [i for i in range(model.V) if i != model.bos]
    seg = rng.choice(regular, (n, half))
    return torch.from_numpy(np.concatenate([np.full((n, 1), model.bos), seg, seg], 1))


def head_scores(model, ids, pats, half=50):
    B, T = ids.shape
    second = range(half + 1, T)
    res = {}
    for layer, p in enumerate(pats):
        for hd in range(model.H):
            a = p[:, hd]
            prev = a[:, torch.arange(1, T), torch.arange(T - 1)].mean().item()
            dup, ind_tl, ind_off = [], [], []
            for b in range(B):
                row = ids[b].tolist()
                for t in second:
                    earlier = [j for j in range(t) if row[j] == row[t]]
                    if not earlier:
                        continue
                    dup.append(a[b, t, earlier].sum().item())
                    ind_tl.append(a[b, t, [j + 1 for j in earlier]].sum().item())
                    ind_off.append(a[b, t, t - half + 1].item())
            res["%d.%d" % (layer, hd)] = dict(prev=prev, dup=float(np.mean(dup)),
                                              ind=float(np.mean(ind_off)), ind_tl=float(np.mean(ind_tl)))
    return res


def half_losses(logits, ids, half=50):
    lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None])[..., 0]
    return -lp[:, 1:half].mean().item(), -lp[:, half:].mean().item()


def val_loss(model):
    path = os.path.join(ROOT, ".cache", "demo-train", "corpus.npz")
    if not os.path.exists(path):
        return None
    z = np.load(path)
    weights = {"web": 0.40, "jargon": 0.20, "python": 0.20, "wordnet": 0.15, "devil": 0.05}
    per = {}
    for name in weights:
        s = z[name + "_val"].astype(np.int64)
        n = len(s) // 127
        rows = np.concatenate([np.full((n, 1), model.bos), s[:n * 127].reshape(n, 127)], 1)
        tot, cnt = 0.0, 0
        for i in range(0, n, 64):
            ids = torch.from_numpy(rows[i:i + 64])
            logits, _ = model.forward(ids)
            lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None])[..., 0]
            tot += -lp.sum().item()
            cnt += lp.numel()
        per[name] = tot / cnt
    mixed = sum(weights[k] * per[k] for k in weights)
    return mixed, per


def report(name, folder, out):
    m = Model(folder)
    ids = repeated(m)
    logits, pats = m.forward(ids)
    sc = head_scores(m, ids, pats)
    first, second = half_losses(logits, ids)
    print("=" * 78)
    print("%s: %d layers, d_model %d, %d heads, vocab %d, %d parameters, model.safetensors %d bytes"
          % (name, m.L, m.D, m.H, m.V, m.n_params, m.file_size))
    print("repeated random sequences: BOS + 50 + 50, 20 sequences, seed 2026")
    print("head   prev-token  duplicate  induction(offset)  induction(TL pattern)")
    for k, v in sc.items():
        print("%-5s  %10.4f  %9.4f  %17.4f  %21.4f" % (k, v["prev"], v["dup"], v["ind"], v["ind_tl"]))
    for key, label in [("prev", "previous-token"), ("dup", "duplicate-token"), ("ind", "induction(offset)"),
                       ("ind_tl", "induction(TL)")]:
        rank = sorted(sc, key=lambda h: -sc[h][key])
        print("top %-18s %s (%.4f), next %s (%.4f)" % (label, rank[0], sc[rank[0]][key], rank[1], sc[rank[1]][key]))
    print("loss first half %.3f nats, repeated half %.3f nats, difference %.3f" % (first, second, first - second))
    rec = dict(params=m.n_params, file_size=m.file_size, scores=sc, first=first, second=second)
    if name == "demo":
        _, pats_a = m.forward(ids, ablate=(0, 0))
        logits_a, _ = m.forward(ids, ablate=(0, 0))
        sca = head_scores(m, ids, pats_a)
        fa, sa = half_losses(logits_a, ids)
        best = max((h for h in sca if h.startswith("1.")), key=lambda h: sca[h]["ind"])
        print("with head 0.0's output zeroed: best layer-1 induction %s %.4f, loss first %.3f repeated %.3f"
              % (best, sca[best]["ind"], fa, sa))
        rec["ablate_00"] = dict(best=best, ind=sca[best]["ind"], first=fa, second=sa)
        for other in ["0.1"]:
            _, pats_b = m.forward(ids, ablate=(0, int(other[-1])))
            logits_b, _ = m.forward(ids, ablate=(0, int(other[-1])))
            scb = head_scores(m, ids, pats_b)
            fb, sb = half_losses(logits_b, ids)
            best = max((h for h in scb if h.startswith("1.")), key=lambda h: scb[h]["ind"])
            print("with head %s's output zeroed: best layer-1 induction %s %.4f, loss first %.3f repeated %.3f"
                  % (other, best, scb[best]["ind"], fb, sb))
            rec["ablate_" + other.replace(".", "")] = dict(best=best, ind=scb[best]["ind"], first=fb, second=sb)
        vl = val_loss(m)
        if vl:
            print("validation loss (held-out split, source-weighted): %.3f nats; per source %s"
                  % (vl[0], ", ".join("%s %.3f" % kv for kv in vl[1].items())))
            rec["val"] = vl[0]
            rec["val_per_source"] = vl[1]
        rec["prompts"] = []
        for prompt in PROMPTS:
            pid = [m.bos] + m.tok.encode(prompt)
            lg, _ = m.forward(torch.tensor([pid]))
            pr = torch.softmax(lg[0, -1], -1)
            top = torch.topk(pr, 5)
            preds = [(m.tok.decode([int(i)]), float(p)) for p, i in zip(top.values, top.indices)]
            print("%-36r -> %s" % (prompt, "  ".join("%r %.3f" % t for t in preds)))
            rec["prompts"].append(dict(prompt=prompt, top5=preds))
    out[name] = rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="*", default=["demo", "planted-induction"])
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = {}
    for name in args.models:
        report(name, os.path.join(ROOT, "media", "models", name), out)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
