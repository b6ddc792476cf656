// Keystone::Enclave over the driver's ioctls (sdk/abi/include/keystone_user.h):
// CREATE -> mmap the EPM, copy loader, runtime and eapp (each page-padded,
// one after the other from the EPM's base) -> UTM_INIT -> FINALIZE -> mmap the
// UTM; RUN, then RESUME after each EDGE_CALL_HOST or INTERRUPTED stop.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "host/hash_util.hpp"
#include "host/keystone.h"
#include "keystone_sm.h"
#include "keystone_user.h"

namespace Keystone {

namespace {

constexpr uint64_t kPage = 4096;
/// Pages added to the EPM for the loader's page tables and stacks (as the
/// Rust host SDK and Keystone's host SDK add).
constexpr uint64_t kExtraPages = 16;

uint64_t pages(uint64_t bytes) { return (bytes + kPage - 1) / kPage; }

/// The pages an ELF64's loadable segments span in memory: the loader copies
/// the runtime's segments (text, data, bss) into fresh pages of free memory,
/// which come on top of the eapp's (0 for a file that is not a 64-bit ELF).
uint64_t elfLoadPages(const std::vector<unsigned char>& elf) {
  auto u16 = [&](size_t o) -> uint64_t {
    return o + 2 <= elf.size() ? (uint64_t)elf[o] | ((uint64_t)elf[o + 1] << 8) : 0;
  };
  auto u64 = [&](size_t o) -> uint64_t {
    uint64_t v = 0;
    if (o + 8 <= elf.size()) std::memcpy(&v, elf.data() + o, 8);
    return v;
  };
  if (elf.size() < 0x40 || std::memcmp(elf.data(), "\x7f" "ELF\x02", 5) != 0) return 0;
  uint64_t phoff = u64(0x20), phentsize = u16(0x36), phnum = u16(0x38), total = 0;
  for (uint64_t i = 0; i < phnum && i < 64; i++) {
    size_t ph = phoff + i * phentsize;
    if (ph + 0x30 > elf.size() || u16(ph) != 1 || u16(ph + 2) != 0) continue;
    uint64_t vaddr = u64(ph + 0x10), memsz = u64(ph + 0x28);
    if (memsz > (1ull << 32)) return 0;
    total += pages(vaddr % kPage + memsz);
  }
  return total;
}

bool readFile(const char* path, std::vector<unsigned char>* out) {
  if (path == nullptr) return false;
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "[keystone] cannot open %s: %s\n", path, std::strerror(errno));
    return false;
  }
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  if (out->empty()) {
    std::fprintf(stderr, "[keystone] %s is empty\n", path);
    return false;
  }
  return true;
}

/// The device: $KEYSTONE_DEVICE (a path, or fd:N for a descriptor the
/// process was given, as zCore's test programs are), else the driver's node.
int openDevice() {
  const char* dev = std::getenv("KEYSTONE_DEVICE");
  if (dev != nullptr && std::strncmp(dev, "fd:", 3) == 0) {
    char* end = nullptr;
    long fd = std::strtol(dev + 3, &end, 10);
    if (end == dev + 3 || *end != '\0' || fd < 0) {
      std::fprintf(stderr, "[keystone] KEYSTONE_DEVICE=%s: not fd:<number>\n", dev);
      return -1;
    }
    return dup(static_cast<int>(fd));
  }
  const char* path = (dev != nullptr && *dev != '\0') ? dev : KEYSTONE_DEVICE_PATH;
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) std::fprintf(stderr, "[keystone] cannot open %s: %s\n", path, std::strerror(errno));
  return fd;
}

bool ioctlOk(int fd, unsigned long cmd, void* arg, const char* what) {
  if (ioctl(fd, cmd, arg) == 0) return true;
  std::fprintf(stderr, "[keystone] the driver refused %s: %s\n", what, std::strerror(errno));
  return false;
}

/// Copies `image` to EPM offset `at`, one page-sized mmap at a time (for a
/// driver that maps one page per mmap before FINALIZE, as Keystone's).
bool copyByPage(int fd, const std::vector<unsigned char>& image, uint64_t at) {
  for (uint64_t done = 0; done < image.size(); done += kPage) {
    void* page = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                      static_cast<off_t>(at + done));
    if (page == MAP_FAILED) {
      std::fprintf(stderr, "[keystone] mmap of an EPM page: %s\n", std::strerror(errno));
      return false;
    }
    size_t n = std::min<uint64_t>(kPage, image.size() - done);
    std::memcpy(page, image.data() + done, n);
    munmap(page, kPage);
  }
  return true;
}

}  // namespace

Enclave::Enclave() = default;

Enclave::~Enclave() { destroy(); }

Error Enclave::measure(char* hash, const char* eapppath, const char* runtimepath,
                       const char* loaderpath) {
  // The SM's measurement of the layout init() makes: SHA3-512 over three
  // little-endian u64 (the page-padded sizes of loader, runtime and eapp),
  // then the three padded images (docs/abi.md, sm_core::measure).
  std::vector<unsigned char> files[3];
  if (!readFile(loaderpath, &files[0]) || !readFile(runtimepath, &files[1]) ||
      !readFile(eapppath, &files[2]))
    return Error::FileInitFailure;
  hash_ctx_t ctx;
  hash_init(&ctx);
  for (auto& f : files) {
    uint64_t padded = pages(f.size()) * kPage;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = static_cast<unsigned char>(padded >> (8 * i));
    hash_extend(&ctx, le, sizeof le);
  }
  static const unsigned char zeros[kPage] = {};
  for (auto& f : files) {
    hash_extend(&ctx, f.data(), f.size());
    hash_extend(&ctx, zeros, pages(f.size()) * kPage - f.size());
  }
  hash_finalize(hash, &ctx);
  return Error::Success;
}

Error Enclave::init(const char* eapppath, const char* runtimepath, const char* loaderpath,
                    Params params) {
  return init(eapppath, runtimepath, loaderpath, params, 0);
}

Error Enclave::init(const char* eapppath, const char* runtimepath, const char* loaderpath,
                    Params params, uintptr_t alternatePhysAddr) {
  if (fd_ >= 0) {
    std::fprintf(stderr, "[keystone] init: this Enclave was already initialized\n");
    return Error::InvalidEnclave;
  }
  if (alternatePhysAddr != 0) {
    std::fprintf(stderr, "[keystone] init: an alternate physical address is not supported "
                         "(the driver allocates the EPM)\n");
    return Error::DeviceInitFailure;
  }
  std::vector<unsigned char> images[3];  // the EPM's order: loader, runtime, eapp
  if (!readFile(loaderpath, &images[0]) || !readFile(runtimepath, &images[1]) ||
      !readFile(eapppath, &images[2]))
    return Error::FileInitFailure;
  if (params.getUntrustedSize() == 0) {
    std::fprintf(stderr, "[keystone] init: the untrusted (shared) size is 0\n");
    return Error::DeviceInitFailure;
  }
  uint64_t offsets[3], loaded = 0;
  for (int i = 0; i < 3; i++) {
    offsets[i] = loaded * kPage;
    loaded += pages(images[i].size());
  }

  fd_ = openDevice();
  if (fd_ < 0) return Error::DeviceInitFailure;
  keystone_ioctl_create_enclave args = {};
  args.min_pages =
      pages(params.getFreeMemSize()) + loaded + elfLoadPages(images[1]) + kExtraPages;
  if (!ioctlOk(fd_, KEYSTONE_IOC_CREATE_ENCLAVE, &args, "CREATE_ENCLAVE"))
    return Error::IoctlErrorCreate;
  eid_ = args.eid;
  created_ = true;

  // The whole image range in one mapping when the driver allows it, else
  // page by page (EINVAL: a driver that maps one page per mmap).
  size_t total = loaded * kPage;
  void* epm = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (epm != MAP_FAILED) {
    for (int i = 0; i < 3; i++)
      std::memcpy(static_cast<unsigned char*>(epm) + offsets[i], images[i].data(),
                  images[i].size());
    munmap(epm, total);
  } else if (errno == EINVAL && total > kPage) {
    for (int i = 0; i < 3; i++)
      if (!copyByPage(fd_, images[i], offsets[i])) return Error::DeviceMemoryMapError;
  } else {
    std::fprintf(stderr, "[keystone] mmap of the EPM: %s\n", std::strerror(errno));
    return Error::DeviceMemoryMapError;
  }

  args.utm_size = params.getUntrustedSize();
  if (!ioctlOk(fd_, KEYSTONE_IOC_UTM_INIT, &args, "UTM_INIT")) return Error::IoctlErrorUTMInit;
  uint64_t utm_size = args.utm_size;
  args.runtime_paddr = args.epm_paddr + offsets[1];
  args.user_paddr = args.epm_paddr + offsets[2];
  args.free_paddr = args.epm_paddr + loaded * kPage;
  args.free_requested = params.getFreeMemSize();
  if (!ioctlOk(fd_, KEYSTONE_IOC_FINALIZE_ENCLAVE, &args, "FINALIZE_ENCLAVE"))
    return Error::IoctlErrorFinalize;
  void* utm = mmap(nullptr, utm_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (utm == MAP_FAILED) {
    std::fprintf(stderr, "[keystone] mmap of the UTM: %s\n", std::strerror(errno));
    return Error::DeviceMemoryMapError;
  }
  shared_buffer_ = utm;
  shared_buffer_size_ = utm_size;
  return Error::Success;
}

Error Enclave::run(uintptr_t* ret) {
  if (!created_) {
    std::fprintf(stderr, "[keystone] run: the enclave was not initialized\n");
    return Error::InvalidEnclave;
  }
  ocalls_ = interrupts_ = 0;
  keystone_ioctl_run_enclave r = {};
  r.eid = eid_;
  unsigned long cmd = KEYSTONE_IOC_RUN_ENCLAVE;
  const char* op = "RUN_ENCLAVE";
  for (;;) {
    if (ioctl(fd_, cmd, &r) != 0) {
      std::fprintf(stderr, "[keystone] the driver refused %s: %s\n", op, std::strerror(errno));
      return cmd == KEYSTONE_IOC_RUN_ENCLAVE ? Error::IoctlErrorRun : Error::IoctlErrorResume;
    }
    if (r.error == ERR_SUCCESS) break;
    if (r.error == ERR_EDGE_CALL_HOST) {
      ocalls_++;
      if (dispatch_ && shared_buffer_ != nullptr) dispatch_(shared_buffer_);
    } else if (r.error == ERR_INTERRUPTED) {
      interrupts_++;
    } else {
      std::fprintf(stderr, "[keystone] %s: the security monitor returned %llu\n", op,
                   static_cast<unsigned long long>(r.error));
      return Error::DeviceError;
    }
    cmd = KEYSTONE_IOC_RESUME_ENCLAVE;
    op = "RESUME_ENCLAVE";
    r = {};
    r.eid = eid_;
  }
  if (ret != nullptr) *ret = static_cast<uintptr_t>(r.value);
  return Error::Success;
}

Error Enclave::destroy() {
  Error result = Error::Success;
  if (shared_buffer_ != nullptr) {
    munmap(shared_buffer_, shared_buffer_size_);
    shared_buffer_ = nullptr;
    shared_buffer_size_ = 0;
  }
  if (created_) {
    keystone_ioctl_create_enclave args = {};
    args.eid = eid_;
    if (!ioctlOk(fd_, KEYSTONE_IOC_DESTROY_ENCLAVE, &args, "DESTROY_ENCLAVE"))
      result = Error::IoctlErrorDestroy;
    created_ = false;
  }
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  return result;
}

Error Enclave::registerOcallDispatch(OcallFunc func) {
  dispatch_ = std::move(func);
  return Error::Success;
}

void* Enclave::getSharedBuffer() { return shared_buffer_; }

size_t Enclave::getSharedBufferSize() { return shared_buffer_size_; }

}  // namespace Keystone

void hash_init(hash_ctx_t* hash_ctx) { sha3_init(hash_ctx, MDSIZE); }

void hash_extend(hash_ctx_t* hash_ctx, const void* ptr, size_t len) {
  sha3_update(hash_ctx, ptr, len);
}

void hash_extend_page(hash_ctx_t* hash_ctx, const void* ptr) {
  sha3_update(hash_ctx, ptr, Keystone::kPage);
}

void hash_finalize(void* md, hash_ctx_t* hash_ctx) { sha3_final(md, hash_ctx); }
