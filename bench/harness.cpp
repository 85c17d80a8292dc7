#include "bench/harness.h"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>

namespace lumen::bench {

namespace {

[[noreturn]] void usage(const std::string& program, const std::vector<Benchmark>& benchmarks,
                        const std::string& msg, int status = 2) {
  std::string names;
  for (const auto& [name, fn] : benchmarks) names += (names.empty() ? "" : ",") + name;
  std::fprintf(stderr, "%s: %s\nusage: %s [--threads N] [--min-time S] [--repeats R] [--warmup W] [--only %s]\n",
               program.c_str(), msg.c_str(), program.c_str(), names.c_str());
  std::exit(status);
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Args parse_args(int argc, char** argv, const std::string& program, const std::vector<Benchmark>& benchmarks) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") usage(program, benchmarks, "benchmarks lumen (see bench/README.md)", 0);
    if (i + 1 >= argc) usage(program, benchmarks, "missing value for " + flag);
    const std::string value = argv[++i];
    auto number = [&](auto parse) {  // the whole value must be a number
      std::size_t used = 0;
      try {
        auto v = parse(value, &used);
        if (used == value.size()) return v;
      } catch (const std::exception&) {
      }
      usage(program, benchmarks, flag + " needs a number, got '" + value + "'");
    };
    auto to_int = [](const std::string& s, std::size_t* n) { return std::stoi(s, n); };
    auto to_double = [](const std::string& s, std::size_t* n) { return std::stod(s, n); };
    // Each value in a range (a negative count or an infinite time is an error, not clamped or run forever).
    auto in_range = [&](auto v, auto lo, auto hi) {
      if (!(v >= lo && v <= hi)) {
        std::ostringstream range;
        range << "[" << lo << ", " << hi << "]";
        usage(program, benchmarks, flag + " must be in " + range.str() + ", got '" + value + "'");
      }
      return v;
    };
    if (flag == "--threads") args.threads = in_range(number(to_int), 0, 1024);
    else if (flag == "--min-time") args.min_time = in_range(number(to_double), 1e-3, 3600.0);
    else if (flag == "--repeats") args.repeats = in_range(number(to_int), 1, 1000);
    else if (flag == "--warmup") args.warmup = in_range(number(to_int), 0, 1000);
    else if (flag == "--only") {
      std::stringstream ss(value);
      for (std::string name; std::getline(ss, name, ',');) {
        if (name.empty()) continue;
        const bool known = std::any_of(benchmarks.begin(), benchmarks.end(), [&](const auto& b) { return b.first == name; });
        if (!known) usage(program, benchmarks, "no benchmark named '" + name + "'");
        args.only.insert(name);
      }
    } else usage(program, benchmarks, "unknown argument " + flag);
  }
  return args;
}

Result measure(const std::function<void()>& step, const Args& args) {
  for (int i = 0; i < args.warmup; ++i) step();
  const double per_run = args.min_time / args.repeats;
  long iters = 1;
  for (;;) {  // calibrate: iterations per run so that one run lasts >= per_run
    const double t0 = now();
    for (long i = 0; i < iters; ++i) step();
    const double dt = now() - t0;
    if (dt >= per_run) break;
    const double grow = std::min(10.0, 1.2 * per_run / std::max(dt, 1e-9));
    iters = std::max(iters + 1, static_cast<long>(std::ceil(iters * grow)));
  }
  std::vector<double> times;
  for (int r = 0; r < args.repeats; ++r) {
    const double t0 = now();
    for (long i = 0; i < iters; ++i) step();
    times.push_back((now() - t0) / static_cast<double>(iters));
  }
  std::sort(times.begin(), times.end());
  const std::size_t n = times.size();
  return {n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]), times.front(), iters};
}

void emit(const std::string& name, const std::string& metric, double value, const std::string& unit,
          bool higher_is_better, const Result& r, const Args& args,
          const std::vector<std::pair<std::string, double>>& extra) {
  std::printf(
      "{\"name\": \"%s\", \"metric\": \"%s\", \"value\": %.4f, \"unit\": \"%s\", \"higher_is_better\": %s, "
      "\"median_ms\": %.4f, \"best_ms\": %.4f, \"iters\": %ld, \"repeats\": %d",
      name.c_str(), metric.c_str(), value, unit.c_str(), higher_is_better ? "true" : "false", r.median_s * 1e3,
      r.best_s * 1e3, r.iters, args.repeats);
  for (const auto& [key, v] : extra) std::printf(", \"%s\": %.6g", key.c_str(), v);
  std::printf("}\n");
  std::fflush(stdout);
}

int run(const std::string& program, const Args& args, const std::vector<Benchmark>& benchmarks) {
  if (args.threads > 0) omp_set_num_threads(args.threads);
  std::printf("{\"name\": \"info\", \"impl\": \"lumen\", \"threads\": %d, \"eigen\": \"%d.%d.%d\", \"simd\": \"%s\", "
              "\"protocol\": \"median of %d runs, >= %gs timed, %d warm-up\"}\n",
              omp_get_max_threads(), EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION,
              Eigen::SimdInstructionSetsInUse(), args.repeats, args.min_time, args.warmup);
  std::fflush(stdout);
  return run_selected(program, args, benchmarks);
}

int run_selected(const std::string& program, const Args& args, const std::vector<Benchmark>& benchmarks) {
  int failures = 0;
  for (const auto& [name, fn] : benchmarks) {
    if (!args.only.empty() && !args.only.count(name)) continue;
    try {
      fn(args);
    } catch (const std::exception& e) {  // report and go on with the others
      std::printf("{\"name\": \"%s\", \"error\": \"see stderr\"}\n", name.c_str());
      std::fflush(stdout);
      std::fprintf(stderr, "%s: %s failed: %s\n", program.c_str(), name.c_str(), e.what());
      ++failures;
    }
  }
  return failures ? 1 : 0;
}

}  // namespace lumen::bench
