#!/usr/bin/env bash
# Builds lumen and runs the main example (until the flagship lesson exists: the MLP demo).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
build=${BUILD_DIR:-build}
ninja -C "$build" examples/demo_mlp
"$build/examples/demo_mlp" "$@"
