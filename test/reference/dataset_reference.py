#!/usr/bin/env python3
"""Independent dataset-mean reference for Circuit Lens' tests (Debian's python3-torch, CPU).

Runs activation patching, direct logit attribution, steering and head detectors on every prompt of a
dataset with the GPT-2 reference model, one hooked forward per patched unit, and combines the prompts
as the spec vocabulary defines. Written from the definitions; shares no code with the TypeScript engine.

  dataset_reference.py patch --model DIR --tokens 1,2,3;4,5,6 --corrupted 1,2,4;4,5,7 --target resid_pre|attn_out|mlp_out|heads|heads_pos
                             --answers 3,4 --counterfactuals 5,6
      {"values": [layer][unit], "spread": [layer][unit], "clean", "corrupted"}: each value
      (mean M(patched) - mean M(corrupted)) / (mean M(clean) - mean M(corrupted)); the spread the standard
      deviation over prompts of (M_i(patched) - M_i(corrupted)) / (mean M(clean) - mean M(corrupted)).
  dataset_reference.py dla --model DIR --tokens ... --answers ... [--counterfactuals ...]
      {"values", "spread", "heads", "headsSpread", "logitDiff"}: means over prompts (standard deviations).
  dataset_reference.py steer --model DIR --tokens ... --answers ... --counterfactuals ... --hook H --coefficient C --vector 0.1,0.2,...
      {"before", "after", "shift", "spread", "logitChange": [d_vocab]}: logit-difference means, the shift's
      standard deviation, and the mean change of each next-token logit at the last position.
  dataset_reference.py detect --model DIR --tokens ...
      {kind: {"scores": [layer][head], "spread": [layer][head]}}: each prompt scored alone (mean over query
      positions with a target of the attention on the targets), then mean and standard deviation.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_common import parse_tokens  # noqa: E402
from gpt2_reference import Gpt2Reference, PATCH_HOOK  # noqa: E402


def ids(s):
    return [int(x) for x in s.split(',')]


def std(xs):
    """Population standard deviation over the first dimension."""
    xs = torch.tensor(xs, dtype=torch.float64)
    return ((xs - xs.mean(0)) ** 2).mean(0).sqrt()


def logit_diff(logits, answer, cf):
    last = logits[0, -1].double()
    return (last[answer] - (last[cf] if cf is not None else 0)).item()


def patch_cmd(a):
    m = Gpt2Reference(a.model)
    clean_rows, corr_rows = parse_tokens(a.tokens), parse_tokens(a.corrupted)
    answers, cfs = ids(a.answers), ids(a.counterfactuals)
    P, H = clean_rows.shape[1], m.H
    if a.target == 'heads':
        units = [(None, h) for h in range(H)]
    elif a.target == 'heads_pos':
        units = [(p, h) for h in range(H) for p in range(P)]
    else:
        units = [(p, None) for p in range(P)]
    cleans, corrs, raws = [], [], []  # raws: [prompt][layer][unit]
    for i in range(clean_rows.shape[0]):
        clean, corr = clean_rows[i:i + 1], corr_rows[i:i + 1]
        cache = {}
        cleans.append(logit_diff(m.forward(clean, cache), answers[i], cfs[i]))
        corrs.append(logit_diff(m.forward(corr), answers[i], cfs[i]))
        per_layer = []
        for l in range(m.L):
            hook = f'blocks.{l}.{PATCH_HOOK[a.target]}'
            src = cache[hook]
            row = []
            for p, h in units:
                keep = torch.ones_like(src)
                sl = (slice(None), slice(None) if p is None else p) + ((slice(None) if h is None else h,) if src.dim() == 4 else ())
                keep[sl] = 0
                row.append(logit_diff(m.forward(corr, None, {hook: (keep, src * (1 - keep))}), answers[i], cfs[i]))
            per_layer.append(row)
        raws.append(per_layer)
    raw = torch.tensor(raws, dtype=torch.float64)  # [prompt, layer, unit]
    clean_mean, corr_mean = sum(cleans) / len(cleans), sum(corrs) / len(corrs)
    span = clean_mean - corr_mean
    values = (raw.mean(0) - corr_mean) / span
    shares = (raw - torch.tensor(corrs, dtype=torch.float64)[:, None, None]) / span
    print(json.dumps({'values': values.tolist(), 'spread': std(shares.tolist()).tolist(), 'clean': clean_mean, 'corrupted': corr_mean}))


def dla_cmd(a):
    m = Gpt2Reference(a.model)
    rows = parse_tokens(a.tokens)
    answers = ids(a.answers)
    cfs = ids(a.counterfactuals) if a.counterfactuals else [None] * len(answers)
    all_values, all_heads, diffs = [], [], []
    for i in range(rows.shape[0]):
        cache = {}
        logits = m.forward(rows[i:i + 1], cache)
        u = m.W_U[:, answers[i]] - (m.W_U[:, cfs[i]] if cfs[i] is not None else 0)  # [d_model]
        direction = u * m.w['ln_f.weight']
        scale = cache['ln_final.hook_scale'][0, -1, 0]

        def contrib(v):  # [..., d_model] -> [...]
            return ((v - v.mean(-1, keepdim=True)) / scale) @ direction

        values = [contrib(cache['hook_embed'][0, -1]), contrib(cache['hook_pos_embed'][0, -1])]
        heads = []
        for l in range(m.L):
            values += [contrib(cache[f'blocks.{l}.hook_attn_out'][0, -1]), contrib(cache[f'blocks.{l}.hook_mlp_out'][0, -1])]
            heads += contrib(cache[f'blocks.{l}.attn.hook_result'][0, -1]).tolist()
        values.append(u @ m.w['ln_f.bias'])
        all_values.append([float(v) for v in values])
        all_heads.append(heads)
        diffs.append(logit_diff(logits, answers[i], cfs[i]))
    mean = lambda xs: torch.tensor(xs, dtype=torch.float64).mean(0).tolist()
    print(json.dumps({'values': mean(all_values), 'spread': std(all_values).tolist(), 'heads': mean(all_heads), 'headsSpread': std(all_heads).tolist(), 'logitDiff': sum(diffs) / len(diffs)}))


def steer_cmd(a):
    m = Gpt2Reference(a.model)
    rows = parse_tokens(a.tokens)
    answers, cfs = ids(a.answers), ids(a.counterfactuals)
    vector = torch.tensor([float(x) for x in a.vector.split(',')])
    before, after, change = [], [], 0
    for i in range(rows.shape[0]):
        row = rows[i:i + 1]
        cache = {}
        m.forward(row, cache)
        shape = cache[a.hook].shape
        add = (a.coefficient * vector).expand(shape).clone()
        plain = m.forward(row)
        steered = m.forward(row, None, {a.hook: (torch.ones(shape), add)})
        before.append(logit_diff(plain, answers[i], cfs[i]))
        after.append(logit_diff(steered, answers[i], cfs[i]))
        change = change + (steered[0, -1].double() - plain[0, -1].double())
    shifts = [y - x for x, y in zip(before, after)]
    n = len(shifts)
    print(json.dumps({'before': sum(before) / n, 'after': sum(after) / n, 'shift': sum(shifts) / n, 'spread': std(shifts).item(), 'logitChange': (change / n).tolist()}))


def targets(kind, toks):
    """For each query position, the key positions a perfect head of this kind attends to."""
    out = []
    for q, t in enumerate(toks):
        if kind == 'previous-token':
            out.append([q - 1] if q > 0 else [])
        elif kind == 'duplicate-token':
            out.append([k for k in range(q) if toks[k] == t])
        else:  # induction: the token after an earlier occurrence of the current one
            out.append([k + 1 for k in range(q) if toks[k] == t and k + 1 < q])
    return out


def detect_cmd(a):
    m = Gpt2Reference(a.model)
    rows = parse_tokens(a.tokens)
    out = {}
    per = {k: [] for k in ('previous-token', 'duplicate-token', 'induction')}
    for i in range(rows.shape[0]):
        cache = {}
        m.forward(rows[i:i + 1], cache)
        toks = rows[i].tolist()
        for kind in per:
            t = targets(kind, toks)
            scores = []
            for l in range(m.L):
                pattern = cache[f'blocks.{l}.attn.hook_pattern'][0]  # [head, query_pos, key_pos]
                for h in range(m.H):
                    masses = [pattern[h, q, ks].sum().item() for q, ks in enumerate(t) if ks]
                    scores.append(sum(masses) / len(masses) if masses else 0.0)
            per[kind].append(scores)
    for kind, scores in per.items():
        out[kind] = {'scores': torch.tensor(scores, dtype=torch.float64).mean(0).tolist(), 'spread': std(scores).tolist()}
    print(json.dumps(out))


if __name__ == '__main__':
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    for name in ('patch', 'dla', 'steer', 'detect'):
        p = sub.add_parser(name)
        p.add_argument('--model', required=True)
        p.add_argument('--tokens', required=True)
        if name != 'detect':
            p.add_argument('--answers', required=True)
            p.add_argument('--counterfactuals', required=name != 'dla')
    sub.choices['patch'].add_argument('--corrupted', required=True)
    sub.choices['patch'].add_argument('--target', required=True, choices=list(PATCH_HOOK))
    sub.choices['steer'].add_argument('--hook', required=True)
    sub.choices['steer'].add_argument('--coefficient', type=float, required=True)
    sub.choices['steer'].add_argument('--vector', required=True)
    a = ap.parse_args()
    {'patch': patch_cmd, 'dla': dla_cmd, 'steer': steer_cmd, 'detect': detect_cmd}[a.cmd](a)
