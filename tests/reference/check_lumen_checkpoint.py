#!/usr/bin/python3
"""A lumen checkpoint loads into the equivalent PyTorch model and gives the same outputs.

Run with Debian's PyTorch, after building lumen (ninja -C build):
    /usr/bin/python3 tests/reference/check_lumen_checkpoint.py [--build build] [--checkpoint out/classifier/model.safetensors]

For each of the classifiers of the DL@MBL knowledge-extraction exercise (DenseModel, ConvModel) it takes a lumen checkpoint (the one given,
for the model it holds, or else a freshly initialised one that build/tests/lumen_logits writes), loads it
with load_state_dict(strict=True) into the same architecture written in torch.nn with PyTorch's own layer
names, runs both on the same 64 random images and compares the logits. Exits 1 if any differs by more
than 1e-5 + 1e-5·|logit| (float32 sums in another order), or if a name or shape does not match. safetensors is read and written by hand (8-byte header
length, JSON header, raw little-endian bytes), so only torch is needed.
"""
import argparse
import collections
import json
import os
import struct
import subprocess
import sys
import tempfile

import torch
import torch.nn as nn
from safetensors_io import write_safetensors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = blob[8 + n:]
    out = {}
    for name, h in header.items():
        b, e = h["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:e]), dtype=DTYPES[h["dtype"]]) if e > b else torch.empty(0)
        out[name] = t.reshape(h["shape"]).clone()
    return out, meta


def torch_model(name):
    """nn/models.h's DenseModel and ConvModel, with the same names as lumen's state_dict."""
    if name == "dense":
        return nn.Sequential(collections.OrderedDict([
            ("flatten", nn.Flatten()), ("fc1", nn.Linear(2352, 256)), ("relu1", nn.ReLU()),
            ("fc2", nn.Linear(256, 120)), ("relu2", nn.ReLU()), ("fc3", nn.Linear(120, 84)), ("relu3", nn.ReLU()),
            ("fc4", nn.Linear(84, 4))]))
    features = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 4))
    return nn.Sequential(collections.OrderedDict([("features", features), ("classifier", classifier)]))


def check(name, checkpoint, tool, tmp):
    init = checkpoint is None
    if init:
        checkpoint = os.path.join(tmp, f"{name}.safetensors")
    x = torch.rand(64, 3, 28, 28, generator=torch.Generator().manual_seed(7))
    write_safetensors(os.path.join(tmp, "x.safetensors"), {"x": x})
    cmd = [tool, "--model", name, "--checkpoint", checkpoint, "--inputs", os.path.join(tmp, "x.safetensors"),
           "--out", os.path.join(tmp, "y.safetensors")] + (["--init"] if init else [])
    subprocess.run(cmd, check=True)
    state, meta = read_safetensors(checkpoint)
    model = torch_model(name)
    model.load_state_dict(state, strict=True)  # raises on any missing, unexpected or mis-shaped tensor
    model.eval()
    with torch.no_grad():
        want = model(x)
    got = read_safetensors(os.path.join(tmp, "y.safetensors"))[0]["logits"]
    err = (got - want).abs().max().item()
    scale = want.abs().max().item()
    same_class = (got.argmax(1) == want.argmax(1)).float().mean().item()
    ok = torch.allclose(got, want, rtol=1e-5, atol=1e-5)  # float32: summation order differs
    source = "fresh lumen init" if init else checkpoint
    print(f"{name:5s} ({source}): {len(state)} tensors loaded strictly; logits of 64 images: max |lumen - torch| = "
          f"{err:.2e} (logits up to {scale:.1f}), same argmax {same_class:.0%}  {'OK' if ok else 'MISMATCH'}")
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"), help="lumen build directory")
    p.add_argument("--checkpoint", help="a lumen checkpoint of either model (its metadata names which)")
    args = p.parse_args()
    tool = os.path.join(args.build, "tests", "lumen_logits")
    if not os.path.exists(tool):
        sys.exit(f"check_lumen_checkpoint: {tool} not found; build lumen first (ninja -C {args.build})")
    given = {}
    if args.checkpoint:
        given[read_safetensors(args.checkpoint)[1].get("model", "dense")] = args.checkpoint
    with tempfile.TemporaryDirectory() as tmp:
        ok = all([check(name, given.get(name), tool, tmp) for name in ("dense", "cnn")])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
