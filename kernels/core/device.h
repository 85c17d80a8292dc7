#pragma once
// Where a tensor's memory lives. Each device type has one DeviceBackend (allocation and copies) in a
// registry: the CPU one is built in; the CUDA backend registers its own at start-up when lumen is built
// with CUDA (kernels/cuda/runtime.cu). Ops reach device-specific kernels through kernels/dispatch.h,
// so adding a device means adding kernels and registering a backend, not changing this floor.
#include <cstddef>
#include <cstdint>
#include <string>

namespace lumen {

enum class DeviceType : std::uint8_t { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  Device() = default;
  Device(DeviceType t, int i = 0) : type(t), index(i) {}
  Device(const char* spec);  // "cpu", "cuda", "cuda:1"
  Device(const std::string& spec) : Device(spec.c_str()) {}

  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  std::string str() const;
  friend bool operator==(const Device&, const Device&) = default;
};

inline const Device kCPU{DeviceType::cpu, 0};

// What a device type must provide for storage. Copies are byte copies between two devices, one of
// which is this backend's device (the other may be the CPU).
struct DeviceBackend {
  virtual ~DeviceBackend() = default;
  virtual void* allocate(std::size_t nbytes, int index) = 0;
  virtual void deallocate(void* ptr, std::size_t nbytes, int index) = 0;
  virtual void copy(void* dst, Device dst_dev, const void* src, Device src_dev, std::size_t nbytes) = 0;
  virtual int device_count() = 0;
  virtual void synchronize(int /*index*/) {}
};

// Makes `backend` the one of device type t (it must outlive the program: a static object).
void register_device_backend(DeviceType t, DeviceBackend* backend);

// The backend of a device type; throws a clear error when it is missing (a CUDA tensor in a build
// without CUDA).
DeviceBackend& device_backend(DeviceType t);
bool device_available(DeviceType t);  // registered and at least one device present
// nbytes from device's backend; memory it cannot give (std::bad_alloc or a null pointer) is an error
// saying how many bytes were asked for, never an escaping std::bad_alloc.
void* allocate_bytes(Device device, std::size_t nbytes);
int cuda_device_count();              // 0 without CUDA build or GPU

}  // namespace lumen
