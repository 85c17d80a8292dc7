#!/usr/bin/python3
"""Converts a torchvision VGG checkpoint (.pth) to safetensors, for lumen's nn::vgg16() & co (nn/vgg.h).

  /usr/bin/python3 scripts/convert_torchvision_vgg.py vgg16-397923af.pth vgg16.safetensors [--arch vgg16]

Nothing is downloaded: pass the .pth you have (e.g. torchvision's ImageNet weights, from
torch.hub's cache, ~/.cache/torch/hub/checkpoints/). The file is loaded into
torchvision.models.<arch>(weights=None) with a strict load_state_dict, so a file of another
architecture is refused by name; that model's state_dict (float32; BatchNorm's num_batches_tracked
int64, added by PyTorch where an old file lacks it) is then written with the tensors' torchvision
names ("features.28.weight", "classifier.6.bias"), which are lumen's. Needs torch and torchvision
(Debian: apt-get install python3-torchvision); safetensors is written by hand (8-byte header length,
JSON header, raw little-endian bytes), so no other package is needed.
"""
import argparse
import json
import struct

import torch
import torchvision

ARCHS = ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]
DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def write_safetensors(path, tensors, metadata):
    tensors = {name: t.detach().contiguous().cpu() for name, t in tensors.items()}
    header, offset = {"__metadata__": metadata}, 0
    for name, t in tensors.items():
        size = t.numel() * t.element_size()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        offset += size
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:  # one tensor at a time: a VGG is half a gigabyte
        f.write(struct.pack("<Q", len(h)) + h)
        for t in tensors.values():
            f.write(t.numpy().tobytes())


def load_state(path):
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # tensors only: no code from the file runs
    except TypeError:  # torch < 1.13 has no weights_only
        state = torch.load(path, map_location="cpu")
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]  # a training checkpoint wrapping it
    return state


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pth", help="the torchvision checkpoint (.pth) to convert")
    ap.add_argument("out", help="the safetensors file to write")
    ap.add_argument("--arch", default="vgg16", choices=ARCHS, help="the torchvision model the .pth is for")
    args = ap.parse_args()

    state = load_state(args.pth)
    num_classes = state["classifier.6.weight"].shape[0] if "classifier.6.weight" in state else 1000
    model = getattr(torchvision.models, args.arch)(weights=None, num_classes=num_classes)
    model.load_state_dict(state, strict=True)
    out = {}
    for name, t in model.state_dict().items():
        out[name] = t if t.dtype == torch.int64 else t.float()
    metadata = {"arch": args.arch, "source": args.pth, "num_classes": str(num_classes),
                "generator": "convert_torchvision_vgg.py", "torchvision": torchvision.__version__}
    write_safetensors(args.out, out, metadata)
    print(args.out)


if __name__ == "__main__":
    main()
