#!/usr/bin/env python3
"""Independent Llama-style reference (Llama, Mistral, Qwen2, Qwen3, OLMo 2) for Circuit Lens' tests (python3-torch, CPU).

From the Llama papers and Hugging Face's LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM /
Qwen3ForCausalLM config semantics, TransformerLens hook names: RMSNorm (hook_normalized before the weight), rotary embeddings on the
whole head with rope_theta and rope_scaling (linear, llama3), SwiGLU (hook_pre = x W_gate, hook_pre_linear =
x W_up, hook_post = silu(gate) * up), grouped-query attention (hook_k, hook_v, hook_rot_k with the key/value
head count), Qwen2's q/k/v biases, Qwen2's and Qwen3's sliding window (layer_types, else from max_window_layers on), Mistral's sliding window on every layer
(MistralConfig ignores layer_types); transformers v5's rope_parameters (rope_theta and the scaling in one dict); Qwen3's per-head RMSNorm of q and k
(self_attn.q_norm / k_norm, weight [head_dim]) after the head split and before rotary, hooked as
TransformerLens' attn.q_norm.hook_scale / hook_normalized (hook_q and hook_k stay before the norm), head_dim
defaulting to 128, attention_bias on q, k, v and o; OLMo 2 (Olmo2ForCausalLM, Hugging Face's modeling_olmo2): no
input norm, x + post_attention_layernorm(attn(x)) then x + post_feedforward_layernorm(mlp(x)) (hooked as
TransformerLens' ln1 / ln2, after hook_attn_out / hook_mlp_out, which stay before the norms), and q_norm / k_norm
(weights [n_heads * head_dim] / [n_kv_heads * head_dim]) over the whole q and k projections before the head split
and rotary, hooked as attn.q_norm.hook_scale [batch, pos, 1] / hook_normalized [batch, pos, n_heads * head_dim].

  llama_reference.py make-random --out DIR [--layers --d-model --heads --d-mlp --vocab --ctx --dtype --tied --seed
                                 --model-type llama|mistral|qwen2|qwen3|olmo2 --kv-heads N --head-dim N --rope-theta 10000
                                 --rope-scaling linear:F|llama3:F:ORIG --window W --attention-bias --rope-parameters
                                 --layer-types sliding,full]
  llama_reference.py forward --model DIR --tokens 1,2,3[;4,5,6] --out DIR [--intervene HOOK KEEP.npy ADD.npy]...
  llama_reference.py bench --model DIR --pos 128 --threads 1 --repeats 5
"""
import math

import torch

from reference_common import (activation, apply_rope, attend, attn_output, hook_fn, linear, load_model_dir, main, rms_norm,
                              rng_tensors, rope_inv_freq, rope_tables, save_checkpoint)


def make_random(a):
    mat, vec, emb = rng_tensors(a.seed)
    d, m, v = a.d_model, a.d_mlp, a.vocab
    kvh = a.kv_heads or a.heads
    dh = a.head_dim or (128 if a.model_type == 'qwen3' else d // a.heads)
    qkv_bias = a.model_type == 'qwen2' or a.attention_bias
    t = {'model.embed_tokens.weight': emb(v, d)}
    for l in range(a.layers):
        p = f'model.layers.{l}.'
        if a.model_type == 'olmo2':  # post norms only
            t[p + 'post_attention_layernorm.weight'] = 1 + vec(d)
            t[p + 'post_feedforward_layernorm.weight'] = 1 + vec(d)
        else:
            t[p + 'input_layernorm.weight'] = 1 + vec(d)
            t[p + 'post_attention_layernorm.weight'] = 1 + vec(d)
        for name, rows in (('q', a.heads * dh), ('k', kvh * dh), ('v', kvh * dh)):
            t[p + f'self_attn.{name}_proj.weight'] = mat(rows, d, 2.0)
            if qkv_bias:
                t[p + f'self_attn.{name}_proj.bias'] = vec(rows)
        if a.model_type == 'qwen3':
            t[p + 'self_attn.q_norm.weight'] = 1 + 0.3 * vec(dh, 1.0)
            t[p + 'self_attn.k_norm.weight'] = 1 + 0.3 * vec(dh, 1.0)
        if a.model_type == 'olmo2':
            t[p + 'self_attn.q_norm.weight'] = 1 + 0.3 * vec(a.heads * dh, 1.0)
            t[p + 'self_attn.k_norm.weight'] = 1 + 0.3 * vec(kvh * dh, 1.0)
        t[p + 'self_attn.o_proj.weight'] = mat(d, a.heads * dh)
        if a.attention_bias:
            t[p + 'self_attn.o_proj.bias'] = vec(d)
        t[p + 'mlp.gate_proj.weight'] = mat(m, d)
        t[p + 'mlp.up_proj.weight'] = mat(m, d)
        t[p + 'mlp.down_proj.weight'] = mat(d, m)
    t['model.norm.weight'] = 1 + vec(d)
    if not a.tied:
        t['lm_head.weight'] = emb(v, d)
    arch = {'llama': 'LlamaForCausalLM', 'mistral': 'MistralForCausalLM', 'qwen2': 'Qwen2ForCausalLM', 'qwen3': 'Qwen3ForCausalLM', 'olmo2': 'Olmo2ForCausalLM'}[a.model_type]
    config = {
        'model_type': a.model_type, 'architectures': [arch], 'num_hidden_layers': a.layers, 'hidden_size': d,
        'num_attention_heads': a.heads, 'num_key_value_heads': kvh, 'intermediate_size': m, 'max_position_embeddings': a.ctx,
        'vocab_size': v, 'rms_norm_eps': 1e-6, 'hidden_act': 'silu', 'rope_theta': a.rope_theta, 'rope_scaling': None,
        'tie_word_embeddings': a.tied, 'bos_token_id': 1, 'eos_token_id': 2,
    }
    if a.head_dim:
        config['head_dim'] = dh
    if a.model_type in ('llama', 'qwen3', 'olmo2'):
        config['attention_bias'] = a.attention_bias
    if a.rope_scaling:
        kind, *rest = a.rope_scaling.split(':')
        config['rope_scaling'] = {'rope_type': kind, 'factor': float(rest[0])}
        if kind == 'llama3':
            config['rope_scaling'].update({'low_freq_factor': 1.0, 'high_freq_factor': 4.0, 'original_max_position_embeddings': int(rest[1])})
    if a.rope_parameters:  # transformers v5: rope_theta and the scaling together in rope_parameters
        config['rope_parameters'] = {'rope_type': 'default', 'rope_theta': config.pop('rope_theta'), **(config.pop('rope_scaling') or {})}
    if a.model_type == 'mistral':
        config['sliding_window'] = a.window
    if a.model_type == 'qwen2':
        config.update({'use_sliding_window': a.window is not None, 'sliding_window': a.window, 'max_window_layers': 1})
    if a.layer_types:
        config['layer_types'] = [{'full': 'full_attention', 'sliding': 'sliding_attention'}[k] for k in a.layer_types.split(',')]
    if a.model_type == 'qwen3':
        config.update({'use_sliding_window': a.window is not None, 'sliding_window': a.window, 'max_window_layers': a.layers if a.window is None else 1})
    save_checkpoint(a.out, t, a.dtype, config)


class LlamaReference:
    def __init__(self, model_dir):
        cfg, self.w = load_model_dir(model_dir, 'model.')
        self.L, self.d, self.H = cfg['num_hidden_layers'], cfg['hidden_size'], cfg['num_attention_heads']
        self.KV = cfg.get('num_key_value_heads') or self.H
        kind, window = cfg['model_type'], cfg.get('sliding_window')
        self.dh = cfg.get('head_dim') or (128 if kind == 'qwen3' else self.d // self.H)
        theta = cfg.get('rope_theta') or (cfg.get('rope_parameters') or {}).get('rope_theta', 10000)
        self.inv_freq = rope_inv_freq(self.dh, theta, cfg.get('rope_scaling') or cfg.get('rope_parameters'))
        self.eps = cfg.get('rms_norm_eps', 1e-6)
        self.act = cfg.get('hidden_act', 'silu')
        self.qk_norm = kind == 'qwen3'
        self.olmo2 = kind == 'olmo2'
        if self.olmo2:
            self.eps = cfg.get('rms_norm_eps', 1e-5)  # Olmo2Config's default
        if kind == 'mistral':
            self.windows = [window] * self.L
        elif kind in ('qwen2', 'qwen3') and cfg.get('use_sliding_window') and cfg.get('layer_types'):  # Mistral ignores layer_types
            self.windows = [window if t == 'sliding_attention' else None for t in cfg['layer_types']]
        elif kind in ('qwen2', 'qwen3') and cfg.get('use_sliding_window'):
            self.windows = [window if l >= cfg.get('max_window_layers', 0) else None for l in range(self.L)]
        else:
            self.windows = [None] * self.L
        tied = cfg.get('tie_word_embeddings', False)
        self.W_U = (self.w['embed_tokens.weight'] if tied else self.w['lm_head.weight']).t().contiguous()  # [d_model, d_vocab]

    def forward(self, tokens, cache=None, interventions=None):
        w, H, KV, dh = self.w, self.H, self.KV, self.dh
        B, P = tokens.shape
        hp = hook_fn(cache, interventions or {})
        cos, sin = rope_tables(P, self.inv_freq)
        resid = hp('hook_embed', w['embed_tokens.weight'][tokens])  # [batch, pos, d_model]
        for l in range(self.L):
            p, n = f'layers.{l}.self_attn.', f'blocks.{l}.'
            resid = hp(n + 'hook_resid_pre', resid)
            x = resid if self.olmo2 else rms_norm(resid, w[f'layers.{l}.input_layernorm.weight'], self.eps, n + 'ln1', hp)
            q = hp(n + 'attn.hook_q', linear(x, w[p + 'q_proj.weight'], w.get(p + 'q_proj.bias')).reshape(B, P, H, dh))
            k = hp(n + 'attn.hook_k', linear(x, w[p + 'k_proj.weight'], w.get(p + 'k_proj.bias')).reshape(B, P, KV, dh))
            v = hp(n + 'attn.hook_v', linear(x, w[p + 'v_proj.weight'], w.get(p + 'v_proj.bias')).reshape(B, P, KV, dh))
            if self.olmo2:  # OLMo 2: RMSNorm over the whole q / k projection, then the head split, then rotary
                q = rms_norm(q.reshape(B, P, H * dh), w[p + 'q_norm.weight'], self.eps, n + 'attn.q_norm', hp).reshape(B, P, H, dh)
                k = rms_norm(k.reshape(B, P, KV * dh), w[p + 'k_norm.weight'], self.eps, n + 'attn.k_norm', hp).reshape(B, P, KV, dh)
            elif self.qk_norm:  # Qwen3: RMSNorm over each head's d_head, before rotary
                q = rms_norm(q, w[p + 'q_norm.weight'], self.eps, n + 'attn.q_norm', hp)
                k = rms_norm(k, w[p + 'k_norm.weight'], self.eps, n + 'attn.k_norm', hp)
            q = hp(n + 'attn.hook_rot_q', apply_rope(q, cos, sin))
            k = hp(n + 'attn.hook_rot_k', apply_rope(k, cos, sin))
            z = attend(q, k, v, 1 / math.sqrt(dh), self.windows[l], n, hp)
            attn_out = attn_output(z, w[p + 'o_proj.weight'], w.get(p + 'o_proj.bias'), n, hp)
            if self.olmo2:  # post_attention_layernorm on the attention output (TransformerLens' ln1)
                attn_out = rms_norm(attn_out, w[f'layers.{l}.post_attention_layernorm.weight'], self.eps, n + 'ln1', hp)
            mid = hp(n + 'hook_resid_mid', resid + attn_out)
            x2 = mid if self.olmo2 else rms_norm(mid, w[f'layers.{l}.post_attention_layernorm.weight'], self.eps, n + 'ln2', hp)
            mp = f'layers.{l}.mlp.'
            gate = hp(n + 'mlp.hook_pre', linear(x2, w[mp + 'gate_proj.weight']))  # [batch, pos, d_mlp]
            up = hp(n + 'mlp.hook_pre_linear', linear(x2, w[mp + 'up_proj.weight']))
            post = hp(n + 'mlp.hook_post', activation(self.act, gate) * up)
            mlp_out = hp(n + 'hook_mlp_out', linear(post, w[mp + 'down_proj.weight']))
            if self.olmo2:  # post_feedforward_layernorm on the MLP output (TransformerLens' ln2)
                mlp_out = rms_norm(mlp_out, w[f'layers.{l}.post_feedforward_layernorm.weight'], self.eps, n + 'ln2', hp)
            resid = hp(n + 'hook_resid_post', mid + mlp_out)
        x = rms_norm(resid, w['norm.weight'], self.eps, 'ln_final', hp)
        return x @ self.W_U  # [batch, pos, d_vocab]


def add_args(r):
    r.add_argument('--tied', action='store_true')
    r.add_argument('--model-type', default='llama', choices=['llama', 'mistral', 'qwen2', 'qwen3', 'olmo2'])
    r.add_argument('--kv-heads', type=int)
    r.add_argument('--head-dim', type=int)
    r.add_argument('--rope-theta', type=float, default=10000.0)
    r.add_argument('--rope-scaling')
    r.add_argument('--window', type=int)
    r.add_argument('--attention-bias', action='store_true')
    r.add_argument('--rope-parameters', action='store_true', help="write rope_theta and the scaling inside transformers v5's rope_parameters")
    r.add_argument('--layer-types', help='layer_types, e.g. sliding,full')


if __name__ == '__main__':
    main(LlamaReference, make_random, add_args)
