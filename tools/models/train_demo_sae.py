#!/usr/bin/python3
"""Train the bundled demo SAE: a TopK sparse autoencoder on the demo model's blocks.1.hook_resid_pre.

  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE \
    /usr/bin/python3 tools/models/train_demo_sae.py

Needs Debian's python3-torch, python3-numpy, python3-regex, libopenblas0-pthread and the demo model's text
packages (sword-text-web diatheke jargon-text dict-devil wordnet-base python3.11-doc): the corpus is
tokenised once into .cache/demo-sae/corpus.npz (about half a minute).

Deterministic and resumable: the initialisation is seeded and the batch of step s is a function of
(seed, s) only, so a resumed run sees the same data. A checkpoint goes to .cache/demo-sae/ckpt.pt every
--ckpt-every steps (and on Ctrl-C); rerunning the same command continues from it. Delete that file to
start over. Bit-exact reproduction across machines is not promised (BLAS summation order). At the end it
writes media/models/demo/saes/blocks.1.hook_resid_pre/ (cfg.json, sae_weights.safetensors: SAELens 6.x)
and .cache/demo-sae/train_log.json. Figures for the card come from describe_demo_sae.py.

Why this hook: blocks.1.hook_resid_pre is everything layer 1 reads, including what the previous-token head
0.0 wrote, so its features are the inputs of the induction heads. Why TopK: L0 is set (k) rather than tuned
through an L1 coefficient, there is no shrinkage, and with the AuxK loss (Gao et al. 2024, "Scaling and
evaluating sparse autoencoders") few latents die; it is one of the architectures SAELens trains and loads
("topk"). Width 1024 (8 x d_model) keeps the files near 1 MB.

Training, as SAELens' TopK trainer does it: inputs scaled by a constant so the mean norm is sqrt(d_in)
(the constant is folded into the saved weights, so the files read raw activations: normalize_activations
"none"), b_dec initialised to the mean, W_enc initialised as W_dec^T, decoder rows kept at unit norm
(gradient component along each row removed, then renormalised), Adam, linear warm-up and a linear decay
over the last 20% of steps, loss = MSE + AuxK (latents that did not fire for --dead-steps steps
reconstruct the residual with their own top d_in/2, weight 1/32). Every position is trained on, BOS too
(the self-check splices the SAE in at every position).
"""
import argparse
import json
import math
import os
import signal
import time

import numpy as np

import demo_sae_common as c
import torch  # noqa: E402 (after demo_sae_common set the thread environment)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--d-sae", type=int, default=1024)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--rows", type=int, default=32, help="text windows per step (x 128 tokens)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--dead-steps", type=int, default=100)
    ap.add_argument("--aux-coefficient", type=float, default=1 / 32)
    ap.add_argument("--ckpt-every", type=int, default=200)
    ap.add_argument("--cache", default=os.path.join(c.ROOT, ".cache", "demo-sae"))
    ap.add_argument("--out", default=c.SAE_DIR)
    return ap.parse_args()


def lr_at(a, step):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    decay_from = int(0.8 * a.steps)
    return a.lr * min(1.0, (a.steps - step) / max(1, a.steps - decay_from))


def aux_k_loss(sae, pre, residual, dead, k_aux):
    """The dead latents' own top-k_aux reconstruction of what the live ones missed (no b_dec)."""
    n_dead = int(dead.sum())
    if n_dead == 0:
        return torch.zeros(())
    k = min(k_aux, n_dead)
    masked = pre.masked_fill(~dead, float("-inf"))  # [rows, d_sae]
    vals, idx = masked.topk(k, dim=-1)
    acts = torch.zeros_like(pre).scatter(-1, idx, vals.relu())
    recons = acts @ sae.W_dec  # [rows, d_in]
    return (recons - residual).pow(2).sum(-1).mean() * min(1.0, n_dead / k_aux)


def save(path, state):
    torch.save(state, path + ".tmp")
    os.replace(path + ".tmp", path)


def main():
    a = parse_args()
    torch.set_num_threads(1)
    t_start = time.time()
    _, train_s, _ = c.corpus(a.cache)
    model = c.DemoModel()
    ckpt = os.path.join(a.cache, "ckpt.pt")
    hparams = {k: v for k, v in vars(a).items() if k not in ("cache", "out", "ckpt_every")}

    sae = c.TopKSae(c.D_IN, a.d_sae, a.k, a.seed)
    opt = torch.optim.Adam(sae.parameters(), lr=a.lr, betas=(0.9, 0.999))
    if os.path.exists(ckpt):
        st = torch.load(ckpt)
        if st["hparams"] != hparams:
            raise SystemExit("%s was trained with %s, not %s: delete it to start over" % (ckpt, st["hparams"], hparams))
        sae.load_state_dict(st["sae"])
        opt.load_state_dict(st["opt"])
        step, elapsed, log, scale, since_fired = st["step"], st["elapsed"], st["log"], st["scale"], st["since_fired"]
        print("resumed at step %d (%.0f s of training so far)" % (step, elapsed), flush=True)
    else:
        # The scale and the mean come from a batch no training step draws (seed, -1 is not a step).
        x0 = model.resid(c.windows(train_s, np.random.default_rng([a.seed, 2 ** 31]), 64)).reshape(-1, c.D_IN)
        scale = math.sqrt(c.D_IN) / x0.norm(dim=-1).mean().item()
        with torch.no_grad():
            sae.b_dec.copy_((x0 * scale).mean(0))
        step, elapsed, log = 0, 0.0, []
        since_fired = torch.zeros(a.d_sae, dtype=torch.long)
        print("input scale %.4f (mean norm %.4f)" % (scale, math.sqrt(c.D_IN) / scale), flush=True)

    stop = {"now": False}
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))

    def checkpoint():
        save(ckpt, dict(sae=sae.state_dict(), opt=opt.state_dict(), step=step, elapsed=elapsed, log=log,
                        scale=scale, since_fired=since_fired, hparams=hparams))

    t_seg = time.time()
    window = {"mse": 0.0, "var": 0.0, "aux": 0.0, "n": 0}
    while step < a.steps and not stop["now"]:
        ids = c.windows(train_s, np.random.default_rng([a.seed, step]), a.rows)
        x = model.resid(ids).reshape(-1, c.D_IN) * scale  # [rows * pos, d_in]
        acts, pre = sae.encode(x)
        recons = sae.decode(acts)
        mse = (recons - x).pow(2).sum(-1).mean()
        fired = (acts > 0).any(0)
        since_fired = torch.where(fired, torch.zeros_like(since_fired), since_fired + 1)
        aux = aux_k_loss(sae, pre, (x - recons).detach(), since_fired > a.dead_steps, c.D_IN // 2)
        loss = mse + a.aux_coefficient * aux
        opt.zero_grad()
        loss.backward()
        with torch.no_grad():
            g, w = sae.W_dec.grad, sae.W_dec
            g -= (g * w).sum(-1, keepdim=True) * w  # keep the rows' norm: only the direction moves
        for group in opt.param_groups:
            group["lr"] = lr_at(a, step)
        opt.step()
        sae.unit_decoder()
        step += 1
        window["mse"] += mse.item()
        window["var"] += (x - x.mean(0)).pow(2).sum(-1).mean().item()
        window["aux"] += aux.item()
        window["n"] += 1
        if step % 100 == 0 or step == a.steps:
            now = time.time()
            elapsed += now - t_seg
            t_seg = now
            rec = dict(step=step, fvu=window["mse"] / window["var"], aux=window["aux"] / window["n"],
                       dead=int((since_fired > a.dead_steps).sum()), lr=lr_at(a, step - 1), elapsed=round(elapsed, 1))
            log.append(rec)
            window = {"mse": 0.0, "var": 0.0, "aux": 0.0, "n": 0}
            print("step %5d  %6.0f s  train FVU %.4f  aux %.4f  dead %4d  lr %.2e"
                  % (step, elapsed, rec["fvu"], rec["aux"], rec["dead"], rec["lr"]), flush=True)
        if step % a.ckpt_every == 0:
            checkpoint()
    elapsed += time.time() - t_seg
    t_seg = time.time()
    checkpoint()
    if step < a.steps:
        print("stopped at step %d; rerun the same command to continue" % step, flush=True)
        return
    meta = {"circuit_lens_training": {"script": "tools/models/train_demo_sae.py", **hparams,
                                      "tokens": a.steps * a.rows * c.N_CTX, "input_scale_folded": scale}}
    c.write_saelens(a.out, c.folded_tensors(sae, scale), a.k, meta)
    with open(os.path.join(a.cache, "train_log.json"), "w") as f:
        json.dump(log, f, indent=1)
    print("done: %d steps, training wall time %.0f s (this invocation %.0f s); wrote %s"
          % (step, elapsed, time.time() - t_start, a.out), flush=True)


if __name__ == "__main__":
    main()
