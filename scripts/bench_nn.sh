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
# UNet depth 2, 64 feature maps, batch 32). Builds lumen in build-bench (or $LUMEN_BUILD_DIR) where needed. PyTorch runs twice,
# as in scripts/bench.sh: default environment, and OMP_WAIT_POLICY=PASSIVE (see bench/README.md).
# Raw JSON lines are kept in <build>/bench/nn_*.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."

threads=2
min_time=1.0
repeats=5
rounds=1
only=""
passive=1
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --min-time) min_time=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --no-passive) passive=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench_nn.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || { echo "bench_nn.sh: --threads needs a positive integer" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "bench_nn.sh: --rounds needs a positive integer" >&2; exit 2; }

build=${LUMEN_BUILD_DIR:-build-bench}
py=/usr/bin/python3
common=(--min-time "$min_time" --repeats "$repeats")
[ -n "$only" ] && common+=(--only "$only")

# ---- build lumen
for tool in meson ninja; do
  command -v "$tool" >/dev/null || { echo "bench_nn.sh: $tool not found (scripts/setup.sh installs the build tools)" >&2; exit 1; }
done
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
[ -f "$build/build.ninja" ] || { echo "bench_nn.sh: configuring $build" >&2; meson setup "$build" --buildtype=release >/dev/null; }
if ! ninja -C "$build" bench/bench_nn >"$build/bench-nn-build.log" 2>&1; then
  echo "bench_nn.sh: building lumen failed (log: $build/bench-nn-build.log):" >&2
  grep -E 'error|undefined reference' "$build/bench-nn-build.log" | head -20 >&2 || true
  exit 1
fi
out="$build/bench"
mkdir -p "$out"
: >"$out/nn_lumen.jsonl"; : >"$out/nn_torch.jsonl"; : >"$out/nn_torch_passive.jsonl"

# CPU time other processes used while we measured (as scripts/bench.sh): busy ticks minus ours.
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
child_ticks() { awk '{print $16+$17}' /proc/$$/stat; }
busy0=$(busy_ticks); child0=$(child_ticks); t0=$(date +%s.%N)
echo "bench_nn.sh: $threads thread(s) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') ($(nproc) cores visible)" >&2

torch_ok=0
if "$py" -c 'import torch' >/dev/null 2>&1; then
  torch_ok=1
else
  echo "bench_nn.sh: PyTorch is not available to $py; lumen's numbers only." >&2
  echo "             To compare: apt-get install python3-torch libopenblas0-pthread" >&2
fi
for ((round = 1; round <= rounds; ++round)); do
  echo "bench_nn.sh: round $round/$rounds: lumen" >&2
  OMP_NUM_THREADS=$threads "$build/bench/bench_nn" --threads "$threads" "${common[@]}" >>"$out/nn_lumen.jsonl" ||
    echo "bench_nn.sh: bench_nn reported failures (see above)" >&2
  ((torch_ok)) || continue
  echo "bench_nn.sh: round $round/$rounds: PyTorch (default environment)" >&2
  OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads "$py" bench/torch_nn.py --threads "$threads" "${common[@]}" \
    >>"$out/nn_torch.jsonl" || echo "bench_nn.sh: torch_nn.py failed" >&2
  if ((passive)); then
    echo "bench_nn.sh: round $round/$rounds: PyTorch (OMP_WAIT_POLICY=PASSIVE)" >&2
    OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads \
      "$py" bench/torch_nn.py --threads "$threads" "${common[@]}" >>"$out/nn_torch_passive.jsonl" ||
      echo "bench_nn.sh: torch_nn.py (passive) failed" >&2
  fi
done

busy1=$(busy_ticks); child1=$(child_ticks); t1=$(date +%s.%N)
others=$(awk -v b="$((busy1 - busy0))" -v c="$((child1 - child0))" -v t="$t0" -v u="$t1" -v hz="$(getconf CLK_TCK)" \
  'BEGIN { o = (b - c) / hz / (u - t); printf "%.2f", (o < 0 ? 0 : o) }')

# ---- table (stdlib only, so it works without torch)
"$py" - "$out" "$threads" "$torch_ok" "$passive" "$others" <<'PY'
import json, os, sys

out, threads, torch_ok, passive, others = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4] == "1", float(sys.argv[5])

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
for name in ("dense_train_step", "conv_train_step", "ig_dense", "ig_conv", "occlusion_dense", "occlusion_conv", "gan_step"):
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
      f"(8 images), {threads} thread(s); {linfo.get('protocol', '')}"
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
print(f"other processes used {others:.2f} of {os.cpu_count()} cores on average during the run"
      + ("  <-- WARNING: the machine was not quiet; these numbers are unreliable, re-run when idle" if others > 0.1 else ""))
for name, r in lumen.items():
    if "loss_start" in r:
        t = torch.get(name) or {}
        print(f"{name} sanity: lumen loss {r['loss_start']:.4f} -> {r['loss_end']:.4g}"
              + (f", PyTorch {t['loss_start']:.4f} -> {t['loss_end']:.4g}" if "loss_start" in t else ""))
PY
