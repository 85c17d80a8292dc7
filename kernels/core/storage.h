#pragma once
// A block of memory on one device. Tensors hold it through a shared_ptr, so views (reshape, slice,
// transpose...) share one Storage and differ only in shape, strides and offset.
//
// The storage also keeps the version counter of its memory, which is therefore shared by a tensor and
// all its views: every in-place write lumen offers bumps it, and autograd compares it with the value a
// tensor had when an op saved it for backward (autograd/graph.h), to refuse gradients computed from
// changed values.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/core/device.h"

namespace lumen {

class Storage {
 public:
  Storage(std::size_t nbytes, Device device)
      : nbytes_(nbytes), device_(device), data_(allocate_bytes(device, nbytes)) {}
  ~Storage() { device_backend(device_.type).deallocate(data_, nbytes_, device_.index); }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  std::uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  std::uint64_t version_ = 0;  // in-place writes so far
  std::size_t nbytes_;
  Device device_;
  void* data_;
};

}  // namespace lumen
