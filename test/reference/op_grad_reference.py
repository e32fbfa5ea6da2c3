#!/usr/bin/env python3
"""Autograd vector-Jacobian products of single expressions, for the autodiff rule tests (python3-torch, CPU).

  op_grad_reference.py CASES.json OUT_DIR

CASES.json: [{"name", "expr": a Python lambda over torch tensors, "inputs": [NPY, ...], "grad": [bool, ...]}].
For each case writes NAME.g<i>.npy, the gradient of sum(y * sin(0, 1, 2, ...)) (y flattened in C order)
with respect to each input i marked in "grad" (the others are constants: weights, masks).
"""
import json
import os
import sys

import numpy as np
import torch


def main():
    cases = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    for c in cases:
        xs = [torch.from_numpy(np.load(p)).requires_grad_(g) for p, g in zip(c['inputs'], c['grad'])]
        f = eval(c['expr'], {'torch': torch, 'F': torch.nn.functional})
        y = f(*xs)
        seed = torch.sin(torch.arange(y.numel(), dtype=torch.float32)).reshape(y.shape)
        (y * seed).sum().backward()
        for i, x in enumerate(xs):
            if x.requires_grad:
                g = x.grad if x.grad is not None else torch.zeros_like(x)
                np.save(os.path.join(out, f"{c['name']}.g{i}.npy"), g.numpy().astype(np.float32))


if __name__ == '__main__':
    main()
