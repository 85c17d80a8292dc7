#pragma once
// Writing a file so that a reader (or a crash) never sees half of it: every writer of lumen (checkpoints,
// IDX files, PNGs, reports) goes through AtomicFile.
//
//   AtomicFile f(path, "save_png");   // creates <path>.tmp.<pid> beside path
//   f.write(bytes, n);                // as often as needed; throws lumen::Error on a short write
//   f.commit();                       // fsync, rename over path, fsync the directory
//
// If commit() is not reached (an exception, a failed write), the destructor removes the temporary file
// and path keeps its old contents. Two more ways a temporary file could be left behind are covered:
//   - SIGINT/SIGTERM during a save, when the signal would end the process (its disposition is the
//     default): a handler unlinks the in-flight temporary files, then the signal ends the process as
//     it would have;
//   - SIGKILL or a power cut: the next save of the same path removes `<name>.tmp.<pid>` files whose
//     process no longer exists (a writer in another PID namespace sharing the folder would look dead:
//     do not share an output folder between containers while they write to it).
#include <cstddef>
#include <string>
#include <string_view>

namespace lumen {

class AtomicFile {
 public:
  // op names the caller in errors ("save_safetensors: cannot create '...': No such file or directory").
  AtomicFile(std::string path, std::string op);
  ~AtomicFile();  // without commit(): closes and removes the temporary file
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t n);  // all n bytes or lumen::Error
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  // Flushes the bytes to disk, renames the temporary file over path and flushes the directory entry.
  void commit();

  int fd() const { return fd_; }  // the temporary file, for writers that need a descriptor (zlib)
  const std::string& temp_path() const { return tmp_; }

 private:
  void discard() noexcept;
  std::string path_, op_, tmp_;
  int fd_ = -1;
  int slot_ = -1;  // in the signal handler's table of in-flight files; -1: not registered
};

// AtomicFile in one call, for contents already in memory.
void write_file_atomically(const std::string& path, std::string_view bytes, const std::string& op);

}  // namespace lumen
