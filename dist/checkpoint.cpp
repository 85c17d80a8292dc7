#include "dist/checkpoint.h"

#include <exception>

#include "autograd/tensor.h"

namespace lumen::dist {

void on_rank0(ProcessGroup& pg, const std::string& what, const std::function<void()>& write) {
  std::exception_ptr failure;
  if (pg.rank() == 0) {
    try {
      write();
    } catch (...) {
      failure = std::current_exception();
    }
  }
  // Every rank learns the outcome: the broadcast is also the barrier after which the file is complete.
  Tensor failed = full({1}, failure ? 1.0 : 0.0, {.dtype = DType::int64});
  pg.broadcast(failed, 0);
  if (failure) std::rethrow_exception(failure);
  LUMEN_CHECK(failed.item() == 0, "dist::on_rank0", "rank 0 could not write ", what, " (its error is in its output)");
}

void save_checkpoint(const nn::Module& m, const std::string& path, const nn::Metadata& metadata, ProcessGroup* pg) {
  on_rank0(pg ? *pg : world(), "the checkpoint " + path, [&] { nn::save(m, path, metadata); });
}

}  // namespace lumen::dist
