// AtomicFile (kernels/core/atomic_file.h) and the writers built on it: a file is replaced whole or not
// at all, a failed write is an error naming the file and leaves neither a temporary file nor a damaged
// old one, and a save cut short by SIGINT/SIGTERM or SIGKILL leaves no temporary file behind for long.
//
// Writes are made to fail for real, as root too (for whom a read-only folder is still writable): a
// folder under a regular file, /proc, and a file-size limit (RLIMIT_FSIZE) that makes write(2) fail
// with EFBIG part-way through.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "figures/png.h"
#include "kernels/core/atomic_file.h"
#include "nn/idx.h"
#include "nn/safetensors.h"
#include "tests/fixtures/fixtures.h"

using namespace lumen;
using lumen::testing::read_bytes;
using lumen::testing::TempDir;
using lumen::testing::write_bytes;
using Catch = doctest::Contains;
namespace fs = std::filesystem;

namespace {

// The names in dir that look like temporary files ("<name>.tmp.<pid>").
std::vector<std::string> temp_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp") != std::string::npos) out.push_back(e.path().filename().string());
  return out;
}

// Until the end of the scope, files of this process cannot grow past `bytes`: write(2) fails with
// EFBIG (SIGXFSZ, which would end the process, is ignored meanwhile).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = signal(SIGXFSZ, SIG_IGN);
    rlimit lim = old_;
    lim.rlim_cur = bytes;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_{};
  sighandler_t old_handler_;
};

// Runs body in a child process and returns its wait status. The child never returns into doctest.
int in_child(const std::function<void()>& body) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      body();
    } catch (...) {
      _exit(3);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

}  // namespace

TEST_SUITE("atomic_file") {
  TEST_CASE("AtomicFile: the new contents replace the old whole, and no temporary file is left") {
    TempDir dir("atomic");
    const std::string path = dir / "a.txt";
    write_file_atomically(path, "first", "test");
    CHECK(read_bytes(path) == "first");
    {
      AtomicFile f(path, "test");
      f.write("sec");
      f.write(std::string("ond"));
      CHECK(fs::exists(f.temp_path()));
      CHECK(read_bytes(path) == "first");  // readers see the old file until commit
      f.commit();
    }
    CHECK(read_bytes(path) == "second");
    CHECK(temp_files(dir.path).empty());
  }

  TEST_CASE("AtomicFile: abandoned before commit (an exception), the old file stays and the temporary goes") {
    TempDir dir("atomic");
    const std::string path = dir / "a.bin";
    write_bytes(path, "old");
    try {
      AtomicFile f(path, "test");
      f.write("half of the new");
      throw Error("interrupted");
    } catch (const Error&) {
    }
    CHECK(read_bytes(path) == "old");
    CHECK(temp_files(dir.path).empty());
  }

  TEST_CASE("AtomicFile: a write that fails part-way is an error; the old file stays, no temporary file") {
    TempDir dir("atomic");
    const std::string path = dir / "big.bin";
    write_bytes(path, "old");
    const std::string big(1 << 20, 'x');
    {
      FileSizeLimit limit(4096);
      CHECK_THROWS_WITH_AS(write_file_atomically(path, big, "test"), Catch(("cannot write '" + path + "'").c_str()), Error);
    }
    CHECK(read_bytes(path) == "old");
    CHECK(temp_files(dir.path).empty());
  }

  TEST_CASE("AtomicFile: a missing folder, a folder under a regular file and /proc are errors naming the file") {
    TempDir dir("atomic");
    write_bytes(dir / "plain", "a regular file");
    for (const std::string& path : std::vector<std::string>{dir / "missing/x.bin", dir / "plain/x.bin", "/proc/lumen-x.bin"}) {
      CAPTURE(path);
      CHECK_THROWS_WITH_AS(write_file_atomically(path, "data", "test"), Catch(("test: cannot write '" + path + "'").c_str()),
                           Error);
      CHECK_FALSE(fs::exists(path));
    }
  }

  TEST_CASE("every writer: a write that fails part-way is an error; the old file stays, no temporary file") {
    // Before AtomicFile, save_png let stb_image_write ignore the failed fwrite and renamed the truncated
    // image over the old one (no error), and the reports left "<name>.tmp" behind.
    TempDir dir("atomic-writers");
    Generator gen(5);
    const Tensor noise = rand({3, 512, 512}, {}, &gen);  // ~0.8 MB as a PNG, 3 MB raw
    const std::vector<std::pair<std::string, std::function<void(const std::string&)>>> writers = {
        {"image.png", [&](const std::string& p) { figures::save_png(p, noise); }},
        {"weights.safetensors", [&](const std::string& p) { nn::save_safetensors(p, {{"w", noise}}); }},
        {"images.idx", [&](const std::string& p) { nn::write_idx(p, noise, nn::IdxType::f32); }},
        {"images.idx.gz", [&](const std::string& p) { nn::write_idx(p, noise, nn::IdxType::f32); }},
    };
    for (const auto& [name, write] : writers) {
      CAPTURE(name);
      const std::string path = dir / name;
      write_bytes(path, "old");
      {
        FileSizeLimit limit(64 * 1024);
        CHECK_THROWS_WITH_AS(write(path), Catch(("cannot write '" + path + "'").c_str()), Error);
      }
      CHECK(read_bytes(path) == "old");
      CHECK(temp_files(dir.path).empty());
      write(path);  // and without the limit it works
      CHECK(read_bytes(path).size() > 100'000);
    }
  }

  TEST_CASE("AtomicFile: SIGINT or SIGTERM during a save removes the temporary file, then ends the process") {
    TempDir dir("atomic-signal");
    const std::string path = dir / "model.safetensors";
    for (int sig : {SIGINT, SIGTERM}) {
      CAPTURE(sig);
      write_bytes(path, "old");
      const int status = in_child([&] {
        signal(sig, SIG_DFL);  // doctest handles both signals; a lesson binary leaves them as they are
        AtomicFile f(path, "test");
        f.write("half of the new");
        raise(sig);
      });
      CHECK(WIFSIGNALED(status));
      CHECK(WTERMSIG(status) == sig);
      CHECK(read_bytes(path) == "old");
      CHECK(temp_files(dir.path).empty());
    }
  }

  TEST_CASE("AtomicFile: a program that ignores SIGINT keeps its save") {
    TempDir dir("atomic-signal");
    const std::string path = dir / "a.txt";
    const int status = in_child([&] {
      signal(SIGINT, SIG_IGN);
      AtomicFile f(path, "test");
      f.write("new");
      raise(SIGINT);
      f.commit();
    });
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(read_bytes(path) == "new");
    CHECK(temp_files(dir.path).empty());
  }

  TEST_CASE("AtomicFile: the next save removes the temporary files of processes that died (SIGKILL)") {
    TempDir dir("atomic-stale");
    const std::string path = dir / "ckpt.safetensors";
    // A save killed mid-way: its temporary file stays behind, named after the dead process.
    const pid_t dead = fork();
    REQUIRE(dead >= 0);
    if (dead == 0) {
      try {
        AtomicFile f(path, "test");
        f.write("half");
        raise(SIGKILL);
      } catch (...) {
      }
      _exit(3);
    }
    int status = 0;
    waitpid(dead, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    const std::string stale = path + ".tmp." + std::to_string(dead);
    REQUIRE(fs::exists(stale));
    const std::string alive = path + ".tmp." + std::to_string(getppid());  // a process that runs: kept
    const std::string other = dir / "other.bin.tmp.1234567";             // another file's: not ours to judge
    write_bytes(alive, "x");
    write_bytes(other, "x");
    write_file_atomically(path, "new", "test");
    CHECK(read_bytes(path) == "new");
    CHECK_FALSE(fs::exists(stale));
    CHECK(fs::exists(alive));
    CHECK(fs::exists(other));
  }
}
