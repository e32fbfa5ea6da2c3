"""Independent PyTorch reference for a feature's logit effects: W_dec[f] @ W_U (SAELens' and Neuronpedia's
top/bottom logits), W_dec read from a SAELens folder's sae_weights.safetensors ([d_sae, d_in]) and W_U from
the GPT-2 reference model (gpt2_reference.py: the tied embedding or lm_head, transposed to [d_model, d_vocab]).

  feature_logits_reference.py --model MODEL --sae DIR --features 3,7,11 --out LOGITS.npy   ([n, d_vocab])
"""
import argparse
import os

import torch

from gpt2_reference import Gpt2Reference
from safetensors_io import read_safetensors, write_npy

torch.set_grad_enabled(False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', required=True)
    ap.add_argument('--sae', required=True)
    ap.add_argument('--features', required=True)
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    w_dec = read_safetensors(os.path.join(a.sae, 'sae_weights.safetensors'))['W_dec'].to(torch.float64)  # [d_sae, d_in]
    w_u = Gpt2Reference(a.model).W_U.to(torch.float64)  # [d_model, d_vocab]
    features = torch.tensor([int(f) for f in a.features.split(',')])
    write_npy(a.out, (w_dec[features] @ w_u).to(torch.float32))  # [n, d_vocab]


if __name__ == '__main__':
    main()
