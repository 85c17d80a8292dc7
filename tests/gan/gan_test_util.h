#pragma once
// What the gan/ test files share: exact tensor equality, a one-thread scope (bit-for-bit runs), and
// the comparison of two state dicts that the resume tests make.
#include <doctest/doctest.h>
#include <omp.h>

#include "autograd/ops.h"
#include "nn/module.h"

namespace lumen::gan::testing {

// Same shape and bit-identical values.
inline bool same_values(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         a.contiguous().to(DType::float64).to_vector<double>() == b.contiguous().to(DType::float64).to_vector<double>();
}

// One OpenMP thread until the end of the scope (small tests run faster without waking threads; the
// results are the same bits with any number, see tests/nn/test_reproducible.cpp).
class SingleThread {
 public:
  SingleThread() : threads_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~SingleThread() { omp_set_num_threads(threads_); }
  SingleThread(const SingleThread&) = delete;
  SingleThread& operator=(const SingleThread&) = delete;

 private:
  int threads_;
};

// How many entries of got differ from want (same names and order required); each one is reported.
inline std::int64_t differing_entries(const nn::StateDict& got, const nn::StateDict& want) {
  REQUIRE(got.size() == want.size());
  std::int64_t differing = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const bool d = !same_values(got[i].second, want[i].second);
    differing += d;
    if (d) MESSAGE(got[i].first, " differs by up to ", amax(abs(got[i].second - want[i].second)).item());
  }
  return differing;
}

}  // namespace lumen::gan::testing
