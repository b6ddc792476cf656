// Keystone::Error: what Enclave's calls return (Keystone's names and order).
#pragma once

namespace Keystone {

enum class Error {
  Success = 0,
  FileInitFailure,
  DeviceInitFailure,
  DeviceError,
  IoctlErrorCreate,
  IoctlErrorDestroy,
  IoctlErrorFinalize,
  IoctlErrorRun,
  IoctlErrorResume,
  IoctlErrorUTMInit,
  DeviceMemoryMapError,
  ELFLoadFailure,
  InvalidEnclave,
  VSpaceAllocationFailure,
  PageAllocationFailure,
  EdgeCallHost,
  EnclaveInterrupted,
};

}  // namespace Keystone
