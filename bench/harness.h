// What bench_core and bench_nn share: their command line, the timing protocol and the JSON lines
// they print, so that the two programs (and bench/torch_harness.py on PyTorch's side) measure and
// report the same way.
//
// Protocol: `warmup` iterations, then `repeats` timed runs of `iters` iterations each, with `iters`
// calibrated so that one run lasts >= min_time / repeats; the reported value comes from the median
// run (best_ms is printed too). Output: an "info" line, then one JSON object per benchmark.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace lumen::bench {

struct Args {
  int threads = 0;  // 0: OMP_NUM_THREADS / the OpenMP default
  double min_time = 1.0;
  int repeats = 5;
  int warmup = 5;
  std::set<std::string> only;  // empty: every benchmark
};

// One benchmark: its name (as --only spells it) and the function that measures it and emits its line.
using Benchmark = std::pair<std::string, std::function<void(const Args&)>>;

// Parses [--threads N] [--min-time S] [--repeats R] [--warmup W] [--only a,b,...]; a bad or unknown
// argument, or an --only name that is not in `benchmarks`, prints usage and exits with status 2.
Args parse_args(int argc, char** argv, const std::string& program, const std::vector<Benchmark>& benchmarks);

struct Result {
  double median_s, best_s;  // seconds per iteration
  long iters;               // iterations per timed run
};

Result measure(const std::function<void()>& step, const Args& args);

// One benchmark's JSON line: value in `unit` (higher_is_better or not), the timing behind it, and
// extra numeric fields (a loss before and after, a checksum) that show the work was really done.
void emit(const std::string& name, const std::string& metric, double value, const std::string& unit,
          bool higher_is_better, const Result& r, const Args& args,
          const std::vector<std::pair<std::string, double>>& extra = {});

// Sets the thread count, prints the "info" line, then runs the selected benchmarks; one that throws
// is reported (a JSON error line, the message on stderr) and the others still run. Returns the exit
// status: 1 if any failed.
int run(const std::string& program, const Args& args, const std::vector<Benchmark>& benchmarks);

// run() after its info line: for a program that sets its threads and prints its own "info" line
// (bench/torch_nn.cpp, libtorch's side). Same error handling and exit status.
int run_selected(const std::string& program, const Args& args, const std::vector<Benchmark>& benchmarks);

}  // namespace lumen::bench
