#!/usr/bin/env python3
"""Independent GPT-Neo reference for Circuit Lens' tests (Debian's python3-torch, CPU).

From Hugging Face's GPTNeoForCausalLM semantics, TransformerLens hook names: learned positions, LayerNorm,
q/k/v projections without biases, no 1/sqrt(d_head) scaling of the scores, and local layers
(attention_types) where a query sees only keys less than window_size positions back.

  gptneo_reference.py make-random --out DIR [--layers --d-model --heads --d-mlp --vocab --ctx --dtype --seed
                                  --attention-pattern global,local --window 4 --act gelu_new]
  gptneo_reference.py forward --model DIR --tokens 1,2,3[;4,5,6] --out DIR [--intervene HOOK KEEP.npy ADD.npy]...
  gptneo_reference.py bench --model DIR --pos 128 --threads 1 --repeats 5
"""
from reference_common import (activation, attend, attn_output, hook_fn, layer_norm, linear, load_model_dir, main, rng_tensors,
                              save_checkpoint)


def make_random(a):
    mat, vec, emb = rng_tensors(a.seed)
    d, m, v = a.d_model, a.d_mlp, a.vocab
    t = {'transformer.wte.weight': emb(v, d), 'transformer.wpe.weight': emb(a.ctx, d)}
    for l in range(a.layers):
        p = f'transformer.h.{l}.'
        for ln in ('ln_1', 'ln_2'):
            t[p + ln + '.weight'] = 1 + vec(d)
            t[p + ln + '.bias'] = vec(d)
        for name in ('q', 'k', 'v'):
            t[p + f'attn.attention.{name}_proj.weight'] = mat(d, d, 0.5)  # unscaled scores: keep them moderate
        t[p + 'attn.attention.out_proj.weight'] = mat(d, d)
        t[p + 'attn.attention.out_proj.bias'] = vec(d)
        t[p + 'mlp.c_fc.weight'] = mat(m, d)
        t[p + 'mlp.c_fc.bias'] = vec(m)
        t[p + 'mlp.c_proj.weight'] = mat(d, m)
        t[p + 'mlp.c_proj.bias'] = vec(d)
    t['transformer.ln_f.weight'] = 1 + vec(d)
    t['transformer.ln_f.bias'] = vec(d)
    pattern = a.attention_pattern.split(',')
    if a.layers % len(pattern):
        raise SystemExit('--layers must be a multiple of the --attention-pattern length')
    save_checkpoint(a.out, t, a.dtype, {
        'model_type': 'gpt_neo', 'architectures': ['GPTNeoForCausalLM'], 'num_layers': a.layers, 'hidden_size': d,
        'num_heads': a.heads, 'intermediate_size': m, 'max_position_embeddings': a.ctx, 'vocab_size': v,
        'layer_norm_epsilon': 1e-5, 'activation_function': a.act, 'attention_types': [[pattern, a.layers // len(pattern)]],
        'window_size': a.window, 'bos_token_id': v - 1, 'eos_token_id': v - 1,
    })


def expand_attention_types(types):
    out = []
    for kinds, repeat in types:
        out.extend(kinds * repeat)
    return out


class GptNeoReference:
    def __init__(self, model_dir):
        cfg, self.w = load_model_dir(model_dir, 'transformer.')
        self.L, self.d, self.H = cfg['num_layers'], cfg['hidden_size'], cfg['num_heads']
        self.dh = self.d // self.H
        self.eps = cfg.get('layer_norm_epsilon', 1e-5)
        self.act = cfg.get('activation_function', 'gelu_new')
        kinds = cfg.get('attention_layers') or expand_attention_types(cfg['attention_types'])
        self.windows = [cfg.get('window_size', 256) if k == 'local' else None for k in kinds]
        self.W_U = self.w['wte.weight'].t().contiguous()  # tied: [d_model, d_vocab]

    def forward(self, tokens, cache=None, interventions=None):
        w, H, dh, d = self.w, self.H, self.dh, self.d
        B, P = tokens.shape
        hp = hook_fn(cache, interventions or {})
        embed = hp('hook_embed', w['wte.weight'][tokens])  # [batch, pos, d_model]
        pos_embed = hp('hook_pos_embed', w['wpe.weight'][:P].unsqueeze(0).expand(B, P, d))
        resid = embed + pos_embed
        for l in range(self.L):
            p, n = f'h.{l}.', f'blocks.{l}.'
            a = p + 'attn.attention.'
            resid = hp(n + 'hook_resid_pre', resid)
            x = layer_norm(resid, w[p + 'ln_1.weight'], w[p + 'ln_1.bias'], self.eps, n + 'ln1', hp)
            q = hp(n + 'attn.hook_q', linear(x, w[a + 'q_proj.weight']).reshape(B, P, H, dh))
            k = hp(n + 'attn.hook_k', linear(x, w[a + 'k_proj.weight']).reshape(B, P, H, dh))
            v = hp(n + 'attn.hook_v', linear(x, w[a + 'v_proj.weight']).reshape(B, P, H, dh))
            z = attend(q, k, v, 1.0, self.windows[l], n, hp)  # GPT-Neo does not scale the scores
            attn_out = attn_output(z, w[a + 'out_proj.weight'], w[a + 'out_proj.bias'], n, hp)
            mid = hp(n + 'hook_resid_mid', resid + attn_out)
            x2 = layer_norm(mid, w[p + 'ln_2.weight'], w[p + 'ln_2.bias'], self.eps, n + 'ln2', hp)
            pre = hp(n + 'mlp.hook_pre', linear(x2, w[p + 'mlp.c_fc.weight'], w[p + 'mlp.c_fc.bias']))
            post = hp(n + 'mlp.hook_post', activation(self.act, pre))
            mlp_out = hp(n + 'hook_mlp_out', linear(post, w[p + 'mlp.c_proj.weight'], w[p + 'mlp.c_proj.bias']))
            resid = hp(n + 'hook_resid_post', mid + mlp_out)
        x = layer_norm(resid, w['ln_f.weight'], w['ln_f.bias'], self.eps, 'ln_final', hp)
        return x @ self.W_U  # [batch, pos, d_vocab]


def add_args(r):
    r.add_argument('--tied', action='store_true')
    r.add_argument('--attention-pattern', default='global,local')
    r.add_argument('--window', type=int, default=4)
    r.add_argument('--act', default='gelu_new')


if __name__ == '__main__':
    main(GptNeoReference, make_random, add_args)
