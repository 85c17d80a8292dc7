#pragma once
// Checkpoints: a module's state_dict in a safetensors file (nn/safetensors.h), the format PyTorch and
// Hugging Face use, so a lumen checkpoint opens in Python (safetensors.torch.load_file) and a PyTorch
// state_dict saved with safetensors loads here when the module's names and shapes agree.
//
// Metadata (strings) is read back with the checks below: a checkpoint is a file from anywhere, and a
// number in it (an epoch, a size, a seed) must not decide how long a run loops or how much it allocates
// before it has been checked against what the run expects.
#include <cstdint>
#include <map>
#include <string>

#include "nn/module.h"

namespace lumen::nn {

using Metadata = std::map<std::string, std::string>;

// Writes m.state_dict() (parameters and buffers, copied to the CPU) plus optional string metadata.
void save(const Module& m, const std::string& path, const Metadata& metadata = {});
// Loads a file written by save() into m via load_state_dict: missing, unexpected (when strict) and
// mis-shaped tensors are reported by name, with the file's path.
void load(Module& m, const std::string& path, bool strict = true);

// meta[key] of the checkpoint at path; lumen::Error "<op>: checkpoint '<path>' has no metadata '<key>'"
// when it is absent.
const std::string& metadata_text(const char* op, const Metadata& meta, const std::string& key, const std::string& path);
// meta[key] as an integer in [min, max], written in decimal with nothing around it ("12", "-3"; not
// "12abc", " 12", "0x0c" or "1e3"). Errors name op, the file, the field, its text and the range.
std::int64_t metadata_int(const char* op, const Metadata& meta, const std::string& key, const std::string& path,
                          std::int64_t min, std::int64_t max);
// meta[key] as a seed or a random stream offset: every value of 0 .. 2^64 - 1, in decimal, no sign.
std::uint64_t metadata_uint64(const char* op, const Metadata& meta, const std::string& key, const std::string& path);

}  // namespace lumen::nn
