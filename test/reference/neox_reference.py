#!/usr/bin/env python3
"""Independent GPT-NeoX / Pythia reference for Circuit Lens' tests (Debian's python3-torch, CPU).

From the GPT-NeoX paper and Hugging Face's GPTNeoXForCausalLM semantics, TransformerLens hook names:
parallel attention and MLP (use_parallel_residual: both read resid_pre, no hook_resid_mid), rotary
embeddings on the first int(rotary_pct * d_head) dimensions of q and k (hook_rot_q, hook_rot_k),
query_key_value laid out [q | k | v] per head, untied embed_out by default; transformers v5's rope_parameters
(rope_theta, partial_rotary_factor) in place of rotary_emb_base / rotary_pct.

  neox_reference.py make-random --out DIR [--layers --d-model --heads --d-mlp --vocab --ctx --dtype --tied --seed
                                --rotary-pct 0.25 --rope-theta 10000 --sequential --act gelu --rope-parameters]
  neox_reference.py forward --model DIR --tokens 1,2,3[;4,5,6] --out DIR [--intervene HOOK KEEP.npy ADD.npy]...
  neox_reference.py bench --model DIR --pos 128 --threads 1 --repeats 5
"""
import math

import torch

from reference_common import (activation, apply_rope, attend, attn_output, hook_fn, layer_norm, linear, load_model_dir, main,
                              rng_tensors, rope_inv_freq, rope_tables, save_checkpoint)


def make_random(a):
    mat, vec, emb = rng_tensors(a.seed)
    d, m, v = a.d_model, a.d_mlp, a.vocab
    t = {'gpt_neox.embed_in.weight': emb(v, d)}
    for l in range(a.layers):
        p = f'gpt_neox.layers.{l}.'
        t[p + 'input_layernorm.weight'] = 1 + vec(d)
        t[p + 'input_layernorm.bias'] = vec(d)
        t[p + 'post_attention_layernorm.weight'] = 1 + vec(d)
        t[p + 'post_attention_layernorm.bias'] = vec(d)
        t[p + 'attention.query_key_value.weight'] = mat(3 * d, d, 2.0)
        t[p + 'attention.query_key_value.bias'] = vec(3 * d)
        t[p + 'attention.dense.weight'] = mat(d, d)
        t[p + 'attention.dense.bias'] = vec(d)
        t[p + 'mlp.dense_h_to_4h.weight'] = mat(m, d)
        t[p + 'mlp.dense_h_to_4h.bias'] = vec(m)
        t[p + 'mlp.dense_4h_to_h.weight'] = mat(d, m)
        t[p + 'mlp.dense_4h_to_h.bias'] = vec(d)
    t['gpt_neox.final_layer_norm.weight'] = 1 + vec(d)
    t['gpt_neox.final_layer_norm.bias'] = vec(d)
    if not a.tied:
        t['embed_out.weight'] = emb(v, d)
    config = {
        'model_type': 'gpt_neox', 'architectures': ['GPTNeoXForCausalLM'], 'num_hidden_layers': a.layers, 'hidden_size': d,
        'num_attention_heads': a.heads, 'intermediate_size': m, 'max_position_embeddings': a.ctx, 'vocab_size': v,
        'layer_norm_eps': 1e-5, 'hidden_act': a.act, 'rotary_pct': a.rotary_pct, 'rotary_emb_base': a.rope_theta,
        'use_parallel_residual': not a.sequential, 'tie_word_embeddings': a.tied, 'bos_token_id': 0, 'eos_token_id': 0,
    }
    if a.rope_parameters:  # transformers v5: the rotary fraction and base inside rope_parameters
        config['rope_parameters'] = {'rope_type': 'default', 'rope_theta': config.pop('rotary_emb_base'), 'partial_rotary_factor': config.pop('rotary_pct')}
    save_checkpoint(a.out, t, a.dtype, config)


class NeoxReference:
    def __init__(self, model_dir):
        cfg, self.w = load_model_dir(model_dir, 'gpt_neox.')
        self.L, self.d, self.H = cfg['num_hidden_layers'], cfg['hidden_size'], cfg['num_attention_heads']
        self.dh = self.d // self.H
        rope = cfg.get('rope_parameters') or {}
        self.rot = int(self.dh * cfg.get('rotary_pct', rope.get('partial_rotary_factor', 0.25)))
        theta = cfg.get('rope_theta', cfg.get('rotary_emb_base', rope.get('rope_theta', 10000)))
        self.inv_freq = rope_inv_freq(self.rot, theta, cfg.get('rope_scaling') or cfg.get('rope_parameters'))
        self.eps = cfg.get('layer_norm_eps', 1e-5)
        self.act = cfg.get('hidden_act', 'gelu')
        self.parallel = cfg.get('use_parallel_residual', True)
        tied = cfg.get('tie_word_embeddings', False)
        self.W_U = (self.w['embed_in.weight'] if tied else self.w['embed_out.weight']).t().contiguous()  # [d_model, d_vocab]

    def forward(self, tokens, cache=None, interventions=None):
        w, H, dh = self.w, self.H, self.dh
        B, P = tokens.shape
        hp = hook_fn(cache, interventions or {})
        cos, sin = rope_tables(P, self.inv_freq)
        resid = hp('hook_embed', w['embed_in.weight'][tokens])  # [batch, pos, d_model]
        for l in range(self.L):
            p, n = f'layers.{l}.', f'blocks.{l}.'
            resid = hp(n + 'hook_resid_pre', resid)
            x = layer_norm(resid, w[p + 'input_layernorm.weight'], w[p + 'input_layernorm.bias'], self.eps, n + 'ln1', hp)
            qkv = linear(x, w[p + 'attention.query_key_value.weight'], w[p + 'attention.query_key_value.bias']).reshape(B, P, H, 3 * dh)
            q, k, v = hp(n + 'attn.hook_q', qkv[..., :dh]), hp(n + 'attn.hook_k', qkv[..., dh:2 * dh]), hp(n + 'attn.hook_v', qkv[..., 2 * dh:])
            q = hp(n + 'attn.hook_rot_q', apply_rope(q, cos, sin))
            k = hp(n + 'attn.hook_rot_k', apply_rope(k, cos, sin))
            z = attend(q, k, v, 1 / math.sqrt(dh), None, n, hp)
            attn_out = attn_output(z, w[p + 'attention.dense.weight'], w[p + 'attention.dense.bias'], n, hp)

            def mlp(h):
                x2 = layer_norm(h, w[p + 'post_attention_layernorm.weight'], w[p + 'post_attention_layernorm.bias'], self.eps, n + 'ln2', hp)
                pre = hp(n + 'mlp.hook_pre', linear(x2, w[p + 'mlp.dense_h_to_4h.weight'], w[p + 'mlp.dense_h_to_4h.bias']))
                post = hp(n + 'mlp.hook_post', activation(self.act, pre))
                return hp(n + 'hook_mlp_out', linear(post, w[p + 'mlp.dense_4h_to_h.weight'], w[p + 'mlp.dense_4h_to_h.bias']))
            if self.parallel:
                resid = hp(n + 'hook_resid_post', attn_out + mlp(resid) + resid)
            else:
                mid = hp(n + 'hook_resid_mid', resid + attn_out)
                resid = hp(n + 'hook_resid_post', mid + mlp(mid))
        x = layer_norm(resid, w['final_layer_norm.weight'], w['final_layer_norm.bias'], self.eps, 'ln_final', hp)
        return x @ self.W_U  # [batch, pos, d_vocab]


def add_args(r):
    r.add_argument('--tied', action='store_true')
    r.add_argument('--rotary-pct', type=float, default=0.25)
    r.add_argument('--rope-theta', type=float, default=10000)
    r.add_argument('--sequential', action='store_true')
    r.add_argument('--act', default='gelu')
    r.add_argument('--rope-parameters', action='store_true', help="write transformers v5's rope_parameters (rope_theta, partial_rotary_factor)")


if __name__ == '__main__':
    main(NeoxReference, make_random, add_args)
