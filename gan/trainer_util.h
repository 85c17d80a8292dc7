#pragma once
// Helpers shared by the two trainers (gan/training.cpp, gan/stargan.cpp): freezing a network, timing,
// the progress line's averaging window, and reading their safetensors checkpoints back (integer metadata, network tensors vs the optimizers'
// "optim_*" entries). Internal to gan/.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "kernels/core/error.h"
#include "nn/module.h"

namespace lumen::gan::detail {

inline void set_requires_grad(nn::Module& m, bool on) {
  for (Tensor p : m.parameters()) p.requires_grad_(on);
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The losses of the steps since the last progress line (Losses needs +=), and their rate.
template <class Losses> struct LossWindow {
  Losses sum{};
  std::int64_t steps = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  void add(const Losses& l) { sum += l, ++steps; }
  // A line is due every `every` steps and at the end of an epoch (`last`); every <= 0: never.
  bool due(std::int64_t every, bool last) const { return every > 0 && (steps == every || last); }
  double steps_per_s() const { return static_cast<double>(steps) / std::max(seconds_since(start), 1e-9); }
  void reset() { *this = LossWindow{}; }
};

// meta[key] as an integer; errors name `op` and say which trainer writes such checkpoints.
inline std::int64_t meta_int(const std::map<std::string, std::string>& meta, const std::string& key,
                             const std::string& path, const char* op, const char* writer) {
  auto it = meta.find(key);
  LUMEN_CHECK(it != meta.end(), op, "'", path, "' has no '", key, "' in its metadata: not a checkpoint written by ",
              writer);
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    LUMEN_CHECK(false, op, "'", path, "': metadata '", key, "' = '", it->second, "' is not an integer");
  }
  return 0;
}

// The networks' tensors of a checkpoint (everything but the optimizers' "optim_*" entries).
inline std::map<std::string, Tensor> network_tensors(std::map<std::string, Tensor> all) {
  for (auto it = all.begin(); it != all.end();) it = it->first.rfind("optim_", 0) == 0 ? all.erase(it) : std::next(it);
  return all;
}

// The entries under `prefix`, with it removed (one optimizer's state).
inline nn::StateDict with_prefix(const std::map<std::string, Tensor>& all, const std::string& prefix) {
  nn::StateDict out;
  for (const auto& [k, t] : all)
    if (k.rfind(prefix, 0) == 0) out.emplace_back(k.substr(prefix.size()), t);
  return out;
}

}  // namespace lumen::gan::detail
