#!/usr/bin/env python3
"""Independent GPT-2 reference for Circuit Lens' tests and benchmark (Debian's python3-torch, CPU).

Written from the GPT-2 paper and Hugging Face's GPT2LMHeadModel semantics, with TransformerLens hook
names and shapes (as from_pretrained_no_processing: no folding, no centering). It shares no code with the
TypeScript engine: the references' own safetensors reader and writer, its own forward.

  gpt2_reference.py make-random --out DIR [--layers 2 --d-model 64 --heads 4 --d-mlp 256 --vocab 500
                                --ctx 64 --dtype F32|F16|BF16 --act gelu_new --untied --no-prefix --seed 0]
  gpt2_reference.py forward --model DIR --tokens 1,2,3[;4,5,6] --out DIR [--intervene HOOK KEEP.npy ADD.npy]...
                                                                         (writes HOOK.npy and logits.npy)
  gpt2_reference.py patch --model DIR --clean 1,2,3 --corrupted 1,2,4 --target resid_pre|attn_out|mlp_out|heads|heads_pos
                          --answer ID --counterfactual ID                  (prints JSON: normalized sweep)
  gpt2_reference.py dla --model DIR --tokens 1,2,3 --answer ID [--counterfactual ID]   (prints JSON)
  gpt2_reference.py bench --model DIR --pos 128 --threads 1 --repeats 5      (prints JSON timings)
  gpt2_reference.py bench-patch --model DIR --pos 64 --threads 1            (times a residual patching sweep)
"""
import json
import math
import time

import numpy as np
import torch

from reference_common import activation, hook_fn, layer_norm, load_model_dir, main, parse_tokens, save_checkpoint


# ---------------------------------------------------------------- random checkpoints
def make_random(a):
    g = np.random.default_rng(a.seed)
    d, m, v, c = a.d_model, a.d_mlp, a.vocab, a.ctx
    mat = lambda i, o: (g.standard_normal((i, o)) / math.sqrt(i)).astype(np.float32)
    vec = lambda n, s=0.1: (s * g.standard_normal(n)).astype(np.float32)
    t = {
        'wte.weight': (0.5 * g.standard_normal((v, d))).astype(np.float32),
        'wpe.weight': (0.5 * g.standard_normal((c, d))).astype(np.float32),
    }
    for l in range(a.layers):
        p = f'h.{l}.'
        t[p + 'ln_1.weight'] = 1 + vec(d)
        t[p + 'ln_1.bias'] = vec(d)
        t[p + 'attn.c_attn.weight'] = 2 * mat(d, 3 * d)  # sharper attention than N(0, 1/d)
        t[p + 'attn.c_attn.bias'] = vec(3 * d)
        t[p + 'attn.c_proj.weight'] = mat(d, d)
        t[p + 'attn.c_proj.bias'] = vec(d)
        t[p + 'ln_2.weight'] = 1 + vec(d)
        t[p + 'ln_2.bias'] = vec(d)
        t[p + 'mlp.c_fc.weight'] = mat(d, m)
        t[p + 'mlp.c_fc.bias'] = vec(m)
        t[p + 'mlp.c_proj.weight'] = mat(m, d)
        t[p + 'mlp.c_proj.bias'] = vec(d)
    t['ln_f.weight'] = 1 + vec(d)
    t['ln_f.bias'] = vec(d)
    prefix = '' if a.no_prefix else 'transformer.'
    tensors = {prefix + k: val for k, val in t.items()}
    if a.untied:
        tensors['lm_head.weight'] = (0.5 * g.standard_normal((v, d))).astype(np.float32)
    config = {
        'model_type': 'gpt2', 'architectures': ['GPT2LMHeadModel'], 'n_layer': a.layers, 'n_embd': d,
        'n_head': a.heads, 'n_inner': m, 'n_positions': c, 'n_ctx': c, 'vocab_size': v,
        'layer_norm_epsilon': 1e-5, 'activation_function': a.act, 'tie_word_embeddings': not a.untied,
        'bos_token_id': v - 1, 'eos_token_id': v - 1,
    }
    save_checkpoint(a.out, tensors, a.dtype, config)


# ---------------------------------------------------------------- the model
class Gpt2Reference:
    def __init__(self, model_dir):
        cfg, self.w = load_model_dir(model_dir, 'transformer.')
        self.L, self.d, self.H = cfg['n_layer'], cfg['n_embd'], cfg['n_head']
        self.dh = self.d // self.H
        self.eps = cfg.get('layer_norm_epsilon', 1e-5)
        self.act = cfg.get('activation_function', 'gelu_new')
        self.scale_attn = cfg.get('scale_attn_weights', True)
        self.inv_layer = cfg.get('scale_attn_by_inverse_layer_idx', False)
        tied = cfg.get('tie_word_embeddings', True) or 'lm_head.weight' not in self.w
        self.W_U = (self.w['wte.weight'] if tied else self.w['lm_head.weight']).t().contiguous()  # [d_model, d_vocab]

    @torch.inference_mode()
    def forward(self, tokens, cache=None, interventions=None):
        """tokens: [batch, pos] int64. cache: dict to fill with every hook point, or None.
        interventions: {hook: (keep, add)}: the hook's value becomes x * keep + add, downstream too."""
        w, H, dh, d = self.w, self.H, self.dh, self.d
        B, P = tokens.shape
        interventions = interventions or {}

        hp = hook_fn(cache, interventions)

        embed = hp('hook_embed', w['wte.weight'][tokens])  # [batch, pos, d_model]
        pos_embed = hp('hook_pos_embed', w['wpe.weight'][:P].unsqueeze(0).expand(B, P, d))
        resid = embed + pos_embed
        future = torch.triu(torch.ones(P, P, dtype=torch.bool), diagonal=1)  # [query, key]: key after query
        for l in range(self.L):
            p = f'h.{l}.'
            n = f'blocks.{l}.'
            resid = hp(n + 'hook_resid_pre', resid)
            x = layer_norm(resid, w[p + 'ln_1.weight'], w[p + 'ln_1.bias'], self.eps, n + 'ln1', hp)
            qkv = x @ w[p + 'attn.c_attn.weight'] + w[p + 'attn.c_attn.bias']  # [batch, pos, 3 d_model]
            q, k, v = (t.reshape(B, P, H, dh) for t in qkv.split(d, dim=-1))  # [batch, pos, head, d_head]
            q, k, v = hp(n + 'attn.hook_q', q), hp(n + 'attn.hook_k', k), hp(n + 'attn.hook_v', v)
            scores = torch.einsum('bqhd,bkhd->bhqk', q, k)
            if self.scale_attn:
                scores = scores / math.sqrt(dh)
            if self.inv_layer:
                scores = scores / (l + 1)
            scores = hp(n + 'attn.hook_attn_scores', scores.masked_fill(future, float('-inf')))  # [batch, head, query_pos, key_pos]
            pattern = hp(n + 'attn.hook_pattern', torch.softmax(scores, dim=-1))
            z = hp(n + 'attn.hook_z', torch.einsum('bhqk,bkhd->bqhd', pattern, v))  # [batch, pos, head, d_head]
            W_O = w[p + 'attn.c_proj.weight'].reshape(H, dh, d)  # [head, d_head, d_model]
            result = hp(n + 'attn.hook_result', torch.einsum('bqhd,hdm->bqhm', z, W_O))  # [batch, pos, head, d_model]
            attn_out = hp(n + 'hook_attn_out', result.sum(dim=2) + w[p + 'attn.c_proj.bias'])
            resid = hp(n + 'hook_resid_mid', resid + attn_out)
            x = layer_norm(resid, w[p + 'ln_2.weight'], w[p + 'ln_2.bias'], self.eps, n + 'ln2', hp)
            pre = hp(n + 'mlp.hook_pre', x @ w[p + 'mlp.c_fc.weight'] + w[p + 'mlp.c_fc.bias'])  # [batch, pos, d_mlp]
            post = hp(n + 'mlp.hook_post', activation(self.act, pre))
            mlp_out = hp(n + 'hook_mlp_out', post @ w[p + 'mlp.c_proj.weight'] + w[p + 'mlp.c_proj.bias'])
            resid = hp(n + 'hook_resid_post', resid + mlp_out)
        x = layer_norm(resid, w['ln_f.weight'], w['ln_f.bias'], self.eps, 'ln_final', hp)
        return x @ self.W_U  # [batch, pos, d_vocab]


PATCH_HOOK = {'resid_pre': 'hook_resid_pre', 'attn_out': 'hook_attn_out', 'mlp_out': 'hook_mlp_out',
              'heads': 'attn.hook_z', 'heads_pos': 'attn.hook_z'}


def patching_sweep(m, clean, corrupted, target, answer, cf):
    """Denoising activation patching, one forward per (layer, unit), each with a hook that overwrites
    the unit's slice with the clean run's value. Returns (normalized [layer][unit], clean, corrupted)."""
    def logit_diff(logits):
        return (logits[0, -1, answer] - logits[0, -1, cf]).item()
    clean_cache = {}
    m_clean = logit_diff(m.forward(clean, clean_cache))
    m_corr = logit_diff(m.forward(corrupted))
    P, H = clean.shape[1], m.H
    if target == 'heads':
        units = [(None, h) for h in range(H)]
    elif target == 'heads_pos':
        units = [(p, h) for h in range(H) for p in range(P)]
    else:
        units = [(p, None) for p in range(P)]
    out = []
    for l in range(m.L):
        hook = f'blocks.{l}.{PATCH_HOOK[target]}'
        src = clean_cache[hook]
        row = []
        for p, h in units:
            keep = torch.ones_like(src)
            sl = (slice(None), slice(None) if p is None else p) + ((slice(None) if h is None else h,) if src.dim() == 4 else ())
            keep[sl] = 0
            add = src * (1 - keep)
            row.append((logit_diff(m.forward(corrupted, None, {hook: (keep, add)})) - m_corr) / (m_clean - m_corr))
        out.append(row)
    return out, m_clean, m_corr


def patch_cmd(a):
    m = Gpt2Reference(a.model)
    values, m_clean, m_corr = patching_sweep(m, parse_tokens(a.clean), parse_tokens(a.corrupted), a.target, a.answer, a.counterfactual)
    print(json.dumps({'values': values, 'clean': m_clean, 'corrupted': m_corr}))


def dla_cmd(a):
    """Direct logit attribution at the last position: components centred, divided by the final
    LayerNorm scale, dotted with ln_f.weight * (W_U[answer] - W_U[counterfactual]); plus ln_f.bias's term."""
    m = Gpt2Reference(a.model)
    cache = {}
    tokens = parse_tokens(a.tokens)
    m.forward(tokens, cache)
    u = m.W_U[:, a.answer] - (m.W_U[:, a.counterfactual] if a.counterfactual is not None else 0)  # [d_model]
    direction = u * m.w['ln_f.weight']
    scale = cache['ln_final.hook_scale'][0, -1, 0]

    def contrib(v):  # [..., d_model] -> [...]
        return ((v - v.mean(-1, keepdim=True)) / scale) @ direction

    values = [contrib(cache['hook_embed'][0, -1]), contrib(cache['hook_pos_embed'][0, -1])]
    heads = []
    for l in range(m.L):
        values += [contrib(cache[f'blocks.{l}.hook_attn_out'][0, -1]), contrib(cache[f'blocks.{l}.hook_mlp_out'][0, -1])]
        heads.append(contrib(cache[f'blocks.{l}.attn.hook_result'][0, -1]).tolist())
    values.append(u @ m.w['ln_f.bias'])
    print(json.dumps({'values': [float(v) for v in values], 'heads': heads}))


def bench_patch_cmd(a):
    """Times a denoising residual-stream patching sweep (every layer x every position of a prompt of
    --pos tokens) done as a TransformerLens user would: per layer, one batched forward of the corrupted
    prompt whose hook overwrites row i's position i with the clean run's value; metric from the logits."""
    torch.set_num_threads(a.threads)
    m = Gpt2Reference(a.model)
    gen = torch.Generator().manual_seed(0)
    vocab = m.W_U.shape[1]
    clean = torch.randint(0, vocab, (1, a.pos), generator=gen)
    corrupted = clean.clone()
    corrupted[0, a.pos - 4] = (corrupted[0, a.pos - 4] + 1) % vocab
    t0 = time.perf_counter()
    cache = {}
    m.forward(clean, cache)
    rows = torch.arange(a.pos)
    results = []
    for l in range(m.L):
        hook = f'blocks.{l}.hook_resid_pre'
        keep = torch.ones(a.pos, a.pos, 1)
        keep[rows, rows] = 0
        add = (1 - keep) * cache[hook]  # [rows, pos, d_model]: row i carries the clean value at position i
        logits = m.forward(corrupted.expand(a.pos, a.pos), None, {hook: (keep, add)})
        results.append(logits[:, -1, 1] - logits[:, -1, 2])
    ms = (time.perf_counter() - t0) * 1000
    print(json.dumps({'sweepMs': ms, 'rows': m.L * a.pos, 'pos': a.pos}))


def add_make_args(r):
    r.add_argument('--act', default='gelu_new')
    r.add_argument('--untied', action='store_true')
    r.add_argument('--no-prefix', action='store_true')


def add_patch_args(p):
    p.add_argument('--model', required=True)
    p.add_argument('--clean', required=True)
    p.add_argument('--corrupted', required=True)
    p.add_argument('--target', required=True, choices=list(PATCH_HOOK))
    p.add_argument('--answer', type=int, required=True)
    p.add_argument('--counterfactual', type=int, required=True)


def add_dla_args(p):
    p.add_argument('--model', required=True)
    p.add_argument('--tokens', required=True)
    p.add_argument('--answer', type=int, required=True)
    p.add_argument('--counterfactual', type=int)


def add_bench_patch_args(p):
    p.add_argument('--model', required=True)
    p.add_argument('--pos', type=int, default=64)
    p.add_argument('--threads', type=int, default=1)


if __name__ == '__main__':
    main(Gpt2Reference, make_random, add_make_args, extra={
        'patch': (add_patch_args, patch_cmd), 'dla': (add_dla_args, dla_cmd), 'bench-patch': (add_bench_patch_args, bench_patch_cmd)})
