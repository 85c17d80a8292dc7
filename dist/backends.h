#pragma once
// The backends behind dist::init (process_group.cpp), each in its own file and built only where its
// library is: mpi_group.cpp (LUMEN_WITH_MPI), nccl_group.cpp (LUMEN_WITH_NCCL).
#include <cstddef>
#include <memory>

#include "dist/process_group.h"

namespace lumen::dist::detail {

std::shared_ptr<ProcessGroup> make_single_group(double timeout_s);
#ifdef LUMEN_WITH_MPI
std::shared_ptr<ProcessGroup> make_mpi_group(double timeout_s);
#endif
#ifdef LUMEN_WITH_NCCL
// One GPU per rank (rank % device count), the NCCL communicator's id sent over MPI.
std::shared_ptr<ProcessGroup> make_nccl_group(double timeout_s);
#endif

// The checks every backend makes on a collective's tensor: defined, contiguous, a supported dtype.
void check_tensor(const char* op, const Tensor& t);
// all_reduce: check_tensor, and no mean of integers.
void check_reduce(const Tensor& t, Reduce op);
// Throws unless 0 <= root < size.
void check_root(const char* op, int root, int size);
std::size_t nbytes(const Tensor& t);
// The message of a collective that waited past the timeout (then the backend ends the job).
void report_timeout(int rank, int size, const char* op, std::size_t bytes, double timeout_s);
// all_gather/gather: the other dims of every rank's rows must agree with t's (sizes: ranks' shapes).
Shape stacked_shape(const char* op, const Tensor& t, std::int64_t total_rows);

}  // namespace lumen::dist::detail
