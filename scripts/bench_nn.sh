#!/usr/bin/env bash
# Training-step benchmarks of the course's classifiers: lumen (bench/bench_nn.cpp) against PyTorch
# (bench/torch_nn.py) on the same work and the same thread count, in one invocation, then a table.
#
#   scripts/bench_nn.sh [--threads N] [--min-time S] [--repeats R] [--rounds K] [--only a,b] [--no-passive]
#
# --rounds K runs lumen, PyTorch and PyTorch(PASSIVE) in turn K times and reports medians, with the
# ratio as the median of the K paired ratios: on a shared VM whose speed drifts over minutes, pairs
# measured seconds apart compare like with like.
# dense_train_step (the course's MLP) and conv_train_step (the small CNN): batch 32, cross-entropy,
# Adam, float32; ig_dense/ig_conv (Integrated Gradients, 50 steps) and occlusion_dense/occlusion_conv
# on 8 images, against the same algorithms written natively in PyTorch; gan_step (the course's GAN,
# UNet depth 2, 64 feature maps, batch 32); mc_dropout (examples/global_local's VGG, T = 100 passes
# over 100 images) and class_vis (class model visualisation of it, 10 classes, 20 steps); tcav (the
# TCAV pass: 1,000 images' class-0 gradients at the ConvModel's features.4 times 20 CAVs); text_cnn_step
# and ig_text (examples/explain_text's text CNN: a training step on 64 sentences of 40 tokens, AdamW; IG
# over 16 sentences' embeddings, 50 steps, <pad> baseline). Builds lumen in build-bench (or $LUMEN_BUILD_DIR) where needed. PyTorch runs twice,
# as in scripts/bench.sh: default environment, and OMP_WAIT_POLICY=PASSIVE (see bench/README.md).
# Raw JSON lines are kept in <build>/bench/nn_*.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."

me=bench_nn.sh
source scripts/bench_lib.sh
bench_parse_args "$@"
names=(dense_train_step conv_train_step ig_dense ig_conv occlusion_dense occlusion_conv gan_step mc_dropout class_vis tcav text_cnn_step ig_text)
bench_check_only "${names[@]}"

build=${LUMEN_BUILD_DIR:-build-bench}
py=/usr/bin/python3
bench_build "$build" bench/bench_nn "$build/bench-nn-build.log" || exit 1
out="$build/bench"
mkdir -p "$out"
: >"$out/nn_lumen.jsonl"; : >"$out/nn_torch.jsonl"; : >"$out/nn_torch_passive.jsonl"; : >"$out/nn_others.txt"

bench_describe_machine
torch_ok=0
if bench_torch_ok "$py"; then torch_ok=1; fi
for ((r = 1; r <= rounds; r++)); do
  bench_phase "lumen#$r" "$out/nn_lumen.jsonl" "$out/nn_others.txt" \
    env OMP_NUM_THREADS="$threads" "$build/bench/bench_nn" --threads "$threads" "${common[@]}"
  ((torch_ok)) || continue
  bench_phase "torch#$r" "$out/nn_torch.jsonl" "$out/nn_others.txt" \
    env OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
    "$py" bench/torch_nn.py --threads "$threads" "${common[@]}"
  if ((passive)); then
    bench_phase "torch(P)#$r" "$out/nn_torch_passive.jsonl" "$out/nn_others.txt" \
      env OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
      "$py" bench/torch_nn.py --threads "$threads" "${common[@]}"
  fi
done

# ---- table (stdlib only, so it works without torch)
"$py" - "$out" "$threads" "$torch_ok" "$passive" "${names[*]}" <<'PY'
import json, os, sys

out, threads, torch_ok, passive = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4] == "1"
names = sys.argv[5].split()

import statistics

def load(name):
    """Per benchmark: the last record (for its other fields) and the values of every round, in order."""
    rows, values, info = {}, {}, {}
    path = os.path.join(out, name)
    for line in open(path) if os.path.exists(path) else []:
        if line.startswith("{"):
            r = json.loads(line)
            if r["name"] == "info":
                info.update(r)
            else:
                rows[r["name"]] = r
                values.setdefault(r["name"], []).append(r.get("value"))
    return rows, values, info

lumen, lvals, linfo = load("nn_lumen.jsonl")
torch, tvals, tinfo = load("nn_torch.jsonl")
tpass, pvals, _ = load("nn_torch_passive.jsonl")
rounds = max([len(x) for x in lvals.values()] + [1])
def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None
fmt = lambda x: "—" if x is None else (f"{x:.1f}" if x >= 10 else f"{x:.2f}")
def ratio(a, b):  # median of the paired per-round ratios
    pairs = [x / y for x, y in zip(a or [], b or []) if x is not None and y]
    return statistics.median(pairs) if pairs else None

header = ["benchmark", "unit", "lumen", "PyTorch", "ratio"]
if passive and torch_ok:
    header += ["PyTorch(P)", "ratio(P)"]
rows = []
for name in names:
    if name not in lumen and name not in torch:
        continue
    l, t, p = median(lvals.get(name, [])), median(tvals.get(name, [])), median(pvals.get(name, []))
    unit = (lumen.get(name) or torch.get(name) or {}).get("unit", "")
    row = [name, unit, fmt(l) if l is not None else ("error" if name in lumen else "—"), fmt(t),
           fmt(ratio(lvals.get(name), tvals.get(name)))]
    if passive and torch_ok:
        row += [fmt(p), fmt(ratio(lvals.get(name), pvals.get(name)))]
    rows.append(row)

widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
line = lambda cells: "| " + " | ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))) + " |"
print()
print(f"lumen vs PyTorch: training steps (batch 32, Adam, cross-entropy) and attribution throughput "
      f"(8 images), MC dropout, class visualisation, TCAV, {threads} thread(s); {linfo.get('protocol', '')}"
      + (f"; {rounds} interleaved rounds: medians, ratio = median of the paired ratios" if rounds > 1 else ""))
print(line(header))
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for r in rows:
    print(line(r))
print()
print("ratio = lumen / PyTorch throughput (>1: lumen faster).")
if passive and torch_ok:
    print("(P) = PyTorch run with OMP_WAIT_POLICY=PASSIVE.")
if linfo:
    print(f"lumen: {linfo.get('threads')} threads, Eigen {linfo.get('eigen')}, SIMD {linfo.get('simd')}")
if tinfo:
    print(f"PyTorch {tinfo.get('version')}: {tinfo.get('threads')} threads")
others = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, "nn_others.txt")) if "\t" in l]
if others:
    print("other processes' CPU use while measuring (cores, of %d): " % os.cpu_count()
          + "  ".join(f"{lab}: {v}" for lab, v in others))
    if max(float(v) for _, v in others) > 0.1:
        print("WARNING: the machine was not quiet; these numbers are unreliable: re-run when idle")
for name, r in lumen.items():
    if "loss_start" in r:
        t = torch.get(name) or {}
        print(f"{name} sanity: lumen loss {r['loss_start']:.4f} -> {r['loss_end']:.4g}"
              + (f", PyTorch {t['loss_start']:.4f} -> {t['loss_end']:.4g}" if "loss_start" in t else ""))
    if "logit_end" in r:
        t = torch.get(name) or {}
        print(f"{name} sanity: lumen mean target logit {r['logit_start']:.3g} -> {r['logit_end']:.3g}"
              + (f", PyTorch {t['logit_start']:.3g} -> {t['logit_end']:.3g}" if "logit_end" in t else ""))
PY
