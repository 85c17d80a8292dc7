#!/usr/bin/env python3
"""Fails when a source file includes from a floor above its own.

lumen is built in floors, each using only the ones below it:

  0 kernels/core   devices, dtypes, storage, errors, the strided TensorBase (no autograd state)
  1 kernels        the kernel entry points (dispatch by device) and their CPU and CUDA implementations
  2 autograd       graph, engine, differentiable ops, Tensor
  3 nn, figures,   modules, data, checkpoints; pictures (PNG, grids, plots, colormaps);
    dist           process groups (MPI, NCCL) and data-parallel training
  4 xai            attribution methods and their evaluation
  5 gan            counterfactual GANs
  6 examples       the lesson binaries
  tests, bench     may use every floor

Two more rules keep kernels behind the dispatcher: only kernels/, tests/ and bench/ may include a
device's implementation headers (kernels/cpu/, kernels/cuda/), and the ground floor includes nothing
else of lumen's.

  scripts/check_floors.py [ROOT]        check the tree (default: the repository)
  scripts/check_floors.py --self-test   show that a wrong include is caught
"""
import os
import re
import sys
import tempfile

FLOORS = [  # (path prefix, floor); the longest matching prefix wins
    ("kernels/core/", 0),
    ("kernels/", 1),
    ("autograd/", 2),
    ("nn/", 3),
    ("figures/", 3),
    ("dist/", 3),
    ("xai/", 4),
    ("gan/", 5),
    ("examples/", 6),
    ("tests/", 99),
    ("bench/", 99),
    ("exercises/", 99),  # like tests/: the exercises check against the whole library
]
DEVICE_IMPLS = ("kernels/cpu/", "kernels/cuda/")
SOURCE_EXT = (".h", ".hpp", ".cpp", ".cc", ".cu", ".cuh")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def floor_of(path):
    best = None
    for prefix, floor in FLOORS:
        if path.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, floor)
    return best


def violations(root):
    found = []
    for top, _ in FLOORS:
        base = os.path.join(root, top)
        for dirpath, _, files in os.walk(base):
            for name in files:
                if not name.endswith(SOURCE_EXT):
                    continue
                full = os.path.join(dirpath, name)
                path = os.path.relpath(full, root)
                if floor_of(path)[0] != top:  # visited through a shorter prefix's walk
                    continue
                with open(full, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                own = floor_of(path)
                for inc in INCLUDE.findall(text):
                    target = floor_of(inc)
                    if target is None:
                        continue  # a system or third-party header
                    if not os.path.exists(os.path.join(root, inc)):
                        found.append(f"{path}: includes {inc}, which does not exist")
                    elif target[1] > own[1]:
                        found.append(f"{path}: includes {inc} ({target[0]} is floor {target[1]}, above "
                                     f"{own[0]}, floor {own[1]})")
                    elif inc.startswith(DEVICE_IMPLS) and not path.startswith(("kernels/", "tests/", "bench/")):
                        found.append(f"{path}: includes {inc}, a device's kernel implementation; call the "
                                     f"dispatching entry point in kernels/*.h instead")
    return found


def self_test():
    with tempfile.TemporaryDirectory() as root:
        def write(path, text):
            os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
            with open(os.path.join(root, path), "w") as f:
                f.write(text)
        write("kernels/core/tensor_base.h", '#include "kernels/core/dtype.h"\n')
        write("kernels/core/dtype.h", "")
        write("kernels/kernels.h", '#include "kernels/core/tensor_base.h"\n')
        write("autograd/ops.cpp", '#include "kernels/kernels.h"\n#include <vector>\n')
        write("autograd/tensor.h", '#include "kernels/core/tensor_base.h"\n')
        assert violations(root) == [], violations(root)
        write("kernels/cpu/loops.h", '#include "autograd/tensor.h"\n')
        write("kernels/core/storage.h", '#include "kernels/kernels.h"\n')
        write("nn/optim.cpp", '#include "kernels/cpu/loops.h"\n')
        write("gan/training.h", "")
        write("xai/x.cpp", '#include "gan/training.h"\n#include "autograd/error.h"\n')
        got = violations(root)
        assert len(got) == 5, got
        assert any(g == "xai/x.cpp: includes autograd/error.h, which does not exist" for g in got), got
        assert any(g.startswith("kernels/cpu/loops.h: includes autograd/tensor.h (autograd/ is floor 2") for g in got), got
        assert any(g.startswith("nn/optim.cpp: includes kernels/cpu/loops.h") for g in got), got
    print("check_floors: self-test passed (a clean tree passes; 5 planted wrong includes are all reported)")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    found = violations(root)
    for v in found:
        print("check_floors:", v, file=sys.stderr)
    if found:
        print(f"check_floors: {len(found)} include(s) against the floors (see scripts/check_floors.py)",
              file=sys.stderr)
        return 1
    print("check_floors: every include goes down or sideways")
    return 0


if __name__ == "__main__":
    sys.exit(main())
