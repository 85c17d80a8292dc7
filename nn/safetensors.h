#pragma once
// safetensors, the format PyTorch and Hugging Face users share weights in (huggingface/safetensors):
//   8 bytes     N, the header length, a little-endian uint64
//   N bytes     a JSON object, padded with spaces:
//               {"__metadata__": {"key": "value", ...},          (optional, strings only)
//                "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
//   the rest    the tensors' raw little-endian bytes, row-major; offsets are relative to this data
//               section, and the tensors tile it exactly: no gaps, no overlaps, nothing left over.
// Unlike pickle-based checkpoints, loading runs no code: it is a header and raw bytes.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace lumen::nn {

// Writes tensors (float32 -> F32, float64 -> F64, int64 -> I64; copied to CPU and made contiguous,
// in the order given) and metadata through an AtomicFile (kernels/core/atomic_file.h): a crash or a
// failed write mid-save never leaves a half-written checkpoint. Names must be unique and non-empty.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Every tensor of the file, by name, as new CPU tensors. F32, F64 and I64 load as float32, float64
// and int64; F16 and BF16 (common in shared weights) are widened to float32, and I32, I16, I8, U8
// and BOOL to int64. Other dtypes (F8 variants, U16...) are refused. Throws lumen::Error
// naming the file (and the tensor, where there is one) on anything malformed: a short file, a bad
// header length, invalid JSON, an unknown dtype, a shape that does not match its byte range, or
// offsets that are out of range, overlap or leave gaps.
std::map<std::string, Tensor> load_safetensors(const std::string& path);

// Just the "__metadata__" strings (empty if absent); reads only the header.
std::map<std::string, std::string> read_safetensors_metadata(const std::string& path);

}  // namespace lumen::nn
