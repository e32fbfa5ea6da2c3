"""Shared pieces of the demo SAE scripts (train_demo_sae.py, describe_demo_sae.py): the text, the demo
model's activations at the SAE's hook, the TopK SAE itself and its SAELens 6.x files.

The activations come from test/reference/gpt2_reference.py, the project's independent PyTorch GPT-2
(float32, TransformerLens hook names, unprocessed weights). The text is the demo model's own training
corpus (train_demo.py's build_corpus: the same Debian packages, the same split, every 50th document
held out), tokenised with the demo model's own vocab.json + merges.txt.
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "reference"))

import train_demo  # noqa: E402  (sets the one-thread environment before torch loads)
import tokenizer_prefix  # noqa: E402
from gpt2_io import write_safetensors  # noqa: E402
import torch  # noqa: E402
import gpt2_reference  # noqa: E402

MODEL_DIR = os.path.join(ROOT, "media", "models", "demo")
HOOK = "blocks.1.hook_resid_pre"
SAE_DIR = os.path.join(MODEL_DIR, "saes", HOOK)
N_CTX = train_demo.N_CTX
EOT = train_demo.EOT
D_IN = train_demo.D


def corpus(cache):
    """(tokenizer, train sampler, validation sampler) over the demo model's corpus, tokenised once into cache."""
    os.makedirs(cache, exist_ok=True)
    tok = tokenizer_prefix.PrefixBPE(MODEL_DIR)
    arrays = train_demo.build_corpus(cache, tok)
    return tok, train_demo.Sampler(arrays, "train"), train_demo.Sampler(arrays, "val")


def windows(sampler, rng, rows):
    """[rows, N_CTX] int64: BOS then a natural-text window, as the demo model was trained (its mix of sources)."""
    return torch.from_numpy(np.stack([np.concatenate([[EOT], sampler.text(rng, N_CTX - 1)]) for _ in range(rows)]))


class _Reached(Exception):
    def __init__(self, value):
        super().__init__()
        self.value = value


class DemoModel:
    """The bundled demo model through the reference forward."""

    def __init__(self):
        self.ref = gpt2_reference.Gpt2Reference(MODEL_DIR)
        self.plain_hook_fn = gpt2_reference.hook_fn

    def resid(self, ids):
        """[batch, pos, d_model] at HOOK, the forward stopped there (the layers after it are not run)."""
        plain = self.plain_hook_fn

        def stopping(cache, interventions):
            hp = plain(cache, interventions)

            def at(name, x):
                x = hp(name, x)
                if name == HOOK:
                    raise _Reached(x)
                return x
            return at

        gpt2_reference.hook_fn = stopping
        try:
            self.ref.forward(ids)
        except _Reached as r:
            return r.value.clone()  # a plain tensor (the forward runs in inference mode)
        finally:
            gpt2_reference.hook_fn = plain
        raise RuntimeError("the reference forward never reached " + HOOK)

    def logits(self, ids, replace=None):
        """[batch, pos, vocab]; replace: a [batch, pos, d_model] tensor that takes HOOK's place."""
        interventions = {} if replace is None else {HOOK: (torch.zeros_like(replace), replace)}
        return self.ref.forward(ids, None, interventions)

    @property
    def W_U(self):
        return self.ref.W_U  # [d_model, d_vocab]


def next_token_loss(logits, ids):
    """Sum of -log p(next token) over every position, and the count."""
    lp = torch.log_softmax(logits[:, :-1].double(), -1).gather(-1, ids[:, 1:, None])[..., 0]
    return -lp.sum().item(), lp.numel()


class TopKSae(torch.nn.Module):
    """SAELens' topk architecture: acts = relu(top-k of (x - b_dec) @ W_enc + b_enc), recons = acts @ W_dec + b_dec."""

    def __init__(self, d_in, d_sae, k, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        w_dec = torch.randn(d_sae, d_in, generator=g)
        w_dec /= w_dec.norm(dim=-1, keepdim=True)
        self.W_dec = torch.nn.Parameter(w_dec)  # [d_sae, d_in], unit rows
        self.W_enc = torch.nn.Parameter(w_dec.t().clone())  # [d_in, d_sae]: tied at initialisation
        self.b_enc = torch.nn.Parameter(torch.zeros(d_sae))
        self.b_dec = torch.nn.Parameter(torch.zeros(d_in))
        self.k = k

    def pre(self, x):
        return (x - self.b_dec) @ self.W_enc + self.b_enc  # [rows, d_sae]

    def encode(self, x):
        pre = self.pre(x)
        vals, idx = pre.topk(self.k, dim=-1)
        return torch.zeros_like(pre).scatter(-1, idx, vals.relu()), pre

    def decode(self, acts):
        return acts @ self.W_dec + self.b_dec  # [rows, d_in]

    @torch.no_grad()
    def unit_decoder(self):
        self.W_dec /= self.W_dec.norm(dim=-1, keepdim=True)


def folded_tensors(sae, scale):
    """The SAE trained on x * scale, as tensors that read raw x (SAELens' fold_activation_norm_scaling_factor)."""
    return {
        "W_enc": (sae.W_enc * scale).detach().numpy(),  # [d_in, d_sae]
        "b_enc": sae.b_enc.detach().numpy(),  # [d_sae]
        "W_dec": (sae.W_dec / scale).detach().numpy(),  # [d_sae, d_in]
        "b_dec": (sae.b_dec / scale).detach().numpy(),  # [d_in]
    }


def write_saelens(out_dir, tensors, k, extra_metadata):
    """cfg.json and sae_weights.safetensors as SAELens 6.x writes them (SAEConfig.to_dict())."""
    os.makedirs(out_dir, exist_ok=True)
    d_sae, d_in = tensors["W_dec"].shape
    write_safetensors(os.path.join(out_dir, "sae_weights.safetensors"), tensors)
    cfg = {
        "architecture": "topk",
        "d_in": int(d_in),
        "d_sae": int(d_sae),
        "k": k,
        "rescale_acts_by_decoder_norm": False,
        "dtype": "float32",
        "device": "cpu",
        "apply_b_dec_to_input": True,
        "normalize_activations": "none",
        "reshape_activations": "none",
        "metadata": {
            "model_name": "circuit-lens-demo",
            "hook_name": HOOK,
            "hook_head_index": None,
            "model_class_name": "HookedTransformer",
            # SAELens passes these to HookedTransformer.from_pretrained: {} would mean its default processing.
            "model_from_pretrained_kwargs": {"fold_ln": False, "center_writing_weights": False, "center_unembed": False, "fold_value_biases": False},
            "prepend_bos": True,
            "exclude_special_tokens": False,
            "context_size": N_CTX,
            "dataset_path": "the demo model's training text (tools/models/train_demo.py)",
            "sae_lens_training_version": None,
            **extra_metadata,
        },
    }
    with open(os.path.join(out_dir, "cfg.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


def read_saelens(sae_dir):
    """(cfg, {name: float32 tensor}) of the shipped SAE, read by the references' own safetensors reader."""
    from safetensors_io import read_safetensors
    with open(os.path.join(sae_dir, "cfg.json")) as f:
        cfg = json.load(f)
    return cfg, read_safetensors(os.path.join(sae_dir, "sae_weights.safetensors"))


def encode_raw(cfg, w, x):
    """(acts [rows, d_sae], recons [rows, d_in]) of the shipped files on raw activations x [rows, d_in]."""
    pre = (x - w["b_dec"]) @ w["W_enc"] + w["b_enc"]
    vals, idx = pre.topk(cfg["k"], dim=-1)
    acts = torch.zeros_like(pre).scatter(-1, idx, vals.relu())
    return acts, acts @ w["W_dec"] + w["b_dec"]
