// Data loading: IDX files, MNIST directories, ColoredMNIST and the DataLoader. Everything runs on
// committed fixtures or generated data; the real-data checks at the end only run after
// scripts/get_data.sh and say so when skipped.
#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "autograd/random.h"
#include "nn/colored_mnist.h"
#include "nn/dataloader.h"
#include "nn/idx.h"
#include "nn/mnist.h"
#include "tests/fixtures/fixtures.h"

using namespace lumen;
using namespace lumen::nn;
using lumen::testing::fixture;
using lumen::testing::TempDir;
using lumen::testing::write_bytes;
using Catch = doctest::Contains;

namespace {

// The bytes of tests/fixtures/tiny-images-idx3-ubyte: 3 images of 2x2 ubyte pixels.
const std::string kTinyHeader("\0\0\x08\x03\0\0\0\x03\0\0\0\x02\0\0\0\x02", 16);
const std::vector<std::int64_t> kTinyPixels = {0, 255, 128, 1, 10, 20, 30, 40, 255, 254, 0, 51};
std::string tiny_idx() {
  std::string s = kTinyHeader;
  for (std::int64_t v : kTinyPixels) s += static_cast<char>(v);
  return s;
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

std::vector<std::int64_t> ints(const Tensor& t) { return t.to_vector<std::int64_t>(); }
std::vector<float> floats(const Tensor& t) { return t.to_vector<float>(); }

}  // namespace

TEST_SUITE("data") {
  // ---------------------------------------------------------------- IDX
  TEST_CASE("idx: the committed fixtures read back exactly") {
    Tensor raw = read_idx(fixture("tiny-images-idx3-ubyte"));
    CHECK(raw.dtype() == DType::int64);
    CHECK(raw.shape() == Shape{3, 2, 2});
    CHECK(ints(raw) == kTinyPixels);

    Tensor images = read_idx_images(fixture("tiny-images-idx3-ubyte"));
    CHECK(images.dtype() == DType::float32);
    CHECK(images.shape() == Shape{3, 2, 2});
    std::vector<float> want;
    for (std::int64_t v : kTinyPixels) want.push_back(static_cast<float>(v) / 255.0f);
    CHECK(floats(images) == want);

    Tensor labels = read_idx_labels(fixture("tiny-labels-idx1-ubyte.gz"));  // written by Python's gzip
    CHECK(labels.dtype() == DType::int64);
    CHECK(ints(labels) == std::vector<std::int64_t>{7, 0, 9});

    Tensor f = read_idx(fixture("tiny-floats-idx2-float"));  // big-endian float32
    CHECK(f.dtype() == DType::float32);
    CHECK(f.shape() == Shape{2, 3});
    CHECK(floats(f) == std::vector<float>{1.5f, -2.25f, 0.0f, 0.375f, 1024.5f, -7.0f});
  }

  TEST_CASE("idx: write then read round trips every type, plain and gzip") {
    TempDir dir("idx");
    Generator gen(7);
    Tensor bytes = randint(0, 256, {4, 5, 6}, kCPU, &gen);
    Tensor signed_small = randint(-128, 128, {50}, kCPU, &gen);
    Tensor shorts = randint(-32768, 32768, {7, 3}, kCPU, &gen);
    Tensor big = tensor_from({-2147483648LL, 2147483647LL, 0, -1}, {2, 2});
    Tensor f32 = randn({3, 4}, {}, &gen);
    Tensor f64 = randn({2, 2, 2}, {.dtype = DType::float64}, &gen);
    for (const char* ext : {"", ".gz"}) {
      CAPTURE(ext);
      const std::string p = dir / (std::string("t") + ext);
      write_idx(p, bytes, IdxType::u8);
      CHECK(ints(read_idx(p)) == ints(bytes));
      CHECK(read_idx(p).shape() == bytes.shape());
      write_idx(p, signed_small, IdxType::i8);
      CHECK(ints(read_idx(p)) == ints(signed_small));
      write_idx(p, shorts, IdxType::i16);
      CHECK(ints(read_idx(p)) == ints(shorts));
      write_idx(p, big, IdxType::i32);
      CHECK(ints(read_idx(p)) == ints(big));
      write_idx(p, f32, IdxType::f32);
      CHECK(floats(read_idx(p)) == floats(f32));
      write_idx(p, f64, IdxType::f64);
      CHECK(read_idx(p).dtype() == DType::float64);
      CHECK(read_idx(p).to_vector<double>() == f64.to_vector<double>());
    }
    // ".gz" really compresses (gzip magic 1f 8b), and a plain file is byte-for-byte IDX.
    write_idx(dir / "plain", tensor_from(kTinyPixels, {3, 2, 2}), IdxType::u8);
    CHECK(lumen::testing::read_bytes(dir / "plain") == tiny_idx());
    write_idx(dir / "c.gz", bytes, IdxType::u8);
    CHECK(lumen::testing::read_bytes(dir / "c.gz").substr(0, 2) == "\x1f\x8b");
    CHECK_FALSE(std::filesystem::exists(dir / "plain.tmp." + std::to_string(::getpid())));
  }

  TEST_CASE("idx: bad files are clear errors naming the file") {
    TempDir dir("idx-bad");
    const std::string good = tiny_idx();
    auto file = [&](const std::string& name, const std::string& bytes) {
      write_bytes(dir / name, bytes);
      return dir / name;
    };
    std::string p = file("short", good.substr(0, good.size() - 2));
    CHECK_THROWS_WITH_AS(read_idx(p), Catch("short' is truncated: its header promises shape [3, 2, 2] of ubyte = "
                                            "12 bytes of data, found 10"),
                         Error);
    write_gz(dir / "short.gz", good.substr(0, good.size() - 1));
    CHECK_THROWS_WITH_AS(read_idx_images(dir / "short.gz"), Catch("found 11"), Error);
    p = file("long", good + "xyz");
    CHECK_THROWS_WITH_AS(read_idx(p), Catch("long' is longer than its header says: shape [3, 2, 2] of ubyte = "
                                            "12 bytes of data, found 15"),
                         Error);
    p = file("header", good.substr(0, 9));
    CHECK_THROWS_WITH_AS(read_idx(p), Catch("truncated inside its header: 3 dims need 12 bytes, found 5"), Error);
    p = file("tiny", good.substr(0, 3));
    CHECK_THROWS_WITH_AS(read_idx(p), Catch("too short for an IDX header"), Error);
    std::string bad = good;
    bad[0] = 1;
    CHECK_THROWS_WITH_AS(read_idx(file("magic", bad)), Catch("magic' is not an IDX file: expected magic bytes 00 00"),
                         Error);
    bad = good;
    bad[2] = 0x0A;
    CHECK_THROWS_WITH_AS(read_idx(file("type", bad)), Catch("unknown IDX element type 0xa"), Error);
    bad = good;
    bad[3] = 0;
    CHECK_THROWS_WITH_AS(read_idx(file("ndim0", bad)), Catch("expected 1 to 16 dims, got 0"), Error);
    // A well-formed file of the wrong kind.
    CHECK_THROWS_WITH_AS(read_idx_images(fixture("tiny-labels-idx1-ubyte.gz")),
                         Catch("expected 3 dims [N, H, W] of images, got 1 dims [3]"), Error);
    CHECK_THROWS_WITH_AS(read_idx_labels(fixture("tiny-images-idx3-ubyte")),
                         Catch("expected 1 dim [N] of labels, got 3 dims [3, 2, 2]"), Error);
    CHECK_THROWS_WITH_AS(read_idx_labels(fixture("tiny-floats-idx2-float")), Catch("expected 1 dim"), Error);
    // A header claiming an absurd size fails cleanly instead of allocating it.
    bad = std::string("\0\0\x08\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 16);
    CHECK_THROWS_WITH_AS(read_idx(file("huge", bad)), Catch("implausibly large"), Error);
    // Issue 12, item 1: a 0 dim followed by huge ones is no data, but its strides overflow int64 (before,
    // the cap stopped checking at the 0 and the tensor got wrapped strides).
    bad = std::string("\0\0\x08\x03\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff", 16);
    CHECK_THROWS_WITH_AS(read_idx(file("zero-then-huge", bad)),
                         Catch("zero-then-huge': header shape [0, 4294967295, 4294967295]... is implausibly large"), Error);
    bad = std::string("\0\0\x08\x03\0\0\0\0\0\0\x04\0\0\0\x04\0", 16);  // [0, 1024, 1024]: fine
    CHECK(read_idx(file("zero", bad)).shape() == Shape{0, 1024, 1024});
    // Not gzip data after a gzip header: zlib's error is passed on.
    CHECK_THROWS_WITH_AS(read_idx(file("corrupt.gz", std::string("\x1f\x8b\x08\x00\0\0\0\0\0\x03garbage!", 18))),
                         Catch("corrupt.gz"), Error);
    CHECK_THROWS_WITH_AS(read_idx(dir / "missing"), Catch("cannot open"), Error);
    CHECK_THROWS_WITH_AS(write_idx(dir / "w", tensor({1.5}, {1}), IdxType::u8), Catch("is not a valid ubyte"), Error);
    CHECK_THROWS_WITH_AS(write_idx(dir / "w", tensor_from({256}, {1}), IdxType::u8), Catch("element 0 = 256"), Error);
    CHECK_THROWS_WITH_AS(write_idx(dir / "w", scalar_tensor(1.0), IdxType::f32), Catch("1 to 16 dims"), Error);
  }

  // ---------------------------------------------------------------- MNIST directories
  TEST_CASE("mnist: loads original-style file names, plain or .gz, and splits") {
    TempDir dir("mnist");
    Generator gen(3);
    Tensor pixels = randint(0, 256, {10, 28, 28}, kCPU, &gen);
    Tensor labels = randint(0, 10, {10}, kCPU, &gen);
    write_idx(dir / "train-images-idx3-ubyte.gz", pixels, IdxType::u8);
    write_idx(dir / "train-labels-idx1-ubyte", labels, IdxType::u8);
    MnistData d = load_mnist(dir.path.string());
    CHECK(d.size() == 10);
    CHECK(d.images.shape() == Shape{10, 28, 28});
    CHECK(d.images.dtype() == DType::float32);
    CHECK(ints(d.labels) == ints(labels));
    std::vector<float> want;
    for (std::int64_t v : ints(pixels)) want.push_back(static_cast<float>(v) / 255.0f);
    CHECK(floats(d.images) == want);

    MnistSplit s = split_mnist(d, 3);
    CHECK(s.train.size() == 7);
    CHECK(s.test.size() == 3);
    const std::vector<std::int64_t> all = ints(labels);
    CHECK(ints(s.test.labels) == std::vector<std::int64_t>(all.begin() + 7, all.end()));
    CHECK(floats(s.test.images.select(0, 0)) == floats(d.images.select(0, 7)));
    CHECK_THROWS_WITH_AS(split_mnist(d, 11), Catch("expected 0 <= n_test <= 10, got 11"), Error);

    CHECK_THROWS_WITH_AS(load_mnist(dir.path.string(), /*train=*/false),
                         Catch("no 't10k-images-idx3-ubyte' or 't10k-images-idx3-ubyte.gz'"), Error);
    write_idx(dir / "t10k-images-idx3-ubyte", pixels, IdxType::u8);
    write_idx(dir / "t10k-labels-idx1-ubyte.gz", labels.narrow(0, 0, 5), IdxType::u8);
    CHECK_THROWS_WITH_AS(load_fashion_mnist(dir.path.string(), false), Catch("holds 10 images but"), Error);
  }

  // ---------------------------------------------------------------- ColoredMNIST
  TEST_CASE("colored mnist: the colormaps match matplotlib's") {
    auto near = [](std::array<float, 3> a, std::array<float, 3> b) {
      for (int i = 0; i < 3; ++i)
        if (std::abs(a[i] - b[i]) > 1e-6f) return false;
      return true;
    };
    CHECK(near(colormap_color(0, 0.0f), {1, 0, 1}));  // spring: magenta to yellow
    CHECK(near(colormap_color(0, 1.0f), {1, 1, 0}));
    CHECK(near(colormap_color(1, 0.0f), {0, 0.5f, 0.4f}));  // summer: green to yellow
    CHECK(near(colormap_color(1, 1.0f), {1, 1, 0.4f}));
    CHECK(near(colormap_color(2, 0.0f), {1, 0, 0}));  // autumn: red to yellow
    CHECK(near(colormap_color(2, 1.0f), {1, 1, 0}));
    CHECK(near(colormap_color(3, 0.0f), {0, 0, 1}));  // winter: blue to green
    CHECK(near(colormap_color(3, 1.0f), {0, 1, 0.5f}));
    CHECK(near(colormap_color(1, 0.25f), {0.25f, 0.625f, 0.4f}));
    CHECK_THROWS_WITH_AS(colormap_color(4, 0.5f), Catch("expected a class in 0..3, got 4"), Error);
  }

  TEST_CASE("colored mnist: each image is its digit times its class's color at t") {
    const std::int64_t n = 4000;
    // Gray 4x4 "digits": pixel 0 is 1.0, pixel 1 is 0.5, the rest 0.
    Tensor gray = zeros({n, 4, 4});
    for (std::int64_t i = 0; i < n; ++i) {
      gray.data<float>()[i * 16] = 1.0f;
      gray.data<float>()[i * 16 + 1] = 0.5f;
    }
    std::vector<std::int64_t> digit_values(n);
    for (std::int64_t i = 0; i < n; ++i) digit_values[i] = i % 10;
    ColoredMnist cm = make_colored_mnist(gray, tensor_from(digit_values), 42);
    CHECK(cm.size() == n);
    CHECK(cm.images.shape() == Shape{n, 3, 4, 4});
    CHECK(cm.t.dtype() == DType::float32);
    CHECK(ints(cm.digits) == digit_values);

    const float* img = cm.images.data<float>();
    const std::int64_t* c = cm.labels.data<std::int64_t>();
    const float* t = cm.t.data<float>();
    std::array<std::int64_t, 4> counts{};
    bool colors_ok = true, zeros_ok = true;
    double t_sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      REQUIRE((c[i] >= 0 && c[i] <= 3));
      REQUIRE((t[i] >= 0.0f && t[i] <= 1.0f));
      ++counts[c[i]];
      t_sum += t[i];
      // The formulas again, written out per class, in double.
      const double ti = t[i];
      const std::array<double, 3> rgb = c[i] == 0   ? std::array<double, 3>{1, ti, 1 - ti}
                                        : c[i] == 1 ? std::array<double, 3>{ti, 0.5 + 0.5 * ti, 0.4}
                                        : c[i] == 2 ? std::array<double, 3>{1, ti, 0}
                                                    : std::array<double, 3>{0, ti, 1 - 0.5 * ti};
      for (int ch = 0; ch < 3; ++ch) {
        const float* plane = img + (i * 3 + ch) * 16;
        colors_ok &= std::abs(plane[0] - rgb[ch]) < 1e-6 && std::abs(plane[1] - 0.5 * rgb[ch]) < 1e-6;
        for (int p = 2; p < 16; ++p) zeros_ok &= plane[p] == 0.0f;
      }
    }
    CHECK(colors_ok);
    CHECK(zeros_ok);
    // Uniform classes: each count within 4 standard deviations (27) of n/4.
    for (std::int64_t k : counts) CHECK(std::abs(k - n / 4) < 110);
    CHECK(std::abs(t_sum / n - 0.5) < 0.02);
  }

  TEST_CASE("colored mnist: reproducible from the seed") {
    Generator gen(5);
    Tensor gray = rand({50, 28, 28}, {}, &gen);
    Tensor digits = randint(0, 10, {50}, kCPU, &gen);
    ColoredMnist a = make_colored_mnist(gray, digits, 1), b = make_colored_mnist(gray, digits, 1);
    ColoredMnist c = make_colored_mnist(MnistData{gray, digits}, 2);
    CHECK(ints(a.labels) == ints(b.labels));
    CHECK(floats(a.t) == floats(b.t));
    CHECK(floats(a.images) == floats(b.images));
    CHECK(ints(a.labels) != ints(c.labels));
    CHECK(floats(a.t) != floats(c.t));
    CHECK(ints(c.digits) == ints(digits));
    CHECK_THROWS_WITH_AS(make_colored_mnist(gray, digits.narrow(0, 0, 3), 1), Catch("expected digit labels [50]"),
                         Error);
    CHECK_THROWS_WITH_AS(make_colored_mnist(gray.flatten(1), digits, 1), Catch("expected float32 gray images"),
                         Error);
  }

  // ---------------------------------------------------------------- DataLoader
  TEST_CASE("dataloader: every sample once per epoch, x and y rows together") {
    const std::int64_t n = 10;
    // Row i of x is (i, 100 + i, 200 + i); y[i] = i.
    std::vector<double> xv;
    for (std::int64_t i = 0; i < n; ++i) xv.insert(xv.end(), {double(i), 100.0 + i, 200.0 + i});
    Tensor x = tensor(xv, {n, 3});
    Tensor y = arange(n, {.dtype = DType::int64});
    for (bool drop_last : {false, true}) {
      CAPTURE(drop_last);
      DataLoader loader(x, y, {.batch_size = 4, .drop_last = drop_last, .seed = 9});
      CHECK(loader.size() == (drop_last ? 2 : 3));
      for (int epoch = 0; epoch < 3; ++epoch) {
        std::vector<std::int64_t> seen, sizes;
        for (const Batch& b : loader) {
          sizes.push_back(b.x.size(0));
          CHECK(b.x.shape() == Shape{b.x.size(0), 3});
          CHECK(b.y.shape() == Shape{b.x.size(0)});
          CHECK(ints(b.indices) == ints(b.y));
          std::vector<float> xs = floats(b.x);
          for (std::int64_t r = 0; r < b.x.size(0); ++r) {
            const std::int64_t i = ints(b.y)[r];
            CHECK(xs[r * 3] == float(i));
            CHECK(xs[r * 3 + 2] == float(200 + i));
            seen.push_back(i);
          }
        }
        CHECK(sizes == (drop_last ? std::vector<std::int64_t>{4, 4} : std::vector<std::int64_t>{4, 4, 2}));
        std::set<std::int64_t> unique(seen.begin(), seen.end());
        CHECK(unique.size() == seen.size());  // no sample twice
        CHECK(seen.size() == std::size_t(drop_last ? 8 : 10));
      }
      CHECK(loader.epochs_started() == 3);
    }
  }

  TEST_CASE("dataloader: seeded shuffling, different every epoch, off when asked") {
    const std::int64_t n = 100;
    Tensor x = rand({n, 2, 3});
    auto orders = [&](DataLoaderOptions opt, int epochs) {
      DataLoader loader(x, opt);
      std::vector<std::vector<std::int64_t>> out;
      for (int e = 0; e < epochs; ++e) {
        std::vector<std::int64_t> order;
        for (const Batch& b : loader) {
          CHECK_FALSE(b.y.defined());
          for (std::int64_t i : ints(b.indices)) order.push_back(i);
        }
        out.push_back(order);
      }
      return out;
    };
    auto a = orders({.batch_size = 16, .seed = 1}, 3), b = orders({.batch_size = 16, .seed = 1}, 3);
    auto c = orders({.batch_size = 16, .seed = 2}, 1);
    CHECK(a == b);           // same seed, same sequence of epochs
    CHECK(a[0] != a[1]);     // a new order each epoch
    CHECK(a[1] != a[2]);
    CHECK(a[0] != c[0]);     // another seed, another order
    std::vector<std::int64_t> sorted = a[0], identity(n);
    std::sort(sorted.begin(), sorted.end());
    std::iota(identity.begin(), identity.end(), 0);
    CHECK(sorted == identity);
    const std::vector<std::vector<std::int64_t>> unshuffled = {identity, identity};
    CHECK(orders({.batch_size = 16, .shuffle = false}, 2) == unshuffled);

    // Batches hold the rows themselves (contiguous copies), whole-sample shapes preserved.
    DataLoader loader(x, {.batch_size = 200});
    CHECK(loader.size() == 1);
    for (const Batch& batch : loader) {
      CHECK(batch.x.shape() == Shape{n, 2, 3});
      CHECK(batch.x.is_contiguous());
      const std::int64_t first = ints(batch.indices)[0];
      CHECK(floats(batch.x.select(0, 0)) == floats(x.select(0, first)));
    }
    CHECK(DataLoader(x, {.batch_size = 10, .drop_last = true}).size() == 10);
    CHECK(DataLoader(x, {.batch_size = 200, .drop_last = true}).size() == 0);
    CHECK_THROWS_WITH_AS(DataLoader(x, {.batch_size = 0}), Catch("expected batch_size >= 1, got 0"), Error);
    CHECK_THROWS_WITH_AS(DataLoader(x, arange(5), {}), Catch("size(0) == 100"), Error);
  }

  // ---------------------------------------------------------------- the real data, when downloaded
  TEST_CASE("real MNIST and Fashion-MNIST from scripts/get_data.sh") {
    const auto mnist_dir = lumen::testing::data_dir("mnist");
    if (!std::filesystem::exists(mnist_dir / "train-images-idx3-ubyte.gz")) {
      MESSAGE("skipped: no " << mnist_dir.string() << " (run scripts/get_data.sh)");
    } else {
      MnistData d = load_mnist(mnist_dir.string());
      REQUIRE(d.size() == 10000);
      std::array<std::int64_t, 10> counts{};
      for (std::int64_t l : ints(d.labels)) ++counts.at(l);
      // The first 10,000 digits of MNIST's training set.
      CHECK(counts == std::array<std::int64_t, 10>{1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978});
      std::vector<float> px = floats(d.images);
      CHECK(*std::min_element(px.begin(), px.end()) == 0.0f);
      CHECK(*std::max_element(px.begin(), px.end()) == 1.0f);
      const double mean = std::accumulate(px.begin(), px.end(), 0.0) / px.size();
      CHECK(mean == doctest::Approx(0.13).epsilon(0.1));  // MNIST's well-known mean pixel, 0.1307
      // The interleaved file order puts every class in the last 2,000 in proportion.
      MnistSplit s = split_mnist(d);
      CHECK(s.train.size() == 8000);
      std::array<std::int64_t, 10> test_counts{};
      for (std::int64_t l : ints(s.test.labels)) ++test_counts[l];
      for (int k = 0; k < 10; ++k) CHECK(std::abs(test_counts[k] - counts[k] / 5) <= 2);
    }
    const auto fashion_dir = lumen::testing::data_dir("fashion-mnist");
    if (!std::filesystem::exists(fashion_dir / "t10k-images-idx3-ubyte.gz")) {
      MESSAGE("skipped: no " << fashion_dir.string() << " (run scripts/get_data.sh)");
    } else {
      MnistData test = load_fashion_mnist(fashion_dir.string(), /*train=*/false);
      CHECK(test.images.shape() == Shape{10000, 28, 28});
      std::array<std::int64_t, 10> counts{};
      for (std::int64_t l : ints(test.labels)) ++counts.at(l);
      for (std::int64_t k : counts) CHECK(k == 1000);
    }
  }
}
