#!/usr/bin/env bash
# Installs what lumen needs to build and test on Debian (run as root; installs only what is missing),
# then configures the build directory. Used by scripts/test.sh, scripts/demo.sh and scripts/fuzz.sh.
#   scripts/setup.sh              the release build in $BUILD_DIR (default build/)
#   scripts/setup.sh --sanitize   clang with ASan+UBSan and the libFuzzer targets in $BUILD_DIR
#                                 (default build-sanitize/)
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=false
case "${1:-}" in
  "") ;;
  --sanitize) sanitize=true ;;
  *) echo "setup: unknown argument '$1' (expected nothing or --sanitize)" >&2; exit 2 ;;
esac

packages=(meson ninja-build g++ pkg-config libeigen3-dev doctest-dev python3 zlib1g-dev nlohmann-json3-dev libstb-dev libpng-dev libcli11-dev libfreetype-dev fonts-dejavu-core
          libopenmpi-dev openmpi-bin)  # MPI: data-parallel training (dist/) and its tests under mpirun
$sanitize && packages+=(clang-19 libomp-19-dev libclang-rt-19-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to apt-get install ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# nvcc lives here on machines with the CUDA toolkit; meson builds the CUDA backend wherever it finds it.
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"

if $sanitize; then
  # clang 19 (Debian 12 also has 14, which cannot capture structured bindings in lambdas, as doctest
  # macros do): libFuzzer comes with it, and its sanitizers work with its OpenMP (libomp). No CUDA: nvcc's
  # host code is not instrumented. -O1 and line tables only (no full debug info) keep the build and the
  # suite within CI's time; stack traces still name every file and line.
  build=${BUILD_DIR:-build-sanitize}
  if [ ! -f "$build/build.ninja" ]; then
    CC=clang-19 CXX=clang++-19 meson setup "$build" --buildtype=plain -Doptimization=1 \
      -Db_sanitize=address,undefined -Db_lundef=false -Dcpp_args="['-fno-sanitize-recover=undefined', '-gline-tables-only']" \
      -Dcuda=disabled -Dfuzz=true -Dmpi=disabled -Ddefault_library=static
  fi
else
  build=${BUILD_DIR:-build}
  if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" --buildtype=release
  fi
fi
