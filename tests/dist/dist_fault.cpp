// A job with a broken rank, for check_fault.py: the other rank must end with a clear message within a
// bounded time, not wait forever.
//   dist_fault hang   rank 1 stays alive but never joins the barrier rank 0 waits in
//   dist_fault die    rank 1 exits at once; rank 0 waits in an all-reduce
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "autograd/tensor.h"
#include "dist/process_group.h"

int main(int argc, char** argv) {
  if (argc != 2 || (std::strcmp(argv[1], "hang") != 0 && std::strcmp(argv[1], "die") != 0)) {
    std::fprintf(stderr, "usage: dist_fault hang|die (under mpirun -np 2)\n");
    return 2;
  }
  auto pg = lumen::dist::init();
  const bool hang = std::strcmp(argv[1], "hang") == 0;
  if (pg->rank() == 1) {
    if (hang) sleep(600);
    _exit(7);
  }
  lumen::Tensor t = lumen::full({4}, 1.0);
  if (hang)
    pg->barrier();
  else
    pg->all_reduce(t);
  std::printf("rank 0 finished a collective its peer never joined\n");
  return 0;
}
