// Tensor basics: factories, dtypes, views sharing storage, conversions, in-place rules, errors.
#include <doctest/doctest.h>

#include "autograd/engine.h"
#include "autograd/ops.h"

using namespace lumen;
using Catch = doctest::Contains;

TEST_SUITE("tensor") {
  TEST_CASE("factories give the requested shape, dtype and values") {
    Tensor z = zeros({2, 3});
    CHECK(z.shape() == Shape{2, 3});
    CHECK(z.dtype() == DType::float32);
    CHECK(z.to_vector<float>() == std::vector<float>(6, 0.f));
    CHECK(ones({4}, {.dtype = DType::float64}).to_vector<double>() == std::vector<double>(4, 1.0));
    CHECK(full({2}, 2.5).to_vector<float>() == std::vector<float>{2.5f, 2.5f});
    CHECK(arange(4).to_vector<float>() == std::vector<float>{0, 1, 2, 3});
    CHECK(linspace(0, 1, 5).to_vector<double>() == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
    Tensor t = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, {.dtype = DType::float64});
    CHECK(t.size(-1) == 3);
    CHECK(t.stride(0) == 3);
    CHECK(t.numel() == 6);
    CHECK(scalar_tensor(7).dim() == 0);
    CHECK(scalar_tensor(7).item() == 7.0);
    Tensor idx = tensor_from({3, 1, 2});
    CHECK(idx.dtype() == DType::int64);
    CHECK(idx.to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 1, 2});
  }

  TEST_CASE("bad factory input is a clear error") {
    CHECK_THROWS_WITH_AS(tensor({1, 2, 3}, {2, 2}), Catch("tensor: 3 values do not fill shape [2, 2]"), Error);
    CHECK_THROWS_WITH_AS(empty({2, -1}), Catch("empty: negative dimension in shape [2, -1]"), Error);
    CHECK_THROWS_WITH_AS(tensor({1, 2}).item(), Catch("Tensor::item: expected a tensor with one element, got shape [2]"),
                         Error);
    CHECK_THROWS_WITH_AS(Device("gpu"), Catch("cannot parse 'gpu'"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(tensor({1.0}).data<double>(), Catch("requested float64 but the tensor is float32"), Error);
  }

  TEST_CASE("views share storage with their base") {
    Tensor base = arange(6).reshape({2, 3});
    Tensor tr = base.t();
    Tensor row = base.select(0, 1);
    Tensor col = base.narrow(1, 2, 1);
    CHECK(tr.impl()->storage == base.impl()->storage);
    CHECK(row.impl()->storage == base.impl()->storage);
    CHECK_FALSE(tr.is_contiguous());
    CHECK(tr.to_vector<float>() == std::vector<float>{0, 3, 1, 4, 2, 5});
    CHECK(row.to_vector<float>() == std::vector<float>{3, 4, 5});
    // Writing through a view changes the base.
    row.fill_(-1);
    CHECK(base.to_vector<float>() == std::vector<float>{0, 1, 2, -1, -1, -1});
    col.copy_(tensor({9, 8}, {2, 1}));
    CHECK(base.to_vector<float>() == std::vector<float>{0, 1, 9, -1, -1, 8});
    CHECK(tr.to_vector<float>() == std::vector<float>{0, -1, 1, -1, 9, 8});
    // contiguous() of a non-contiguous view is a copy; of a contiguous one, the same tensor.
    Tensor c = tr.contiguous();
    CHECK(c.is_contiguous());
    CHECK(c.impl()->storage != base.impl()->storage);
    CHECK(base.contiguous().is_same(base));
    Tensor e = tensor({1, 2}).reshape({2, 1}).expand({2, 3});
    CHECK(e.stride(1) == 0);
    CHECK(e.to_vector<float>() == std::vector<float>{1, 1, 1, 2, 2, 2});
  }

  TEST_CASE("dtype conversion and clone") {
    Tensor a = tensor({1.5, -2.25, 3});
    Tensor d = a.to(DType::float64);
    CHECK(d.dtype() == DType::float64);
    CHECK(d.to_vector<double>() == std::vector<double>{1.5, -2.25, 3});
    CHECK(a.to(DType::int64).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, -2, 3});
    Tensor c = a.clone();
    c.fill_(0);
    CHECK(a.to_vector<float>() == std::vector<float>{1.5f, -2.25f, 3.f});
    CHECK(a.to(kCPU).is_same(a));
  }

  TEST_CASE("gradients flow through to(dtype) and clone") {
    Tensor x = tensor({1, 2}, {2}, {.dtype = DType::float64, .requires_grad = true});
    Tensor y = (x.to(DType::float32) * 3.0).clone().sum();
    y.backward();
    CHECK(x.grad().dtype() == DType::float64);
    CHECK(x.grad().to_vector<double>() == std::vector<double>{3, 3});
  }

  TEST_CASE("in-place changes and requires_grad rules") {
    Tensor w = ones({2}, {.requires_grad = true});
    CHECK_THROWS_WITH_AS(w.add_(ones({2})), Catch("add_: in-place change of a tensor that requires grad"), Error);
    {
      autograd::NoGradGuard ng;
      w.add_(ones({2}), 2.0);
      w.mul_(0.5);
    }
    CHECK(w.to_vector<float>() == std::vector<float>{1.5f, 1.5f});
    Tensor y = w * 2.0;
    CHECK_THROWS_WITH_AS(y.requires_grad_(false), Catch("only leaf tensors can change requires_grad"), Error);
    CHECK_THROWS_WITH_AS(tensor_from({1}).requires_grad_(), Catch("only floating tensors can require grad"), Error);
    CHECK_THROWS_WITH_AS(ones({2}).add_(ones({3})), Catch("add_: shapes [3] and [2] cannot be broadcast"), Error);
  }

  TEST_CASE("printing names dtype, device and shape") {
    std::ostringstream os;
    os << tensor({1, 2}, {1, 2});
    CHECK(os.str().find("Tensor[float32, cpu, shape [1, 2]]") == 0);
  }

  TEST_CASE("operations on undefined tensors are errors") {
    Tensor u;
    CHECK_FALSE(u.defined());
    CHECK_THROWS_WITH_AS(u.shape(), Catch("use of an undefined tensor"), Error);
    CHECK_THROWS_WITH_AS(add(u, ones({1})), Catch("add: got an undefined tensor"), Error);
  }

  // Issue 12, item 1: each of these wrapped around before (a heap overflow, a tensor with garbage
  // strides, or a std::bad_alloc escaping).
  TEST_CASE("sizes that overflow int64 are clear errors, never wrapped numbers") {
    const std::int64_t big = std::int64_t{1} << 31, huge = std::int64_t{1} << 40;
    CHECK_THROWS_WITH_AS(zeros({big, big}), Catch("empty: the byte count of shape [2147483648, 2147483648] of float32"),
                         Error);
    CHECK_THROWS_WITH_AS(empty({std::int64_t{1} << 62}), Catch("overflows int64"), Error);
    CHECK_THROWS_WITH_AS(empty({4, std::int64_t{1} << 62}), Catch("has more elements than int64 holds"), Error);
    // A 0 dim makes no elements, but the strides of the dims before it still count the huge ones.
    CHECK_THROWS_WITH_AS(empty({0, huge, huge}), Catch("empty: the strides of shape [0, 1099511627776, 1099511627776]"),
                         Error);
    CHECK_THROWS_WITH_AS(contiguous_strides({0, huge, huge}), Catch("overflows int64"), Error);
    CHECK(contiguous_strides({0, huge, 3}) == Shape{3 * huge, 3, 1});
    CHECK(empty({0, huge, 3}).numel() == 0);
    // Views: expand, reshape, flatten, cat and pad compute new sizes.
    CHECK_THROWS_WITH_AS(zeros({1, 1}).expand({huge, huge}), Catch("expand: shape [1099511627776, 1099511627776]"),
                         Error);
    CHECK_THROWS_WITH_AS(zeros({0}).reshape({0, huge, huge}), Catch("reshape: the strides of shape"), Error);
    CHECK_THROWS_WITH_AS(zeros({0}).reshape({huge, huge, huge, 0}), Catch("reshape: shape"), Error);
    Tensor wide = zeros({1}).expand({std::int64_t{1} << 62});
    CHECK_THROWS_WITH_AS(cat({wide, wide, wide}, 0), Catch("cat: the size of dim 0"), Error);
    CHECK_THROWS_WITH_AS(pad(zeros({2}), {INT64_MAX, 1}), Catch("pad: dim 0"), Error);
    CHECK_THROWS_WITH_AS(linspace(0, 1, std::int64_t{1} << 62), Catch("empty:"), Error);
    CHECK_THROWS_WITH_AS(conv2d(zeros({1, 1, 3, 3}), zeros({1, 1, 2, 2}), {}, {.padding = {std::int64_t{1} << 62, 0}}),
                         Catch("conv2d: padding"), Error);
  }

  // A stand-in device backend whose memory has run out, registered as the CUDA one for a moment.
  struct OutOfMemoryBackend final : DeviceBackend {
    bool throws = false;
    void* allocate(std::size_t, int) override {
      if (throws) throw std::bad_alloc();
      return nullptr;
    }
    void deallocate(void*, std::size_t, int) override {}
    void copy(void*, Device, const void*, Device, std::size_t) override {}
    int device_count() override { return 0; }
  };
  struct BackendSwap {
    DeviceBackend* old = nullptr;
    explicit BackendSwap(DeviceBackend* backend) {
      try {
        old = &device_backend(DeviceType::cuda);
      } catch (const Error&) {  // a build without CUDA: none to restore
      }
      register_device_backend(DeviceType::cuda, backend);
    }
    ~BackendSwap() { register_device_backend(DeviceType::cuda, old); }
  };

  TEST_CASE("memory a device cannot give is a lumen::Error saying how many bytes") {
    // More than the address space: the CPU backend refuses before asking (no std::bad_alloc escapes).
    CHECK_THROWS_WITH_AS(empty({std::int64_t{1} << 60}), Catch("allocate: out of memory: cannot allocate 4611686018427387904 bytes"),
                         Error);
    OutOfMemoryBackend oom;
    BackendSwap swap(&oom);
    CHECK_THROWS_WITH_AS(empty({2, 3}, {.device = Device("cuda")}), Catch("cannot allocate 24 bytes on cuda:0"), Error);
    oom.throws = true;
    CHECK_THROWS_WITH_AS(empty({5}, {.device = Device("cuda")}), Catch("cannot allocate 20 bytes on cuda:0"), Error);
  }
}
