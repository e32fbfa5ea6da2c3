"""Independent PyTorch reference for sparse dictionaries (SAEs, transcoders, cross-layer transcoders).

make-random writes random-weight fixtures in each public format's own layout (tensor names, orientations,
config fields); encode reads a fixture the way its own library does and writes acts_pre, acts_post and
recons as .npy. Each format's semantics are written here from that library's definitions (SAELens,
Gemma Scope, Llama Scope / Language-Model-SAEs, EleutherAI sparsify, circuit-tracer); nothing is shared
with the TypeScript engine.

  sae_reference.py make-random --format saelens --architecture topk --d-in 16 --d-sae 64 --k 8 --out DIR
  sae_reference.py encode --format saelens --dir DIR --input X.npy --out OUT
  sae_reference.py attach --family gpt2 --model MODEL --tokens 1,2;3,4 --format saelens --dir DIR --hook H [--splice] --out OUT
      (--format circuit-tracer-clt attaches every layer of the cross-layer transcoder; --hook names layer 0's input hook)
      [--intervene HOOK KEEP.npy ADD.npy ...] [--steer-feature F --coefficient C] [--clamp-feature F --clamp V]
  sae_reference.py features --family gpt2 --model MODEL --tokens 1,2,3 --format saelens --dir DIR --hook H [--k 5 --logits-k 10]
      [--answer ID [--counterfactual ID]] --out OUT.json
  sae_reference.py feature-ablate ... --features 3,7 --kind zero|mean|resample [--reference 1,2;3,4] --answer ID --counterfactual ID

attach runs the GPT-2 or Llama-style reference model (gpt2_reference.py, llama_reference.py) with the
dictionary at its hook, as SAELens' HookedSAETransformer does: every hook point, each SAELens SAE hook
(hook_sae_input, _acts_pre, _acts_post, _recons, _error, _output) and the logits; with --splice the model
continues with the reconstruction (a transcoder's, at its output hook). Interventions on hook_sae_acts_post
edit the features with the error term kept (install_sae); features and feature-ablate are the references
of the features analysis and of feature ablation.
"""
import argparse
import json
import math
import os

import numpy as np
import torch

from safetensors_io import DTYPES, parse_tokens, read_safetensors, write_npy, write_safetensors

torch.set_grad_enabled(False)


# ---------------------------------------------------------------- random weights

def rand_weights(seed, d_in, d_sae, d_out, bias_shift=0.0):
    """Encoder [d_in, d_sae] and decoder [d_sae, d_out] in SAELens orientation, biases, thresholds.
    bias_shift moves b_enc (negative: fewer than k positive pre-activations, where TopK definitions differ)."""
    g = np.random.default_rng(seed)
    w_enc = g.normal(0, 1 / math.sqrt(d_in), (d_in, d_sae)).astype(np.float32)
    w_dec = g.normal(0, 1 / math.sqrt(d_sae), (d_sae, d_out)).astype(np.float32)
    return {
        'W_enc': w_enc,
        'W_dec': w_dec,
        'b_enc': (g.normal(0, 0.1, d_sae) + bias_shift).astype(np.float32),
        'b_dec': g.normal(0, 0.1, d_out).astype(np.float32),
        # Straddles zero, so relu-then-threshold and threshold-only differ where the libraries do.
        'threshold': g.uniform(-0.3, 0.4, d_sae).astype(np.float32),
        'b_gate': g.normal(0, 0.1, d_sae).astype(np.float32),
        'b_mag': g.normal(0, 0.1, d_sae).astype(np.float32),
        'r_mag': g.normal(0, 0.2, d_sae).astype(np.float32),
        'W_skip': g.normal(0, 0.05, (d_out, d_in)).astype(np.float32),
        'sparsity': g.uniform(-5, -1, d_sae).astype(np.float32),
    }


def dump_json(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f, indent=2)


def make_saelens(a, w):
    arch = a.architecture
    transcoder = 'transcoder' in arch
    tensors = {'W_enc': w['W_enc'], 'W_dec': w['W_dec'], 'b_dec': w['b_dec']}
    if arch == 'gated':
        tensors.update(b_gate=w['b_gate'], b_mag=w['b_mag'], r_mag=w['r_mag'])
    else:
        tensors['b_enc'] = w['b_enc']
    if arch in ('jumprelu', 'batchtopk', 'jumprelu_transcoder', 'jumprelu_skip_transcoder'):
        tensors['threshold'] = w['threshold']
    if 'skip' in arch:
        tensors['W_skip'] = w['W_skip']
    write_safetensors(os.path.join(a.out, 'sae_weights.safetensors'), tensors, a.dtype)
    if a.sparsity:
        write_safetensors(os.path.join(a.out, 'sparsity.safetensors'), {'sparsity': w['sparsity']}, 'F32')
    if a.scaler is not None:
        dump_json(os.path.join(a.out, 'activation_scaler.json'), {'scaling_factor': a.scaler})
    hook = a.hook or 'blocks.1.hook_resid_pre'
    if a.cfg_version == 'pre6':
        # SAELens < 6: hook_point, activation_fn_str, boolean normalize_activations, no architecture.
        cfg = {'model_name': 'gpt2', 'hook_point': hook, 'hook_point_layer': 1, 'd_in': a.d_in, 'd_sae': a.d_sae,
               'dtype': 'float32', 'apply_b_dec_to_input': a.apply_b_dec, 'normalize_activations': a.normalize == 'expected_average_only_in',
               'activation_fn_str': 'topk' if arch == 'topk' else 'relu', 'prepend_bos': True}
        if arch == 'topk':
            cfg['activation_fn_kwargs'] = {'k': a.k}
    else:
        cfg = {'architecture': arch, 'd_in': a.d_in, 'd_sae': a.d_sae, 'dtype': 'float32', 'device': 'cpu',
               'apply_b_dec_to_input': a.apply_b_dec and not transcoder, 'normalize_activations': a.normalize,
               'reshape_activations': 'hook_z' if 'hook_z' in hook else 'none',
               'metadata': {'model_name': 'gpt2', 'hook_name': hook, 'hook_head_index': None, 'prepend_bos': True,
                            'model_from_pretrained_kwargs': {'center_writing_weights': False}, 'sae_lens_version': '6.5.0'}}
        if arch == 'topk':
            cfg.update(k=a.k, rescale_acts_by_decoder_norm=a.rescale)
        if transcoder:
            cfg['d_out'] = a.d_out
            cfg['metadata']['hook_name_out'] = a.hook_out or 'blocks.1.hook_mlp_out'
    dump_json(os.path.join(a.out, 'cfg.json'), cfg)


def make_gemma_scope(a, w):
    arrays = {k: w[k] for k in ('W_enc', 'W_dec', 'b_enc', 'b_dec', 'threshold')}
    if a.lower_case:  # the transcoder releases' member names
        arrays['w_enc'], arrays['w_dec'] = arrays.pop('W_enc'), arrays.pop('W_dec')
    (np.savez_compressed if a.compressed else np.savez)(os.path.join(a.out, 'params.npz'), **arrays)


def make_gemma_scope_2(a, w):
    layer = 3
    transcoder = a.type == 'transcoder'
    tensors = {'w_enc': w['W_enc'], 'w_dec': w['W_dec'], 'b_enc': w['b_enc'], 'b_dec': w['b_dec'], 'threshold': w['threshold']}
    if a.affine:
        tensors['affine_skip_connection'] = np.ascontiguousarray(w['W_skip'].T)  # [d_in, d_out]
    write_safetensors(os.path.join(a.out, 'params.safetensors'), tensors, a.dtype)
    site_in = a.hf_in or (f'model.layers.{layer}.pre_feedforward_layernorm.output' if transcoder else f'model.layers.{layer}.output')
    site_out = a.hf_out or (f'model.layers.{layer}.post_feedforward_layernorm.output' if transcoder else site_in)
    dump_json(os.path.join(a.out, 'config.json'), {
        'width': a.d_sae, 'model_name': 'gemma-v3-1b-pt', 'architecture': 'jump_relu', 'l0': 40, 'affine_connection': bool(a.affine),
        'type': a.type, 'hf_hook_point_in': site_in, 'hf_hook_point_out': site_out})


def make_llama_scope(a, w):
    os.makedirs(os.path.join(a.out, 'checkpoints'), exist_ok=True)
    tensors = {'encoder.weight': np.ascontiguousarray(w['W_enc'].T), 'encoder.bias': w['b_enc'],
               'decoder.weight': np.ascontiguousarray(w['W_dec'].T), 'decoder.bias': w['b_dec']}
    write_safetensors(os.path.join(a.out, 'checkpoints', 'final.safetensors'), tensors, a.dtype)
    hook = a.hook or 'blocks.2.hook_resid_post'
    dump_json(os.path.join(a.out, 'hyperparams.json'), {
        'd_model': a.d_in, 'd_sae': a.d_sae, 'expansion_factor': a.d_sae // a.d_in, 'hook_point_in': hook, 'hook_point_out': a.hook_out or hook,
        'act_fn': 'jumprelu', 'jump_relu_threshold': 0.15, 'norm_activation': 'dataset-wise',
        'dataset_average_activation_norm': {'in': 3.5, 'out': 2.25}, 'use_decoder_bias': True,
        'apply_decoder_bias_to_pre_encoder': a.apply_b_dec, 'top_k': 50, 'dtype': 'torch.bfloat16'})


def make_sparsify(a, w):
    tensors = {'encoder.weight': np.ascontiguousarray(w['W_enc'].T), 'encoder.bias': w['b_enc'], 'W_dec': w['W_dec'], 'b_dec': w['b_dec']}
    if a.skip:
        tensors['W_skip'] = w['W_skip']
    write_safetensors(os.path.join(a.out, 'sae.safetensors'), tensors, a.dtype)
    dump_json(os.path.join(a.out, 'cfg.json'), {'expansion_factor': a.d_sae // a.d_in, 'normalize_decoder': True, 'num_latents': a.d_sae,
                                                'k': a.k, 'multi_topk': False, 'skip_connection': bool(a.skip), 'transcode': bool(a.transcode), 'd_in': a.d_in})


def yaml_config(a, kind):
    lines = ['model_name: "random"', f'model_kind: {kind}', 'feature_input_hook: "ln2.hook_normalized"', 'feature_output_hook: "hook_mlp_out"']
    if a.activation == 'topk':
        lines += ['activation: topk', f'k: {a.k}']
    return '\n'.join(lines) + '\n'


NPZ_REPO = 'google/gemma-scope-2b-pt-transcoders'


def npz_uri(i):
    return f'hf://{NPZ_REPO}/layer_{i}/width_16k/average_l0_1/params.npz'


def cached(cache, uri):
    """An hf://ORG/NAME/PATH reference inside a Hugging Face cache folder (snapshot 'r')."""
    org, name, rest = uri[len('hf://'):].split('/', 2)
    return os.path.join(cache, f'models--{org}--{name}', 'snapshots', 'r', rest)


def make_circuit_tracer(a, _w):
    if a.npz_cache:
        # A transcoders: list of Gemma Scope npz files in the Hugging Face cache, as circuit-tracer's Gemma configs list them.
        for i in range(a.layers):
            w = rand_weights(a.seed + 1000 * i, a.d_in, a.d_sae, a.d_out, a.bias_shift)
            f = cached(a.npz_cache, npz_uri(i))
            os.makedirs(os.path.dirname(f), exist_ok=True)
            np.savez(f, w_enc=w['W_enc'], w_dec=w['W_dec'], b_enc=w['b_enc'], b_dec=w['b_dec'], threshold=w['threshold'])
        with open(os.path.join(a.out, 'config.yaml'), 'w') as f:
            f.write(yaml_config(a, 'transcoder_set') + 'transcoders:\n' + ''.join(f'  - "{npz_uri(i)}"\n' for i in range(a.layers)))
        return
    for i in range(a.layers):
        w = rand_weights(a.seed + 1000 * i, a.d_in, a.d_sae, a.d_out, a.bias_shift)
        tensors = {'W_enc': np.ascontiguousarray(w['W_enc'].T), 'W_dec': w['W_dec'], 'b_enc': w['b_enc'], 'b_dec': w['b_dec']}  # W_enc [d_t, d_model]
        if a.activation == 'jumprelu':
            tensors['activation_function.threshold'] = w['threshold']
        if a.skip:
            tensors['W_skip'] = w['W_skip']
        write_safetensors(os.path.join(a.out, f'layer_{i}.safetensors'), tensors, a.dtype)
    with open(os.path.join(a.out, 'config.yaml'), 'w') as f:
        f.write(yaml_config(a, 'transcoder_set'))


def make_clt(a, _w):
    n = a.layers
    for i in range(n):
        w = rand_weights(a.seed + 1000 * i, a.d_in, a.d_sae, a.d_out, a.bias_shift)
        g = np.random.default_rng(a.seed + 1000 * i + 7)
        enc = {f'W_enc_{i}': np.ascontiguousarray(w['W_enc'].T), f'b_enc_{i}': w['b_enc'], f'b_dec_{i}': w['b_dec']}
        if a.activation == 'jumprelu':
            enc[f'threshold_{i}'] = w['threshold']
        write_safetensors(os.path.join(a.out, f'W_enc_{i}.safetensors'), enc, a.dtype)
        w_dec = g.normal(0, 1 / math.sqrt(a.d_sae), (a.d_sae, n - i, a.d_out)).astype(np.float32)
        write_safetensors(os.path.join(a.out, f'W_dec_{i}.safetensors'), {f'W_dec_{i}': w_dec}, a.dtype)
    with open(os.path.join(a.out, 'config.yaml'), 'w') as f:
        f.write(yaml_config(a, 'cross_layer_transcoder'))


MAKERS = {'saelens': make_saelens, 'gemma-scope': make_gemma_scope, 'gemma-scope-2': make_gemma_scope_2, 'llama-scope': make_llama_scope,
          'sparsify': make_sparsify, 'circuit-tracer': make_circuit_tracer, 'circuit-tracer-clt': make_clt}


def make_random(a):
    os.makedirs(a.out, exist_ok=True)
    d_out = a.d_out = a.d_out or a.d_in
    MAKERS[a.format](a, rand_weights(a.seed, a.d_in, a.d_sae, d_out, a.bias_shift))


# ---------------------------------------------------------------- encoders, one per library

def t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float32))


def topk_scatter(h, k, relu_values):
    vals, idx = h.topk(k, dim=-1)
    return torch.zeros_like(h).scatter(-1, idx, vals.relu() if relu_values else vals)


def saelens_encode(d, x, edit=None):
    """SAELens (sae_lens/saes/*.py): process_sae_in, the architecture's encode, decode, run-time norm out."""
    cfg = json.load(open(os.path.join(d, 'cfg.json')))
    w = read_safetensors(os.path.join(d, 'sae_weights.safetensors'))
    pre6 = 'architecture' not in cfg
    arch = cfg.get('architecture', 'standard')
    if pre6 and cfg.get('activation_fn_str') == 'topk':
        arch = 'topk'
    k = cfg.get('k') or cfg.get('activation_fn_kwargs', {}).get('k')
    norm = cfg.get('normalize_activations', 'none')
    if norm is True:
        norm = 'expected_average_only_in'
    if norm is False:
        norm = 'none'
    raw = x
    restore = lambda y: y  # noqa: E731
    if norm == 'constant_norm_rescale':
        scale = math.sqrt(x.shape[-1]) / x.norm(dim=-1, keepdim=True)
        x = x * scale
        restore = lambda y: y / scale  # noqa: E731
    elif norm == 'layer_norm':
        mu = x.mean(dim=-1, keepdim=True)
        x = x - mu
        std = x.std(dim=-1, keepdim=True)
        x = x / (std + 1e-5)
        restore = lambda y: y * std + mu  # noqa: E731
    elif norm == 'expected_average_only_in':
        scaler = os.path.join(d, 'activation_scaler.json')
        if os.path.exists(scaler):
            s = json.load(open(scaler))['scaling_factor']
            x = x * s
            restore = lambda y: y / s  # noqa: E731
    if cfg.get('apply_b_dec_to_input', True):
        x = x - w['b_dec']
    dec = w['W_dec']
    rescale = arch == 'topk' and cfg.get('rescale_acts_by_decoder_norm', False)
    if arch == 'gated':
        gate = x @ w['W_enc'] + w['b_gate']
        pre = x @ (w['W_enc'] * w['r_mag'].exp()) + w['b_mag']
        acts = (gate > 0).float() * pre.relu()
    else:
        pre = x @ w['W_enc'] + w['b_enc']
        if arch in ('jumprelu', 'batchtopk', 'jumprelu_transcoder', 'jumprelu_skip_transcoder'):
            acts = pre.relu() * (pre > w['threshold']).float()
        elif arch == 'topk':
            h = pre * dec.norm(dim=-1) if rescale else pre
            acts = topk_scatter(h, k, True)
        else:
            acts = pre.relu()
    acts = edit(acts) if edit else acts
    a = acts / dec.norm(dim=-1) if rescale else acts
    y = restore(a @ dec + w['b_dec'])
    if 'W_skip' in w:
        y = y + raw @ w['W_skip'].T
    return pre, acts, y


def gemma_scope_encode(d, x, edit=None):
    """Gemma Scope's JumpReLU (the release's tutorial): mask = pre > threshold, acts = mask * relu(pre)."""
    p = {k: t(v) for k, v in np.load(os.path.join(d, 'params.npz')).items()}
    w_enc, w_dec = p.get('W_enc', p.get('w_enc')), p.get('W_dec', p.get('w_dec'))
    pre = x @ w_enc + p['b_enc']
    acts = (pre > p['threshold']).float() * pre.relu()
    acts = edit(acts) if edit else acts
    return pre, acts, acts @ w_dec + p['b_dec']


def gemma_scope_2_encode(d, x, edit=None):
    p = read_safetensors(os.path.join(d, 'params.safetensors'))
    pre = x @ p['w_enc'] + p['b_enc']
    acts = (pre > p['threshold']).float() * pre.relu()
    acts = edit(acts) if edit else acts
    y = acts @ p['w_dec'] + p['b_dec']
    if 'affine_skip_connection' in p:
        y = y + x @ p['affine_skip_connection']
    return pre, acts, y


def llama_scope_encode(d, x, edit=None):
    """Language-Model-SAEs: dataset-wise norm to sqrt(d_model), nn.Linear encoder/decoder, x * (x > theta)."""
    h = json.load(open(os.path.join(d, 'hyperparams.json')))
    p = read_safetensors(os.path.join(d, 'checkpoints', 'final.safetensors'))
    norms = h['dataset_average_activation_norm']
    x = x * (math.sqrt(h['d_model']) / norms['in'])
    if h.get('apply_decoder_bias_to_pre_encoder'):
        x = x - p['decoder.bias']
    pre = torch.nn.functional.linear(x, p['encoder.weight'], p['encoder.bias'])
    acts = pre * (pre > h['jump_relu_threshold']).float()
    acts = edit(acts) if edit else acts
    y = torch.nn.functional.linear(acts, p['decoder.weight'], p['decoder.bias'])
    return pre, acts, y * (norms['out'] / math.sqrt(h['d_model']))


def sparsify_encode(d, x, edit=None):
    """sparsify's SparseCoder: subtract b_dec (not when transcoding), relu(encoder), top k, decode, skip."""
    cfg = json.load(open(os.path.join(d, 'cfg.json')))
    p = read_safetensors(os.path.join(d, 'sae.safetensors'))
    raw = x
    if not cfg.get('transcode'):
        x = x - p['b_dec']
    pre = torch.nn.functional.linear(x, p['encoder.weight'], p['encoder.bias'])
    vals, idx = pre.relu().topk(cfg['k'], dim=-1)
    acts = torch.zeros_like(pre).scatter(-1, idx, vals)
    acts = edit(acts) if edit else acts
    y = acts @ p['W_dec'] + p['b_dec']
    if 'W_skip' in p:
        y = y + raw @ p['W_skip'].T
    return pre, acts, y


def read_config_yaml(path):
    """The flat YAML the fixtures write (key: value lines and one `transcoders:` list); PyYAML is not a test dependency."""
    cfg, key = {}, None
    for line in open(path):
        if line.startswith('  - '):
            cfg[key].append(line[4:].strip().strip('"'))
        elif ':' in line:
            key, value = (part.strip() for part in line.split(':', 1))
            value = value.strip('"')
            cfg[key] = [] if value == '' else int(value) if value.isdigit() else value
    return cfg


def ct_activation(cfg, pre, threshold):
    """circuit-tracer: JumpReLU x * (x > theta); TopK keeps the k largest as they are; else ReLU."""
    if cfg.get('activation') == 'topk':
        return topk_scatter(pre, cfg['k'], False)
    if threshold is not None:
        return pre * (pre > threshold).float()
    return pre.relu()


def circuit_tracer_encode(d, x, layer, hub_cache, edit=None):
    cfg = read_config_yaml(os.path.join(d, 'config.yaml'))
    if cfg.get('transcoders'):
        # circuit-tracer converts a Gemma Scope npz: W_enc transposed to [d_t, d_model], threshold renamed.
        z = np.load(cached(hub_cache, cfg['transcoders'][layer]))
        g = {k: t(v) for k, v in z.items()}
        p = {'W_enc': g['w_enc'].T, 'W_dec': g['w_dec'], 'b_enc': g['b_enc'], 'b_dec': g['b_dec'], 'activation_function.threshold': g['threshold']}
    else:
        p = read_safetensors(os.path.join(d, f'layer_{layer}.safetensors'))
    pre = x @ p['W_enc'].T + p['b_enc']
    acts = ct_activation(cfg, pre, p.get('activation_function.threshold'))
    acts = edit(acts) if edit else acts
    y = acts @ p['W_dec'] + p['b_dec']
    if 'W_skip' in p:
        y = y + x @ p['W_skip'].T
    return pre, acts, y


def clt_encode(d, xs, out):
    """Cross-layer transcoder: layer j's output sums every source layer i <= j through W_dec_i[:, j - i]."""
    cfg = read_config_yaml(os.path.join(d, 'config.yaml'))
    n = xs.shape[0]
    acts = []
    for i in range(n):
        p = read_safetensors(os.path.join(d, f'W_enc_{i}.safetensors'))
        pre = xs[i] @ p[f'W_enc_{i}'].T + p[f'b_enc_{i}']
        a = ct_activation(cfg, pre, p.get(f'threshold_{i}'))
        write_npy(os.path.join(out, f'acts_pre_{i}.npy'), pre)
        write_npy(os.path.join(out, f'acts_post_{i}.npy'), a)
        acts.append(a)
    for j in range(n):
        y = read_safetensors(os.path.join(d, f'W_enc_{j}.safetensors'))[f'b_dec_{j}'].clone()
        for i in range(j + 1):
            y = y + acts[i] @ read_safetensors(os.path.join(d, f'W_dec_{i}.safetensors'))[f'W_dec_{i}'][:, j - i, :]
        write_npy(os.path.join(out, f'recons_{j}.npy'), y)


ENCODERS = {'saelens': saelens_encode, 'gemma-scope': gemma_scope_encode, 'gemma-scope-2': gemma_scope_2_encode,
            'llama-scope': llama_scope_encode, 'sparsify': sparsify_encode}


def encode(a):
    os.makedirs(a.out, exist_ok=True)
    x = t(np.load(a.input))
    if a.format == 'circuit-tracer-clt':
        return clt_encode(a.dir, x, a.out)
    if a.format == 'circuit-tracer':
        pre, acts, y = circuit_tracer_encode(a.dir, x, a.layer, a.hub_cache)
    else:
        pre, acts, y = ENCODERS[a.format](a.dir, x)
    write_npy(os.path.join(a.out, 'acts_pre.npy'), pre)
    write_npy(os.path.join(a.out, 'acts_post.npy'), acts)
    write_npy(os.path.join(a.out, 'recons.npy'), y)


def decoder_matrix(fmt, d, hook=None):
    """W_dec [d_sae, d_out] as each format stores it (rows are features); a cross-layer transcoder's layer
    (the one reading `hook`) writes to every later layer, and its rows are summed over them: what the
    residual stream receives from each feature."""
    if fmt == 'circuit-tracer-clt':
        layer = int(hook.split('.')[1])
        return read_safetensors(os.path.join(d, f'W_dec_{layer}.safetensors'))[f'W_dec_{layer}'].sum(1)
    if fmt == 'saelens':
        return read_safetensors(os.path.join(d, 'sae_weights.safetensors'))['W_dec']
    if fmt == 'gemma-scope':
        z = np.load(os.path.join(d, 'params.npz'))
        return t(z['W_dec'] if 'W_dec' in z else z['w_dec'])
    if fmt == 'gemma-scope-2':
        return read_safetensors(os.path.join(d, 'params.safetensors'))['w_dec']
    if fmt == 'llama-scope':
        return read_safetensors(os.path.join(d, 'checkpoints', 'final.safetensors'))['decoder.weight'].T
    if fmt == 'sparsify':
        return read_safetensors(os.path.join(d, 'sae.safetensors'))['W_dec']
    raise ValueError(fmt)


def encoder_of(a):
    if a.format == 'circuit-tracer':
        return lambda x, edit=None: circuit_tracer_encode(a.dir, x, a.layer, a.hub_cache, edit)
    return lambda x, edit=None: ENCODERS[a.format](a.dir, x, edit)


def reference_model(family, model_dir):
    """The family's reference module (its hook_fn replaceable) and model."""
    import importlib
    fam = importlib.import_module(f'{family}_reference')
    model_cls = {'gpt2': 'Gpt2Reference', 'llama': 'LlamaReference'}[family]
    return fam, getattr(fam, model_cls)(model_dir)


def install_sae(fam, a):
    """Puts one dictionary at its hook in the family's forward, as SAELens' HookedSAETransformer does.
    Interventions (x * keep + add) apply to the SAE's hooks by name too: on hook_sae_acts_post they edit
    the activations before decoding, with use_error_term semantics (the error is the input minus the
    reconstruction of the unedited activations, computed without hooks; observing, the model continues
    with recons(edited) + error); on hook_sae_output they change what the model continues with."""
    hook_in, hook_out = a.hook, a.hook_out or a.hook
    enc = encoder_of(a)
    base = fam.__dict__.setdefault('plain_hook_fn', fam.hook_fn)  # a batch runs several attach jobs in one process
    name = lambda k: f'{hook_in}.hook_sae_{k}'  # noqa: E731

    def sae_hook_fn(cache, interventions):
        hp = base(cache, interventions)
        state = {}

        def with_sae(hook, x):
            x = hp(hook, x)
            if hook == hook_in:
                flat = x.reshape(*x.shape[:2], -1) if a.flatten else x  # hook_z: [batch, pos, n_heads * d_head]
                hp(name('input'), flat)
                pre, acts, clean = enc(flat)
                hp(name('acts_pre'), pre)
                state['edited'] = name('acts_post') in interventions
                y = enc(flat, lambda v: hp(name('acts_post'), v))[2] if state['edited'] else (hp(name('acts_post'), acts), clean)[1]
                shape = (lambda v: v.reshape(x.shape)) if a.flatten else (lambda v: v)
                state['recons'] = hp(name('recons'), shape(y))
                state['clean'] = shape(clean)
            if hook == hook_out:
                err = hp(name('error'), x - state['clean'])
                out = state['recons'] if a.splice else state['recons'] + err if state['edited'] else x
                x = hp(name('output'), out)
            return x
        return with_sae

    fam.hook_fn = sae_hook_fn


def install_clt(fam, a):
    """Puts a whole cross-layer transcoder in the family's forward, each source layer's SAE hooks named under
    its input hook as install_sae names a transcoder's: at blocks.i.<feature_input_hook> the features a_i
    (hook_sae_input, _acts_pre, _acts_post) and layer i's prediction (hook_sae_recons), the sum over sources
    k <= i of a_k @ W_dec_k[:, i - k] plus b_dec_i (clt_encode's); at blocks.i.<feature_output_hook>
    hook_sae_error and hook_sae_output. Interventions on a source's acts_post edit a_k before decoding, with
    the error term kept at every target it writes to (the error from the unedited features; observing, the
    model continues with recons(edited) + error wherever an edited source writes); --splice replaces every target."""
    cfg = read_config_yaml(os.path.join(a.dir, 'config.yaml'))
    n = sum(1 for f in os.listdir(a.dir) if f.startswith('W_enc_') and f.endswith('.safetensors'))
    enc = [read_safetensors(os.path.join(a.dir, f'W_enc_{i}.safetensors')) for i in range(n)]
    dec = [read_safetensors(os.path.join(a.dir, f'W_dec_{i}.safetensors'))[f'W_dec_{i}'] for i in range(n)]  # [d_t, n - i, d_model]
    hooks_in = [f'blocks.{i}.{cfg["feature_input_hook"]}' for i in range(n)]
    hooks_out = [f'blocks.{i}.{cfg["feature_output_hook"]}' for i in range(n)]
    base = fam.__dict__.setdefault('plain_hook_fn', fam.hook_fn)

    def predict(j, acts):
        y = enc[j][f'b_dec_{j}'].clone()
        for k in range(j + 1):
            y = y + acts[k] @ dec[k][:, j - k, :]
        return y

    def clt_hook_fn(cache, interventions):
        hp = base(cache, interventions)
        edited, clean, recons, unedited = [], [], {}, {}

        def with_clt(hook, x):
            x = hp(hook, x)
            if hook in hooks_in:
                i = hooks_in.index(hook)
                name = lambda k: f'{hook}.hook_sae_{k}'  # noqa: E731
                hp(name('input'), x)
                p = enc[i]
                pre = hp(name('acts_pre'), x @ p[f'W_enc_{i}'].T + p[f'b_enc_{i}'])
                acts = ct_activation(cfg, pre, p.get(f'threshold_{i}'))
                clean.append(acts)
                edited.append(hp(name('acts_post'), acts))
                recons[i] = hp(name('recons'), predict(i, edited))
                unedited[i] = predict(i, clean)
            if hook in hooks_out:
                j = hooks_out.index(hook)
                name = lambda k: f'{hooks_in[j]}.hook_sae_{k}'  # noqa: E731
                err = hp(name('error'), x - unedited[j])
                moved = any(f'{hooks_in[k]}.hook_sae_acts_post' in interventions for k in range(j + 1))
                x = hp(name('output'), recons[j] if a.splice else recons[j] + err if moved else x)
            return x
        return with_clt

    fam.hook_fn = clt_hook_fn


def feature_edits(a, d_sae):
    """--steer-feature F --coefficient C: C x W_dec[f] at hook_sae_output; --clamp-feature F --clamp V: a_f := V."""
    out = {}
    if a.steer_feature is not None:
        row = decoder_matrix(a.format, a.dir)[a.steer_feature]
        out[f'{a.hook}.hook_sae_output'] = (torch.ones(1), a.coefficient * row.reshape(-1))
    if a.clamp_feature is not None:
        keep, add = torch.ones(d_sae), torch.zeros(d_sae)
        keep[a.clamp_feature], add[a.clamp_feature] = 0, a.clamp
        out[f'{a.hook}.hook_sae_acts_post'] = (keep, add)
    return out


def attach(a):
    """The reference model with one dictionary at a hook point, observing or spliced, with interventions."""
    fam, m = reference_model(a.family, a.model)
    (install_clt if a.format == 'circuit-tracer-clt' else install_sae)(fam, a)
    tokens = parse_tokens(a.tokens)
    probe = {}
    m.forward(tokens[:1], probe)
    interventions = {h: (t(np.load(k)), t(np.load(v))) for h, k, v in a.intervene or []}
    interventions.update(feature_edits(a, probe[f'{a.hook}.hook_sae_acts_post'].shape[-1]))
    for h, (keep, add) in list(interventions.items()):
        if h.endswith('.hook_sae_output') and add.dim() == 1 and a.flatten:  # hook_z: a flat row per position
            interventions[h] = (keep, add.reshape(probe[h].shape[2:]))
    cache = {}
    logits = m.forward(tokens, cache, interventions)
    os.makedirs(a.out, exist_ok=True)
    write_npy(os.path.join(a.out, 'logits.npy'), logits)
    for k, v in cache.items():
        write_npy(os.path.join(a.out, k + '.npy'), v)


def final_norm(m):
    """The final norm's weight, and whether it centres (LayerNorm) or not (RMSNorm)."""
    if 'ln_f.weight' in m.w:
        return m.w['ln_f.weight'], True
    return m.w['norm.weight'], False


def features(a):
    """Top features per token, each shown feature's top and bottom logits (W_dec[f], centred for a
    LayerNorm, times the final norm's weight, @ W_U), and each active feature's direct logit attribution at
    the last position: its part of the reconstruction, decode(a_f e_f) - decode(0), centred, over the run's
    ln_final scale, dotted with the final norm's weight times W_U[answer] - W_U[counterfactual]."""
    fam, m = reference_model(a.family, a.model)
    clt = a.format == 'circuit-tracer-clt'
    (install_clt if clt else install_sae)(fam, a)
    tokens = parse_tokens(a.tokens)[:1]
    cache = {}
    m.forward(tokens, cache, {})
    acts = cache[f'{a.hook}.hook_sae_acts_post'][0]  # [pos, d_sae]
    rows = []
    for p in range(acts.shape[0]):
        v, i = acts[p].topk(a.k)
        rows.append([[int(f), float(x)] for f, x in zip(i, v) if x > 0])
    shown = sorted({f for r in rows for f, _ in r})
    w_ln, centre = final_norm(m)
    dec = decoder_matrix(a.format, a.dir, a.hook)
    out = {'tokens': rows, 'logits': {}, 'dla': {}}
    for f in shown:
        v = dec[f].double()
        v = v - v.mean() if centre else v
        logits = (v * w_ln.double()) @ m.W_U.double()
        top, bottom = logits.topk(a.logits_k), (-logits).topk(a.logits_k)
        out['logits'][f] = {'top': [[int(i), float(x)] for x, i in zip(*top)], 'bottom': [[int(i), float(-x)] for x, i in zip(*bottom)]}
    if a.answer is not None:
        x = cache[f'{a.hook}.hook_sae_input'][0, -1:]  # [1, d_in]
        last = acts[-1]
        u = m.W_U[:, a.answer].double() - (m.W_U[:, a.counterfactual].double() if a.counterfactual is not None else 0)
        direction = w_ln.double() * u
        scale = cache['ln_final.hook_scale'][0, -1, 0].double()
        if not clt:
            enc = encoder_of(a)
            zero = enc(x, lambda v: torch.zeros_like(v))[2]
        for f in (last > 0).nonzero().flatten().tolist():
            def only(v, f=f):
                o = torch.zeros_like(v)
                o[..., f] = last[f]
                return o
            # A cross-layer transcoder's feature adds a_f W_dec[f, t] at each target t: a_f times the summed rows in all.
            c = (last[f] * dec[f]).double() if clt else (enc(x, only)[2] - zero)[0].double()
            c = c - c.mean() if centre else c
            out['dla'][f] = float((c / scale) @ direction)
    with open(a.out, 'w') as fh:
        json.dump(out, fh)


def feature_ablate(a):
    """Each listed feature ablated alone (zero, mean over the reference prompts at each position, or each
    reference prompt's values with the results averaged), at every position, the error term kept: the change
    of logit(answer) - logit(counterfactual) at the last position. Prints JSON {baseline, changes}."""
    fam, m = reference_model(a.family, a.model)
    (install_clt if a.format == 'circuit-tracer-clt' else install_sae)(fam, a)
    tokens = parse_tokens(a.tokens)[:1]
    acts_name = f'{a.hook}.hook_sae_acts_post'

    def metric(interventions):
        logits = m.forward(tokens, None, interventions)[0, -1].double()
        return float(logits[a.answer] - logits[a.counterfactual])

    probe = {}
    m.forward(tokens, probe)
    width = probe[acts_name].shape[-1]
    sources = [None]
    if a.kind != 'zero':
        ref = {}
        m.forward(parse_tokens(a.reference), ref)
        r = ref[acts_name]  # [n_reference, pos, d_sae]
        sources = [r.mean(0)] if a.kind == 'mean' else list(r)
    base = metric({})
    changes = []
    for f in map(int, a.features.split(',')):
        total = 0.0
        for src in sources:
            keep = torch.ones(tokens.shape[1], width)  # [pos, d_sae]
            add = torch.zeros_like(keep)
            keep[:, f] = 0
            if src is not None:
                add[:, f] = src[:, f]
            total += metric({acts_name: (keep, add)}) - base
        changes.append(total / len(sources))
    print(json.dumps({'baseline': base, 'changes': changes}))


def parser():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    m = sub.add_parser('make-random')
    m.add_argument('--format', required=True, choices=sorted(MAKERS))
    m.add_argument('--out', required=True)
    m.add_argument('--architecture', default='standard')
    m.add_argument('--d-in', type=int, default=16)
    m.add_argument('--d-sae', type=int, default=64)
    m.add_argument('--d-out', type=int, default=0)
    m.add_argument('--k', type=int, default=8)
    m.add_argument('--normalize', default='none')
    m.add_argument('--scaler', type=float)
    m.add_argument('--rescale', action='store_true')
    m.add_argument('--apply-b-dec', type=int, default=1)
    m.add_argument('--cfg-version', default='6', choices=['6', 'pre6'])
    m.add_argument('--hook')
    m.add_argument('--hook-out')
    m.add_argument('--sparsity', action='store_true')
    m.add_argument('--compressed', action='store_true')
    m.add_argument('--lower-case', action='store_true')
    m.add_argument('--npz-cache', help='circuit-tracer: write Gemma Scope npz files into this Hugging Face cache and list them')
    m.add_argument('--type', default='sae')
    m.add_argument('--affine', action='store_true')
    m.add_argument('--hf-in')
    m.add_argument('--hf-out')
    m.add_argument('--skip', action='store_true')
    m.add_argument('--transcode', action='store_true')
    m.add_argument('--layers', type=int, default=2)
    m.add_argument('--activation', default='relu', choices=['relu', 'jumprelu', 'topk'])
    m.add_argument('--dtype', default='F32', choices=DTYPES)
    m.add_argument('--seed', type=int, default=0)
    m.add_argument('--bias-shift', type=float, default=0.0)
    e = sub.add_parser('encode')
    e.add_argument('--format', required=True)
    e.add_argument('--dir', required=True)
    e.add_argument('--input', required=True)
    e.add_argument('--out', required=True)
    e.add_argument('--layer', type=int, default=0)
    e.add_argument('--hub-cache')
    t = sub.add_parser('attach', help='a reference model run with a dictionary at a hook point')
    t.add_argument('--family', required=True, choices=['gpt2', 'llama'])
    t.add_argument('--model', required=True)
    t.add_argument('--tokens', required=True)
    t.add_argument('--format', required=True)
    t.add_argument('--dir', required=True)
    t.add_argument('--hook', required=True)
    t.add_argument('--hook-out')
    t.add_argument('--flatten', action='store_true', help='hook_z: flatten the heads before the dictionary')
    t.add_argument('--splice', action='store_true')
    t.add_argument('--layer', type=int, default=0)
    t.add_argument('--hub-cache')
    t.add_argument('--out', required=True)
    t.add_argument('--intervene', nargs=3, action='append', metavar=('HOOK', 'KEEP', 'ADD'), help='x * keep + add at a hook (SAE hooks included)')
    t.add_argument('--steer-feature', type=int)
    t.add_argument('--coefficient', type=float, default=1.0)
    t.add_argument('--clamp-feature', type=int)
    t.add_argument('--clamp', type=float, default=0.0)
    for name, extra in (('features', 'top features per token, their logits and direct logit attribution (JSON to --out)'),
                        ('feature-ablate', 'each feature ablated alone: the change of the logit difference (JSON on stdout)')):
        f = sub.add_parser(name, help=extra)
        for arg in ('--family', '--model', '--tokens', '--format', '--dir', '--hook'):
            f.add_argument(arg, required=True)
        f.add_argument('--hook-out')
        f.add_argument('--flatten', action='store_true')
        f.add_argument('--splice', action='store_true')
        f.add_argument('--layer', type=int, default=0)
        f.add_argument('--hub-cache')
        f.add_argument('--answer', type=int)
        f.add_argument('--counterfactual', type=int)
        f.add_argument('--out')
        f.add_argument('--k', type=int, default=5)
        f.add_argument('--logits-k', type=int, default=10)
        f.add_argument('--kind', default='zero', choices=['zero', 'mean', 'resample'])
        f.add_argument('--features', default='')
        f.add_argument('--reference')
    b = sub.add_parser('batch', help='run many make-random / encode commands in one process (a JSON list of argument lists)')
    b.add_argument('--jobs', required=True)
    return ap


def run(ap, argv):
    a = ap.parse_args(argv)
    if a.cmd == 'batch':
        for job in json.load(open(a.jobs)):
            run(ap, job)
        return
    a.apply_b_dec = bool(getattr(a, 'apply_b_dec', 1))
    {'make-random': make_random, 'encode': encode, 'attach': attach, 'features': features, 'feature-ablate': feature_ablate}[a.cmd](a)


def main():
    ap = parser()
    run(ap, None)


if __name__ == '__main__':
    main()
