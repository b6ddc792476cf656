// Report: the verifier side of an attestation report. The two signatures are
// Ed25519 over SHA3-512, checked by ks_ed25519_sha3_verify (sdk/cpp/ffi, the
// SM's own code): the device key signs the SM's hash and public key; the SM's
// key signs the enclave's hash, the data length (8 bytes, little-endian) and
// the data.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "verifier/report.h"

extern "C" int ks_ed25519_sha3_verify(const unsigned char* public_key, const unsigned char* msg,
                                      size_t len, const unsigned char* sig);

static_assert(sizeof(report_t) == 1352, "report_t is sdk/abi's REPORT_SIZE");

std::string Report::BytesToHex(byte* bytes, size_t len) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(2 * len);
  for (size_t i = 0; i < len; i++) {
    s.push_back(digits[bytes[i] >> 4]);
    s.push_back(digits[bytes[i] & 15]);
  }
  return s;
}

void Report::HexToBytes(byte* bytes, size_t len, std::string hexstr) {
  for (size_t i = 0; i < len && 2 * i + 1 < hexstr.size(); i++)
    bytes[i] = static_cast<byte>(std::stoul(hexstr.substr(2 * i, 2), nullptr, 16));
}

void Report::fromBytes(byte* bin) { std::memcpy(&report_, bin, sizeof report_); }

std::string Report::stringfy() {
  size_t data_len = getDataSize();
  return "enclave hash: " + BytesToHex(report_.enclave.hash, MDSIZE) +
         "\nenclave data (" + std::to_string(data_len) +
         " bytes): " + BytesToHex(report_.enclave.data, data_len) +
         "\nenclave signature: " + BytesToHex(report_.enclave.signature, SIGNATURE_SIZE) +
         "\nsm hash: " + BytesToHex(report_.sm.hash, MDSIZE) +
         "\nsm public key: " + BytesToHex(report_.sm.public_key, PUBLIC_KEY_SIZE) +
         "\nsm signature: " + BytesToHex(report_.sm.signature, SIGNATURE_SIZE) +
         "\ndevice public key: " + BytesToHex(report_.dev_public_key, PUBLIC_KEY_SIZE) + "\n";
}

void Report::printJson() {
  std::printf("{\"enclave\": {\"hash\": \"%s\", \"data_len\": %zu, \"data\": \"%s\", "
              "\"signature\": \"%s\"}, \"sm\": {\"hash\": \"%s\", \"pubkey\": \"%s\", "
              "\"signature\": \"%s\"}, \"dev_public_key\": \"%s\"}\n",
              BytesToHex(report_.enclave.hash, MDSIZE).c_str(), getDataSize(),
              BytesToHex(report_.enclave.data, getDataSize()).c_str(),
              BytesToHex(report_.enclave.signature, SIGNATURE_SIZE).c_str(),
              BytesToHex(report_.sm.hash, MDSIZE).c_str(),
              BytesToHex(report_.sm.public_key, PUBLIC_KEY_SIZE).c_str(),
              BytesToHex(report_.sm.signature, SIGNATURE_SIZE).c_str(),
              BytesToHex(report_.dev_public_key, PUBLIC_KEY_SIZE).c_str());
}

void Report::printPretty() { std::cout << stringfy(); }

int Report::checkSignaturesOnly(const byte* dev_public_key) {
  if (report_.enclave.data_len > ATTEST_DATA_MAXLEN) return 0;
  byte sm_part[MDSIZE + PUBLIC_KEY_SIZE];
  std::memcpy(sm_part, report_.sm.hash, MDSIZE);
  std::memcpy(sm_part + MDSIZE, report_.sm.public_key, PUBLIC_KEY_SIZE);
  bool sm_ok =
      ks_ed25519_sha3_verify(dev_public_key, sm_part, sizeof sm_part, report_.sm.signature) == 1;
  std::vector<byte> enclave_part(MDSIZE + 8 + report_.enclave.data_len);
  std::memcpy(enclave_part.data(), report_.enclave.hash, MDSIZE);
  for (int i = 0; i < 8; i++)
    enclave_part[MDSIZE + i] = static_cast<byte>(report_.enclave.data_len >> (8 * i));
  std::memcpy(enclave_part.data() + MDSIZE + 8, report_.enclave.data, report_.enclave.data_len);
  bool enclave_ok = ks_ed25519_sha3_verify(report_.sm.public_key, enclave_part.data(),
                                           enclave_part.size(), report_.enclave.signature) == 1;
  return sm_ok && enclave_ok;
}

int Report::verify(const byte* expected_enclave_hash, const byte* expected_sm_hash,
                   const byte* dev_public_key) {
  return checkSignaturesOnly(dev_public_key) &&
         std::memcmp(report_.enclave.hash, expected_enclave_hash, MDSIZE) == 0 &&
         std::memcmp(report_.sm.hash, expected_sm_hash, MDSIZE) == 0;
}

void* Report::getDataSection() { return report_.enclave.data; }

size_t Report::getDataSize() {
  return report_.enclave.data_len > ATTEST_DATA_MAXLEN ? 0 : report_.enclave.data_len;
}

byte* Report::getEnclaveHash() { return report_.enclave.hash; }

byte* Report::getSmHash() { return report_.sm.hash; }
