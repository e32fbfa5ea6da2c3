#!/usr/bin/env python3
"""Independent circuit-validation reference for Circuit Lens' tests (Debian's python3-torch, CPU).

Ablates every component of the listed kinds outside a circuit and reports the dataset means and the
IOI-paper criteria, written from their definitions (Wang et al. 2022) on the GPT-2 and Llama-style
reference models. Shares no code with the TypeScript engine.

  circuit_reference.py --family gpt2|llama --model DIR --tokens 1,2,3;4,5,6 [--corrupted ...] [--reference ...]
      [--heads 0.0,1.1] [--mlps 0,1] [--neurons 1.3,1.7] [--features HOOK:F,...] --ablation zero|mean|resample|patch
      [--sae-format saelens --sae-dir DIR --sae-hook HOOK [--sae-splice]]
      --metric logitDiff|loss [--answers 3,4 --counterfactuals 5,6] [--loss-from 1 --loss-to P]
  prints JSON: {"full", "none", "circuit", "faithfulness", "minimality": {label: v}, "completeness": {label: v}}

A component is a head (attn.hook_z, one head), an MLP layer (hook_mlp_out), a neuron (mlp.hook_post) or a
feature of the dictionary at --sae-hook (HOOK.hook_sae_acts_post, edited with the error term kept: the
dictionary runs as sae_reference.py's install_sae puts it in the forward).
The universe is every head if heads are listed; with neurons listed, the listed MLP layers plus every
neuron of the other layers; else every MLP layer if MLP layers are listed. F(S) = (M(S) - M(none)) /
(M(full) - M(none)), M the mean over the prompts; minimality F(C) - F(C without v); completeness
|F(C without v) - F(full without v)|.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_common import parse_tokens  # noqa: E402


def model_of(family, model_dir, a=None):
    if a is not None and a.sae_dir:
        import sae_reference
        fam, m = sae_reference.reference_model(family, model_dir)
        sae_reference.install_sae(fam, argparse.Namespace(format=a.sae_format, dir=a.sae_dir, hook=a.sae_hook, hook_out=None, flatten=False,
                                                          splice=a.sae_splice, layer=0, hub_cache=None))
        return m
    if family == 'gpt2':
        from gpt2_reference import Gpt2Reference
        return Gpt2Reference(model_dir)
    from llama_reference import LlamaReference
    return LlamaReference(model_dir)


def hook_of(c):
    kind, layer, index = c
    if kind == 'feature':  # layer: the hook the dictionary reads
        return f'{layer}.hook_sae_acts_post'
    return {'head': f'blocks.{layer}.attn.hook_z', 'mlp': f'blocks.{layer}.hook_mlp_out', 'neuron': f'blocks.{layer}.mlp.hook_post'}[kind]


def label(c):
    kind, layer, index = c
    if kind == 'feature':
        return f'{layer}:{index}'
    return f'{layer}.{index}' if kind == 'head' else f'mlp{layer}' if kind == 'mlp' else f'n{layer}.{index}'


def universe(m, circuit, d_mlp, d_sae=0):
    kinds = {c[0] for c in circuit}
    out = []
    if 'head' in kinds:
        out += [('head', l, h) for l in range(m.L) for h in range(m.H)]
    whole = {c[1] for c in circuit if c[0] == 'mlp'}
    for l in range(m.L):
        if 'neuron' in kinds and l not in whole:
            out += [('neuron', l, n) for n in range(d_mlp)]
        elif 'mlp' in kinds:
            out.append(('mlp', l, None))
    for hook in sorted({c[1] for c in circuit if c[0] == 'feature'}):
        out += [('feature', hook, f) for f in range(d_sae)]
    return out


def run(a):
    torch.set_num_threads(1)
    m = model_of(a.family, a.model, a)
    tokens = parse_tokens(a.tokens)
    B = tokens.shape[0]
    circuit = [('head', *map(int, h.split('.'))) for h in filter(None, a.heads.split(','))]
    circuit += [('mlp', int(l), None) for l in filter(None, a.mlps.split(','))]
    circuit += [('neuron', *map(int, n.split('.'))) for n in filter(None, a.neurons.split(','))]
    circuit += [('feature', f.rsplit(':', 1)[0], int(f.rsplit(':', 1)[1])) for f in filter(None, a.features.split(','))]
    probe = {}
    m.forward(tokens[:1], probe)
    d_mlp = probe['blocks.0.mlp.hook_post'].shape[-1]
    U = universe(m, circuit, d_mlp, probe[f'{a.sae_hook}.hook_sae_acts_post'].shape[-1] if a.sae_dir else 0)

    # Replacement values for each hook, [batch, pos, ...] (None: zeros).
    source = None
    if a.ablation == 'patch':
        source = {}
        m.forward(parse_tokens(a.corrupted), source)
    elif a.ablation in ('mean', 'resample'):
        ref_cache = {}
        m.forward(parse_tokens(a.reference) if a.reference else tokens, ref_cache)
        source = {}
        for h, v in ref_cache.items():
            if a.ablation == 'mean':
                source[h] = v.mean(0, keepdim=True).expand(B, *v.shape[1:])
            else:  # prompt i takes reference prompt i + 1 (cyclically)
                R = v.shape[0]
                source[h] = torch.stack([v[(i + 1) % R] for i in range(B)])

    def metric(logits):
        if a.metric == 'loss':
            lp = torch.log_softmax(logits.double(), -1)
            frm, to = a.loss_from, a.loss_to or tokens.shape[1]
            per = [-lp[:, t - 1].gather(1, tokens[:, t:t + 1]).squeeze(1) for t in range(frm, to)]
            return torch.stack(per, 1).mean(1).mean().item()
        ans = torch.tensor([int(x) for x in a.answers.split(',')])
        cf = torch.tensor([int(x) for x in a.counterfactuals.split(',')])
        last = logits[:, -1].double()
        return (last.gather(1, ans[:, None]) - last.gather(1, cf[:, None])).mean().item()

    def M(ablated):
        interventions = {}
        for c in ablated:
            kind, layer, index = c
            hook = hook_of(c)
            shape = probe[hook].shape[1:]
            if hook not in interventions:
                interventions[hook] = (torch.ones(B, *shape), torch.zeros(B, *shape))
            keep, add = interventions[hook]
            sl = (slice(None), slice(None)) + ((index,) if index is not None else ())
            keep[sl] = 0
            add[sl] = 0 if source is None else source[hook][sl]
        with torch.inference_mode():
            return metric(m.forward(tokens, None, interventions))

    inside = {label(c) for c in circuit}
    complement = [c for c in U if label(c) not in inside]
    full, none, m_c = M([]), M(U), M(complement)
    F = lambda v: (v - none) / (full - none)
    out = {'full': full, 'none': none, 'circuit': m_c, 'faithfulness': F(m_c), 'minimality': {}, 'completeness': {}}
    for v in circuit:
        without = F(M(complement + [v]))
        out['minimality'][label(v)] = F(m_c) - without
        out['completeness'][label(v)] = abs(without - F(M([v])))
    print(json.dumps(out))


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--family', choices=['gpt2', 'llama'], default='gpt2')
    ap.add_argument('--model', required=True)
    ap.add_argument('--tokens', required=True)
    ap.add_argument('--corrupted')
    ap.add_argument('--reference')
    ap.add_argument('--heads', default='')
    ap.add_argument('--mlps', default='')
    ap.add_argument('--neurons', default='')
    ap.add_argument('--features', default='')
    ap.add_argument('--sae-format', default='saelens')
    ap.add_argument('--sae-dir')
    ap.add_argument('--sae-hook')
    ap.add_argument('--sae-splice', action='store_true')
    ap.add_argument('--ablation', required=True, choices=['zero', 'mean', 'resample', 'patch'])
    ap.add_argument('--metric', default='logitDiff', choices=['logitDiff', 'loss'])
    ap.add_argument('--answers')
    ap.add_argument('--counterfactuals')
    ap.add_argument('--loss-from', type=int, default=1)
    ap.add_argument('--loss-to', type=int)
    run(ap.parse_args())
