#!/usr/bin/env python3
"""The largest difference between the tensors of two safetensors files with the same names and shapes.

  compare_checkpoints.py A.safetensors B.safetensors [--max TOL]

Prints the largest |a - b| (and which tensor); with --max, exits 1 when it is above TOL. Pure Python
(struct): the test suite needs no numpy.
"""
import json
import struct
import sys

FORMATS = {"F32": "f", "F64": "d", "I64": "q"}


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    body = data[8 + n:]
    out = {}
    for name, info in header.items():
        fmt = FORMATS[info["dtype"]]
        start, end = info["data_offsets"]
        count = (end - start) // struct.calcsize(fmt)
        out[name] = (info["shape"], struct.unpack_from(f"<{count}{fmt}", body, start))
    return out


def main():
    a, b = load(sys.argv[1]), load(sys.argv[2])
    if a.keys() != b.keys():
        sys.exit(f"different tensors: {sorted(a.keys() ^ b.keys())}")
    worst, where = 0.0, ""
    for name in a:
        (sa, va), (sb, vb) = a[name], b[name]
        if sa != sb:
            sys.exit(f"{name}: shapes {sa} and {sb}")
        d = max((abs(x - y) for x, y in zip(va, vb)), default=0.0)
        if d >= worst:
            worst, where = d, name
    print(f"largest difference {worst:.3g} (in {where}) over {len(a)} tensors")
    if "--max" in sys.argv and worst > float(sys.argv[sys.argv.index("--max") + 1]):
        sys.exit(1)


main()
