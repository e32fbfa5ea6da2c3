"""Independent PyTorch reference for a feature's logit effects as the features analysis defines them (protocol
FeatureInfo.topLogits): W_dec[f] centred (GPT-2's final norm is a LayerNorm), times ln_f's weight, through W_U
(no bias). On weights processed with foldLn that is SAELens' and Neuronpedia's W_dec[f] @ W_U. W_dec is read
from a SAELens folder's sae_weights.safetensors ([d_sae, d_in]); ln_f and W_U from the GPT-2 reference model
(gpt2_reference.py: the tied embedding or lm_head, transposed to [d_model, d_vocab]).

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
    m = Gpt2Reference(a.model)
    w_u = m.W_U.to(torch.float64)  # [d_model, d_vocab]
    ln_w = m.w['ln_f.weight'].to(torch.float64)  # [d_model]
    features = torch.tensor([int(f) for f in a.features.split(',')])
    rows = w_dec[features]  # [n, d_model]
    rows = rows - rows.mean(dim=-1, keepdim=True)
    write_npy(a.out, ((rows * ln_w) @ w_u).to(torch.float32))  # [n, d_vocab]


if __name__ == '__main__':
    main()
