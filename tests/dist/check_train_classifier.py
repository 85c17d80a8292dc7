#!/usr/bin/env python3
"""train_classifier under `mpirun -np 2` trains the model one process trains with the same global batch.

  check_train_classifier.py MPIRUN TRAIN_CLASSIFIER DATA_DIR

One epoch (250 Adam steps of 32 images) in one process, then in two (16 images each, gradients averaged
by DDP); the two checkpoints must agree within 1e-4 and the test accuracies within one image in 2,000.
Exits 77 (meson's "skipped") without data/mnist (scripts/get_data.sh).
"""
import json
import os
import subprocess
import sys
import tempfile

mpirun, program, data = sys.argv[1:4]
if not os.path.isdir(os.path.join(data, "mnist")):
    print(f"SKIPPED: no {data}/mnist (scripts/get_data.sh makes it)")
    sys.exit(77)
here = os.path.dirname(os.path.abspath(__file__))
with tempfile.TemporaryDirectory() as tmp:
    runs = {
        "one": [program],
        "two": [mpirun, "-np", "2", "--oversubscribe", program],
    }
    summaries = {}
    for name, cmd in runs.items():
        out = os.path.join(tmp, name)
        r = subprocess.run(cmd + ["--data", data, "--epochs", "1", "--threads", "1", "--out", out],
                           capture_output=True, text=True, timeout=600)
        print(r.stdout[-1500:], r.stderr[-1500:])
        if r.returncode != 0:
            sys.exit(f"FAIL: the {name}-process run exited with {r.returncode}")
        with open(os.path.join(out, "summary.json")) as f:
            summaries[name] = json.load(f)
    if summaries["two"]["processes"] != 2 or summaries["one"]["processes"] != 1:
        sys.exit("FAIL: summary.json does not record the process counts 1 and 2")
    gap = abs(summaries["one"]["accuracy"] - summaries["two"]["accuracy"])
    print(f"accuracy {summaries['one']['accuracy']} (one process) and {summaries['two']['accuracy']} (two)")
    if gap > 0.0005:
        sys.exit("FAIL: the accuracies differ by more than one test image")
    r = subprocess.run([sys.executable, os.path.join(here, "compare_checkpoints.py"),
                        os.path.join(tmp, "one", "model.safetensors"), os.path.join(tmp, "two", "model.safetensors"),
                        "--max", "1e-4"], capture_output=True, text=True)
    print(r.stdout, r.stderr)
    if r.returncode != 0:
        sys.exit("FAIL: the weights differ by more than 1e-4")
print("OK")
