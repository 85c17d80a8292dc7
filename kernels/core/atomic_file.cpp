#include "kernels/core/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "kernels/core/error.h"

namespace lumen {
namespace {

// ---- the temporary files being written, for the signal handler. A handler may only touch lock-free
// atomics and fixed buffers (no allocation, no locks), hence a fixed table; a save that finds it full
// is still atomic, just not cleaned up on a signal (the next save removes its leftover).
enum SlotState : int { kFree, kFilling, kLive };
struct Slot {
  std::atomic<int> state{kFree};
  char path[4096];
};
Slot g_slots[16];
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");

extern "C" void unlink_in_flight(int sig) {
  for (Slot& s : g_slots)
    if (s.state.load() == kLive) ::unlink(s.path);
  // SA_RESETHAND has restored the default action: the signal, raised again, ends the process as it
  // would have without us.
  ::raise(sig);
}

// Installs the handler for the signals whose action is the default (the process would die mid-save).
// A program with its own handler keeps it: it may mean to finish the save, so nothing is unlinked.
void install_handlers() {
  for (int sig : {SIGINT, SIGTERM}) {
    struct sigaction current {};
    if (::sigaction(sig, nullptr, &current) != 0) continue;
    if ((current.sa_flags & SA_SIGINFO) || current.sa_handler != SIG_DFL) continue;
    struct sigaction ours {};
    ours.sa_handler = unlink_in_flight;
    ours.sa_flags = SA_RESETHAND;
    sigemptyset(&ours.sa_mask);
    ::sigaction(sig, &ours, nullptr);
  }
}

int register_in_flight(const std::string& tmp) {
  if (tmp.size() >= sizeof(Slot::path)) return -1;
  for (int i = 0; i < static_cast<int>(std::size(g_slots)); ++i) {
    int expected = kFree;
    if (!g_slots[i].state.compare_exchange_strong(expected, kFilling)) continue;
    std::memcpy(g_slots[i].path, tmp.c_str(), tmp.size() + 1);
    g_slots[i].state.store(kLive);
    return i;
  }
  return -1;
}

std::string directory_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Removes <name>.tmp.<pid> beside path for every pid that no longer runs: what a killed save left.
void remove_stale_temps(const std::string& path) {
  const std::string dir = directory_of(path);
  const std::string prefix = path.substr(path.find_last_of('/') + 1) + ".tmp.";  // npos + 1 == 0
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;  // the open of the temporary file reports it
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid > 0 && pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) ::unlink((dir + "/" + name).c_str());
  }
  ::closedir(d);
}

}  // namespace

AtomicFile::AtomicFile(std::string path, std::string op)
    : path_(std::move(path)), op_(std::move(op)), tmp_(path_ + ".tmp." + std::to_string(::getpid())) {
  remove_stale_temps(path_);
  install_handlers();
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  LUMEN_CHECK(fd_ >= 0, op_.c_str(), "cannot write '", path_, "': cannot create '", tmp_, "': ", std::strerror(errno));
  slot_ = register_in_flight(tmp_);
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
  tmp_.clear();
  if (slot_ >= 0) g_slots[slot_].state.store(kFree);
  slot_ = -1;
}

void AtomicFile::write(const void* data, std::size_t n) {
  LUMEN_CHECK(fd_ >= 0, op_.c_str(), "'", path_, "' was already committed or abandoned");
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t done = ::write(fd_, p, n);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) {
      const int err = done < 0 ? errno : ENOSPC;  // 0 bytes written to a regular file: no room
      discard();
      lumen::detail::fail(op_.c_str(), "cannot write '", path_, "': ", std::strerror(err));
    }
    p += done;
    n -= static_cast<std::size_t>(done);
  }
}

void AtomicFile::commit() {
  LUMEN_CHECK(fd_ >= 0, op_.c_str(), "'", path_, "' was already committed or abandoned");
  // The bytes reach the disk before the name points at them; close() may report a deferred error.
  const bool synced = ::fsync(fd_) == 0;
  int err = errno;
  const bool closed = ::close(fd_) == 0;
  fd_ = -1;
  if (synced && !closed) err = errno;
  if (!synced || !closed) {
    discard();
    lumen::detail::fail(op_.c_str(), "cannot write '", path_, "': ", std::strerror(err));
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    err = errno;
    discard();
    lumen::detail::fail(op_.c_str(), "cannot rename '", tmp_, "' to '", path_, "': ", std::strerror(err));
  }
  tmp_.clear();
  discard();  // releases the signal slot; nothing is left to remove
  // The new directory entry reaches the disk too (a crash now keeps the new file, not the old one).
  const std::string dir = directory_of(path_);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  LUMEN_CHECK(dfd >= 0, op_.c_str(), "wrote '", path_, "' but cannot open its directory to flush it: ",
              std::strerror(errno));
  const bool dir_synced = ::fsync(dfd) == 0 || errno == EINVAL;  // EINVAL: the file system has nothing to flush
  err = errno;
  ::close(dfd);
  LUMEN_CHECK(dir_synced, op_.c_str(), "wrote '", path_, "' but cannot flush its directory: ", std::strerror(err));
}

void write_file_atomically(const std::string& path, std::string_view bytes, const std::string& op) {
  AtomicFile f(path, op);
  f.write(bytes);
  f.commit();
}

}  // namespace lumen
