#include "kernels/core/device.h"
#include "kernels/core/error.h"

#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <new>
#include <stdexcept>

namespace lumen {

Device::Device(const char* spec) {
  std::string s(spec);
  if (s == "cpu") return;
  if (s.rfind("cuda", 0) == 0) {
    type = DeviceType::cuda;
    if (s.size() == 4) return;
    if (s[4] == ':' && s.size() > 5) {
      char* end = nullptr;
      long i = std::strtol(s.c_str() + 5, &end, 10);
      if (*end == '\0' && i >= 0) {
        index = static_cast<int>(i);
        return;
      }
    }
  }
  throw std::invalid_argument("Device: cannot parse '" + s + "', expected 'cpu', 'cuda' or 'cuda:N'");
}

std::string Device::str() const {
  return type == DeviceType::cpu ? std::string("cpu") : "cuda:" + std::to_string(index);
}

namespace {

// Host memory, 64-byte aligned for AVX-512 loads. Large blocks are kept by malloc rather than returned
// to the OS after each op (mmap'ed blocks would page-fault anew on every training step).
struct CpuBackend final : DeviceBackend {
  static constexpr std::size_t kAddressSpace = std::size_t(1) << 47;
  CpuBackend() {
    mallopt(M_MMAP_THRESHOLD, 512 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }
  void* allocate(std::size_t nbytes, int) override {
    // More than a 64-bit CPU's user address space (2^47 bytes on x86-64 and arm64) can never be had:
    // refused without asking aligned_alloc, which AddressSanitizer would abort on instead of failing.
    if (nbytes > kAddressSpace) throw std::bad_alloc();
    std::size_t rounded = (nbytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void deallocate(void* ptr, std::size_t, int) override { std::free(ptr); }
  void copy(void* dst, Device, const void* src, Device, std::size_t nbytes) override {
    if (nbytes) std::memcpy(dst, src, nbytes);
  }
  int device_count() override { return 1; }
};

// Indexed by DeviceType. A function-local static, so registration from another file's static
// initialiser finds it constructed whatever the initialisation order.
DeviceBackend*& registered(DeviceType t) {
  static DeviceBackend* backends[2] = {nullptr, nullptr};
  return backends[static_cast<int>(t)];
}

}  // namespace

void register_device_backend(DeviceType t, DeviceBackend* backend) {
  LUMEN_CHECK(t != DeviceType::cpu, "register_device_backend", "the CPU backend is built in");
  registered(t) = backend;
}

DeviceBackend& device_backend(DeviceType t) {
  if (t == DeviceType::cpu) {
    static CpuBackend cpu;
    return cpu;
  }
  DeviceBackend* b = registered(t);
  if (!b)
    throw Error(
        "device cuda: this build of lumen has no CUDA backend (configure with -Dcuda=enabled where nvcc is found)");
  return *b;
}

bool device_available(DeviceType t) {
  if (t == DeviceType::cpu) return true;
  DeviceBackend* b = registered(t);
  return b && b->device_count() > 0;
}

void* allocate_bytes(Device device, std::size_t nbytes) {
  DeviceBackend& backend = device_backend(device.type);
  void* p = nullptr;
  try {
    p = backend.allocate(nbytes, device.index);
  } catch (const std::bad_alloc&) {
  }
  // (null for 0 bytes is no failure: cudaMalloc gives it)
  LUMEN_CHECK(p || nbytes == 0, "allocate", "out of memory: cannot allocate ", nbytes, " bytes on ",
              device.str());
  return p;
}

int cuda_device_count() {
  DeviceBackend* b = registered(DeviceType::cuda);
  return b ? b->device_count() : 0;
}

}  // namespace lumen
