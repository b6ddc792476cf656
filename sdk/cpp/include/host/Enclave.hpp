// Keystone::Enclave over the keystone-rs driver ABI (docs/abi.md §6: the same
// ioctls as Keystone's driver), so it runs on our Linux driver, on
// Keystone's, and on zCore's /dev/keystone_enclave.
#pragma once

#include <cassert>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "Error.hpp"
#include "Params.hpp"

namespace Keystone {

/// The host's ocall handler: called with the shared buffer (a struct
/// edge_call at its start) at each EDGE_CALL_HOST stop.
typedef std::function<void(void*)> OcallFunc;

class Enclave {
 public:
  Enclave();
  ~Enclave();
  Enclave(const Enclave&) = delete;
  Enclave& operator=(const Enclave&) = delete;

  /// The enclave hash the SM will report for these files (64 bytes to `hash`).
  static Error measure(char* hash, const char* eapppath, const char* runtimepath,
                       const char* loaderpath);
  /// Creates the enclave: EPM, files copied in, UTM, SM create, UTM mapped.
  Error init(const char* eapppath, const char* runtimepath, const char* loaderpath,
             Params params);
  /// As above; `alternatePhysAddr` must be 0 (the driver allocates the EPM).
  Error init(const char* eapppath, const char* runtimepath, const char* loaderpath,
             Params params, uintptr_t alternatePhysAddr);
  /// Runs to the eapp's exit: resumes after interrupts, dispatches ocalls.
  Error run(uintptr_t* ret = nullptr);
  Error destroy();
  Error registerOcallDispatch(OcallFunc func);
  void* getSharedBuffer();
  size_t getSharedBufferSize();

  /// How many EDGE_CALL_HOST and INTERRUPTED stops the last run served.
  unsigned long ocallCount() const { return ocalls_; }
  unsigned long interruptCount() const { return interrupts_; }

 private:
  int fd_ = -1;
  uint64_t eid_ = 0;
  bool created_ = false;
  void* shared_buffer_ = nullptr;
  size_t shared_buffer_size_ = 0;
  OcallFunc dispatch_;
  unsigned long ocalls_ = 0;
  unsigned long interrupts_ = 0;
};

}  // namespace Keystone
