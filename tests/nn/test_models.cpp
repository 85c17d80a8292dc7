// The DL@MBL knowledge-extraction exercise's classifiers (nn/models.h) and the image output they are looked at with (figures/):
// shapes, parameter counts, layer names for hooks, a short training run that must learn, and PNGs
// read back with stb_image.
#include <doctest/doctest.h>
#include <stb_image.h>  // the implementation is in libstb

#include <cmath>
#include <filesystem>
#include <fstream>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "autograd/random.h"
#include "nn/checkpoint.h"
#include "nn/losses.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "tests/fixtures/fixtures.h"
#include "figures/colormap.h"
#include "figures/grid.h"
#include "figures/plot.h"
#include "figures/png.h"

using namespace lumen;
using namespace lumen::nn;
using lumen::testing::TempDir;

namespace {

// A 2-class color task: class 0 is red noise, class 1 blue noise (the label is the color, as in
// ColoredMNIST). Returns images [n, 3, 28, 28] and int64 labels [n].
std::pair<Tensor, Tensor> red_or_blue(std::int64_t n, Generator& g) {
  Tensor labels = randint(0, 2, {n}, kCPU, &g);
  Tensor blue = labels.to(DType::float32).reshape({n, 1, 1, 1});
  Tensor color = cat({1.0 - blue, zeros({n, 1, 1, 1}), blue}, 1);  // [n, 3, 1, 1]: red or blue
  return {rand({n, 1, 28, 28}, {}, &g) * color, labels};
}

// Trains model for `steps` Adam steps on fresh batches; returns the mean loss of the first and last 5.
std::pair<double, double> train(Module& model, int steps, Generator& g) {
  Adam opt(model.parameters(), {.lr = 1e-3});
  std::vector<double> losses;
  for (int i = 0; i < steps; ++i) {
    auto [x, y] = red_or_blue(16, g);
    opt.zero_grad();
    Tensor loss = cross_entropy(model(x), y);
    loss.backward();
    opt.step();
    losses.push_back(loss.item());
  }
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) first += losses[i] / 5, last += losses[losses.size() - 1 - i] / 5;
  return {first, last};
}

}  // namespace

TEST_SUITE("nn") {
  TEST_CASE("models: output shapes for a batch") {
    manual_seed(1);
    Tensor x = rand({5, 3, 28, 28});
    DenseModel dense;
    ConvModel cnn;
    CHECK(dense(x).shape() == Shape{5, 4});
    CHECK(cnn(x).shape() == Shape{5, 4});
    CHECK((*make_classifier("dense"))(x).shape() == Shape{5, 4});
    CHECK((*make_classifier("cnn"))(x).shape() == Shape{5, 4});
    CHECK_THROWS_WITH_AS(make_classifier("resnet"), doctest::Contains("expected \"dense\" or \"cnn\""), Error);
  }

  TEST_CASE("models: DenseModel is the exercise's 2352-256-120-84-4 MLP") {
    DenseModel m;
    CHECK(m.num_parameters() == 2352 * 256 + 256 + 256 * 120 + 120 + 120 * 84 + 84 + 84 * 4 + 4);
    CHECK(m.size() == 8);  // flatten, then 4 × (linear, relu) without the last relu
    CHECK(m.find("fc1") == m.fc1);
    CHECK(m.fc1->weight.shape() == Shape{256, 2352});
    CHECK(m.fc4->weight.shape() == Shape{4, 84});
    CHECK(dynamic_cast<ReLU*>(m.find("relu3").get()) != nullptr);
    CHECK(m.state_dict().front().first == "fc1.weight");
  }

  TEST_CASE("models: ConvModel layers are found by name, for Grad-CAM's hooks") {
    manual_seed(2);
    ConvModel m;
    CHECK(dynamic_cast<Conv2d*>(m.find("features.0").get()) != nullptr);
    auto* conv2 = dynamic_cast<Conv2d*>(m.find("features.3").get());
    REQUIRE(conv2 != nullptr);
    CHECK(conv2->weight.shape() == Shape{32, 16, 3, 3});
    CHECK(dynamic_cast<Linear*>(m.find("classifier.1").get())->in_features == 32 * 7 * 7);
    CHECK(m.find("features.9") == nullptr);

    // A hook on the last conv sees its activation map, and it is connected to the logits.
    Tensor activation;
    HookHandle h = m.find("features.3")->register_forward_hook(
        [&](Module&, const Tensor&, const Tensor& out) { activation = out; });
    Tensor logits = m(rand({2, 3, 28, 28}));
    h.remove();
    REQUIRE(activation.defined());
    CHECK(activation.shape() == Shape{2, 32, 14, 14});
    auto g = autograd::grad({logits.select(1, 0).sum()}, {activation});
    CHECK(g[0].shape() == activation.shape());
  }

  TEST_CASE("models: a checkpoint restores the same model") {
    TempDir dir("models");
    manual_seed(3);
    ConvModel a;
    nn::save(a, dir / "cnn.safetensors", {{"model", "cnn"}});
    manual_seed(4);
    ConvModel b;
    nn::load(b, dir / "cnn.safetensors");
    Tensor x = rand({2, 3, 28, 28});
    autograd::NoGradGuard ng;
    CHECK(amax(abs(a(x) - b(x))).item() == 0.0);  // identical weights, identical sums
  }

  TEST_CASE("models: both learn a 2-class color task in 30 Adam steps") {
    manual_seed(5);
    Generator g(6);
    DenseModel dense;
    auto [d0, d1] = train(dense, 30, g);
    INFO("dense loss " << d0 << " -> " << d1);
    CHECK(d1 < 0.5 * d0);
    ConvModel cnn;
    auto [c0, c1] = train(cnn, 30, g);
    INFO("cnn loss " << c0 << " -> " << c1);
    CHECK(c1 < 0.8 * c0);
  }

  TEST_CASE("image: save_png writes a PNG that reads back with the same pixels") {
    TempDir dir("png");
    // RGB [3, 5, 7]: red ramps along x, green is 0.5, blue is out of range (clamped to 1).
    Tensor x = arange(7).to(DType::float32).reshape({1, 1, 7}).expand({1, 5, 7}) / 6.0;
    Tensor rgb = cat({x, full({1, 5, 7}, 0.5), full({1, 5, 7}, 3.0)}, 0);
    const std::string path = dir / "rgb.png";
    figures::save_png(path, rgb);
    CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

    std::ifstream f(path, std::ios::binary);
    char magic[8] = {};
    f.read(magic, 8);
    CHECK(std::string(magic, 8) == std::string("\x89PNG\r\n\x1a\n", 8));

    int w = 0, h = 0, comp = 0;
    unsigned char* px = stbi_load(path.c_str(), &w, &h, &comp, 0);
    REQUIRE(px != nullptr);
    CHECK(w == 7);
    CHECK(h == 5);
    CHECK(comp == 3);
    CHECK(px[(2 * 7 + 6) * 3 + 0] == 255);  // row 2, last column: red = 1
    CHECK(px[(2 * 7 + 3) * 3 + 0] == 128);  // red = 0.5
    CHECK(px[(4 * 7 + 0) * 3 + 1] == 128);
    CHECK(px[(4 * 7 + 0) * 3 + 2] == 255);
    stbi_image_free(px);

    figures::save_png(dir / "gray.png", zeros({4, 9}, {.dtype = DType::float64}));
    px = stbi_load((dir / "gray.png").c_str(), &w, &h, &comp, 0);
    REQUIRE(px != nullptr);
    CHECK((w == 9 && h == 4 && comp == 1));
    stbi_image_free(px);

    CHECK_THROWS_AS(figures::save_png(dir / "no/such/dir.png", rgb), Error);
    CHECK_THROWS_WITH_AS(figures::save_png(path, zeros({2, 4, 4})), doctest::Contains("1 or 3 channels"), Error);
  }

  TEST_CASE("image: make_grid, upscale and the confusion matrix") {
    Tensor imgs = ones({5, 1, 4, 6}) * 0.25;
    Tensor grid = figures::make_grid(imgs, 2, 1, 1.0);  // 3 rows of 2
    CHECK(grid.shape() == Shape{3, 3 * 5 + 1, 2 * 7 + 1});
    auto v = grid.to_vector<float>();
    const std::int64_t H = 16, W = 15;
    CHECK(v[0] == 1.0f);                    // padding
    CHECK(v[2 * H * W + 1 * W + 1] == 0.25f);  // image 0's first pixel, blue channel (gray is replicated)
    CHECK(v[11 * W + 8] == 1.0f);           // the missing 6th image stays padding
    CHECK(figures::make_grid(ones({3, 3, 2, 2}), 8, 0).shape() == Shape{3, 2, 6});

    CHECK(figures::upscale(ones({3, 4, 5}), 3).shape() == Shape{3, 12, 15});
    Tensor small = tensor({0, 1, 2, 3}, {2, 2});
    CHECK(figures::upscale(small, 2).to_vector<float>() ==
          std::vector<float>{0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3});

    Tensor cm = tensor({0.9, 0.1, 0.0, 1.0}, {2, 2});
    Tensor img = figures::render_confusion_matrix(cm, {"0", "1"}, 40);
    REQUIRE(img.dim() == 3);
    CHECK(img.size(0) == 3);
    CHECK(img.size(1) > 2 * 40);
    CHECK(img.size(2) > 2 * 40);
    // The bottom-right cell (value 1) is the darkest color of the map, near its bottom-right corner.
    auto p = img.to_vector<float>();
    const std::int64_t h = img.size(1), w = img.size(2), y = h - 2 - 3, x = w - 2 - 3;
    CHECK(p[y * w + x] == doctest::Approx(figures::blues(1.0)[0]));
    CHECK(p[2 * h * w + y * w + x] == doctest::Approx(figures::blues(1.0)[2]));
    CHECK(figures::blues(0.0)[0] > figures::blues(1.0)[0]);
  }
}
