#!/usr/bin/env bash
# Data parallelism on this machine: the same training steps (global batch 32) in one process with N
# threads and in N processes with 1 thread each (mpirun, DDP averaging the gradients), interleaved.
#
#   scripts/bench_dist.sh [--rounds K] [--processes N] [--steps S] [--repeats R] [--only dense_step,cnn_step,gan_step]
#
# Each round runs bench/bench_dist.cpp once per layout, one right after the other; the table gives the
# medians over the rounds and the ratio as the median of the rounds' paired ratios (this VM's speed
# drifts over minutes). comm is the share of a step that backward() spent waiting for all-reduces
# and packing buckets, on rank 0. Builds lumen in $LUMEN_BUILD_DIR (default build) where needed; the
# JSON lines are kept in <build>/bench/dist_*.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 processes=2 steps=20 repeats=5 only=""
while (($#)); do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --processes) processes=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_dist.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
build=${LUMEN_BUILD_DIR:-build}
[ -f "$build/build.ninja" ] || BUILD_DIR=$build scripts/setup.sh
ninja -C "$build" bench/bench_dist >/dev/null
command -v mpirun >/dev/null || { echo "bench_dist.sh: no mpirun (scripts/setup.sh installs openmpi-bin)" >&2; exit 1; }
# As the test suite: shared memory without cross-memory attach. Measured here for a 2.8 MB float
# all-reduce between 2 ranks: MPI_Iallreduce 1.0 ms without CMA, 2.6 ms with it (blocking: 0.8 / 1.0 ms).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
out="$build/bench"
mkdir -p "$out"
: >"$out/dist_one.jsonl"; : >"$out/dist_many.jsonl"
args=(--steps "$steps" --repeats "$repeats")
[ -n "$only" ] && args+=(--only "$only")
echo "bench_dist: $(nproc) cores; $rounds rounds of: 1 process x $processes threads, then $processes processes x 1 thread"
for ((r = 1; r <= rounds; r++)); do
  echo "round $r/$rounds" >&2
  OMP_NUM_THREADS=$processes "$build/bench/bench_dist" --threads "$processes" "${args[@]}" | sed "s/^{/{\"round\": $r, /" >>"$out/dist_one.jsonl"
  OMP_NUM_THREADS=1 mpirun -np "$processes" --oversubscribe "$build/bench/bench_dist" --threads 1 "${args[@]}" |
    sed "s/^{/{\"round\": $r, /" >>"$out/dist_many.jsonl"
done
python3 - "$out/dist_one.jsonl" "$out/dist_many.jsonl" "$processes" <<'PY'
import json, statistics, sys
one = [json.loads(l) for l in open(sys.argv[1])]
many = [json.loads(l) for l in open(sys.argv[2])]
n = sys.argv[3]
print(f"\n| benchmark | 1 process x {n} threads (steps/s) | {n} processes x 1 thread (steps/s) | ratio | comm share ({n} processes) |")
print("|---|---|---|---|---|")
for name in dict.fromkeys(r["name"] for r in one):
    a = {r["round"]: r for r in one if r["name"] == name}
    b = {r["round"]: r for r in many if r["name"] == name}
    rounds = sorted(a.keys() & b.keys())
    ratio = statistics.median(b[k]["steps_per_s"] / a[k]["steps_per_s"] for k in rounds)
    print(f"| {name} | {statistics.median(a[k]['steps_per_s'] for k in rounds):.1f} | "
          f"{statistics.median(b[k]['steps_per_s'] for k in rounds):.1f} | {ratio:.2f} | "
          f"{statistics.median(b[k]['comm_share'] for k in rounds):.1%} |")
PY
