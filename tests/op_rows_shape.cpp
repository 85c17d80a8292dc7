// Op table rows: views, joining and splitting, padding. The views share storage with their input, so
// each row ends in an op (* 1.0) whose output owns its memory; that op's own rows are elsewhere.
#include "autograd/ops.h"
#include "tests/op_table.h"

namespace lumen::testing {

namespace {
using V = std::vector<Tensor>;

std::vector<OpRow> view_rows() {
  const Shape x = {2, 3, 4};
  std::vector<OpRow> rows = {
      {.name = "reshape", .fn = [](const V& v) { return v[0].reshape({4, 6}) * 1.0; }, .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{0, 3, 4}}, .output = {0, 6}, .fn = [](const V& v) { return v[0].reshape({-1, 6}) * 1.0; }}},
      {.name = "reshape of a transpose (a copy)", .fn = [](const V& v) { return v[0].transpose(0, 2).reshape({-1}) * 1.0; },
       .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{0, 3, 4}}, .output = {0}}},
      {.name = "view of a contiguous copy", .fn = [](const V& v) { return view(v[0].contiguous(), {4, 6}) * 1.0; },
       .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{0, 3, 4}}, .output = {0, 6}, .fn = [](const V& v) { return view(v[0].contiguous(), {-1, 6}) * 1.0; }}},
      {.name = "permute", .fn = [](const V& v) { return v[0].permute({1, 2, 0}) * 1.0; }, .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{0, 3, 4}}, .output = {3, 4, 0}}},
      {.name = "transpose", .fn = [](const V& v) { return transpose(v[0], 0, 2) * 1.0; }, .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{0, 3, 4}}, .output = {4, 3, 0}}},
      {.name = "narrow", .fn = [](const V& v) { return v[0].narrow(1, 1, 2) * 1.0; }, .inputs = {in(x)}},
      {.name = "slice with a step", .fn = [](const V& v) { return slice(v[0], 2, 1, 4, 2) * 1.0; }, .inputs = {in(x)}},
      {.name = "slice of a transpose", .fn = [](const V& v) { return slice(v[0].t(), 0, 0, 4, 2) * 1.0; },
       .inputs = {in({3, 4})},
       .empty = EmptyCase{.shapes = {{0, 4}}, .output = {2, 0}}},
      {.name = "select", .fn = [](const V& v) { return v[0].select(2, 3) * 1.0; }, .inputs = {in(x)}},
      {.name = "unsqueeze and squeeze", .fn = [](const V& v) { return v[0].unsqueeze(0).squeeze(0) * 1.0; },
       .inputs = {in(x)}},
      {.name = "squeeze every size-1 dim", .fn = [](const V& v) { return squeeze(v[0]) * 1.0; }, .inputs = {in({1, 3, 1})},
       .empty = EmptyCase{.shapes = {{1, 0, 1}}, .output = {0}}},
      {.name = "flatten", .fn = [](const V& v) { return v[0].flatten(0, 1) * 1.0; }, .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{0, 3, 4}}, .output = {0, 4}}},
      {.name = "expand", .fn = [](const V& v) { return v[0].narrow(0, 0, 1).expand({3, 3, 4}) * 1.0; }, .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{2, 0, 4}}, .output = {3, 0, 4}, .fn = [](const V& v) { return v[0].narrow(0, 0, 1).expand({3, -1, 4}) * 1.0; }}},
      {.name = "expand, times the input", .fn = [](const V& v) { return v[0].select(0, 1).expand({2, 3, 4}) * v[0]; },
       .inputs = {in(x)},
       .empty = EmptyCase{.shapes = {{2, 0, 4}}, .output = {2, 0, 4}, .fn = [](const V& v) { return v[0].select(0, 1).expand({2, -1, 4}) * v[0]; }}},
  };
  // Views are linear maps: squaring gives the second-order check something to see.
  for (OpRow& r : rows)
    if (r.name != "expand, times the input") r.derivative = Derivative::second_of_square;
  return rows;
}

std::vector<OpRow> join_rows() {
  const Shape a = {2, 3}, b = {3, 2}, c = {1, 3};
  return {
      {.name = "cat dim 0 of three, one transposed", .fn = [](const V& v) { return cat({v[0], v[1].t(), v[2]}, 0); },
       .inputs = {in(a), in(b), in(c)},
       .empty = EmptyCase{.shapes = {{0, 3}, {3, 0}, {1, 3}}, .output = {1, 3}}, .derivative = Derivative::second_of_square},
      {.name = "cat dim 1", .fn = [](const V& v) { return cat({v[0].t(), v[1]}, 1); }, .inputs = {in(a), in(b)},
       .empty = EmptyCase{.shapes = {{0, 3}, {3, 0}}, .output = {3, 0}},
       .derivative = Derivative::second_of_square},
      {.name = "cat of broadcast inputs", .fn = [](const V& v) { return cat({v[1].expand({2, 3}), v[0], v[1].expand({2, 3})}, -1); },
       .inputs = {in(a), in(c)},
       .empty = EmptyCase{.shapes = {{2, 0}, {1, 0}}, .output = {2, 0}, .fn = [](const V& v) { return cat({v[1].expand({2, -1}), v[0], v[1].expand({2, -1})}, -1); }}, .derivative = Derivative::second_of_square},
      {.name = "cat of one input twice", .fn = [](const V& v) { return cat({v[0], v[0]}, 0); }, .inputs = {in(a)},
       .empty = EmptyCase{.shapes = {{0, 3}}, .output = {0, 3}},
       .derivative = Derivative::second_of_square},
      {.name = "stack dim 1", .fn = [](const V& v) { return stack({v[0], v[1].t(), v[0]}, 1); }, .inputs = {in(a), in(b)},
       .empty = EmptyCase{.shapes = {{0, 3}, {3, 0}}, .output = {0, 3, 3}},
       .derivative = Derivative::second_of_square},
      {.name = "split by sizes",
       .fn = [](const V& v) {
         auto p = split(v[0], std::vector<std::int64_t>{1, 2}, 0);
         return cat({p[1] * 2.0, p[0] * p[0]}, 0);
       },
       .inputs = {in(b)},
       .empty = EmptyCase{.shapes = {{3, 0}}, .output = {3, 0}}},
      {.name = "split by size",
       .fn = [](const V& v) {
         auto p = split(v[0], 2, 1);
         return p[0] * p[1];
       },
       .inputs = {in({2, 4})}},
      {.name = "chunk",
       .fn = [](const V& v) {
         auto p = chunk(v[0].t(), 2, 1);
         return p[0] * p[1].sum();
       },
       .inputs = {in(b)},
       .empty = EmptyCase{.shapes = {{3, 0}}, .output = {0, 2}}},
      {.name = "pad with a value", .fn = [](const V& v) { return pad(v[0], {1, 2, 0, 1}, 3.0); }, .inputs = {in(a)},
       .empty = EmptyCase{.shapes = {{0, 3}}, .output = {1, 6}, .value = 3.0},
       .derivative = Derivative::second_of_square},
      {.name = "pad and crop a transpose", .fn = [](const V& v) { return pad(v[0].t(), {-1, 1, 1, -2}); }, .inputs = {in(a)},
       .empty = EmptyCase{.shapes = {{0, 3}}, .output = {2, 0}},
       .derivative = Derivative::second_of_square},
      {.name = "pad and crop", .fn = [](const V& v) { return pad(v[0], {2, -1, -1, 1}); }, .inputs = {in(a)},
       .derivative = Derivative::second_of_square},
      {.name = "pad cropping everything (zero gradient)", .fn = [](const V& v) { return pad(v[0], {-3, 2}); },
       .inputs = {in(a)}, .derivative = Derivative::first},
  };
}

}  // namespace

std::vector<OpRow> shape_rows() {
  std::vector<OpRow> rows = view_rows();
  for (OpRow& r : join_rows()) rows.push_back(std::move(r));
  return rows;
}

}  // namespace lumen::testing
