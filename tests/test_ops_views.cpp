// View ops: shapes, aliasing, values, errors. Gradchecks: the op table (tests/op_rows_shape.cpp).
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "tests/test_util.h"

using namespace lumen;
using namespace lumen::testing;
using Catch = doctest::Contains;

TEST_SUITE("views") {
  TEST_CASE("shapes and values") {
    Tensor a = arange(24, {.dtype = DType::float64}).reshape({2, 3, 4});
    CHECK(a.reshape({4, -1}).shape() == Shape{4, 6});
    CHECK(a.permute({2, 0, 1}).shape() == Shape{4, 2, 3});
    CHECK_VALUES(a.permute({2, 0, 1}).select(0, 1), {1, 5, 9, 13, 17, 21});
    CHECK_VALUES(a.transpose(0, 2).select(1, 2).select(0, 3), {11, 23});
    CHECK_VALUES(a.narrow(2, 1, 2).select(0, 0), {1, 2, 5, 6, 9, 10});
    CHECK_VALUES(slice(a, 2, 0, 4, 3).select(0, 1), {12, 15, 16, 19, 20, 23});
    CHECK_VALUES(slice(a, 1, -2, 100).select(2, 0).select(0, 0), {4, 8});
    CHECK(a.unsqueeze(1).shape() == Shape{2, 1, 3, 4});
    CHECK(a.unsqueeze(-1).shape() == Shape{2, 3, 4, 1});
    CHECK(a.unsqueeze(1).squeeze(1).shape() == Shape{2, 3, 4});
    CHECK(squeeze(ones({1, 3, 1})).shape() == Shape{3});
    CHECK(a.flatten(1).shape() == Shape{2, 12});
    CHECK(a.flatten().shape() == Shape{24});
    CHECK(a.select(1, -1).shape() == Shape{2, 4});
    CHECK(f64({1, 2}).reshape({2, 1}).expand({2, 3}).shape() == Shape{2, 3});
    CHECK(f64({1, 2}).expand({3, -1}).shape() == Shape{3, 2});
  }

  TEST_CASE("reshape is a view when the layout allows, a copy otherwise") {
    Tensor a = arange(12).reshape({3, 4});
    CHECK(a.reshape({2, 6}).impl()->storage == a.impl()->storage);
    CHECK(a.t().reshape({12}).impl()->storage != a.impl()->storage);  // transposed: must copy
    CHECK_VALUES(a.t().reshape({12}), {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
    CHECK(a.narrow(0, 1, 2).reshape({8}).impl()->storage == a.impl()->storage);
    CHECK_THROWS_WITH_AS(a.t().view({12}), Catch("view: shape [12] is not compatible with the input's shape [4, 3]"),
                         Error);
  }

  TEST_CASE("errors") {
    Tensor a = ones({2, 3});
    CHECK_THROWS_WITH_AS(a.reshape({4, -1}), Catch("reshape: shape [4, -1] is invalid for 6 elements"), Error);
    CHECK_THROWS_WITH_AS(a.permute({0, 0}), Catch("permute: dims [0, 0] are not a permutation"), Error);
    CHECK_THROWS_WITH_AS(a.narrow(1, 2, 2), Catch("narrow: range [2, 4) is out of bounds for dim 1 of size 3"), Error);
    CHECK_THROWS_WITH_AS(a.expand({4, 3}), Catch("expand: cannot expand shape [2, 3] to [4, 3] (dim 0: 2 vs 4)"), Error);
    CHECK_THROWS_WITH_AS(a.select(0, 2), Catch("select: index 2 is out of range for dim 0 of size 2"), Error);
    CHECK_THROWS_WITH_AS(a.transpose(0, 2), Catch("transpose: dim 2 is out of range"), Error);
  }
}
