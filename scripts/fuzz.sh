#!/usr/bin/env bash
# Fuzzes every file format lumen reads with libFuzzer (clang, ASan+UBSan; the build of test.sh --sanitize).
#   scripts/fuzz.sh [SECONDS] [TARGET...]   SECONDS per target (default 60); targets: idx safetensors mask via sentiment wordnet
# Starts from the committed seeds (tests/fuzz/corpus/<target>/) and keeps what it learns in fuzz-out/<target>/
# (not committed). A finding stops the run with the input saved as fuzz-out/crash-*: fix the loader, then
# add the input to the seed corpus, where every build's test suite replays it (test 'fuzz_corpus_<target>').
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: SECONDS must be a positive integer, got '$seconds'" >&2; exit 2; }
shift $(($# ? 1 : 0))
targets=("$@")
((${#targets[@]})) || targets=(idx safetensors mask via sentiment wordnet)
build=${BUILD_DIR:-build-sanitize}
BUILD_DIR=$build scripts/setup.sh --sanitize
ninja -C "$build" "${targets[@]/#/tests/fuzz/fuzz_}"
# A loader must refuse a hostile size before it allocates: any allocation above 512 MiB is a finding.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:allocator_may_return_null=0
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
for t in "${targets[@]}"; do
  [ -d "tests/fuzz/corpus/$t" ] || { echo "fuzz.sh: unknown target '$t'" >&2; exit 2; }
  mkdir -p "fuzz-out/$t"
  echo "fuzz: $t for ${seconds}s"
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="fuzz-out/crash-$t-" \
    "fuzz-out/$t" "tests/fuzz/corpus/$t" 2>"fuzz-out/$t.log" || {
    tail -40 "fuzz-out/$t.log" >&2
    echo "fuzz: $t found a crash (input in fuzz-out/crash-$t-*); log fuzz-out/$t.log" >&2
    exit 1
  }
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "fuzz-out/$t.log" | sed "s/^/fuzz: $t /"
done
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no findings"
