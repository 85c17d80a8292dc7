// Data shifts (nn/transforms.h): rotations against exact rot90 and torchvision's outputs
// (tests/reference/make_transforms_reference.py), noise statistics and reproducibility, contrast and
// brightness by hand and against torchvision.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/transforms.h"
#include "tests/nn/reference.h"
#include "tests/test_util.h"

using namespace lumen;
using lumen::testing::f64;
using lumen::testing::reference;
using lumen::testing::val;
using Catch = doctest::Contains;

namespace {
const Tensor& ref(const std::string& name) { return reference("nn_transforms.safetensors").at(name); }
}  // namespace

TEST_SUITE("nn") {
  TEST_CASE("rotate: 0° and 360° are the identity, 90° is rot90 counter-clockwise") {
    Generator g(1);
    Tensor x = rand({2, 3, 5, 6}, {.dtype = DType::float64}, &g);
    CHECK_CLOSE(nn::rotate(x, 0.0), x, 0, 1e-12);
    CHECK_CLOSE(nn::rotate(x, 360.0), x, 0, 1e-6);
    CHECK_CLOSE(nn::rotate(x, -720.0), x, 0, 1e-6);
    // out[i][j] = in[j][W−1−i]: the top-right corner moves to the top-left (counter-clockwise on screen).
    Tensor sq = rand({2, 4, 4}, {.dtype = DType::float64}, &g);  // [N, H, W]
    Tensor want = empty_like(sq);
    for (std::int64_t n = 0; n < 2; ++n)
      for (std::int64_t i = 0; i < 4; ++i)
        for (std::int64_t j = 0; j < 4; ++j)
          want.data<double>()[n * 16 + i * 4 + j] = sq.data<double>()[n * 16 + j * 4 + 3 - i];
    CHECK_CLOSE(nn::rotate(sq, 90.0), want, 0, 1e-6);
    CHECK_CLOSE(nn::rotate(nn::rotate(sq, 90.0), -90.0), sq, 0, 1e-6);
    CHECK_CLOSE(nn::rotate(ref("rot90.x"), 90.0), ref("rot90.y"), 0, 1e-6);  // torchvision agrees
  }

  TEST_CASE("rotate: bilinear, about ((W−1)/2, (H−1)/2), as torchvision's rotate") {
    CHECK_CLOSE(nn::rotate(ref("rot30.x"), 30.0), ref("rot30.y"), 0, 1e-9);  // float64, 5×7
    Tensor y = nn::rotate(ref("rot-100.x"), -100.0);                          // float32, 6×4
    CHECK(y.dtype() == DType::float32);
    CHECK(y.shape() == Shape{2, 1, 6, 4});
    CHECK_CLOSE(y, ref("rot-100.y"), 0, 1e-5);
  }

  TEST_CASE("rotate: the outside reads as fill") {
    // A constant image with fill of the same value stays constant.
    CHECK_CLOSE(nn::rotate(full({1, 1, 5, 5}, 0.3), 45.0, 0.3), full({1, 1, 5, 5}, 0.3), 0, 1e-6);
    // 9 wide, 3 tall, by 90°: output (0, 0) reads input column 5, row −3, wholly outside.
    Tensor r = nn::rotate(ones({1, 3, 9}), 90.0, 0.25);
    CHECK(r.data<float>()[0] == 0.25f);
    CHECK(r.data<float>()[4] == doctest::Approx(1.0f));  // the centre column reads the centre row
  }

  TEST_CASE("add_gaussian_noise: statistics, clamping and reproducibility") {
    Tensor gray = full({4, 1, 50, 50}, 0.5, {.dtype = DType::float64});
    Generator g(7);
    Tensor noise = nn::add_gaussian_noise(gray, 0.1, &g) - gray;
    const double m = mean(noise).item(), s = std::sqrt(var(noise).item());
    CHECK(std::abs(m) < 0.005);  // 5 standard errors of the mean, 0.1 / √10000
    CHECK(s == doctest::Approx(0.1).epsilon(0.05));
    Generator g1(3), g2(3), g3(4);
    Tensor a = nn::add_gaussian_noise(gray, 0.2, &g1);
    CHECK(val(a) == val(nn::add_gaussian_noise(gray, 0.2, &g2)));
    CHECK(val(a) != val(nn::add_gaussian_noise(gray, 0.2, &g3)));
    manual_seed(11);
    Tensor d1 = nn::add_gaussian_noise(gray, 0.2);
    manual_seed(11);
    CHECK(val(d1) == val(nn::add_gaussian_noise(gray, 0.2)));
    // Large noise saturates at 0 and 1; none leaves the range.
    auto big = val(nn::add_gaussian_noise(gray, 10.0, &g));
    int at_ends = 0;
    for (double v : big) {
      CHECK((v >= 0 && v <= 1));
      at_ends += v == 0.0 || v == 1.0;
    }
    CHECK(at_ends > 9000);
    CHECK(val(nn::add_gaussian_noise(gray, 0.0, &g)) == val(gray));
    CHECK(nn::add_gaussian_noise(ones({2, 3, 3}), 0.1).dtype() == DType::float32);
  }

  TEST_CASE("adjust_contrast: blend with the mean gray level, by hand and as torchvision") {
    // One channel {0, 0.2, 0.4, 1}: mean 0.4.
    Tensor x = f64({0, 0.2, 0.4, 1}, {1, 1, 2, 2});
    CHECK_VALUES(nn::adjust_contrast(x, 0.5), {0.2, 0.3, 0.4, 0.7}, 1e-12);
    CHECK_VALUES(nn::adjust_contrast(x, 2.0), {0, 0, 0.4, 1}, 1e-12);  // −0.4 and 1.6 clamped
    CHECK_VALUES(nn::adjust_contrast(x, 0.0), {0.4, 0.4, 0.4, 0.4}, 1e-12);
    CHECK_VALUES(nn::adjust_contrast(x, 1.0), val(x), 1e-12);
    // [N, H, W]: each image its own mean.
    CHECK_VALUES(nn::adjust_contrast(f64({0, 1, 0.2, 0.2}, {2, 1, 2}), 0.5), {0.25, 0.75, 0.2, 0.2}, 1e-12);
    // RGB pixels (1, 0, 0) and (0, 1, 0): grays 0.2989 and 0.587, mean 0.44295.
    Tensor rgb = f64({1, 0, 0, 1, 0, 0}, {1, 3, 1, 2});
    CHECK_VALUES(nn::adjust_contrast(rgb, 0.0), std::vector<double>(6, 0.44295), 1e-12);
    CHECK_CLOSE(nn::adjust_contrast(ref("contrast0.6_rgb.x"), 0.6), ref("contrast0.6_rgb.y"), 0, 1e-12);
    CHECK_CLOSE(nn::adjust_contrast(ref("contrast1.7_rgb.x"), 1.7), ref("contrast1.7_rgb.y"), 0, 1e-12);
    CHECK_CLOSE(nn::adjust_contrast(ref("contrast0.5_gray.x"), 0.5), ref("contrast0.5_gray.y"), 0, 1e-12);
  }

  TEST_CASE("adjust_brightness: scale and clamp") {
    CHECK_VALUES(nn::adjust_brightness(f64({0.2, 0.5, 0.9}, {1, 1, 3}), 1.5), {0.3, 0.75, 1}, 1e-12);
    CHECK_VALUES(nn::adjust_brightness(f64({0.2, 0.5, 0.9}, {1, 1, 3}), 0.0), {0, 0, 0}, 0);
    CHECK_CLOSE(nn::adjust_brightness(ref("brightness1.3.x"), 1.3), ref("brightness1.3.y"), 0, 1e-12);
    CHECK(nn::adjust_brightness(ones({1, 2, 2}), 0.5).dtype() == DType::float32);
  }

  TEST_CASE("transforms: bad inputs throw") {
    const Tensor img = ones({1, 1, 2, 2});
    const Tensor int_images = zeros({1, 2, 2}, {.dtype = DType::int64});
    for (const Tensor& bad : {ones({2, 2}), ones({1, 1, 1, 2, 2}), Tensor(), int_images}) {
      CHECK_THROWS_AS(nn::rotate(bad, 10.0), Error);
      CHECK_THROWS_AS(nn::add_gaussian_noise(bad, 0.1), Error);
      CHECK_THROWS_AS(nn::adjust_contrast(bad, 0.5), Error);
      CHECK_THROWS_AS(nn::adjust_brightness(bad, 0.5), Error);
    }
    CHECK_THROWS_WITH_AS(nn::rotate(ones({2, 2}), 10.0), Catch("rotate"), Error);
    CHECK_THROWS_WITH_AS(nn::adjust_contrast(zeros({1, 2, 2}, {.dtype = DType::int64}), 0.5), Catch("float32"), Error);
    CHECK_THROWS_AS(nn::rotate(img, NAN), Error);
    CHECK_THROWS_WITH_AS(nn::add_gaussian_noise(img, -0.1), Catch("sigma >= 0"), Error);
    CHECK_THROWS_WITH_AS(nn::adjust_contrast(img, -1.0), Catch("factor >= 0"), Error);
    CHECK_THROWS_AS(nn::adjust_brightness(img, -0.5), Error);
    CHECK_THROWS_WITH_AS(nn::adjust_contrast(ones({1, 2, 2, 2}), 0.5), Catch("1 or 3 channels"), Error);
  }
}
