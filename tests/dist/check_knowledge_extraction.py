#!/usr/bin/env python3
"""The flagship's evaluations split across `mpirun -np 2` give one process's numbers.

  check_knowledge_extraction.py MPIRUN KNOWLEDGE_EXTRACTION DATA_DIR

One process trains the classifiers and the GAN on tiny settings (--fresh); then two ranks run the lesson
again in the same folder, reusing those models, so only the evaluation is data parallel: the flip rate
(each rank turns its share of the test images into every class) and the discriminative attribution
(each rank its share of the pairs, DAC gathered in order) must equal one process's numbers. Exits 77
(meson's "skipped") without data/mnist.
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
tiny = ["--data", data, "--threads", "1", "--classifier-epochs", "1", "--gan-epochs", "1", "--gan-images", "512",
        "--flip-images", "100", "--dapi-images", "20", "--ig-steps", "8"]


def flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, prefix + k + "."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[prefix + k] = v
    return out


with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "ke")
    summaries = []
    for cmd in ([program, "--fresh"], [mpirun, "-np", "2", "--oversubscribe", program]):
        r = subprocess.run(cmd + tiny + ["--out", out], capture_output=True, text=True, timeout=600)
        print(" ".join(cmd), "->", r.returncode)
        print(r.stdout[-1200:], r.stderr[-1200:])
        if r.returncode != 0:
            sys.exit("FAIL: the run exited with an error")
        with open(os.path.join(out, "summary.json")) as f:
            summaries.append(flat(json.load(f)))
one, two = summaries
if one.get("processes") != 1 or two.get("processes") != 2:
    sys.exit("FAIL: summary.json does not record the process counts 1 and 2")
compared = [k for k in one if k.startswith(("flip_rate", "dac.", "dac_cnn.", "classifier.")) and
            not k.endswith(("_s", "seconds")) and k in two]
if not any(k.startswith("dac.") for k in compared) or "flip_rate" not in compared:
    sys.exit(f"FAIL: no flip rate or DAC numbers in summary.json: {sorted(one)}")
bad = [(k, one[k], two[k]) for k in compared if abs(one[k] - two[k]) > 1e-6 * max(1.0, abs(one[k]))]
for k in compared:
    print(f"{k}: {one[k]} (one process) {two[k]} (two)")
if bad:
    sys.exit(f"FAIL: the two-rank evaluation differs: {bad}")
print(f"OK: {len(compared)} numbers equal")
