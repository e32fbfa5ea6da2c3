"""Safetensors and .npy files for the Python references: their own reader and writer (F32, F16 and BF16,
upcast exactly on reading, round-to-nearest-even on writing), token lists from the command line, and
atomic .npy output. Shares no code with the TypeScript engine.
"""
import json
import os
import struct

import numpy as np
import torch

DTYPES = ('F32', 'F16', 'BF16')


def read_safetensors(path):
    """Returns {name: float32 torch tensor}; f16 and bf16 are upcast exactly."""
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        b, end = e['data_offsets']
        buf = raw[base + b: base + end]
        if e['dtype'] == 'F32':
            a = np.frombuffer(buf, dtype='<f4')
        elif e['dtype'] == 'F16':
            a = np.frombuffer(buf, dtype='<f2').astype(np.float32)
        elif e['dtype'] == 'BF16':
            a = (np.frombuffer(buf, dtype='<u2').astype(np.uint32) << 16).view(np.float32)
        else:
            continue
        out[name] = torch.from_numpy(a.reshape(e['shape']).copy())
    return out


def write_safetensors(path, tensors, dtype):
    """tensors: {name: float32 numpy array}; stored as dtype (F32, F16 or BF16, round-to-nearest-even)."""
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a, dtype=np.float32)
        if dtype == 'F32':
            b = a.astype('<f4').tobytes()
        elif dtype == 'F16':
            b = a.astype('<f2').tobytes()
        else:
            u = a.view(np.uint32).astype(np.uint64)
            u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype('<u2')
            b = u.tobytes()
        header[name] = {'dtype': dtype, 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def parse_tokens(text):
    rows = [[int(t) for t in row.split(',') if t.strip()] for row in text.split(';') if row.strip()]
    return torch.tensor(rows, dtype=torch.int64)


def write_npy(path, t):
    tmp = path + '.tmp.npy'
    np.save(tmp, t.detach().contiguous().numpy().astype(np.float32))
    os.replace(tmp, path)
