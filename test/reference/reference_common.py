"""Shared pieces of the references (GPT-2, GPT-NeoX, Llama-style, GPT-Neo): TransformerLens-style hook
points with interventions, LayerNorm and RMSNorm as TransformerLens hooks them, activations, rotary
embeddings as in RoFormer / Hugging Face's rotate_half, causal (optionally windowed) attention with grouped
key/value heads, and the command line every reference has (make-random, forward, bench, plus its own).

Written from the papers and Hugging Face config semantics; shares no code with the TypeScript engine.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

from safetensors_io import DTYPES, parse_tokens, read_safetensors, write_npy, write_safetensors  # noqa: F401 (re-exported)


def load_model_dir(model_dir, prefix):
    """(config dict, {name without prefix: float32 tensor}) from config.json and model.safetensors."""
    with open(os.path.join(model_dir, 'config.json')) as f:
        cfg = json.load(f)
    raw = read_safetensors(os.path.join(model_dir, 'model.safetensors'))
    return cfg, {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in raw.items()}


def hook_fn(cache, interventions):
    """hp(name, x): applies an intervention (x * keep + add) at a hook point, then caches the value."""
    def hp(name, x):
        if name in interventions:
            keep, add = interventions[name]
            x = x * keep + add
        if cache is not None:
            cache[name] = x
        return x
    return hp


def layer_norm(x, w, b, eps, name, hp):
    """TransformerLens LayerNorm: hook_scale = sqrt(var + eps), hook_normalized after weight and bias."""
    x = x - x.mean(-1, keepdim=True)
    scale = hp(name + '.hook_scale', (x.pow(2).mean(-1, keepdim=True) + eps).sqrt())  # [batch, pos, 1]
    return hp(name + '.hook_normalized', x / scale * w + b)


def rms_norm(x, w, eps, name, hp):
    """TransformerLens RMSNorm: hook_normalized is x / rms, before the weight."""
    scale = hp(name + '.hook_scale', (x.pow(2).mean(-1, keepdim=True) + eps).sqrt())  # [batch, pos, 1]
    return hp(name + '.hook_normalized', x / scale) * w


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def activation(name, x):
    if name in ('gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'):
        return gelu_new(x)
    if name == 'gelu':
        return torch.nn.functional.gelu(x)
    if name == 'relu':
        return torch.relu(x)
    if name in ('silu', 'swish'):
        return torch.nn.functional.silu(x)
    raise ValueError(name)


def rope_inv_freq(dims, base, scaling=None):
    """Inverse frequencies of the rotated pairs (fp32 as transformers), with rope_scaling applied."""
    inv = 1.0 / (base ** (torch.arange(0, dims, 2, dtype=torch.int64).float() / dims))
    if not scaling or scaling.get('rope_type', scaling.get('type')) == 'default':
        return inv
    kind = scaling.get('rope_type', scaling.get('type'))
    factor = scaling['factor']
    if kind == 'linear':
        return inv / factor
    assert kind == 'llama3', kind
    old = scaling.get('original_max_position_embeddings', 8192)
    lo, hi = scaling.get('low_freq_factor', 1), scaling.get('high_freq_factor', 4)
    wavelen = 2 * math.pi / inv
    out = torch.where(wavelen > old / lo, inv / factor, inv)
    smooth = (old / wavelen - lo) / (hi - lo)
    medium = (wavelen >= old / hi) & (wavelen <= old / lo)
    return torch.where(medium, (1 - smooth) * inv / factor + smooth * inv, out)


def rope_tables(P, inv_freq):
    """cos, sin [pos, 1, dims] for rotate-half pairs (dimension i with i + dims / 2)."""
    freqs = torch.outer(torch.arange(P).float(), inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos()[:, None, :], emb.sin()[:, None, :]


def apply_rope(x, cos, sin):
    """x [batch, pos, heads, d_head]: the first cos.shape[-1] dimensions rotate, the rest pass."""
    n = cos.shape[-1]
    xr, xp = x[..., :n], x[..., n:]
    x1, x2 = xr[..., : n // 2], xr[..., n // 2:]
    rotated = xr * cos + torch.cat([-x2, x1], dim=-1) * sin
    return torch.cat([rotated, xp], dim=-1)


def attend(q, k, v, scale, window, n, hp):
    """q [batch, pos, heads, d_head]; k, v [batch, pos, kv_heads, d_head]. Causal, keys at most window - 1
    back when window is set; kv head j serves query heads j * rep ... (j + 1) * rep - 1. Returns z."""
    rep = q.shape[2] // k.shape[2]
    k, v = k.repeat_interleave(rep, dim=2), v.repeat_interleave(rep, dim=2)
    P = q.shape[1]
    qi, ki = torch.arange(P)[:, None], torch.arange(P)[None, :]
    allowed = ki <= qi
    if window is not None:
        allowed = allowed & (qi - ki < window)
    scores = torch.einsum('bqhd,bkhd->bhqk', q, k) * scale
    scores = hp(n + 'attn.hook_attn_scores', scores.masked_fill(~allowed, float('-inf')))  # [batch, head, query_pos, key_pos]
    pattern = hp(n + 'attn.hook_pattern', torch.softmax(scores, dim=-1))
    return hp(n + 'attn.hook_z', torch.einsum('bhqk,bkhd->bqhd', pattern, v))  # [batch, pos, head, d_head]


def attn_output(z, w_o, b_o, n, hp):
    """z [batch, pos, head, d_head]; w_o is torch.nn.Linear's [d_model, head * d_head]. Per-head results, summed."""
    H, dh = z.shape[2], z.shape[3]
    W_O = w_o.t().reshape(H, dh, w_o.shape[0])  # [head, d_head, d_model]
    result = hp(n + 'attn.hook_result', torch.einsum('bqhd,hdm->bqhm', z, W_O))  # [batch, pos, head, d_model]
    out = result.sum(dim=2)
    return hp(n + 'hook_attn_out', out if b_o is None else out + b_o)


def linear(x, w, b=None):
    """torch.nn.Linear semantics: w is [out, in]."""
    y = x @ w.t()
    return y if b is None else y + b


def rng_tensors(seed):
    g = np.random.default_rng(seed)
    mat = lambda o, i, s=1.0: (s * g.standard_normal((o, i)) / math.sqrt(i)).astype(np.float32)  # [out, in]
    vec = lambda n, s=0.1: (s * g.standard_normal(n)).astype(np.float32)
    emb = lambda v, d: (0.5 * g.standard_normal((v, d))).astype(np.float32)
    return mat, vec, emb


def save_checkpoint(out, tensors, dtype, config):
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, 'model.safetensors'), tensors, dtype)
    with open(os.path.join(out, 'config.json'), 'w') as f:
        json.dump(config, f, indent=1)


# ---------------------------------------------------------------- command line
def forward_cmd(model_cls, a):
    m = model_cls(a.model)
    cache = {}
    interventions = {hook: (torch.from_numpy(np.load(keep)), torch.from_numpy(np.load(add))) for hook, keep, add in a.intervene or []}
    with torch.inference_mode():
        logits = m.forward(parse_tokens(a.tokens), cache, interventions)
    os.makedirs(a.out, exist_ok=True)
    write_npy(os.path.join(a.out, 'logits.npy'), logits)
    for k, v in cache.items():
        write_npy(os.path.join(a.out, k + '.npy'), v)


def bench_cmd(model_cls, a):
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(0)
    # fp32 GEMM throughput at this thread count: the limit both sides are judged against.
    n = 1024
    x, y = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen)
    for _ in range(3):
        x @ y
    reps, t0 = 10, time.perf_counter()
    for _ in range(reps):
        x @ y
    gflops = 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9
    t0 = time.perf_counter()
    m = model_cls(a.model)
    load_ms = (time.perf_counter() - t0) * 1000
    tokens = torch.randint(0, m.W_U.shape[1], (1, a.pos), generator=gen)
    out = {'gemmGflops': gflops, 'loadMs': load_ms, 'threads': a.threads, 'torch': torch.__version__}
    with torch.inference_mode():
        for name, full in (('logits', False), ('fullCache', True)):
            for _ in range(2):
                m.forward(tokens, {} if full else None)
            times = []
            for _ in range(a.repeats):
                t0 = time.perf_counter()
                m.forward(tokens, {} if full else None)
                times.append((time.perf_counter() - t0) * 1000)
            out[name + 'Ms'] = sorted(times)[len(times) // 2]
    if sys.platform.startswith('linux'):
        import resource
        out['peakRssMb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def main(model_cls, make_random, add_make_args, extra=None):
    """make-random (common options plus add_make_args), forward, bench, and `extra`: {command: (add_args, run)}."""
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('make-random')
    r.add_argument('--out', required=True)
    r.add_argument('--layers', type=int, default=2)
    r.add_argument('--d-model', type=int, default=64)
    r.add_argument('--heads', type=int, default=4)
    r.add_argument('--d-mlp', type=int, default=256)
    r.add_argument('--vocab', type=int, default=500)
    r.add_argument('--ctx', type=int, default=64)
    r.add_argument('--dtype', default='F32', choices=DTYPES)
    r.add_argument('--seed', type=int, default=0)
    add_make_args(r)
    f = sub.add_parser('forward')
    f.add_argument('--model', required=True)
    f.add_argument('--tokens', required=True)
    f.add_argument('--out', required=True)
    f.add_argument('--intervene', nargs=3, action='append', metavar=('HOOK', 'KEEP_NPY', 'ADD_NPY'))
    b = sub.add_parser('bench')
    b.add_argument('--model', required=True)
    b.add_argument('--pos', type=int, default=128)
    b.add_argument('--threads', type=int, default=1)
    b.add_argument('--repeats', type=int, default=5)
    for name, (add_args, _) in (extra or {}).items():
        add_args(sub.add_parser(name))
    a = ap.parse_args()
    if a.cmd == 'make-random':
        make_random(a)
    elif a.cmd == 'forward':
        forward_cmd(model_cls, a)
    elif a.cmd == 'bench':
        bench_cmd(model_cls, a)
    else:
        extra[a.cmd][1](a)
