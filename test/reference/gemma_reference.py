#!/usr/bin/env python3
"""Independent Gemma 2 / Gemma 3 text reference for Circuit Lens' tests (python3-torch, CPU, fp32).

From Hugging Face's Gemma2ForCausalLM / Gemma3ForCausalLM semantics (modeling_gemma2, modeling_gemma3 and their
configuration classes), with TransformerLens hook names:
- the token embedding times sqrt(hidden_size) (hook_embed includes it, as TransformerLens folds it into W_E);
- Gemma RMSNorm x / sqrt(mean x^2 + eps) * (1 + w), weights stored zero-centred; hook_scale is the root mean
  square, hook_normalized x / rms before the weight (TransformerLens' RMSNorm);
- sandwich norms: resid + post_attention_layernorm(attn(input_layernorm(resid))), then
  + post_feedforward_layernorm(mlp(pre_feedforward_layernorm(resid))), hooked as ln1, ln1_post, ln2, ln2_post;
  hook_attn_out and hook_mlp_out are after the post norms, attn.hook_result (per head) before ln1_post;
- GeGLU down(gelu_tanh(gate) * up) from hidden_activation (older configs: hidden_act);
- scores q.k * query_pre_attn_scalar^-0.5, soft-capped tanh(s / cap) * cap (attn_logit_softcapping) before the
  causal / sliding-window mask (a key k is visible from query q when k <= q and, on sliding layers, q - k <
  sliding_window); softmax; hook_attn_scores after cap and mask;
- sliding layers from layer_types, else Gemma 2: even layers; Gemma 3: all but every sliding_window_pattern-th;
- Gemma 3: per-head q_norm / k_norm (1 + w over head_dim) before rotary (attn.q_norm.*, attn.k_norm.*); global
  layers rotate with rope_theta and rope_scaling, local ones with rope_local_base_freq unscaled (or transformers
  v5's rope_parameters {full_attention, sliding_attention}); no final soft-cap unless set, and no attention
  soft-cap even when attn_logit_softcapping is set (Gemma3Attention does not pass it to the attention function);
- the final norm, the (tied by default) unembedding and final_logit_softcapping on the logits.
A `gemma3` config nests the text model in text_config and prefixes its weights (language_model.model. or
model.language_model.).

  gemma_reference.py make-random --out DIR [--layers --d-model --heads --d-mlp --vocab --ctx --dtype --seed
                                 --model-type gemma2|gemma3_text|gemma3 --prefix P --kv-heads N --head-dim N
                                 --query-pre-attn-scalar S --attn-softcap C --final-softcap C --window W
                                 --layer-types --pattern N --rope-theta T --rope-local-base T --rope-scaling linear:F
                                 --rope-parameters --untied --no-tie-field --hidden-act-field]
  gemma_reference.py forward --model DIR --tokens 1,2,3[;4,5,6] --out DIR [--intervene HOOK KEEP.npy ADD.npy]...
  gemma_reference.py bench --model DIR --pos 128 --threads 1 --repeats 5
"""
import json
import math
import os

import torch

from reference_common import activation, apply_rope, hook_fn, linear, main, read_safetensors, rng_tensors, rope_inv_freq, rope_tables, save_checkpoint

PREFIXES = ('model.', 'language_model.model.', 'model.language_model.')


def sliding_layers(cfg, kind):
    """Which layers use the sliding window: layer_types, else the family's default pattern."""
    if cfg.get('layer_types') is not None:
        return [t == 'sliding_attention' for t in cfg['layer_types']]
    L = cfg['num_hidden_layers']
    if kind == 'gemma2':
        return [l % 2 == 0 for l in range(L)]
    pattern = cfg.get('sliding_window_pattern', 6)
    return [(l + 1) % pattern != 0 for l in range(L)]


def make_random(a):
    mat, vec, emb = rng_tensors(a.seed)
    d, m, v = a.d_model, a.d_mlp, a.vocab
    kvh = a.kv_heads or a.heads
    dh = a.head_dim
    gemma3 = a.model_type != 'gemma2'
    prefix = a.prefix or ('language_model.model.' if a.model_type == 'gemma3' else 'model.')
    zero_centred = lambda n: 0.3 * vec(n, 1.0)  # Gemma stores w with the norm multiplying by 1 + w
    t = {prefix + 'embed_tokens.weight': emb(v, d)}
    for l in range(a.layers):
        p = f'{prefix}layers.{l}.'
        for norm in ('input_layernorm', 'post_attention_layernorm', 'pre_feedforward_layernorm', 'post_feedforward_layernorm'):
            t[p + norm + '.weight'] = zero_centred(d)
        for name, rows in (('q', a.heads * dh), ('k', kvh * dh), ('v', kvh * dh)):
            t[p + f'self_attn.{name}_proj.weight'] = mat(rows, d, 2.0)
        if gemma3:
            t[p + 'self_attn.q_norm.weight'] = zero_centred(dh)
            t[p + 'self_attn.k_norm.weight'] = zero_centred(dh)
        t[p + 'self_attn.o_proj.weight'] = mat(d, a.heads * dh)
        t[p + 'mlp.gate_proj.weight'] = mat(m, d)
        t[p + 'mlp.up_proj.weight'] = mat(m, d)
        t[p + 'mlp.down_proj.weight'] = mat(d, m)
    t[prefix + 'norm.weight'] = zero_centred(d)
    if a.untied:
        t[('language_model.lm_head.weight' if prefix == 'language_model.model.' else 'lm_head.weight')] = emb(v, d)
    text_type = 'gemma3_text' if gemma3 else 'gemma2'
    config = {
        'model_type': text_type, 'num_hidden_layers': a.layers, 'hidden_size': d, 'num_attention_heads': a.heads,
        'num_key_value_heads': kvh, 'head_dim': dh, 'intermediate_size': m, 'max_position_embeddings': a.ctx, 'vocab_size': v,
        'rms_norm_eps': 1e-6, 'query_pre_attn_scalar': a.query_pre_attn_scalar, 'sliding_window': a.window,
        'attn_logit_softcapping': a.attn_softcap, 'final_logit_softcapping': a.final_softcap,
        'bos_token_id': 2, 'eos_token_id': 1, 'pad_token_id': 0, 'attention_bias': False,
    }
    config['hidden_act' if a.hidden_act_field else 'hidden_activation'] = 'gelu_pytorch_tanh'
    if not a.no_tie_field:
        config['tie_word_embeddings'] = not a.untied
    if a.layer_types:
        shape = {'num_hidden_layers': a.layers, 'sliding_window_pattern': a.pattern or 6}
        config['layer_types'] = ['sliding_attention' if s else 'full_attention' for s in sliding_layers(shape, text_type)]
    elif gemma3 and a.pattern is not None:
        config['sliding_window_pattern'] = a.pattern
    scaling = None
    if a.rope_scaling:
        kind, factor = a.rope_scaling.split(':')
        scaling = {'rope_type': kind, 'factor': float(factor)}
    if a.rope_parameters and gemma3:  # transformers v5: one entry per layer type
        config['rope_parameters'] = {'full_attention': {'rope_type': 'default', 'rope_theta': a.rope_theta, **(scaling or {})},
                                     'sliding_attention': {'rope_type': 'default', 'rope_theta': a.rope_local_base}}
    elif a.rope_parameters:
        config['rope_parameters'] = {'rope_type': 'default', 'rope_theta': a.rope_theta, **(scaling or {})}
    else:
        config.update({'rope_theta': a.rope_theta, 'rope_scaling': scaling})
        if gemma3:
            config['rope_local_base_freq'] = a.rope_local_base
    config['architectures'] = ['Gemma3ForCausalLM' if gemma3 else 'Gemma2ForCausalLM']
    if a.model_type == 'gemma3':  # Gemma3ForConditionalGeneration: the text model nested, a vision config beside it
        config = {'model_type': 'gemma3', 'architectures': ['Gemma3ForConditionalGeneration'], 'text_config': config,
                  'vision_config': {'model_type': 'siglip_vision_model'}, 'bos_token_id': 2}
    save_checkpoint(a.out, t, a.dtype, config)


def gemma_rms_norm(x, w, eps, name, hp):
    """Gemma RMSNorm with TransformerLens hooks: x / rms (hook_normalized) times 1 + w."""
    scale = hp(name + '.hook_scale', (x.pow(2).mean(-1, keepdim=True) + eps).sqrt())
    return hp(name + '.hook_normalized', x / scale) * (1.0 + w)


def softcap(x, cap):
    return x if cap is None else torch.tanh(x / cap) * cap


class GemmaReference:
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, 'config.json')) as f:
            cfg = json.load(f)
        if cfg['model_type'] == 'gemma3':
            cfg = {'tie_word_embeddings': True, **cfg['text_config']}
        raw = read_safetensors(os.path.join(model_dir, 'model.safetensors'))
        prefix = next(p for p in PREFIXES if p + 'embed_tokens.weight' in raw)
        self.w = {k[len(prefix):]: v for k, v in raw.items() if k.startswith(prefix)}
        kind = 'gemma2' if cfg['model_type'] == 'gemma2' else 'gemma3'
        self.gemma3 = kind == 'gemma3'
        self.L, self.d, self.H = cfg['num_hidden_layers'], cfg['hidden_size'], cfg['num_attention_heads']
        self.KV = cfg.get('num_key_value_heads', self.H)
        self.dh = cfg.get('head_dim', 256)
        self.eps = cfg.get('rms_norm_eps', 1e-6)
        self.act = cfg.get('hidden_activation') or cfg.get('hidden_act') or 'gelu_pytorch_tanh'
        self.scaling = cfg.get('query_pre_attn_scalar', 256) ** -0.5
        self.attn_cap = None if self.gemma3 else cfg.get('attn_logit_softcapping', 50.0)
        self.final_cap = cfg.get('final_logit_softcapping', None if self.gemma3 else 30.0)
        window = cfg.get('sliding_window', 4096)
        self.windows = [window if s else None for s in sliding_layers(cfg, kind)]
        rp = cfg.get('rope_parameters')
        if rp and 'full_attention' in rp:
            glob, loc = rp['full_attention'], rp['sliding_attention']
            self.inv_global = rope_inv_freq(self.dh, glob['rope_theta'], glob)
            self.inv_local = rope_inv_freq(self.dh, loc['rope_theta'], loc)
        else:
            theta = cfg.get('rope_theta') or (rp or {}).get('rope_theta') or (1e6 if self.gemma3 else 10000.0)
            self.inv_global = rope_inv_freq(self.dh, theta, cfg.get('rope_scaling') or rp)
            # Gemma 3's local layers: rope_local_base_freq and no scaling; Gemma 2 has one rotary setting.
            self.inv_local = rope_inv_freq(self.dh, cfg.get('rope_local_base_freq', 10000.0)) if self.gemma3 else self.inv_global
        self.W_E = self.w['embed_tokens.weight']
        tied = cfg.get('tie_word_embeddings', True)
        head = raw.get('lm_head.weight', raw.get('language_model.lm_head.weight'))
        self.W_U = (self.W_E if tied else head).t().contiguous()  # [d_model, d_vocab]

    def attention(self, x, l, n, hp, cos, sin):
        w, B, P = self.w, x.shape[0], x.shape[1]
        H, KV, dh = self.H, self.KV, self.dh
        p = f'layers.{l}.self_attn.'
        q = hp(n + 'attn.hook_q', linear(x, w[p + 'q_proj.weight']).reshape(B, P, H, dh))
        k = hp(n + 'attn.hook_k', linear(x, w[p + 'k_proj.weight']).reshape(B, P, KV, dh))
        v = hp(n + 'attn.hook_v', linear(x, w[p + 'v_proj.weight']).reshape(B, P, KV, dh))
        if self.gemma3:
            q = gemma_rms_norm(q, w[p + 'q_norm.weight'], self.eps, n + 'attn.q_norm', hp)
            k = gemma_rms_norm(k, w[p + 'k_norm.weight'], self.eps, n + 'attn.k_norm', hp)
        q = hp(n + 'attn.hook_rot_q', apply_rope(q, cos, sin))
        k = hp(n + 'attn.hook_rot_k', apply_rope(k, cos, sin))
        rep = H // KV
        k, v = k.repeat_interleave(rep, dim=2), v.repeat_interleave(rep, dim=2)
        scores = softcap(torch.einsum('bqhd,bkhd->bhqk', q, k) * self.scaling, self.attn_cap)
        qi, ki = torch.arange(P)[:, None], torch.arange(P)[None, :]
        visible = ki <= qi
        if self.windows[l] is not None:
            visible = visible & (qi - ki < self.windows[l])
        scores = hp(n + 'attn.hook_attn_scores', scores.masked_fill(~visible, float('-inf')))  # [batch, head, query_pos, key_pos]
        pattern = hp(n + 'attn.hook_pattern', torch.softmax(scores, dim=-1))
        z = hp(n + 'attn.hook_z', torch.einsum('bhqk,bkhd->bqhd', pattern, v))  # [batch, pos, head, d_head]
        W_O = w[p + 'o_proj.weight'].t().reshape(H, dh, self.d)  # [head, d_head, d_model]
        result = hp(n + 'attn.hook_result', torch.einsum('bqhd,hdm->bqhm', z, W_O))  # [batch, pos, head, d_model]
        return result.sum(dim=2)

    def forward(self, tokens, cache=None, interventions=None):
        w = self.w
        P = tokens.shape[1]
        hp = hook_fn(cache, interventions or {})
        tables = {'global': rope_tables(P, self.inv_global), 'local': rope_tables(P, self.inv_local)}
        resid = hp('hook_embed', self.W_E[tokens] * torch.tensor(self.d ** 0.5, dtype=torch.float32))  # [batch, pos, d_model]
        for l in range(self.L):
            n, p = f'blocks.{l}.', f'layers.{l}.'
            resid = hp(n + 'hook_resid_pre', resid)
            cos, sin = tables['local' if self.windows[l] is not None else 'global']
            x = gemma_rms_norm(resid, w[p + 'input_layernorm.weight'], self.eps, n + 'ln1', hp)
            attn = self.attention(x, l, n, hp, cos, sin)
            attn_out = hp(n + 'hook_attn_out', gemma_rms_norm(attn, w[p + 'post_attention_layernorm.weight'], self.eps, n + 'ln1_post', hp))
            mid = hp(n + 'hook_resid_mid', resid + attn_out)
            x2 = gemma_rms_norm(mid, w[p + 'pre_feedforward_layernorm.weight'], self.eps, n + 'ln2', hp)
            gate = hp(n + 'mlp.hook_pre', linear(x2, w[p + 'mlp.gate_proj.weight']))  # [batch, pos, d_mlp]
            up = hp(n + 'mlp.hook_pre_linear', linear(x2, w[p + 'mlp.up_proj.weight']))
            post = hp(n + 'mlp.hook_post', activation(self.act, gate) * up)
            mlp = linear(post, w[p + 'mlp.down_proj.weight'])
            mlp_out = hp(n + 'hook_mlp_out', gemma_rms_norm(mlp, w[p + 'post_feedforward_layernorm.weight'], self.eps, n + 'ln2_post', hp))
            resid = hp(n + 'hook_resid_post', mid + mlp_out)
        x = gemma_rms_norm(resid, w['norm.weight'], self.eps, 'ln_final', hp)
        return softcap(x @ self.W_U, self.final_cap)  # [batch, pos, d_vocab]


def none_or_float(s):
    return None if s.lower() in ('none', 'null') else float(s)


def add_args(r):
    r.add_argument('--model-type', default='gemma2', choices=['gemma2', 'gemma3_text', 'gemma3'])
    r.add_argument('--prefix', choices=PREFIXES, help='where the text model\'s tensors are (default model.; gemma3: language_model.model.)')
    r.add_argument('--kv-heads', type=int)
    r.add_argument('--head-dim', type=int, default=16)
    r.add_argument('--query-pre-attn-scalar', type=float, default=16.0)
    r.add_argument('--attn-softcap', type=none_or_float, default=None)
    r.add_argument('--final-softcap', type=none_or_float, default=None)
    r.add_argument('--window', type=int, default=4096)
    r.add_argument('--layer-types', action='store_true', help='write the sliding pattern as an explicit layer_types')
    r.add_argument('--pattern', type=int, help='Gemma 3 sliding_window_pattern')
    r.add_argument('--rope-theta', type=float, default=10000.0)
    r.add_argument('--rope-local-base', type=float, default=10000.0)
    r.add_argument('--rope-scaling', help='linear:F (Gemma 3: global layers only)')
    r.add_argument('--rope-parameters', action='store_true', help="transformers v5's rope_parameters")
    r.add_argument('--untied', action='store_true')
    r.add_argument('--no-tie-field', action='store_true', help='leave tie_word_embeddings out (Gemma default: tied)')
    r.add_argument('--hidden-act-field', action='store_true', help='name the activation hidden_act (older Gemma configs)')


if __name__ == '__main__':
    main(GemmaReference, make_random, add_args)
