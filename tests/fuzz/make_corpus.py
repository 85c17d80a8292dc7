#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/): small valid files of each
format, plus the hostile inputs of issue 12, so that the corpus replay (a test in every build) keeps
them fixed. Deterministic; rerun after changing it and commit the output.
Usage: python3 tests/fuzz/make_corpus.py"""
import gzip
import json
import pathlib
import shutil
import struct
import zlib

here = pathlib.Path(__file__).resolve().parent
fixtures = here.parent / "fixtures"
corpus = here / "corpus"


def put(target, name, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def idx(type_code, dims, payload=b""):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def safetensors(header, payload=b"", raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + payload


def via(shapes):
    regions = [{"shape_attributes": s, "region_attributes": {}} for s in shapes]
    return json.dumps({"digit_a.png10": {"filename": "digit_a.png", "size": 10, "regions": regions}}).encode()


def png(width, height, color_type, bit_depth, rows, palette=None, chunk_filter=None):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))
    if palette:
        out += chunk(b"PLTE", b"".join(bytes(c) for c in palette))
    out += chunk(b"IDAT", zlib.compress(b"".join(b"\x00" + r for r in rows)))
    return out + chunk(b"IEND", b"")


def main():
    if corpus.exists():
        shutil.rmtree(corpus)
    # IDX: the committed fixtures, then the shapes whose size arithmetic overflowed.
    for f in ["tiny-images-idx3-ubyte", "tiny-floats-idx2-float", "tiny-labels-idx1-ubyte.gz"]:
        put("idx", f, (fixtures / f).read_bytes())
    put("idx", "gzip-images", gzip.compress((fixtures / "tiny-images-idx3-ubyte").read_bytes(), mtime=0))
    put("idx", "zero-then-huge-dims", idx(0x08, [0, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF]))
    put("idx", "huge-dims-no-data", idx(0x0D, [0xFFFFFFFF, 0xFFFFFFFF]))
    put("idx", "truncated", idx(0x08, [3, 2, 2], b"\x01\x02"))
    put("idx", "bad-type", idx(0x07, [1], b"\x00"))
    # safetensors: a valid file, then the headers of issue 12 and their neighbours.
    put("safetensors", "mixed-dtypes", (fixtures / "mixed-dtypes.safetensors").read_bytes())
    put("safetensors", "one-f32", safetensors({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
                                              struct.pack("<2f", 1.0, -2.0)))
    put("safetensors", "duplicate-names", safetensors(None, struct.pack("<2f", 1.0, 2.0), raw_header=(
        b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
        b'"w":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}}')))
    put("safetensors", "deep-nesting", safetensors(None, raw_header=b'{"w":' + b"[" * 20000 + b"]" * 20000 + b"}"))
    put("safetensors", "zero-then-huge-shape", safetensors(
        {"w": {"dtype": "F32", "shape": [0, 2**62, 2**62], "data_offsets": [0, 0]}}))
    put("safetensors", "huge-shape", safetensors({"w": {"dtype": "F64", "shape": [2**31, 2**31], "data_offsets": [0, 8]}},
                                                 b"\x00" * 8))
    put("safetensors", "header-length-too-big", struct.pack("<Q", 2**63) + b"{}")
    # Masks: small PNGs of the colour types a mask may come in, then the hostile images of issue 12.
    put("mask", "grey-2x2", png(2, 2, 0, 8, [b"\x00\x01", b"\x01\x02"]))
    put("mask", "rgb-2x1", png(2, 1, 2, 8, [b"\xff\x00\x00\x00\xff\x00"]))
    put("mask", "palette-2x2", png(2, 2, 3, 8, [b"\x00\x01", b"\x01\x00"], palette=[(0, 0, 0), (255, 255, 255)]))
    put("mask", "grey16-1x2", png(1, 2, 0, 16, [b"\x00\x01", b"\xff\xff"]))
    put("mask", "huge-ihdr", png(100000, 100000, 0, 8, [b"\x00"]))
    put("mask", "truncated", png(4, 4, 0, 8, [b"\x00" * 4] * 4)[:40])
    put("mask", "gif-13-bytes", b"GIF89a\xff\x7f\xff\x7f\x00\x00\x00")
    put("mask", "tga-truncated", bytes([0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x1F, 0x40, 0x1F, 24, 0]))
    put("mask", "pnm-truncated", b"P6\n8000 8000\n255\n")
    # VIA annotations: the fixture, each shape, VIA 1 regions, then damaged and hostile files.
    put("via", "fixture", (fixtures / "via_annotation.json").read_bytes())
    put("via", "shapes", via([{"name": "polygon", "all_points_x": [1, 20, 5], "all_points_y": [2, 9, 30]},
                              {"name": "rect", "x": -3, "y": 4, "width": 50, "height": 2},
                              {"name": "circle", "cx": 16, "cy": 16, "r": 5.5},
                              {"name": "ellipse", "cx": 8, "cy": 20, "rx": 6, "ry": 2, "theta": 0.7}]))
    put("via", "via1-regions", json.dumps({"a.png1": {"filename": "digit_a.png", "regions": {
        "0": {"shape_attributes": {"name": "rect", "x": 1, "y": 1, "width": 3, "height": 3}}}}}).encode())
    put("via", "unknown-shape", via([{"name": "polyline", "all_points_x": [1, 2], "all_points_y": [1, 2]}]))
    put("via", "wrong-types", via([{"name": "polygon", "all_points_x": "1,2,3", "all_points_y": [1, None, 3]}]))
    put("via", "huge-coordinates", via([{"name": "circle", "cx": 1e300, "cy": -1e300, "r": 1e308}]))
    put("via", "truncated", (fixtures / "via_annotation.json").read_bytes()[:300])
    put("via", "deep-nesting", b'{"a":' + b"[" * 20000 + b"]" * 20000 + b"}")
    # Sentences and AFINN (one target, both loaders): the fixtures, then damaged and hostile files.
    put("sentiment", "fixture", (fixtures / "sentiment_tiny.json").read_bytes())
    put("sentiment", "afinn", (fixtures / "afinn_tiny.json").read_bytes())
    put("sentiment", "class-2", b'[{"text":"a","class":1},{"text":"b","class":2}]')
    put("sentiment", "wrong-types", b'[{"text":["a"],"class":"1"},{"text":null},3,{"a":{"b":1}}]')
    put("sentiment", "duplicate-keys", b'{"good":3,"good":-3,"bad":1.5,"x":[1]}')
    put("sentiment", "deep-nesting", b"[" * 20000 + b"]" * 20000)
    put("sentiment", "many-entries", b"[" + b"0," * 30000 + b"0]")
    put("sentiment", "truncated", (fixtures / "sentiment_tiny.json").read_bytes()[:200])
    put("sentiment", "not-utf8", b'[{"text":"\xff\xfe","class":0}]')
    # WordNet: index.noun, data.noun and noun.exc of the tiny database joined by NULs, then damaged lines.
    wn = fixtures / "wordnet_tiny"
    noun = [(wn / f).read_bytes() for f in ("index.noun", "data.noun", "noun.exc")]
    put("wordnet", "tiny-noun", b"\0".join(noun))
    header = noun[1][:160]
    put("wordnet", "huge-counts", b"\0".join([b"movie n 999999999 999999999 1 0 00000160\n",
                                              header + b"00000160 10 n ff movie 0 999 @ 1 n 0000 | x\n", b""]))
    put("wordnet", "wrong-offset", b"\0".join([b"movie n 1 0 1 0 00000160\n", header + b"00000161 10 n 01 movie 0 000 | x\n", b""]))
    put("wordnet", "dangling-index", b"\0".join([b"movie n 1 0 1 0 00000999\n", noun[1], b""]))
    put("wordnet", "short-lines", b"\0".join([b"movie\nn\n\n  \n", b"0\n00000000 1\n", b"men\n"]))


if __name__ == "__main__":
    main()
