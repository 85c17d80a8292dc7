"""The safetensors writer the reference scripts share, written by hand (8-byte little-endian header length,
a JSON header padded with spaces to a multiple of 8, then the raw little-endian bytes of each tensor) so that
only torch is needed, not the safetensors package."""
import json
import struct

import torch

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: tensor} in the order they are to be stored; metadata: {str: str} or None."""
    tensors = {name: t.detach().contiguous().cpu() for name, t in tensors.items()}
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        size = t.numel() * t.element_size()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        offset += size
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for t in tensors.values():
            f.write(t.numpy().tobytes())
