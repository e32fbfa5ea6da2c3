#!/usr/bin/env python3
"""TransformerLens' weight processing, applied to the GPT-2 and Llama-style references (python3-torch, CPU).

The formulas are TransformerLens' (HookedTransformer.process_weights_ and load_and_process_state_dict,
written here from their documented definitions), in TransformerLens' own layouts: W_Q [head, d_model,
d_head], W_O [head, d_head, d_model], W_in [d_model, d_mlp], W_U [d_model, d_vocab]. The weights are
converted from Hugging Face's layout, processed in that order (fold_ln, center_writing_weights,
center_unembed, fold_value_biases), converted back, and the reference forwards of gpt2_reference.py and
llama_reference.py run on them. A folded norm becomes weight 1 and bias 0, which is TransformerLens'
LNPre / RMSPre (hook_normalized is the centred input over its scale). Shares no code with the engine.

  processing_reference.py forward --model DIR --tokens 1,2,3[;4,5,6] --out DIR --processing foldLn,centerWritingWeights,...
"""
import argparse
import json
import os

import torch

from reference_common import forward_cmd
from gpt2_reference import Gpt2Reference
from llama_reference import LlamaReference

OPTIONS = ('foldLn', 'centerWritingWeights', 'centerUnembed', 'foldValueBiases')


# ---------------------------------------------------------------- TransformerLens' formulas
def fold_ln_into(W, b, ln_w, ln_b, center):
    """A reading weight W [..., d_model, out] (bias b [..., out]) after a norm with weight ln_w and bias ln_b:
    b + (W * ln_b).sum(d_model), W * ln_w, then (LayerNorm) W minus its mean over d_model."""
    shape = [1] * W.dim()
    shape[-2] = -1
    if ln_b is not None:
        b = b + (W * ln_b.reshape(shape)).sum(-2)
    W = W * ln_w.reshape(shape)
    if center:
        W = W - W.mean(-2, keepdim=True)
    return W, b


def process(tl, opts, layernorm):
    """tl: dict of TransformerLens-layout tensors; returns it processed in TransformerLens' order."""
    L = tl['n_layers']
    if opts['foldLn']:
        for l in range(L):
            ln1_w, ln1_b = tl[f'{l}.ln1.w'], tl.get(f'{l}.ln1.b')
            for n in ('Q', 'K', 'V'):
                tl[f'{l}.W_{n}'], tl[f'{l}.b_{n}'] = fold_ln_into(tl[f'{l}.W_{n}'], tl[f'{l}.b_{n}'], ln1_w, ln1_b, layernorm)
            ln2_w, ln2_b = tl[f'{l}.ln2.w'], tl.get(f'{l}.ln2.b')
            tl[f'{l}.W_in'], tl[f'{l}.b_in'] = fold_ln_into(tl[f'{l}.W_in'], tl[f'{l}.b_in'], ln2_w, ln2_b, layernorm)
            if f'{l}.W_gate' in tl:
                tl[f'{l}.W_gate'], _ = fold_ln_into(tl[f'{l}.W_gate'], torch.zeros(tl[f'{l}.W_gate'].shape[-1]), ln2_w, None, layernorm)
            tl[f'{l}.ln1.w'], tl[f'{l}.ln2.w'] = torch.ones_like(ln1_w), torch.ones_like(ln2_w)
            for k in (f'{l}.ln1.b', f'{l}.ln2.b'):
                if k in tl:
                    tl[k] = torch.zeros_like(tl[k])
        tl['W_U'], tl['b_U'] = fold_ln_into(tl['W_U'], tl['b_U'], tl['lnf.w'], tl.get('lnf.b'), layernorm)
        tl['lnf.w'] = torch.ones_like(tl['lnf.w'])
        if 'lnf.b' in tl:
            tl['lnf.b'] = torch.zeros_like(tl['lnf.b'])
    if opts['centerWritingWeights'] and layernorm:
        tl['W_E'] = tl['W_E'] - tl['W_E'].mean(-1, keepdim=True)
        if 'W_pos' in tl:
            tl['W_pos'] = tl['W_pos'] - tl['W_pos'].mean(-1, keepdim=True)
        for l in range(L):
            for w, b in (('W_O', 'b_O'), ('W_out', 'b_out')):
                tl[f'{l}.{w}'] = tl[f'{l}.{w}'] - tl[f'{l}.{w}'].mean(-1, keepdim=True)
                tl[f'{l}.{b}'] = tl[f'{l}.{b}'] - tl[f'{l}.{b}'].mean()
    if opts['centerUnembed']:
        tl['W_U'] = tl['W_U'] - tl['W_U'].mean(-1, keepdim=True)
        tl['b_U'] = tl['b_U'] - tl['b_U'].mean()
    if opts['foldValueBiases']:
        for l in range(L):
            b_V = tl[f'{l}.b_V']  # [kv_head, d_head]
            rep = tl[f'{l}.W_O'].shape[0] // b_V.shape[0]
            b_V = torch.repeat_interleave(b_V, rep, dim=0)  # [head, d_head]
            tl[f'{l}.b_O'] = tl[f'{l}.b_O'] + (b_V[:, :, None] * tl[f'{l}.W_O']).sum([0, 1])
            tl[f'{l}.b_V'] = torch.zeros_like(tl[f'{l}.b_V'])
    return tl


# ---------------------------------------------------------------- GPT-2: Hugging Face <-> TransformerLens layouts
def gpt2_to_tl(m):
    w, d, H, dh = m.w, m.d, m.H, m.dh
    tl = {'n_layers': m.L, 'W_E': w['wte.weight'], 'W_pos': w['wpe.weight'], 'W_U': m.W_U, 'b_U': torch.zeros(m.W_U.shape[1]),
          'lnf.w': w['ln_f.weight'], 'lnf.b': w['ln_f.bias']}
    for l in range(m.L):
        p = f'h.{l}.'
        W, b = w[p + 'attn.c_attn.weight'], w[p + 'attn.c_attn.bias']  # [d_model, 3 d_model]
        for i, n in enumerate('QKV'):
            tl[f'{l}.W_{n}'] = W[:, i * d:(i + 1) * d].reshape(d, H, dh).permute(1, 0, 2)  # [head, d_model, d_head]
            tl[f'{l}.b_{n}'] = b[i * d:(i + 1) * d].reshape(H, dh)
        tl[f'{l}.W_O'] = w[p + 'attn.c_proj.weight'].reshape(H, dh, d)
        tl[f'{l}.b_O'] = w[p + 'attn.c_proj.bias']
        tl[f'{l}.W_in'], tl[f'{l}.b_in'] = w[p + 'mlp.c_fc.weight'], w[p + 'mlp.c_fc.bias']
        tl[f'{l}.W_out'], tl[f'{l}.b_out'] = w[p + 'mlp.c_proj.weight'], w[p + 'mlp.c_proj.bias']
        tl[f'{l}.ln1.w'], tl[f'{l}.ln1.b'] = w[p + 'ln_1.weight'], w[p + 'ln_1.bias']
        tl[f'{l}.ln2.w'], tl[f'{l}.ln2.b'] = w[p + 'ln_2.weight'], w[p + 'ln_2.bias']
    return tl


def gpt2_from_tl(m, tl):
    w, d, H, dh = m.w, m.d, m.H, m.dh
    w['wte.weight'], w['wpe.weight'], w['ln_f.weight'], w['ln_f.bias'] = tl['W_E'], tl['W_pos'], tl['lnf.w'], tl['lnf.b']
    for l in range(m.L):
        p = f'h.{l}.'
        w[p + 'attn.c_attn.weight'] = torch.cat([tl[f'{l}.W_{n}'].permute(1, 0, 2).reshape(d, H * dh) for n in 'QKV'], -1)
        w[p + 'attn.c_attn.bias'] = torch.cat([tl[f'{l}.b_{n}'].reshape(H * dh) for n in 'QKV'])
        w[p + 'attn.c_proj.weight'], w[p + 'attn.c_proj.bias'] = tl[f'{l}.W_O'].reshape(H * dh, d), tl[f'{l}.b_O']
        w[p + 'mlp.c_fc.weight'], w[p + 'mlp.c_fc.bias'] = tl[f'{l}.W_in'], tl[f'{l}.b_in']
        w[p + 'mlp.c_proj.weight'], w[p + 'mlp.c_proj.bias'] = tl[f'{l}.W_out'], tl[f'{l}.b_out']
        w[p + 'ln_1.weight'], w[p + 'ln_1.bias'] = tl[f'{l}.ln1.w'], tl[f'{l}.ln1.b']
        w[p + 'ln_2.weight'], w[p + 'ln_2.bias'] = tl[f'{l}.ln2.w'], tl[f'{l}.ln2.b']
    m.W_U, m.b_U = tl['W_U'], tl['b_U']


# ---------------------------------------------------------------- Llama-style: Hugging Face <-> TransformerLens layouts
def llama_to_tl(m):
    w, d, H, KV, dh = m.w, m.d, m.H, m.KV, m.dh
    tl = {'n_layers': m.L, 'W_E': w['embed_tokens.weight'], 'W_U': m.W_U, 'b_U': torch.zeros(m.W_U.shape[1]), 'lnf.w': w['norm.weight']}
    for l in range(m.L):
        p = f'layers.{l}.self_attn.'
        for n, heads in (('q', H), ('k', KV), ('v', KV)):
            W = w[p + f'{n}_proj.weight']  # [heads * d_head, d_model]
            tl[f'{l}.W_{n.upper()}'] = W.reshape(heads, dh, d).permute(0, 2, 1)  # [heads, d_model, d_head]
            b = w.get(p + f'{n}_proj.bias')
            tl[f'{l}.b_{n.upper()}'] = torch.zeros(heads, dh) if b is None else b.reshape(heads, dh)
        tl[f'{l}.W_O'] = w[p + 'o_proj.weight'].t().reshape(H, dh, d)
        b_o = w.get(p + 'o_proj.bias')
        tl[f'{l}.b_O'] = torch.zeros(d) if b_o is None else b_o
        mp = f'layers.{l}.mlp.'
        tl[f'{l}.W_gate'], tl[f'{l}.W_in'], tl[f'{l}.W_out'] = w[mp + 'gate_proj.weight'].t(), w[mp + 'up_proj.weight'].t(), w[mp + 'down_proj.weight'].t()
        tl[f'{l}.b_in'], tl[f'{l}.b_out'] = torch.zeros(tl[f'{l}.W_in'].shape[1]), torch.zeros(d)
        tl[f'{l}.ln1.w'] = w[f'layers.{l}.input_layernorm.weight']
        tl[f'{l}.ln2.w'] = w[f'layers.{l}.post_attention_layernorm.weight']
    return tl


def llama_from_tl(m, tl):
    w, d, H, KV, dh = m.w, m.d, m.H, m.KV, m.dh
    w['embed_tokens.weight'], w['norm.weight'] = tl['W_E'], tl['lnf.w']
    for l in range(m.L):
        p = f'layers.{l}.self_attn.'
        for n, heads in (('q', H), ('k', KV), ('v', KV)):
            w[p + f'{n}_proj.weight'] = tl[f'{l}.W_{n.upper()}'].permute(0, 2, 1).reshape(heads * dh, d)
            if p + f'{n}_proj.bias' in w or tl[f'{l}.b_{n.upper()}'].abs().max() > 0:
                w[p + f'{n}_proj.bias'] = tl[f'{l}.b_{n.upper()}'].reshape(heads * dh)
        w[p + 'o_proj.weight'] = tl[f'{l}.W_O'].reshape(H * dh, d).t()
        if p + 'o_proj.bias' in w or tl[f'{l}.b_O'].abs().max() > 0:
            w[p + 'o_proj.bias'] = tl[f'{l}.b_O']
        mp = f'layers.{l}.mlp.'
        w[mp + 'gate_proj.weight'], w[mp + 'up_proj.weight'], w[mp + 'down_proj.weight'] = tl[f'{l}.W_gate'].t(), tl[f'{l}.W_in'].t(), tl[f'{l}.W_out'].t()
        w[f'layers.{l}.input_layernorm.weight'] = tl[f'{l}.ln1.w']
        w[f'layers.{l}.post_attention_layernorm.weight'] = tl[f'{l}.ln2.w']
    m.W_U, m.b_U = tl['W_U'], tl['b_U']


def processed_model(model_dir, opts):
    with open(os.path.join(model_dir, 'config.json')) as f:
        kind = json.load(f)['model_type']
    if kind == 'gpt2':
        base, to_tl, from_tl, layernorm = Gpt2Reference, gpt2_to_tl, gpt2_from_tl, True
    elif kind in ('llama', 'mistral', 'qwen2'):
        base, to_tl, from_tl, layernorm = LlamaReference, llama_to_tl, llama_from_tl, False
    else:
        raise ValueError(f'processing reference: model_type {kind} is not modelled')

    class Processed(base):
        def __init__(self, d):
            super().__init__(d)
            from_tl(self, process(to_tl(self), opts, layernorm))

        def forward(self, tokens, cache=None, interventions=None):
            return super().forward(tokens, cache, interventions) + self.b_U

    return Processed(model_dir)


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    f = sub.add_parser('forward')
    f.add_argument('--model', required=True)
    f.add_argument('--tokens', required=True)
    f.add_argument('--out', required=True)
    f.add_argument('--processing', required=True, help='none, or comma-separated: ' + ', '.join(OPTIONS))
    f.add_argument('--intervene', nargs=3, action='append', metavar=('HOOK', 'KEEP_NPY', 'ADD_NPY'))
    a = ap.parse_args()
    chosen = set() if a.processing == 'none' else set(a.processing.split(','))
    unknown = chosen - set(OPTIONS)
    if unknown:
        raise SystemExit(f'unknown processing options: {sorted(unknown)}')
    forward_cmd(lambda d: processed_model(d, {o: o in chosen for o in OPTIONS}), a)
