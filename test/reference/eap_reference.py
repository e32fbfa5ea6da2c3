#!/usr/bin/env python3
"""Independent edge-attribution reference for Circuit Lens' tests (Debian's python3-torch, CPU, autograd).

Its own GPT-2 forward written as EAP-IG's graph: every destination's input (each head's query, key and
value input, each MLP's input, the logits' residual) is built explicitly as the sum of its parents'
outputs (the embeddings, earlier heads' per-head results, earlier MLP outputs) plus the attention output
biases before it; an ablated edge contributes the parent's ablated value instead. Scores come from
torch.autograd (retain_grad on each destination input). Shares no code with the TypeScript engine.

  eap_reference.py scores --model DIR --clean 1,2,3 --corrupted 1,2,4 --answer ID --counterfactual ID
                          --method eap|eapIg [--steps 16] --out DIR     (writes scores.npy; prints JSON metrics)
  eap_reference.py ablate --model DIR --clean ... --corrupted ... --answer ID --counterfactual ID
                          --kept KEPT.npy --ablation patch|zero|mean     (prints JSON: full, none, circuit)

Edge order: destinations a0.h0<q> .. a0.h{H-1}<q>, <k>s, <v>s, m0, a1..., logits; within one, its parents
in forward order (input, a0.h0 .. a0.h{H-1}, m0, a1.h0, ...). Score of u -> v: (z_u^corrupted -
z_u^clean) . dM'/d input_v summed over positions, M' = (M - M_corrupted) / (M_clean - M_corrupted), the
gradient at the clean run (eap) or averaged over embeddings e_corr + k/steps (e_clean - e_corr),
k = 0..steps-1 (eapIg).
"""
import argparse
import json
import math
import os

import numpy as np
import torch

from reference_common import activation, load_model_dir
from safetensors_io import parse_tokens


def ln(x, w, b, eps):
    x = x - x.mean(-1, keepdim=True)
    return x / (x.pow(2).mean(-1, keepdim=True) + eps).sqrt() * w + b


class EapGraphModel:
    def __init__(self, model_dir):
        cfg, self.w = load_model_dir(model_dir, 'transformer.')
        self.L, self.d, self.H = cfg['n_layer'], cfg['n_embd'], cfg['n_head']
        self.dh = self.d // self.H
        self.eps = cfg.get('layer_norm_epsilon', 1e-5)
        self.act = cfg.get('activation_function', 'gelu_new')
        tied = cfg.get('tie_word_embeddings', True) or 'lm_head.weight' not in self.w
        self.W_U = (self.w['wte.weight'] if tied else self.w['lm_head.weight']).t()  # [d_model, d_vocab]
        self.dests = []  # (label, parents)
        for l in range(self.L):
            before = 1 + l * (self.H + 1)
            for kind in 'qkv':
                self.dests += [(f'a{l}.h{h}<{kind}>', before) for h in range(self.H)]
            self.dests.append((f'm{l}', before + self.H))
        self.n_sources = 1 + self.L * (self.H + 1)
        self.dests.append(('logits', self.n_sources))

    def run(self, tokens, embed=None, ablated=None, kept=None):
        """tokens [pos]. Returns (logits [pos, vocab], node outputs [n_sources, pos, d], {dest: input}).
        ablated [n_sources, pos, d] and kept {dest: bool[parents]}: edges not kept carry the ablated value."""
        w, H, dh, d = self.w, self.H, self.dh, self.d
        P = tokens.shape[0]
        nodes = [embed if embed is not None else w['wte.weight'][tokens] + w['wpe.weight'][:P]]  # each [pos, d_model]
        inputs = {}
        bias = torch.zeros(d)  # the attention output biases so far: in every later residual, no node's

        def build(label, parents):
            z = torch.stack(nodes[:parents])  # [parents, pos, d_model]
            if kept is not None:
                z = torch.where(kept[label].view(-1, 1, 1), z, ablated[:parents])
            x = z.sum(0) + bias
            if x.requires_grad:
                x.retain_grad()
            inputs[label] = x
            return x

        causal = torch.tril(torch.ones(P, P, dtype=torch.bool))
        for l in range(self.L):
            p = f'h.{l}.'
            before = len(nodes)
            W = w[p + 'attn.c_attn.weight']  # [d_model, 3 d_model]: q | k | v
            bqkv = w[p + 'attn.c_attn.bias']
            W_O = w[p + 'attn.c_proj.weight'].reshape(H, dh, d)
            results = []
            per = {}
            for i, kind in enumerate('qkv'):
                per[kind] = []
                for h in range(H):
                    x = ln(build(f'a{l}.h{h}<{kind}>', before), w[p + 'ln_1.weight'], w[p + 'ln_1.bias'], self.eps)
                    cols = slice(i * d + h * dh, i * d + (h + 1) * dh)
                    per[kind].append(x @ W[:, cols] + bqkv[cols])  # [pos, d_head]
            for h in range(H):
                s = (per['q'][h] @ per['k'][h].t()) / math.sqrt(dh)  # [query, key]
                pattern = torch.softmax(s.masked_fill(~causal, float('-inf')), dim=-1)
                results.append((pattern @ per['v'][h]) @ W_O[h])  # [pos, d_model]
            nodes.extend(results)
            bias = bias + w[p + 'attn.c_proj.bias']
            x = ln(build(f'm{l}', before + H), w[p + 'ln_2.weight'], w[p + 'ln_2.bias'], self.eps)
            post = activation(self.act, x @ w[p + 'mlp.c_fc.weight'] + w[p + 'mlp.c_fc.bias'])
            nodes.append(post @ w[p + 'mlp.c_proj.weight'] + w[p + 'mlp.c_proj.bias'])
        final = build('logits', len(nodes))
        logits = ln(final, w['ln_f.weight'], w['ln_f.bias'], self.eps) @ self.W_U
        return logits, torch.stack(nodes), inputs


def logit_diff(logits, a):
    return logits[-1, a.answer] - logits[-1, a.counterfactual]


def scores_cmd(a):
    m = EapGraphModel(a.model)
    clean, corrupted = parse_tokens(a.clean)[0], parse_tokens(a.corrupted)[0]
    with torch.no_grad():
        lc, zc, _ = m.run(clean)
        lr, zr, _ = m.run(corrupted)
    mc, mr = logit_diff(lc, a).item(), logit_diff(lr, a).item()
    diff = (zr - zc).double()  # [n_sources, pos, d_model]
    embeds = [zc[0]] if a.method == 'eap' else [zr[0] + (k / a.steps) * (zc[0] - zr[0]) for k in range(a.steps)]
    grads = {label: torch.zeros(clean.shape[0], m.d, dtype=torch.float64) for label, _ in m.dests}
    for e in embeds:
        logits, _, inputs = m.run(clean, embed=e.clone().requires_grad_())
        ((logit_diff(logits, a) - mr) / (mc - mr)).backward()
        for label, x in inputs.items():
            grads[label] += x.grad.double() / len(embeds)
    out = []
    for label, parents in m.dests:
        out.append(torch.einsum('upd,pd->u', diff[:parents], grads[label]))
    os.makedirs(a.out, exist_ok=True)
    np.save(os.path.join(a.out, 'scores.npy'), torch.cat(out).float().numpy())
    print(json.dumps({'clean': mc, 'corrupted': mr, 'edges': int(sum(p for _, p in m.dests))}))


def ablate_cmd(a):
    m = EapGraphModel(a.model)
    clean, corrupted = parse_tokens(a.clean)[0], parse_tokens(a.corrupted)[0]
    kept_flat = torch.from_numpy(np.load(a.kept)).bool()
    with torch.no_grad():
        lc, zc, _ = m.run(clean)
        _, zr, _ = m.run(corrupted)
        ablated = {'patch': zr, 'zero': torch.zeros_like(zc), 'mean': (zc + zr) / 2}[a.ablation]
        kept, none, at = {}, {}, 0
        for label, parents in m.dests:
            kept[label] = kept_flat[at:at + parents]
            none[label] = torch.zeros(parents, dtype=torch.bool)
            at += parents
        ln_, _, _ = m.run(clean, ablated=ablated, kept=none)
        lk, _, _ = m.run(clean, ablated=ablated, kept=kept)
    print(json.dumps({'full': logit_diff(lc, a).item(), 'none': logit_diff(ln_, a).item(), 'circuit': logit_diff(lk, a).item()}))


if __name__ == '__main__':
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    for name in ('scores', 'ablate'):
        s = sub.add_parser(name)
        for arg in ('--model', '--clean', '--corrupted'):
            s.add_argument(arg, required=True)
        s.add_argument('--answer', type=int, required=True)
        s.add_argument('--counterfactual', type=int, required=True)
    s = sub.choices['scores']
    s.add_argument('--method', choices=['eap', 'eapIg'], default='eap')
    s.add_argument('--steps', type=int, default=16)
    s.add_argument('--out', required=True)
    s = sub.choices['ablate']
    s.add_argument('--kept', required=True)
    s.add_argument('--ablation', choices=['patch', 'zero', 'mean'], required=True)
    a = ap.parse_args()
    scores_cmd(a) if a.cmd == 'scores' else ablate_cmd(a)
