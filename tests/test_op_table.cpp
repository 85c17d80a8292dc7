// The op table (tests/op_table.h) as doctest cases: one subcase per row, named after it, so
//   lumen_tests --test-suite=op_table --subcase="softmax*"
// runs only the softmax rows. The GPU column lives in the "cuda" suite, which meson reports as
// skipped where no GPU is present. Last, the runner's own test: it must catch a wrong op.
#include <doctest/doctest.h>

#include <set>
#include <stdexcept>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "tests/op_table.h"

using namespace lumen;
using namespace lumen::testing;
using V = std::vector<Tensor>;

#define CHECK_PASSES(check)         \
  do {                              \
    const CheckResult r_ = (check); \
    INFO(r_.message);               \
    CHECK(r_.ok);                   \
  } while (0)

TEST_SUITE("op_table") {
  TEST_CASE("every row: gradcheck, gradgradcheck, float32 vs float64, strided vs contiguous") {
    for (const OpRow& row : op_table())
      SUBCASE(row.name.c_str()) {
        for (Layout layout : {Layout::contiguous, Layout::strided}) {
          INFO(layout_name(layout));
          CHECK_PASSES(check_gradient(row, layout));
          CHECK_PASSES(check_second_gradient(row, layout));
          CHECK_PASSES(check_float32_agrees(row, layout));
        }
        CHECK_PASSES(check_strided_matches_contiguous(row));
        CHECK_PASSES(check_empty(row));
      }
  }

  TEST_CASE("row names are unique (each is a subcase)") {
    std::set<std::string> seen;
    for (const OpRow& row : op_table()) {
      INFO(row.name);
      CHECK(seen.insert(row.name).second);
    }
  }
}

TEST_SUITE("op_table") {
  // x² with the derivative x instead of 2x, recorded by hand.
  Tensor square_with_wrong_backward(const Tensor& x) {
    return record("wrong_square", square(x.detach()), {x}, {x},
                  [](const Tensor& g, const BackwardArgs& s) { return grads(g * s[0]); });
  }
  // x² with the right derivative 2x, but computed from a detached x: its own derivative is lost.
  Tensor square_with_detached_backward(const Tensor& x) {
    return record("detached_square", square(x.detach()), {x}, {x},
                  [](const Tensor& g, const BackwardArgs& s) { return grads(g * s[0].detach() * 2.0); });
  }
  TEST_CASE("the runner catches a wrong backward, and a backward that cannot be differentiated") {
    const OpRow wrong{.name = "wrong backward", .fn = [](const V& v) { return square_with_wrong_backward(v[0]); },
                      .inputs = {in({2, 3})}};
    const OpRow detached{.name = "detached backward", .fn = [](const V& v) { return square_with_detached_backward(v[0]); },
                         .inputs = {in({2, 3})}};
    const OpRow right{.name = "right backward", .fn = [](const V& v) { return square(v[0]); }, .inputs = {in({2, 3})}};
    for (Layout layout : {Layout::contiguous, Layout::strided}) {
      INFO(layout_name(layout));
      CHECK_FALSE(check_gradient(wrong, layout).ok);
      CHECK_PASSES(check_gradient(detached, layout));
      CHECK_FALSE(check_second_gradient(detached, layout).ok);
      CHECK_PASSES(check_gradient(right, layout));
      CHECK_PASSES(check_second_gradient(right, layout));
    }
  }

  TEST_CASE("the runner catches a float32 forward or gradient that differs, and a layout that matters") {
    OpRow off_in_float32{.name = "float32 off by 1e-3", .fn = [](const V& v) {
                           return v[0].dtype() == DType::float32 ? v[0] * 1.001 : v[0] * 1.0;
                         },
                         .inputs = {in({2, 3})}};
    CHECK_FALSE(check_float32_agrees(off_in_float32, Layout::contiguous).ok);
    OpRow gradient_off{.name = "float32 gradient off", .fn = [](const V& v) {
                         return v[0].dtype() == DType::float32 ? square_with_wrong_backward(v[0]) : square(v[0]);
                       },
                       .inputs = {in({2, 3})}};
    CHECK_FALSE(check_float32_agrees(gradient_off, Layout::contiguous).ok);
    // stands in for a kernel that mishandles strides: right for contiguous inputs only
    OpRow layout_blind{.name = "ignores strides", .fn = [](const V& v) {
                         return v[0].is_contiguous() ? v[0] * 1.0 : v[0] * 0.0;
                       },
                       .inputs = {in({2, 3})}};
    CHECK_FALSE(check_strided_matches_contiguous(layout_blind).ok);
  }
}

TEST_SUITE("op_table") {
  TEST_CASE("the runner's empty case: a row must handle it, and one it cannot derive must declare it") {
    const OpRow refuses{.name = "refuses an empty input", .fn = [](const V& v) {
                          LUMEN_CHECK(v[0].numel() > 0, "refuses", "an empty input");
                          return v[0] * 2.0;
                        },
                        .inputs = {in({2, 3})}};
    CHECK_FALSE(check_empty(refuses).ok);
    CHECK_PASSES(check_empty(OpRow{.name = "doubles", .fn = [](const V& v) { return v[0] * 2.0; }, .inputs = {in({2, 3})}}));
    // sum over dim 0: the result [3] shares no leading dim with the input, so the row must declare its case.
    OpRow column_sums{.name = "column sums", .fn = [](const V& v) { return sum(v[0], {0}); }, .inputs = {in({2, 3})}};
    CHECK_FALSE(check_empty(column_sums).ok);
    column_sums.empty = EmptyCase{.shapes = {{0, 3}}, .output = {3}, .value = 0.0};
    CHECK_PASSES(check_empty(column_sums));
    column_sums.empty->value = 1.0;  // a wrong value
    CHECK_FALSE(check_empty(column_sums).ok);
    column_sums.empty = EmptyCase{.shapes = {{0, 3}}, .output = {0}};  // a wrong shape
    CHECK_FALSE(check_empty(column_sums).ok);
    column_sums.empty = EmptyCase{.shapes = {{0, 3}}, .error = "sum"};  // an error that does not come
    CHECK_FALSE(check_empty(column_sums).ok);
  }
}

TEST_SUITE("op_table") {
  const OpRow& row_named(const std::string& name) {
    for (const OpRow& row : op_table())
      if (row.name == name) return row;
    throw std::runtime_error("no op table row named " + name);
  }

  TEST_CASE("the GPU column's checks, with the CPU standing in for the device") {
    // Runs in every build, so the column's logic is tested where no GPU is: a row agrees with
    // itself, and a stale "no kernel" mark on a row whose kernels exist is reported, not skipped.
    const OpRow& add = row_named("add");
    CHECK_PASSES(check_on_device(add, Layout::strided, DType::float32, kCPU));
    OpRow marked_cpu_only = add, marked_forward_only = add;
    marked_cpu_only.cuda = Cuda::none;
    marked_forward_only.cuda = Cuda::forward_only;
    CHECK_FALSE(check_on_device(marked_cpu_only, Layout::contiguous, DType::float64, kCPU).ok);
    CHECK_FALSE(check_on_device(marked_forward_only, Layout::contiguous, DType::float64, kCPU).ok);
  }
}

TEST_SUITE("cuda") {
  // The table's GPU column: every row on the GPU in both float types and both layouts, against the
  // CPU; rows marked CPU-only (or forward-only) must fail with the "no kernel for device" error.
  TEST_CASE("op table GPU column: each row equals the CPU's or reports its missing kernel") {
    if (cuda_device_count() == 0) {
      MESSAGE("SKIPPED: no CUDA device (or lumen built without CUDA): the op table's GPU column did not run");
      return;
    }
    const Device gpu("cuda");
    for (const OpRow& row : op_table())
      SUBCASE(row.name.c_str()) {
        for (Layout layout : {Layout::contiguous, Layout::strided})
          for (DType dtype : {DType::float32, DType::float64}) {
            INFO(layout_name(layout) << ", " << dtype_name(dtype));
            CHECK_PASSES(check_on_device(row, layout, dtype, gpu));
          }
      }
  }
}
