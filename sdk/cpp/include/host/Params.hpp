// Keystone::Params: what an enclave is created with (Keystone's host API
// names; its defaults: 1 MiB free memory, 8 KiB shared buffer).
#pragma once

#include <cstdint>

namespace Keystone {

class Params {
 public:
  /// Bytes of the shared buffer (UTM); the driver rounds it up to a power of two.
  void setUntrustedSize(uint64_t size) { untrusted_size_ = size; }
  /// Bytes of free memory the runtime and eapp get beyond their images.
  void setFreeMemSize(uint64_t size) { freemem_size_ = size; }
  uintptr_t getUntrustedSize() const { return untrusted_size_; }
  uintptr_t getFreeMemSize() const { return freemem_size_; }

 private:
  uint64_t untrusted_size_ = 8 * 1024;
  uint64_t freemem_size_ = 1024 * 1024;
};

}  // namespace Keystone
