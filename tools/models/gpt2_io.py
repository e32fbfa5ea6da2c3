"""Shared helpers for the Circuit Lens model scripts: a minimal safetensors
writer/reader (F32 only) and the Hugging Face GPT-2 config writer.

safetensors layout: 8-byte little-endian unsigned header length N, then N bytes
of JSON {name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}}
(offsets relative to the end of the header), then the raw little-endian data.
"""
import json
import os
import struct

import numpy as np


def write_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> numpy array (any float dtype, written as float32)."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(np.asarray(tensors[name], dtype="<f4"))
        data = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)  # align the data to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Return dict name -> float32 numpy array (own parser, F32/F16/BF16)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        buf = raw[base + b: base + e]
        dt = info["dtype"]
        if dt == "F32":
            arr = np.frombuffer(buf, dtype="<f4")
        elif dt == "F16":
            arr = np.frombuffer(buf, dtype="<f2").astype(np.float32)
        elif dt == "BF16":
            arr = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError("unsupported dtype " + dt)
        out[name] = arr.reshape(info["shape"]).astype(np.float32)
    return out


def write_config(out_dir, n_layer, n_embd, n_head, n_ctx, vocab_size, n_inner, eot_id, extra=None):
    cfg = {
        "model_type": "gpt2",
        "architectures": ["GPT2LMHeadModel"],
        "n_layer": n_layer,
        "n_embd": n_embd,
        "n_head": n_head,
        "n_positions": n_ctx,
        "n_ctx": n_ctx,
        "n_inner": n_inner,
        "vocab_size": vocab_size,
        "layer_norm_epsilon": 1e-5,
        "activation_function": "gelu_new",
        "bos_token_id": eot_id,
        "eos_token_id": eot_id,
        "tie_word_embeddings": False,
        "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.0,
        "embd_pdrop": 0.0,
        "attn_pdrop": 0.0,
        "initializer_range": 0.02,
        "torch_dtype": "float32",
    }
    if extra:
        cfg.update(extra)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
