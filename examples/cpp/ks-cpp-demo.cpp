// ks-cpp-demo: the C++ host SDK (sdk/cpp) in the guest's /bin, beside the
// Rust host SDK's ks-demo.
//
//   ks-cpp-demo bench            ocall round trip through Keystone::Enclave:
//                                /enclave/ocall-bench makes 1000 NOP ocalls
//                                and returns the time ticks they took
//   ks-cpp-demo run EAPP [VALUE] runs /enclave/EAPP (or a path), prints its
//                                exit value; status 1 when VALUE is given
//                                and differs
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "edge/edge_call.h"
#include "host/keystone.h"

namespace {

const char* kLoader = "/enclave/loader.bin";
const char* kRuntime = "/enclave/eyrie-rt";
/// sdk/abi edge::test_ocall::NOP: the call ocall-bench makes.
constexpr unsigned long kNop = 6;
constexpr unsigned long kBenchCalls = 1000;

std::string eappPath(const char* name) {
  return std::strchr(name, '/') ? std::string(name) : std::string("/enclave/") + name;
}

void nopWrapper(void* buffer) {
  static_cast<struct edge_call*>(buffer)->return_data.call_status = CALL_STATUS_OK;
}

/// Creates, runs and destroys one enclave; false (with the reason on stderr)
/// when a step fails.
bool runOnce(const std::string& eapp, uintptr_t* value, unsigned long* ocalls,
             unsigned long* interrupts) {
  Keystone::Enclave enclave;
  Keystone::Params params;
  params.setFreeMemSize(1024 * 1024);
  params.setUntrustedSize(8 * 1024);
  if (enclave.init(eapp.c_str(), kRuntime, kLoader, params) != Keystone::Error::Success)
    return false;
  enclave.registerOcallDispatch(incoming_call_dispatch);
  edge_call_init_internals(reinterpret_cast<uintptr_t>(enclave.getSharedBuffer()),
                           enclave.getSharedBufferSize());
  if (enclave.run(value) != Keystone::Error::Success) return false;
  *ocalls = enclave.ocallCount();
  *interrupts = enclave.interruptCount();
  return true;
}

int bench() {
  register_call(kNop, nopWrapper);
  uintptr_t ticks = 0;
  unsigned long ocalls = 0, interrupts = 0;
  if (!runOnce(eappPath("ocall-bench"), &ticks, &ocalls, &interrupts)) {
    std::printf("bench-cpp: ocall-bench did not run\n");
    return 1;
  }
  if (ticks >= UINTPTR_MAX / 2) {
    std::printf("bench-cpp: ocall-bench failed: returned %lu\n", static_cast<unsigned long>(ticks));
    return 1;
  }
  // 10 MHz time: one tick is 100 ns (100 instructions under -icount shift=0).
  std::printf("bench-cpp: ocall round trip: %lu ticks for %lu ocalls = %lu ns each "
              "(host saw %lu ocalls, %lu interrupts)\n",
              static_cast<unsigned long>(ticks), kBenchCalls,
              static_cast<unsigned long>(ticks) * 100 / kBenchCalls, ocalls, interrupts);
  return 0;
}

int run(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s run EAPP [VALUE]\n", argv[0]);
    return 2;
  }
  uintptr_t value = 0;
  unsigned long ocalls = 0, interrupts = 0;
  if (!runOnce(eappPath(argv[2]), &value, &ocalls, &interrupts)) return 1;
  std::printf("%s returned %lu (ocalls %lu, interrupts %lu)\n", argv[2],
              static_cast<unsigned long>(value), ocalls, interrupts);
  if (argc > 3 && std::strtoul(argv[3], nullptr, 0) != value) return 1;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "bench") == 0) return bench();
  if (argc >= 2 && std::strcmp(argv[1], "run") == 0) return run(argc, argv);
  std::fprintf(stderr, "usage: %s bench | run EAPP [VALUE]\n", argv[0]);
  return 2;
}
