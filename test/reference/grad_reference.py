#!/usr/bin/env python3
"""Autograd gradients at every hook point, for Circuit Lens' gradient tests (python3-torch, CPU).

Runs a family reference's own forward (gpt2, neox, llama, phi3, gptneo, gemma _reference.py: TransformerLens
hook names, use_attn_result, so hook_attn_out is the sum of the heads' hook_result plus b_O) with the weights
requiring gradients, the interventions in effect (x * keep + add at a hook, the cached value being the one
after it), and backpropagates the sum over the batch rows of one metric of the logits:

  logit:ID           the last position's logit of token ID
  logitdiff:A,B      the last position's logit of A minus that of B
  loss               mean next-token cross-entropy over the pos - 1 predicted positions

  grad_reference.py --family gpt2|neox|llama|phi3|gptneo|gemma --model DIR --tokens 1,2,3[;4,5,6] --metric M --out DIR
                    [--intervene HOOK KEEP.npy ADD.npy]...
Writes HOOK_grad.npy for every hook point (zeros where the metric does not depend on it), logits.npy and
metric.npy (each row's metric).
"""
import argparse
import importlib
import os

import numpy as np
import torch

from safetensors_io import parse_tokens, write_npy

MODULES = {'gpt2': 'gpt2_reference', 'neox': 'neox_reference', 'llama': 'llama_reference', 'phi3': 'phi3_reference',
           'gptneo': 'gptneo_reference', 'gemma': 'gemma_reference'}


class GradCache(dict):
    """A hook cache that keeps each cached activation's gradient."""
    def __setitem__(self, name, x):
        if x.requires_grad:
            x.retain_grad()
        super().__setitem__(name, x)


def metric_rows(logits, tokens, spec):
    """[batch] metric of each row."""
    if spec == 'loss':
        logp = torch.log_softmax(logits[:, :-1], dim=-1)  # [batch, pos - 1, d_vocab]
        return -logp.gather(-1, tokens[:, 1:, None])[..., 0].mean(-1)
    kind, ids = spec.split(':')
    ids = [int(i) for i in ids.split(',')]
    last = logits[:, -1]
    if kind == 'logit':
        return last[:, ids[0]]
    assert kind == 'logitdiff', spec
    return last[:, ids[0]] - last[:, ids[1]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--family', required=True, choices=sorted(MODULES))
    ap.add_argument('--model', required=True)
    ap.add_argument('--tokens', required=True)
    ap.add_argument('--metric', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--intervene', nargs=3, action='append', metavar=('HOOK', 'KEEP_NPY', 'ADD_NPY'))
    a = ap.parse_args()
    module = importlib.import_module(MODULES[a.family])
    cls = next(v for k, v in vars(module).items() if k.endswith('Reference') and isinstance(v, type) and hasattr(v, 'forward'))
    m = cls(a.model)
    for t in m.w.values():
        t.requires_grad_(True)
    forward = getattr(cls.forward, '__wrapped__', cls.forward)  # undo an inference_mode decorator
    interventions = {hook: (torch.from_numpy(np.load(keep)), torch.from_numpy(np.load(add))) for hook, keep, add in a.intervene or []}
    tokens = parse_tokens(a.tokens)
    cache = GradCache()
    with torch.enable_grad():
        logits = forward(m, tokens, cache, interventions)
        rows = metric_rows(logits, tokens, a.metric)
        rows.sum().backward()
    os.makedirs(a.out, exist_ok=True)
    write_npy(os.path.join(a.out, 'logits.npy'), logits.detach())
    write_npy(os.path.join(a.out, 'metric.npy'), rows.detach())
    for name, x in cache.items():
        write_npy(os.path.join(a.out, name + '_grad.npy'), x.grad if x.grad is not None else torch.zeros_like(x))


if __name__ == '__main__':
    main()
