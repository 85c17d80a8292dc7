#pragma once
// Checkpoints of a data-parallel job: the replicas are equal, so rank 0 alone writes (nn::save: a
// temporary file, fsync, rename, so a crash never leaves half a checkpoint), and every rank waits until
// the file is complete. Every rank resumes by loading the same file (nn::load).
#include <functional>
#include <string>

#include "dist/process_group.h"
#include "nn/checkpoint.h"

namespace lumen::dist {

// Runs write() on rank 0 only, then tells every rank whether it succeeded: on failure every rank throws
// a lumen::Error (rank 0's own message there, "rank 0 could not write <what>" elsewhere), so no rank is
// left waiting for a rank that gave up.
void on_rank0(ProcessGroup& pg, const std::string& what, const std::function<void()>& write);

// nn::save(m, path, metadata) on rank 0 of pg (default: world()), as on_rank0.
void save_checkpoint(const nn::Module& m, const std::string& path, const nn::Metadata& metadata = {},
                     ProcessGroup* pg = nullptr);

}  // namespace lumen::dist
