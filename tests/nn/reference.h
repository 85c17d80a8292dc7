#pragma once
// PyTorch reference values for the nn/optim tests: the safetensors files that
// tests/reference/make_nn_reference.py writes, looked up from this header's own path (the tests may
// run from the repository root, the build directory or elsewhere), and a tolerance check that says
// where two tensors differ.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

#include "autograd/tensor.h"
#include "nn/safetensors.h"

namespace lumen::testing {

inline std::filesystem::path reference_dir() {
  namespace fs = std::filesystem;
  const fs::path here = fs::path(__FILE__).parent_path().parent_path() / "reference";  // tests/reference
  std::vector<fs::path> candidates;
  std::error_code ec;
  if (here.is_absolute()) candidates.push_back(here);
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);  // <build>/tests/lumen_tests
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / here);
  for (fs::path p = fs::current_path();; p = p.parent_path()) {
    candidates.push_back(p / here);
    candidates.push_back(p / "tests" / "reference");
    if (p == p.parent_path()) break;
  }
  for (const fs::path& c : candidates)
    if (fs::exists(c / "make_nn_reference.py", ec)) return c.lexically_normal();
  throw std::runtime_error("tests/reference not found from " + fs::current_path().string());
}

// One reference file, loaded once. at(name) throws naming the missing entry.
struct Reference {
  std::map<std::string, Tensor> tensors;
  const Tensor& at(const std::string& name) const {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw std::runtime_error("reference entry '" + name + "' not found: rerun make_nn_reference.py");
    return it->second;
  }
  bool has(const std::string& name) const { return tensors.count(name) > 0; }
};

inline const Reference& reference(const std::string& file) {
  static std::map<std::string, Reference> cache;
  auto it = cache.find(file);
  if (it == cache.end()) it = cache.emplace(file, Reference{nn::load_safetensors((reference_dir() / file).string())}).first;
  return it->second;
}

// Empty when every |got - want| <= atol + rtol·|want| (and the shapes agree); else where they differ.
inline std::string mismatch(const Tensor& got, const Tensor& want, double rtol, double atol) {
  if (!got.defined()) return "got an undefined tensor";
  if (got.shape() != want.shape()) return "shape " + shape_str(got.shape()) + " vs expected " + shape_str(want.shape());
  auto g = got.to_vector<double>(), w = want.to_vector<double>();
  std::size_t worst = 0;
  double worst_excess = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    const double excess = std::abs(g[i] - w[i]) - (atol + rtol * std::abs(w[i]));
    if (!(excess <= 0) && (worst_excess == 0 || excess > worst_excess || std::isnan(excess))) {
      worst = i;
      worst_excess = std::isnan(excess) ? INFINITY : excess;
    }
  }
  if (worst_excess == 0) return "";
  std::ostringstream os;
  os.precision(9);
  os << "element " << worst << ": got " << g[worst] << ", expected " << w[worst];
  return os.str();
}

}  // namespace lumen::testing

// CHECK_CLOSE(got, want, rtol, atol): elementwise closeness, with the worst element reported.
#define CHECK_CLOSE(got, want, rtol, atol)                                   \
  do {                                                                       \
    std::string m_ = ::lumen::testing::mismatch((got), (want), rtol, atol); \
    INFO(m_);                                                                \
    CHECK(m_.empty());                                                       \
  } while (0)
