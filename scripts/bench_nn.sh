#!/usr/bin/env bash
# Training-step benchmarks of the course's classifiers: lumen (bench/bench_nn.cpp) against PyTorch
# (bench/torch_nn.py) on the same work and the same thread count, in one invocation, then a table.
#
#   scripts/bench_nn.sh [--threads N] [--min-time S] [--repeats R] [--rounds K] [--only a,b] [--no-passive]
#                       [--no-libtorch]
#
# --rounds K runs lumen, PyTorch and PyTorch(PASSIVE) in turn K times and reports medians, with the
# ratio as the median of the K paired ratios: on a shared VM whose speed drifts over minutes, pairs
# measured seconds apart compare like with like.
# Where libtorch-dev (PyTorch's C++ API) is installed, each round also runs bench/torch_nn.cpp, the
# same PyTorch work without Python, as libtorch and libtorch(PASSIVE): the script sets the build's
# libtorch option to auto where it is disabled (--no-libtorch: leave it, and no libtorch columns).
# libtorch covers dense_train_step, conv_train_step, ig_dense, ig_conv, occlusion_* and gan_step.
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
libtorch=1 args=()
for arg in "$@"; do  # bench_lib.sh's options, which scripts/bench.sh shares, plus --no-libtorch
  if [ "$arg" = --no-libtorch ]; then libtorch=0; else args+=("$arg"); fi
done
bench_parse_args ${args[@]+"${args[@]}"}
names=(dense_train_step conv_train_step ig_dense ig_conv occlusion_dense occlusion_conv gan_step mc_dropout class_vis tcav text_cnn_step ig_text)
bench_check_only "${names[@]}"

build=${LUMEN_BUILD_DIR:-build-bench}
py=/usr/bin/python3
# libtorch-dev's C++ frontend headers (the path bench/meson.build reads): only then is the option touched.
[ -e /usr/include/torch/csrc/api/include/torch/torch.h ] || libtorch=0
setup_opts=()
if ((libtorch)); then
  setup_opts=(-Dlibtorch=auto)
  if [ -f "$build/build.ninja" ] && [ "$(meson introspect "$build" --buildoptions |
      "$py" -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "libtorch"))')" = disabled ]; then
    echo "$me: setting -Dlibtorch=auto in $build (--no-libtorch to leave it)" >&2
    meson configure "$build" -Dlibtorch=auto >/dev/null
  fi
fi
bench_build "$build" bench/bench_nn "$build/bench-nn-build.log" ${setup_opts[@]+"${setup_opts[@]}"} || exit 1
out="$build/bench"
mkdir -p "$out"
: >"$out/nn_lumen.jsonl"; : >"$out/nn_torch.jsonl"; : >"$out/nn_torch_passive.jsonl"; : >"$out/nn_others.txt"
: >"$out/nn_libtorch.jsonl"; : >"$out/nn_libtorch_passive.jsonl"

# The benchmarks bench/torch_nn.cpp has (its --only rejects the others): --only narrowed to them.
libtorch_names=(dense_train_step conv_train_step ig_dense ig_conv occlusion_dense occlusion_conv gan_step)
libtorch_common=(--min-time "$min_time" --repeats "$repeats")
if ((libtorch)) && [ -n "$only" ]; then
  lt_only=$(tr , '\n' <<<"$only" | grep -Fxf <(printf '%s\n' "${libtorch_names[@]}") | paste -sd, -) || true
  if [ -n "$lt_only" ]; then
    libtorch_common+=(--only "$lt_only")
  else
    echo "$me: none of --only is in bench/torch_nn.cpp: no libtorch columns" >&2
    libtorch=0
  fi
fi
if ((libtorch)); then
  if ! ninja -C "$build" -t query bench/torch_nn_cpp >/dev/null 2>&1; then
    echo "$me: $build has no bench/torch_nn_cpp (meson did not find libtorch): no libtorch columns" >&2
    libtorch=0
  elif ! ninja -C "$build" bench/torch_nn_cpp >>"$build/bench-nn-build.log" 2>&1; then
    echo "$me: building bench/torch_nn_cpp failed (log: $build/bench-nn-build.log): no libtorch columns" >&2
    libtorch=0
  fi
fi

bench_describe_machine
torch_ok=0
if bench_torch_ok "$py"; then torch_ok=1; fi
for ((r = 1; r <= rounds; r++)); do
  bench_phase "lumen#$r" "$out/nn_lumen.jsonl" "$out/nn_others.txt" \
    env OMP_NUM_THREADS="$threads" "$build/bench/bench_nn" --threads "$threads" "${common[@]}"
  if ((torch_ok)); then
    bench_phase "torch#$r" "$out/nn_torch.jsonl" "$out/nn_others.txt" \
      env OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
      "$py" bench/torch_nn.py --threads "$threads" "${common[@]}"
    if ((passive)); then
      bench_phase "torch(P)#$r" "$out/nn_torch_passive.jsonl" "$out/nn_others.txt" \
        env OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
        "$py" bench/torch_nn.py --threads "$threads" "${common[@]}"
    fi
  fi
  if ((libtorch)); then  # the same library as PyTorch's, so the same two environments
    bench_phase "libtorch#$r" "$out/nn_libtorch.jsonl" "$out/nn_others.txt" \
      env OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
      "$build/bench/torch_nn_cpp" --threads "$threads" "${libtorch_common[@]}"
    if ((passive)); then
      bench_phase "libtorch(P)#$r" "$out/nn_libtorch_passive.jsonl" "$out/nn_others.txt" \
        env OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
        "$build/bench/torch_nn_cpp" --threads "$threads" "${libtorch_common[@]}"
    fi
  fi
done

# ---- table (stdlib only, so it works without torch)
"$py" - "$out" "$threads" "$torch_ok" "$passive" "${names[*]}" "$libtorch" <<'PY'
import json, os, sys

out, threads, torch_ok, passive = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4] == "1"
names = sys.argv[5].split()
libtorch_ran = sys.argv[6] == "1"

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
ltorch, ltvals, ltinfo = load("nn_libtorch.jsonl")
ltpass, ltpvals, _ = load("nn_libtorch_passive.jsonl")
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
if libtorch_ran:
    header += ["libtorch", "ratio(lt)"] + (["libtorch(P)", "ratio(ltP)"] if passive else [])
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
    if libtorch_ran:
        row += [fmt(median(ltvals.get(name, []))), fmt(ratio(lvals.get(name), ltvals.get(name)))]
        if passive:
            row += [fmt(median(ltpvals.get(name, []))), fmt(ratio(lvals.get(name), ltpvals.get(name)))]
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
if passive and (torch_ok or libtorch_ran):
    print("(P) = run with OMP_WAIT_POLICY=PASSIVE.")
if libtorch_ran:
    print("libtorch = the same PyTorch work in C++ (bench/torch_nn.cpp); ratio(lt) = lumen / libtorch.")
if linfo:
    print(f"lumen: {linfo.get('threads')} threads, Eigen {linfo.get('eigen')}, SIMD {linfo.get('simd')}")
if tinfo:
    print(f"PyTorch {tinfo.get('version')}: {tinfo.get('threads')} threads")
if ltinfo:
    print(f"libtorch {ltinfo.get('version')}: {ltinfo.get('threads')} threads")
others = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, "nn_others.txt")) if "\t" in l]
if others:
    print("other processes' CPU use while measuring (cores, of %d): " % os.cpu_count()
          + "  ".join(f"{lab}: {v}" for lab, v in others))
    if max(float(v) for _, v in others) > 0.1:
        print("WARNING: the machine was not quiet; these numbers are unreliable: re-run when idle")
for name, r in lumen.items():
    if "loss_start" in r:
        t, lt = torch.get(name) or {}, ltorch.get(name) or {}
        print(f"{name} sanity: lumen loss {r['loss_start']:.4f} -> {r['loss_end']:.4g}"
              + (f", PyTorch {t['loss_start']:.4f} -> {t['loss_end']:.4g}" if "loss_start" in t else "")
              + (f", libtorch {lt['loss_start']:.4f} -> {lt['loss_end']:.4g}" if "loss_start" in lt else ""))
    if "logit_end" in r:
        t = torch.get(name) or {}
        print(f"{name} sanity: lumen mean target logit {r['logit_start']:.3g} -> {r['logit_end']:.3g}"
              + (f", PyTorch {t['logit_start']:.3g} -> {t['logit_end']:.3g}" if "logit_end" in t else ""))
# The same models on every side: their parameter counts (each line reports them).
for name in names:
    sides = [(side, rows_.get(name)) for side, rows_ in (("lumen", lumen), ("PyTorch", torch), ("libtorch", ltorch))]
    counts = {side: tuple(int(r[k]) for k in sorted(r) if k.startswith("params")) for side, r in sides if r}
    counts = {side: c for side, c in counts.items() if c}
    if len(counts) > 1:
        same = len(set(counts.values())) == 1
        print(f"{name} parameters: " + ", ".join(f"{side} {'+'.join(map(str, c))}" for side, c in counts.items())
              + ("" if same else "  MISMATCH"))
# Issue 16's targets against libtorch, each against the stronger of its two runs (the lower ratio).
targets = {"dense_train_step": 2.0, "conv_train_step": 2.0, "ig_dense": 2.0, "ig_conv": 2.0, "gan_step": 1.1}
for name, goal in targets.items():
    got = [x for x in (ratio(lvals.get(name), ltvals.get(name)), ratio(lvals.get(name), ltpvals.get(name))) if x]
    if got:
        print(f"target {name} >= {goal}x libtorch: {min(got):.2f}x, {'met' if min(got) >= goal else 'MISSED'}")
PY
