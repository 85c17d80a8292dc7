#pragma once
// IDX files, the format MNIST and Fashion-MNIST ship in:
//   bytes 0-1  zero (the magic)
//   byte  2    element type: 0x08 ubyte, 0x09 sbyte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
//   byte  3    number of dims
//   then one big-endian uint32 per dim, then prod(dims) big-endian elements, row-major.
// Reads and writes go through zlib, so every path may be plain or gzip-compressed (".gz").
#include <cstdint>
#include <string>

#include "autograd/tensor.h"

namespace lumen::nn {

enum class IdxType : std::uint8_t { u8 = 0x08, i8 = 0x09, i16 = 0x0B, i32 = 0x0C, f32 = 0x0D, f64 = 0x0E };

// The raw values with the file's shape: int64 for the integer types (lossless for every one of them),
// float32 for float, float64 for double. Throws lumen::Error naming the file on a bad magic, unknown
// type, 0 or more than 16 dims, or data that is shorter or longer than the header promises.
Tensor read_idx(const std::string& path);

// Images: a 3-dim file [N, H, W] as float32. ubyte pixels are scaled to [0, 1] (v / 255); float and
// double pixels are returned as stored.
Tensor read_idx_images(const std::string& path);

// Labels: a 1-dim integer file [N] as int64.
Tensor read_idx_labels(const std::string& path);

// Writes t (any dtype, any device) as `type`; compressed when path ends in ".gz". Integer types
// require integer values in their range (ubyte: 0..255). Written through an AtomicFile
// (kernels/core/atomic_file.h), so a reader never sees a half-written file.
void write_idx(const std::string& path, const Tensor& t, IdxType type);

}  // namespace lumen::nn
