#!/usr/bin/python3
"""Measure the bundled demo SAE and describe some of its features, for SAE_CARD.md.

  OMP_NUM_THREADS=1 /usr/bin/python3 tools/models/describe_demo_sae.py [--json .cache/demo-sae/describe.json]

Reads the shipped files (media/models/demo/saes/blocks.1.hook_resid_pre/) with the references' own
safetensors reader and runs them on the demo model through test/reference/gpt2_reference.py; nothing is
shared with the TypeScript engine. Prints markdown:
  * reconstruction figures on held-out text (the demo corpus' validation split: every 50th document):
    FVU, cosine, L0 and dead fraction over the non-BOS positions (as the engine's self-check counts them),
    and the next-token loss clean, with the SAE spliced in at every position, and with the hook
    zero-ablated, giving SAELens' ce_loss_score;
  * the same figures on media/sae-sample.txt, the text `circuit-lens sae check` uses by default;
  * for each listed feature: density on the held-out text, its top activating tokens in context, and the
    top and bottom logits of its decoder direction (W_dec[f] @ W_U).
Features: by default the first 8 features by id that fire on the held-out text. Ids carry no meaning (the
initialisation is random), so that is a sample, not a selection; --features picks others.
"""
import argparse
import json
import os
import re

import numpy as np

import demo_sae_common as c
import torch  # noqa: E402

torch.set_grad_enabled(False)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sae", default=c.SAE_DIR)
    ap.add_argument("--windows", type=int, default=256, help="held-out windows of 128 tokens")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--features", help="comma-separated feature ids (default: the first 8 live ones)")
    ap.add_argument("--top", type=int, default=6, help="contexts and logits per feature")
    ap.add_argument("--cache", default=os.path.join(c.ROOT, ".cache", "demo-sae"))
    ap.add_argument("--json", help="also write every figure here")
    return ap.parse_args()


def figures(model, cfg, w, batches):
    """Reconstruction and loss figures over batches of [rows, pos] ids (BOS first)."""
    err = var_n = 0.0
    target_rows, cos_sum, active, n = [], 0.0, 0, 0
    alive = torch.zeros(cfg["d_sae"], dtype=torch.bool)
    loss = {"clean": 0.0, "spliced": 0.0, "zero": 0.0, "count": 0}
    for ids in batches:
        x = model.resid(ids)  # [batch, pos, d_in]
        acts, recons = c.encode_raw(cfg, w, x.reshape(-1, c.D_IN))
        recons = recons.reshape(x.shape)
        acts = acts.reshape(*x.shape[:2], -1)  # [batch, pos, d_sae]
        y, h, a = x[:, 1:].reshape(-1, c.D_IN).double(), recons[:, 1:].reshape(-1, c.D_IN).double(), acts[:, 1:].reshape(-1, acts.shape[-1])
        target_rows.append(y)
        err += (y - h).pow(2).sum().item()
        cos_sum += torch.nn.functional.cosine_similarity(y, h, dim=-1).sum().item()
        active += int((a != 0).sum())
        alive |= (a != 0).any(0)
        n += y.shape[0]
        for key, replace in (("clean", None), ("spliced", recons), ("zero", torch.zeros_like(x))):
            s, cnt = c.next_token_loss(model.logits(ids, replace), ids)
            loss[key] += s
        loss["count"] += cnt
    ys = torch.cat(target_rows)
    var_n = (ys - ys.mean(0)).pow(2).sum().item()
    clean, spliced, zero = (loss[k] / loss["count"] for k in ("clean", "spliced", "zero"))
    return {"tokens": n, "fvu": err / var_n, "cosine": cos_sum / n, "l0": active / n,
            "dead_fraction": 1 - alive.float().mean().item(),
            "loss_clean": clean, "loss_spliced": spliced, "loss_zero_ablation": zero,
            "ce_loss_score": (zero - spliced) / (zero - clean)}


def sample_prompts(tok):
    """media/sae-sample.txt's paragraphs as circuit-lens sae check tokenises them: BOS + text, cut to 128."""
    with open(os.path.join(c.ROOT, "media", "sae-sample.txt"), encoding="utf-8") as f:
        text = "\n".join(l for l in f.read().split("\n") if not l.startswith("#"))
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return [torch.tensor([([c.EOT] + tok.encode(p))[:c.N_CTX]]) for p in paras]


def show(tok, ids):
    """Decoded text, escaped as JSON (newlines as \\n), fit for a markdown table cell's code span."""
    text = json.dumps(tok.decode([int(i) for i in ids]), ensure_ascii=False)[1:-1]
    return text.replace("|", "\\|").replace("`", "'")


def describe_features(model, cfg, w, tok, val_ids, feats, top):
    x = torch.cat([model.resid(b) for b in val_ids.split(32)])  # [windows, pos, d_in]
    acts, _ = c.encode_raw(cfg, w, x.reshape(-1, c.D_IN))
    acts = acts.reshape(*x.shape[:2], -1)[:, 1:]  # [windows, pos - 1, d_sae]: BOS left out
    density = (acts != 0).float().mean((0, 1))  # [d_sae]
    live = [int(f) for f in torch.nonzero(density > 0)[:, 0]]
    feats = feats or live[:8]
    logits = w["W_dec"] @ model.W_U  # [d_sae, d_vocab]
    out = []
    for f in feats:
        a = acts[..., f]
        vals, flat = a.reshape(-1).topk(top)
        contexts = []
        for v, i in zip(vals.tolist(), flat.tolist()):
            if v <= 0:
                break
            row, p = divmod(i, a.shape[1])
            p += 1  # position in the window (BOS is 0)
            ids = val_ids[row]
            contexts.append({"act": v, "before": show(tok, ids[max(1, p - 8):p]), "token": show(tok, ids[p:p + 1]),
                             "after": show(tok, ids[p + 1:p + 3]), "position": p})
        up = logits[f].topk(top)
        down = (-logits[f]).topk(top)
        out.append({"feature": f, "density": density[f].item(), "max_act": a.max().item(), "contexts": contexts,
                    "top_logits": [(show(tok, [i]), v) for v, i in zip(up.values.tolist(), up.indices.tolist())],
                    "bottom_logits": [(show(tok, [i]), -v) for v, i in zip(down.values.tolist(), down.indices.tolist())]})
    return out, len(live)


def fig_rows(name, m):
    return ("| %s | %d | %.4f | %.4f | %.2f | %.1f%% | %.4f | %.4f | %.4f | %.4f |"
            % (name, m["tokens"], m["fvu"], m["cosine"], m["l0"], 100 * m["dead_fraction"], m["loss_clean"],
               m["loss_spliced"], m["loss_zero_ablation"], m["ce_loss_score"]))


def main():
    a = parse_args()
    torch.set_num_threads(1)
    tok, _, val_s = c.corpus(a.cache)
    model = c.DemoModel()
    cfg, w = c.read_saelens(a.sae)
    val_ids = c.windows(val_s, np.random.default_rng(a.seed), a.windows)  # [windows, 128]
    held_out = figures(model, cfg, w, val_ids.split(32))
    sample = figures(model, cfg, w, sample_prompts(tok))
    feats = [int(f) for f in a.features.split(",")] if a.features else None
    described, n_live = describe_features(model, cfg, w, tok, val_ids, feats, a.top)

    print("| text | tokens (BOS left out) | FVU | cosine | L0 | dead | loss clean | spliced | zero-ablated | CE loss recovered |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(fig_rows("held-out demo corpus, %d windows of 128 (seed %d)" % (a.windows, a.seed), held_out))
    print(fig_rows("media/sae-sample.txt (6 paragraphs)", sample))
    print()
    print("%d of %d features fire on the held-out windows." % (n_live, cfg["d_sae"]))
    for d in described:
        print()
        print("### Feature %d (density %.4f, max activation %.2f)" % (d["feature"], d["density"], d["max_act"]))
        print()
        print("| act | position | context (the token in brackets; 8 before it at most, BOS not shown) |")
        print("| --- | --- | --- |")
        for x in d["contexts"]:
            print("| %.2f | %d | `%s[%s]%s` |" % (x["act"], x["position"], x["before"], x["token"], x["after"]))
        print()
        print("- top logits: " + ", ".join("`%s` %+.2f" % t for t in d["top_logits"]))
        print("- bottom logits: " + ", ".join("`%s` %+.2f" % t for t in d["bottom_logits"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"held_out": held_out, "sample": sample, "live_features": n_live, "features": described}, f, indent=1)


if __name__ == "__main__":
    main()
