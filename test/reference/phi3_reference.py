#!/usr/bin/env python3
"""Independent Phi-3 reference (Phi3ForCausalLM: Phi-3, Phi-3.5, Phi-4-mini) for Circuit Lens' tests (python3-torch, CPU).

From Hugging Face's modeling_phi3 / configuration_phi3 / modeling_rope_utils semantics (transformers v5), TransformerLens
hook names as for Llama: RMSNorm (hook_normalized before the weight); one fused self_attn.qkv_proj [q | k | v] (q with
num_attention_heads * head_dim rows, k and v with num_key_value_heads * head_dim each) and one fused mlp.gate_up_proj
whose first half is the gate and second half the up projection (hook_pre = gate, hook_pre_linear = up, hook_post =
silu(gate) * up); no biases; rotary on the first int(head_dim * partial_rotary_factor) dimensions, rotate-half;
longrope scaling (`su` and `yarn` are old names for it): inverse frequencies divided by short_factor, or by long_factor
when the run is longer than original_max_position_embeddings (top-level, default 4096), and cos and sin multiplied by
the attention factor (attention_factor, else sqrt(1 + ln(s) / ln(original)) with s = factor or
max_position_embeddings / original, 1 when s <= 1), which hook_rot_q / hook_rot_k therefore include; sliding_window
(q - k < window) on every layer when set. rope_scaling (v4) or rope_parameters (v5, rope_theta and
partial_rotary_factor inside).

  phi3_reference.py make-random --out DIR [--layers --d-model --heads --d-mlp --vocab --ctx --dtype --tied --seed
                                --kv-heads N --head-dim N --rope-theta 10000 --partial-rotary F --window W
                                --longrope ORIG --attention-factor F --rope-name longrope|su --rope-parameters]
  phi3_reference.py forward --model DIR --tokens 1,2,3[;4,5,6] --out DIR [--intervene HOOK KEEP.npy ADD.npy]...
  phi3_reference.py bench --model DIR --pos 128 --threads 1 --repeats 5
"""
import math

import numpy as np
import torch

from reference_common import (activation, apply_rope, attend, attn_output, hook_fn, linear, load_model_dir, main, rms_norm,
                              rng_tensors, save_checkpoint)


def make_random(a):
    mat, vec, emb = rng_tensors(a.seed)
    d, m, v = a.d_model, a.d_mlp, a.vocab
    kvh = a.kv_heads or a.heads
    dh = a.head_dim or d // a.heads
    t = {'model.embed_tokens.weight': emb(v, d)}
    for l in range(a.layers):
        p = f'model.layers.{l}.'
        t[p + 'input_layernorm.weight'] = 1 + vec(d)
        t[p + 'post_attention_layernorm.weight'] = 1 + vec(d)
        t[p + 'self_attn.qkv_proj.weight'] = mat((a.heads + 2 * kvh) * dh, d, 2.0)
        t[p + 'self_attn.o_proj.weight'] = mat(d, a.heads * dh)
        t[p + 'mlp.gate_up_proj.weight'] = mat(2 * m, d)
        t[p + 'mlp.down_proj.weight'] = mat(d, m)
    t['model.norm.weight'] = 1 + vec(d)
    if not a.tied:
        t['lm_head.weight'] = emb(v, d)
    config = {
        'model_type': 'phi3', 'architectures': ['Phi3ForCausalLM'], 'num_hidden_layers': a.layers, 'hidden_size': d,
        'num_attention_heads': a.heads, 'num_key_value_heads': kvh, 'intermediate_size': m, 'max_position_embeddings': a.ctx,
        'original_max_position_embeddings': a.longrope or a.ctx, 'vocab_size': v, 'rms_norm_eps': 1e-5, 'hidden_act': 'silu',
        'rope_theta': a.rope_theta, 'rope_scaling': None, 'sliding_window': a.window, 'tie_word_embeddings': a.tied,
        'bos_token_id': 1, 'eos_token_id': 32000, 'pad_token_id': 32000,
    }
    if a.head_dim:
        config['head_dim'] = dh
    if a.partial_rotary:
        config['partial_rotary_factor'] = a.partial_rotary
    if a.longrope:
        n = int(dh * (a.partial_rotary or 1.0)) // 2
        g = np.random.default_rng(a.seed + 1)
        scaling = {'type': a.rope_name, 'short_factor': (1 + g.random(n)).round(4).tolist(), 'long_factor': (1 + 8 * g.random(n)).round(4).tolist()}
        if a.attention_factor:
            scaling['attention_factor'] = a.attention_factor
        config['rope_scaling'] = scaling
    if a.rope_parameters:  # transformers v5: one rope_parameters dict, original_max_position_embeddings also kept at the top
        params = {'rope_type': 'default', 'rope_theta': config.pop('rope_theta'), 'partial_rotary_factor': config.pop('partial_rotary_factor', 1.0)}
        scaling = config.pop('rope_scaling')
        if scaling:
            params.update({k: val for k, val in scaling.items() if k != 'type'}, rope_type=scaling['type'], original_max_position_embeddings=a.longrope)
        config['rope_parameters'] = params
    save_checkpoint(a.out, t, a.dtype, config)


class Phi3Reference:
    def __init__(self, model_dir):
        cfg, self.w = load_model_dir(model_dir, 'model.')
        self.L, self.d, self.H = cfg['num_hidden_layers'], cfg['hidden_size'], cfg['num_attention_heads']
        self.KV = cfg.get('num_key_value_heads') or self.H
        self.dh = cfg.get('head_dim') or self.d // self.H
        self.eps = cfg.get('rms_norm_eps', 1e-5)
        self.act = cfg.get('hidden_act', 'silu')
        self.window = cfg.get('sliding_window')
        rope = cfg.get('rope_scaling') or cfg.get('rope_parameters') or {}
        self.theta = rope.get('rope_theta') or cfg.get('rope_theta') or 10000.0
        partial = cfg.get('partial_rotary_factor') or rope.get('partial_rotary_factor') or 1.0
        self.rot = int(self.dh * partial)
        kind = rope.get('rope_type', rope.get('type', 'default'))
        self.longrope = kind in ('longrope', 'su', 'yarn')
        if self.longrope:
            self.original = cfg.get('original_max_position_embeddings', 4096)
            factor = rope.get('factor') or cfg.get('max_position_embeddings', 4096) / self.original
            self.attention_factor = rope.get('attention_factor') or (1.0 if factor <= 1 else math.sqrt(1 + math.log(factor) / math.log(self.original)))
            self.short, self.long = rope['short_factor'], rope['long_factor']
        else:
            assert kind == 'default', kind
        tied = cfg.get('tie_word_embeddings', False)
        self.W_U = (self.w['embed_tokens.weight'] if tied else self.w['lm_head.weight']).t().contiguous()  # [d_model, d_vocab]

    def rope(self, P):
        """cos, sin [pos, 1, rot]: the long factors when this run (positions 0 .. P - 1) is longer than the original context."""
        exponents = torch.arange(0, self.rot, 2, dtype=torch.int64).float() / self.rot
        if self.longrope:
            ext = torch.tensor(self.long if P > self.original else self.short, dtype=torch.float32)
            inv = 1.0 / (ext * self.theta ** exponents)
            scale = self.attention_factor
        else:
            inv, scale = 1.0 / (self.theta ** exponents), 1.0
        angles = torch.outer(torch.arange(P).float(), inv)
        emb = torch.cat([angles, angles], dim=-1)
        return (emb.cos() * scale)[:, None, :], (emb.sin() * scale)[:, None, :]

    def forward(self, tokens, cache=None, interventions=None):
        w, H, KV, dh = self.w, self.H, self.KV, self.dh
        B, P = tokens.shape
        hp = hook_fn(cache, interventions or {})
        cos, sin = self.rope(P)
        resid = hp('hook_embed', w['embed_tokens.weight'][tokens])  # [batch, pos, d_model]
        for l in range(self.L):
            p, n = f'layers.{l}.', f'blocks.{l}.'
            resid = hp(n + 'hook_resid_pre', resid)
            x = rms_norm(resid, w[p + 'input_layernorm.weight'], self.eps, n + 'ln1', hp)
            qkv = linear(x, w[p + 'self_attn.qkv_proj.weight'])  # [batch, pos, (H + 2 KV) * dh]
            q_end, k_end = H * dh, (H + KV) * dh
            q = hp(n + 'attn.hook_q', qkv[..., :q_end].reshape(B, P, H, dh))
            k = hp(n + 'attn.hook_k', qkv[..., q_end:k_end].reshape(B, P, KV, dh))
            v = hp(n + 'attn.hook_v', qkv[..., k_end:].reshape(B, P, KV, dh))
            q = hp(n + 'attn.hook_rot_q', apply_rope(q, cos, sin))
            k = hp(n + 'attn.hook_rot_k', apply_rope(k, cos, sin))
            z = attend(q, k, v, 1 / math.sqrt(dh), self.window, n, hp)
            attn_out = attn_output(z, w[p + 'self_attn.o_proj.weight'], None, n, hp)
            mid = hp(n + 'hook_resid_mid', resid + attn_out)
            x2 = rms_norm(mid, w[p + 'post_attention_layernorm.weight'], self.eps, n + 'ln2', hp)
            gate, up = linear(x2, w[p + 'mlp.gate_up_proj.weight']).chunk(2, dim=-1)  # [batch, pos, d_mlp] each
            gate = hp(n + 'mlp.hook_pre', gate)
            up = hp(n + 'mlp.hook_pre_linear', up)
            post = hp(n + 'mlp.hook_post', activation(self.act, gate) * up)
            mlp_out = hp(n + 'hook_mlp_out', linear(post, w[p + 'mlp.down_proj.weight']))
            resid = hp(n + 'hook_resid_post', mid + mlp_out)
        x = rms_norm(resid, w['norm.weight'], self.eps, 'ln_final', hp)
        return x @ self.W_U  # [batch, pos, d_vocab]


def add_args(r):
    r.add_argument('--tied', action='store_true')
    r.add_argument('--kv-heads', type=int)
    r.add_argument('--head-dim', type=int)
    r.add_argument('--rope-theta', type=float, default=10000.0)
    r.add_argument('--partial-rotary', type=float, help='partial_rotary_factor')
    r.add_argument('--window', type=int, help='sliding_window')
    r.add_argument('--longrope', type=int, metavar='ORIG', help='longrope scaling with original_max_position_embeddings ORIG')
    r.add_argument('--attention-factor', type=float, help="longrope's explicit attention_factor")
    r.add_argument('--rope-name', default='longrope', choices=['longrope', 'su'], help='the rope type name written for longrope')
    r.add_argument('--rope-parameters', action='store_true', help="write transformers v5's rope_parameters instead of rope_theta / rope_scaling")


if __name__ == '__main__':
    main(Phi3Reference, make_random, add_args)
