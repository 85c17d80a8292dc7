#!/usr/bin/env bash
# Builds lumen and runs every test (the README's test command; CI runs exactly this).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The floors run one way (kernels/core → kernels → autograd → nn → xai → gan → examples).
python3 scripts/check_floors.py --self-test
python3 scripts/check_floors.py
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
build=${BUILD_DIR:-build}
ninja -C "$build"
status=0
meson test -C "$build" --print-errorlogs --num-processes 2 || status=$?
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
