#include "nn/mnist.h"

#include <filesystem>

#include "autograd/ops.h"
#include "nn/idx.h"

namespace lumen::nn {
namespace {

// dir/name, or dir/name.gz when only the compressed file exists.
std::string find_idx(const std::string& dir, const std::string& name, const char* op) {
  namespace fs = std::filesystem;
  fs::path plain = fs::path(dir) / name;
  if (fs::exists(plain)) return plain.string();
  fs::path gz = fs::path(dir) / (name + ".gz");
  if (fs::exists(gz)) return gz.string();
  lumen::detail::fail(op, "no '", name, "' or '", name, ".gz' in '", dir,
               "' (scripts/get_data.sh writes data/mnist/train-* and links data/fashion-mnist)");
}

MnistData load_pair(const std::string& dir, bool train, const char* op) {
  const std::string set = train ? "train" : "t10k";
  const std::string images_path = find_idx(dir, set + "-images-idx3-ubyte", op);
  const std::string labels_path = find_idx(dir, set + "-labels-idx1-ubyte", op);
  MnistData d{read_idx_images(images_path), read_idx_labels(labels_path)};
  LUMEN_CHECK(d.images.size(0) == d.labels.size(0), op, "'", images_path, "' holds ", d.images.size(0),
              " images but '", labels_path, "' holds ", d.labels.size(0), " labels");
  return d;
}

}  // namespace

MnistData load_mnist(const std::string& dir, bool train) { return load_pair(dir, train, "load_mnist"); }

MnistData load_fashion_mnist(const std::string& dir, bool train) {
  return load_pair(dir, train, "load_fashion_mnist");
}

MnistSplit split_mnist(const MnistData& data, std::int64_t n_test) {
  const std::int64_t n = data.size();
  LUMEN_CHECK(n_test >= 0 && n_test <= n, "split_mnist", "expected 0 <= n_test <= ", n, ", got ", n_test);
  const std::int64_t n_train = n - n_test;
  return {{data.images.narrow(0, 0, n_train), data.labels.narrow(0, 0, n_train)},
          {data.images.narrow(0, n_train, n_test), data.labels.narrow(0, n_train, n_test)}};
}

}  // namespace lumen::nn
