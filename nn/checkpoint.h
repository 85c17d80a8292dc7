#pragma once
// Checkpoints: a module's state_dict in a safetensors file (nn/safetensors.h), the format PyTorch and
// Hugging Face use, so a lumen checkpoint opens in Python (safetensors.torch.load_file) and a PyTorch
// state_dict saved with safetensors loads here when the module's names and shapes agree.
#include <map>
#include <string>

#include "nn/module.h"

namespace lumen::nn {

// Writes m.state_dict() (parameters and buffers, copied to the CPU) plus optional string metadata.
void save(const Module& m, const std::string& path, const std::map<std::string, std::string>& metadata = {});
// Loads a file written by save() into m via load_state_dict: missing, unexpected (when strict) and
// mis-shaped tensors are reported by name, with the file's path.
void load(Module& m, const std::string& path, bool strict = true);

}  // namespace lumen::nn
