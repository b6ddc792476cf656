/* The device public key Keystone's verifier programs check reports against,
 * under Keystone's name: here keystone-rs's DEVELOPMENT device key, the one
 * the SM boots with by default on QEMU (keystone_py.attest.devkey: derived
 * from a public label, NOT secret). tests/unit/attest/test_cpp_dev_key.py
 * checks it is that key. There is no secret key here: a verifier needs none. */
#ifndef KEYSTONE_RS_VERIFIER_TEST_DEV_KEY_H
#define KEYSTONE_RS_VERIFIER_TEST_DEV_KEY_H

static const unsigned char _sanctum_dev_public_key[32] = {
    0xfe, 0x76, 0x39, 0xb1, 0x36, 0xf6, 0x4b, 0xb2,
    0xff, 0x55, 0x22, 0x5b, 0x34, 0x66, 0x19, 0x3e,
    0xfb, 0x2b, 0xcc, 0x40, 0x4d, 0xfc, 0x98, 0x8b,
    0x63, 0x51, 0x2a, 0x07, 0x03, 0x1d, 0x28, 0x93,
};

#endif
