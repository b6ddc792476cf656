// Attestation reports as Keystone's verifier programs see them: the
// report_t layout (sdk/abi's, 1352 bytes) and the Report class.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/cpp_abi.h"
#include "common/sha3.h"

typedef unsigned char byte;

struct enclave_report_t {
  byte hash[MDSIZE];
  uint64_t data_len;
  byte data[ATTEST_DATA_MAXLEN];
  byte signature[SIGNATURE_SIZE];
};

struct sm_report_t {
  byte hash[MDSIZE];
  byte public_key[PUBLIC_KEY_SIZE];
  byte signature[SIGNATURE_SIZE];
};

struct report_t {
  struct enclave_report_t enclave;
  struct sm_report_t sm;
  byte dev_public_key[PUBLIC_KEY_SIZE];
};

class Report {
 public:
  std::string BytesToHex(byte* bytes, size_t len);
  void HexToBytes(byte* bytes, size_t len, std::string hexstr);
  /// Copies a report as the SM wrote it (sizeof(report_t) bytes).
  void fromBytes(byte* bin);
  /// Hex of every field, one per line.
  std::string stringfy();
  void printJson();
  void printPretty();
  /// 1 when both signatures hold under `dev_public_key` and both hashes are
  /// the expected ones, else 0.
  int verify(const byte* expected_enclave_hash, const byte* expected_sm_hash,
             const byte* dev_public_key);
  /// 1 when the device key signed the SM's part and the SM's key the enclave's.
  int checkSignaturesOnly(const byte* dev_public_key);
  void* getDataSection();
  size_t getDataSize();
  byte* getEnclaveHash();
  byte* getSmHash();

 private:
  struct report_t report_ = {};
};
