# What scripts/bench.sh and scripts/bench_nn.sh share: their options, building the benchmark program,
# finding Debian's PyTorch, and running each program while logging other processes' CPU use.
# Sourced, not run: the caller sets `me` (its name, for messages) first.

# The calling script's opening comment is its usage.
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

# bench_parse_args "$@": sets threads, rounds, min_time, repeats, only, passive and `common` (the
# options both benchmark programs take). A bad option prints usage and exits with status 2.
bench_parse_args() {
  threads=2 rounds=1 min_time=1.0 repeats=5 only="" passive=1
  while (($#)); do
    case "$1" in
      --threads | --rounds | --min-time | --repeats | --only)
        (($# >= 2)) || { echo "$me: $1 needs a value" >&2; usage >&2; exit 2; }
        case "$1" in
          --threads) threads=$2 ;;
          --rounds) rounds=$2 ;;
          --min-time) min_time=$2 ;;
          --repeats) repeats=$2 ;;
          --only) only=$2 ;;
        esac
        shift 2 ;;
      --no-passive) passive=0; shift ;;
      -h | --help) usage; exit 0 ;;
      *) echo "$me: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
  done
  local name value
  for name in threads rounds repeats; do
    value=${!name}
    [[ "$value" =~ ^[1-9][0-9]*$ ]] || { echo "$me: --$name needs a positive integer, got '$value'" >&2; exit 2; }
  done
  [[ "$min_time" =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "$me: --min-time needs a number of seconds, got '$min_time'" >&2; exit 2; }
  common=(--min-time "$min_time" --repeats "$repeats")
  if [ -n "$only" ]; then common+=(--only "$only"); fi
}

# bench_build BUILD TARGET LOG [MESON_OPTION...]: configures BUILD (release, -march=native, and the
# given -D options) where needed and builds TARGET; returns 1, with the first errors on stderr, if that
# fails.
bench_build() {
  local build=$1 target=$2 log=$3 tool
  shift 3
  for tool in meson ninja; do
    command -v "$tool" >/dev/null || { echo "$me: $tool not found (scripts/setup.sh installs the build tools)" >&2; exit 1; }
  done
  if [ -d /usr/local/cuda/bin ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
  if [ ! -f "$build/build.ninja" ]; then
    echo "$me: configuring $build" >&2
    meson setup "$build" --buildtype=release "$@" >/dev/null
  fi
  if ! ninja -C "$build" "$target" >"$log" 2>&1; then
    echo "$me: building lumen failed (log: $log):" >&2
    grep -E 'error|undefined reference' "$log" | head -20 >&2 || true
    return 1
  fi
}

# bench_torch_ok PY: whether PY imports torch; says how to install it when not.
bench_torch_ok() {
  "$1" -c 'import torch' >/dev/null 2>&1 && return 0
  echo "$me: PyTorch is not available to $1; lumen's numbers only." >&2
  echo "  To compare, install Debian's PyTorch: apt-get install python3-torch libopenblas0-pthread" >&2
  return 1
}

bench_describe_machine() {
  echo "$me: $threads thread(s) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') ($(nproc) cores visible), $rounds round(s)" >&2
}

# CPU time other processes use while one program measures (these benchmarks are very sensitive to
# it): machine-wide busy ticks (steal included) minus our own children's, from /proc.
bench_busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
bench_child_ticks() { awk '{print $16+$17}' /proc/$$/stat; }

# bench_phase LABEL OUTFILE OTHERS CMD...: runs CMD, appending its stdout to OUTFILE, and appends
# "LABEL<tab>cores other processes used meanwhile" to OTHERS.
bench_phase() {
  local label=$1 file=$2 others=$3 b0 c0 t0 b1 c1 t1
  shift 3
  echo "$me: running $label" >&2
  b0=$(bench_busy_ticks); c0=$(bench_child_ticks); t0=$(date +%s.%N)
  "$@" >>"$file" || echo "$me: $label reported failures (see above)" >&2
  b1=$(bench_busy_ticks); c1=$(bench_child_ticks); t1=$(date +%s.%N)
  awk -v l="$label" -v b="$((b1 - b0))" -v c="$((c1 - c0))" -v t="$t0" -v u="$t1" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { o = (b - c) / hz / (u - t); printf "%s\t%.2f\n", l, (o < 0 ? 0 : o) }' >>"$others"
}

# bench_check_only NAME...: every name in --only must be one of NAME..., so a typo is an error rather
# than an empty table.
bench_check_only() {
  local name known=" $* "
  local -a names
  IFS=, read -ra names <<<"$only"
  for name in "${names[@]}"; do
    [ -z "$name" ] || [[ "$known" == *" $name "* ]] || { echo "$me: --only: no benchmark named '$name' (known: $*)" >&2; exit 2; }
  done
}
