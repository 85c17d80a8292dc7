// matmul: known values, NumPy-style vectors and broadcast batches, transposed operands, the float32
// GEMM's paths. Gradchecks: the op table (tests/op_rows_linalg.cpp).
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "tests/test_util.h"

using namespace lumen;
using namespace lumen::testing;
using Catch = doctest::Contains;

TEST_SUITE("linalg") {
  TEST_CASE("known values") {
    Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3});
    Tensor b = f64({7, 8, 9, 10, 11, 12}, {3, 2});
    CHECK_VALUES(matmul(a, b), {58, 64, 139, 154});
    CHECK_VALUES(matmul(a.t(), a), {17, 22, 27, 22, 29, 36, 27, 36, 45});  // transposed operand, no copy needed
    CHECK_VALUES(matmul(a, f64({1, 0, -1})), {-2, -2});                      // matrix @ vector
    CHECK_VALUES(matmul(f64({1, 1}), a), {5, 7, 9});                         // vector @ matrix
    CHECK_VALUES(matmul(f64({1, 2}), f64({3, 4})), {11});                    // dot
    CHECK(matmul(f64({1, 2}), f64({3, 4})).dim() == 0);
  }

  TEST_CASE("batched and broadcast batch dims") {
    Tensor a = arange(12, {.dtype = DType::float64}).reshape({2, 2, 3});
    Tensor b = f64({1, 0, 0, 1, 1, 1}, {3, 2});
    Tensor c = matmul(a, b);  // [2, 2, 3] @ [3, 2]
    CHECK(c.shape() == Shape{2, 2, 2});
    CHECK_VALUES(c, {2, 3, 8, 9, 14, 15, 20, 21});  // a[0] = [[0,1,2],[3,4,5]]: rows [0+2, 1+2], [3+5, 4+5]
    Tensor d = matmul(b.t(), a.transpose(1, 2));  // [2, 3] @ [2, 3, 2]
    CHECK(d.shape() == Shape{2, 2, 2});
    CHECK_VALUES(d, {2, 8, 3, 9, 14, 20, 15, 21});  // (a b)ᵀ per batch
    Tensor e = matmul(ones({3, 1, 2, 4}, {.dtype = DType::float64}), ones({5, 4, 2}, {.dtype = DType::float64}));
    CHECK(e.shape() == Shape{3, 5, 2, 2});
    CHECK_VALUES(sum(e), {3 * 5 * 2 * 2 * 4});
  }

  TEST_CASE("float32 GEMM of a realistic size matches float64") {
    Generator g(3);
    Tensor a = randn({64, 200}, {.dtype = DType::float64}, &g), b = randn({200, 48}, {.dtype = DType::float64}, &g);
    Tensor ref = matmul(a, b);
    CHECK(allclose(matmul(a.to(DType::float32), b.to(DType::float32)), ref.to_vector<double>(), 1e-4));
    // Transposed (column-major) float32 views on both sides: mapped by the GEMM without a copy.
    CHECK(allclose(matmul(b.to(DType::float32).t(), a.to(DType::float32).t()), matmul(b.t(), a.t()).to_vector<double>(),
                   1e-4));
  }

  TEST_CASE("float32: every operand layout, products split across threads, batches, padded rows") {
    // Sizes above the split threshold (M·N·K >= 2^18) in both orientations (M >= N splits rows, else
    // columns), a batch of small products (one per thread), and a leading dimension of 1024 floats
    // (kernels/cpu/sgemm.cpp packs such an A instead of reading it in place).
    Generator g(4);
    struct Case {
      std::int64_t batch, M, K, N;
    };
    for (const Case& c : {Case{1, 300, 130, 70}, Case{1, 40, 150, 333}, Case{5, 17, 31, 9}, Case{1, 96, 64, 1024},
                         Case{1, 1, 300, 7}, Case{3, 5, 1, 4}}) {
      Tensor a = randn({c.batch, c.M, c.K}, {.dtype = DType::float64}, &g);
      Tensor b = randn({c.batch, c.K, c.N}, {.dtype = DType::float64}, &g);
      const std::vector<double> want = matmul(a, b).to_vector<double>();
      Tensor af = a.to(DType::float32), bf = b.to(DType::float32);
      Tensor at = af.transpose(1, 2).contiguous().transpose(1, 2);  // same values, column-major storage
      Tensor bt = bf.transpose(1, 2).contiguous().transpose(1, 2);
      for (const Tensor& x : {af, at})
        for (const Tensor& y : {bf, bt}) {
          INFO("batch " << c.batch << " M " << c.M << " K " << c.K << " N " << c.N << " a col-major "
                        << (x.stride(1) == 1) << " b col-major " << (y.stride(1) == 1));
          CHECK(allclose(matmul(x, y), want, 1e-4));
        }
    }
  }

  TEST_CASE("errors") {
    CHECK_THROWS_WITH_AS(matmul(ones({2, 3}), ones({4, 5})),
                         Catch("matmul: shapes [2, 3] and [4, 5] are not compatible: expected a.shape[-1] == "
                               "b.shape[-2] (3 vs 4)"),
                         Error);
    CHECK_THROWS_WITH_AS(matmul(ones({2, 2, 3}), ones({3, 3, 2})), Catch("matmul: shapes [2] and [3] cannot be broadcast"),
                         Error);
    CHECK_THROWS_WITH_AS(matmul(scalar_tensor(1), ones({2})), Catch("matmul: expected tensors with at least 1 dim"), Error);
  }
}
