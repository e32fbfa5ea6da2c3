#!/usr/bin/env python3
"""Independent attribution-patching reference for Circuit Lens' tests (Debian's python3-torch, CPU autograd).

Gradients come from torch.autograd on the GPT-2 reference model (gpt2_reference.py), never from the
engine's backward graph. Shares no code with the TypeScript engine.

  atp_reference.py atp --model DIR --clean 1,2,3 --corrupted 1,2,4 --target resid_pre|attn_out|mlp_out|heads|heads_pos
      [--direction denoise|noise] [--method atp|atpStar|integratedGradients] [--steps 16]
      --metric logitDiff|answerProb|loss [--answer A] [--counterfactual C]
    prints JSON {"values": [layer][unit], "clean", "corrupted"}: the first-order estimate
      N(r) + dM/da|_r . (a_s - a_r) / (M(clean) - M(corrupted)), r the receiving run (corrupted when
      denoising), s the source; integratedGradients averages dM/da over runs whose blocks.0.hook_resid_pre is
      e_r + (k/steps)(e_s - e_r), k = 1..steps; atpStar (resid_pre only) replaces the linear query and key
      terms dM/dq . dq + dM/dk . dk by sum dM/dA . (A' - A) with A' the attention pattern recomputed by
      torch.softmax with the patched query row, then with the patched key row.
  atp_reference.py exact ... (the same arguments): exact activation patching, one forward per cell.
  atp_reference.py input-ig --model DIR --tokens 1,2,3 [--baseline 1,2,4] [--steps 16] --metric ...
    prints JSON {"values": [pos], "metric", "baselineMetric"}: integrated gradients to blocks.0.hook_resid_pre
      from the baseline prompt's embeddings (zeros without one).

Units are ordered as Circuit Lens' patching orders them: positions; heads; heads_pos head-major.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_reference import PATCH_HOOK, Gpt2Reference  # noqa: E402
from reference_common import parse_tokens  # noqa: E402

torch.set_default_dtype(torch.float64)


def forward(m, tokens, cache=None, interventions=None):
    """The reference forward with autograd on (gpt2_reference decorates it with inference_mode)."""
    return Gpt2Reference.forward.__wrapped__(m, tokens, cache, interventions)


def load(model_dir):
    m = Gpt2Reference(model_dir)
    # float64: the reference's own rounding stays far below the bar; weights require grad so that every
    # activation is on autograd's tape (their own gradients are never read).
    m.w = {k: v.double().requires_grad_() for k, v in m.w.items()}
    m.W_U = m.W_U.double().requires_grad_()
    return m


def metric_of(a, tokens):
    def metric(logits):  # [batch, pos, d_vocab] -> [batch]
        if a.metric == 'logitDiff':
            return logits[:, -1, a.answer] - logits[:, -1, a.counterfactual]
        if a.metric == 'answerProb':
            return torch.softmax(logits[:, -1], -1)[:, a.answer]
        logp = torch.log_softmax(logits[:, :-1], -1)  # predicts positions 1..P-1
        return -logp.gather(-1, tokens[:, 1:, None].expand(logits.shape[0], -1, 1))[..., 0].mean(-1)
    return metric


def units_of(target, P, H):
    if target == 'heads':
        return [(None, h) for h in range(H)]
    if target == 'heads_pos':
        return [(p, h) for h in range(H) for p in range(P)]
    return [(p, None) for p in range(P)]


def unit_slice(t, p, h):
    """t: [1, pos, ...]; the (position, head) slice of one unit."""
    return t[0, slice(None) if p is None else p, ...] if h is None else t[0, slice(None) if p is None else p, h]


def grads_at(m, tokens, metric, hooks, interventions=None):
    """(metric values [batch], {hook: activation}, {hook: d sum(metric) / d activation}) by autograd."""
    cache = {}
    out = metric(forward(m, tokens, cache, interventions))
    acts = [cache[h] for h in hooks]
    gs = torch.autograd.grad(out.sum(), acts, allow_unused=True)
    return out.detach(), {h: cache[h].detach() for h in hooks}, {h: (g if g is not None else torch.zeros_like(cache[h])) for h, g in zip(hooks, gs)}


def qk_fixed(m, l, q_r, k_r, q_s, k_s, g_pattern, g_q, g_k):
    """[pos] AtP*'s correction at layer l: exact pattern changes (torch.softmax of the patched scores) times
    dM/dA, minus the linear query and key terms. q/k: [pos, head, d_head]; g_pattern: [head, q, k]."""
    P = q_r.shape[0]
    scale = (1 / m.dh ** 0.5 if m.scale_attn else 1) / ((l + 1) if m.inv_layer else 1)
    future = torch.triu(torch.ones(P, P, dtype=torch.bool), diagonal=1)

    def pattern(q, k):
        return torch.softmax((torch.einsum('qhd,khd->hqk', q, k) * scale).masked_fill(future, float('-inf')), -1)

    base = pattern(q_r, k_r)
    out = torch.zeros(P)
    for p in range(P):
        q, k = q_r.clone(), k_r.clone()
        q[p] = q_s[p]
        k[p] = k_s[p]
        exact_q = (g_pattern * (pattern(q, k_r) - base)).sum()
        exact_k = (g_pattern * (pattern(q_r, k) - base)).sum()
        linear = (g_q[p] * (q_s[p] - q_r[p])).sum() + (g_k[p] * (k_s[p] - k_r[p])).sum()
        out[p] = exact_q + exact_k - linear
    return out


def atp_cmd(a):
    m = load(a.model)
    clean, corrupted = parse_tokens(a.clean), parse_tokens(a.corrupted)
    receiving, source = (corrupted, clean) if a.direction == 'denoise' else (clean, corrupted)
    metric = metric_of(a, receiving)
    hooks = [f'blocks.{l}.{PATCH_HOOK[a.target]}' for l in range(m.L)]
    qk = [(f'blocks.{l}.attn.hook_q', f'blocks.{l}.attn.hook_k', f'blocks.{l}.attn.hook_pattern') for l in range(m.L)] if a.method == 'atpStar' and a.target == 'resid_pre' else []
    names = list(dict.fromkeys(hooks + [n for t in qk for n in t] + ['blocks.0.hook_resid_pre']))  # each hook once
    with torch.no_grad():
        src_cache, r_cache = {}, {}
        m_s = metric_of(a, source)(forward(m, source, src_cache)).item()
        m_r = metric(forward(m, receiving, r_cache)).item()
    if a.method == 'integratedGradients':
        e_r, e_s = r_cache['blocks.0.hook_resid_pre'], src_cache['blocks.0.hook_resid_pre']
        grads = {h: torch.zeros_like(r_cache[h]) for h in names}
        for k in range(1, a.steps + 1):
            e = e_r + (k / a.steps) * (e_s - e_r)
            _, _, g = grads_at(m, receiving, metric, names, {'blocks.0.hook_resid_pre': (torch.zeros_like(e), e)})
            for h in names:
                grads[h] += g[h] / a.steps
    else:
        _, _, grads = grads_at(m, receiving, metric, names)
    m_clean, m_corr = (m_s, m_r) if a.direction == 'denoise' else (m_r, m_s)
    base = 0.0 if a.direction == 'denoise' else 1.0
    P = clean.shape[1]
    values = []
    for l, hook in enumerate(hooks):
        d = src_cache[hook] - r_cache[hook]
        fix = qk_fixed(m, l, *(r_cache[qk[l][0]][0], r_cache[qk[l][1]][0], src_cache[qk[l][0]][0], src_cache[qk[l][1]][0]), grads[qk[l][2]][0], grads[qk[l][0]][0], grads[qk[l][1]][0]) if qk else None
        row = []
        for p, h in units_of(a.target, P, m.H):
            e = (unit_slice(grads[hook], p, h) * unit_slice(d, p, h)).sum().item() + (fix[p].item() if fix is not None else 0)
            row.append(base + e / (m_clean - m_corr))
        values.append(row)
    print(json.dumps({'values': values, 'clean': m_clean, 'corrupted': m_corr}))


def exact_cmd(a):
    m = load(a.model)
    clean, corrupted = parse_tokens(a.clean), parse_tokens(a.corrupted)
    receiving, source = (corrupted, clean) if a.direction == 'denoise' else (clean, corrupted)
    metric = metric_of(a, receiving)
    with torch.no_grad():
        src_cache = {}
        m_s = metric_of(a, source)(forward(m, source, src_cache)).item()
        m_r = metric(forward(m, receiving)).item()
        m_clean, m_corr = (m_s, m_r) if a.direction == 'denoise' else (m_r, m_s)
        values = []
        for l in range(m.L):
            hook = f'blocks.{l}.{PATCH_HOOK[a.target]}'
            src = src_cache[hook]
            row = []
            for p, h in units_of(a.target, clean.shape[1], m.H):
                keep = torch.ones_like(src)
                keep[(slice(None), slice(None) if p is None else p) + ((slice(None) if h is None else h,) if src.dim() == 4 else ())] = 0
                row.append((metric(forward(m, receiving, None, {hook: (keep, src * (1 - keep))})).item() - m_corr) / (m_clean - m_corr))
            values.append(row)
    print(json.dumps({'values': values, 'clean': m_clean, 'corrupted': m_corr}))


def input_ig_cmd(a):
    m = load(a.model)
    tokens = parse_tokens(a.tokens)
    metric = metric_of(a, tokens)
    embed = 'blocks.0.hook_resid_pre'
    with torch.no_grad():
        cache = {}
        m_x = metric(forward(m, tokens, cache)).item()
        x = cache[embed]
        if a.baseline:
            b_cache = {}
            forward(m, parse_tokens(a.baseline), b_cache)
            x0 = b_cache[embed]
        else:
            x0 = torch.zeros_like(x)
        m_x0 = metric(forward(m, tokens, None, {embed: (torch.zeros_like(x0), x0)})).item()
    total = torch.zeros_like(x)
    for k in range(1, a.steps + 1):
        e = x0 + (k / a.steps) * (x - x0)
        _, _, g = grads_at(m, tokens, metric, [embed], {embed: (torch.zeros_like(e), e)})
        total += g[embed] / a.steps
    values = ((x - x0) * total)[0].sum(-1)
    print(json.dumps({'values': values.tolist(), 'metric': m_x, 'baselineMetric': m_x0}))


def add_metric_args(p):
    p.add_argument('--model', required=True)
    p.add_argument('--metric', default='logitDiff', choices=['logitDiff', 'answerProb', 'loss'])
    p.add_argument('--answer', type=int)
    p.add_argument('--counterfactual', type=int)
    p.add_argument('--steps', type=int, default=16)


def add_atp_args(p):
    add_metric_args(p)
    p.add_argument('--clean', required=True)
    p.add_argument('--corrupted', required=True)
    p.add_argument('--target', required=True, choices=list(PATCH_HOOK))
    p.add_argument('--direction', default='denoise', choices=['denoise', 'noise'])
    p.add_argument('--method', default='atp', choices=['atp', 'atpStar', 'integratedGradients'])


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    add_atp_args(sub.add_parser('atp'))
    add_atp_args(sub.add_parser('exact'))
    ig = sub.add_parser('input-ig')
    add_metric_args(ig)
    ig.add_argument('--tokens', required=True)
    ig.add_argument('--baseline')
    args = ap.parse_args()
    {'atp': atp_cmd, 'exact': exact_cmd, 'input-ig': input_ig_cmd}[args.cmd](args)
