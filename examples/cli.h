#pragma once
// What the lesson binaries' command lines share: CLI11 validators that read numbers strictly, and the
// checks around the work: the output folder is writable before it starts, standard output was written
// when it ends.
//
// Why not CLI11's own: its conversion reads "010" as octal 8 and "0x10" as 16, turns "-1" into
// 2^64 - 1 for an unsigned option and saturates "99999999999999999999" to the type's maximum; its
// Range and PositiveNumber let NaN through (every comparison with NaN is false).
//
//   app.add_option("--epochs", epochs, "...")->check(cli::integer(1, 1000));
//   app.add_option("--ema", ema, "...")->check(cli::real(0, 1));
//   app.add_option("--seed", seed, "...")->check(cli::seed());
//   CLI11_PARSE(app, argc, argv);
//   if (!cli::prepare_output_dir("train_classifier", out_dir)) return 1;   // before any data is read
//   ...
//   return cli::finish("train_classifier");
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace lumen::cli {

namespace detail {
// text as a decimal T, the whole of it (no spaces, no '+', no base prefix); false if not or if it does not fit.
template <class T> bool parse(const std::string& text, T* out) {
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && stop == end;
}
inline std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
}  // namespace detail

// An integer in [min, max], in decimal. The text is rewritten as CLI11's conversion reads it ("010" → "10").
inline CLI::Validator integer(std::int64_t min, std::int64_t max) {
  const std::string range = "[" + std::to_string(min) + ", " + std::to_string(max) + "]";
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        std::int64_t v = 0;
        if (!detail::parse(text, &v) || v < min || v > max) return "'" + text + "' is not an integer in " + range;
        text = std::to_string(v);
        return {};
      },
      range);
}

// A seed: any integer in [0, 2^64 - 1], in decimal; nothing outside wraps or saturates.
inline CLI::Validator seed() {
  const std::string range = "[0, " + std::to_string(std::numeric_limits<std::uint64_t>::max()) + "]";
  return CLI::Validator(
      [range](std::string& text) -> std::string {
        std::uint64_t v = 0;
        if (!detail::parse(text, &v)) return "'" + text + "' is not an integer in " + range;
        text = std::to_string(v);
        return {};
      },
      range);
}

// A finite real number in [min, max], or in (min, max] when open_min; NaN and infinities are refused.
inline CLI::Validator real(double min, double max, bool open_min = false) {
  const std::string range = (open_min ? "(" : "[") + detail::number_text(min) + ", " + detail::number_text(max) + "]";
  return CLI::Validator(
      [min, max, open_min, range](std::string& text) -> std::string {
        double v = 0;
        const bool in = detail::parse(text, &v) && std::isfinite(v) && (open_min ? v > min : v >= min) && v <= max;
        return in ? std::string() : "'" + text + "' is not a number in " + range;
      },
      range);
}

// A real number in (0, max]: learning rates.
inline CLI::Validator positive(double max) { return real(0, max, /*open_min=*/true); }

// One of the given words, exactly.
inline CLI::Validator one_of(std::vector<std::string> words) {
  std::string list;
  for (const std::string& w : words) list += (list.empty() ? "" : ", ") + w;
  return CLI::Validator(
      [words, list](std::string& text) -> std::string {
        for (const std::string& w : words)
          if (text == w) return {};
        return "'" + text + "' is not one of " + list;
      },
      "{" + list + "}");
}

// OpenMP threads: 0 (OMP_NUM_THREADS or all cores) to 1024.
inline CLI::Validator threads() { return integer(0, 1024); }

// Creates dir (and its parents) and makes sure a file can be created in it, so that a run fails in its
// first second, not after minutes of training, when its outputs cannot be written. On failure prints
// "<program>: cannot ... '<dir>': <reason>" and returns false.
inline bool prepare_output_dir(const char* program, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string problem;
  if (ec) {
    problem = "cannot create the output folder '" + dir + "': " + ec.message();
  } else {
    const std::string probe = dir + "/.lumen-write-check." + std::to_string(::getpid());
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) problem = "cannot write into the output folder '" + dir + "': " + std::strerror(errno);
    if (fd >= 0) ::close(fd), ::unlink(probe.c_str());
  }
  if (problem.empty()) return true;
  std::fprintf(stderr, "%s: %s\n", program, problem.c_str());
  return false;
}

// The exit status of a run whose work succeeded: 1 if standard output could not be written (a full disk
// under a redirection, a closed pipe), which printf does not report by itself.
inline int finish(const char* program) {
  if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return 0;
  std::fprintf(stderr, "%s: cannot write to standard output: %s\n", program, std::strerror(errno));
  return 1;
}

}  // namespace lumen::cli
