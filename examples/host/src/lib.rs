//! What the host apps share: where the enclave files are in the guest, and
//! the ocalls of Keystone's `examples/tests` test-runner.

pub mod refusals;
pub mod switchless;

use keystone_abi::edge::{status, test_ocall};
use keystone_abi::sm::report;
use keystone_host::{Builder, Enclave, Reply};
use std::io::Write;

/// Where the initramfs puts loader.bin, eyrie-rt and the eapps.
pub const ENCLAVE_DIR: &str = "/enclave";
/// Keystone's test host string (`examples/tests/test-runner.cpp`).
pub const HOST_STRING: &[u8] = b"hellohellohellohellohellohellohellohellohellohello\0";

/// An eapp given by name (`stack`) or path (`/enclave/stack`).
pub fn eapp_path(name: &str) -> String {
    if name.contains('/') {
        name.into()
    } else {
        format!("{ENCLAVE_DIR}/{name}")
    }
}

/// A builder with the default loader and runtime and `eapp`.
pub fn builder(eapp: &str) -> Builder {
    Enclave::builder()
        .loader(format!("{ENCLAVE_DIR}/loader.bin"))
        .runtime(format!("{ENCLAVE_DIR}/eyrie-rt"))
        .eapp(eapp_path(eapp))
}

fn print_flush(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Registers Keystone's test ocalls (1 print buffer, 2 print value, 3 copy
/// report, 4 get host string) and ours (5: a lying answer).
pub fn test_ocalls(b: Builder) -> Builder {
    b.ocall(test_ocall::PRINT_BUFFER, |args| {
        let text = args.split(|&c| c == 0).next().unwrap_or(&[]);
        print_flush(&format!("Enclave said: {}", String::from_utf8_lossy(text)));
        Reply::Data((text.len() as u64).to_le_bytes().to_vec())
    })
    .ocall(test_ocall::PRINT_VALUE, |args| match args.get(..8) {
        Some(v) => {
            print_flush(&format!(
                "Enclave said value: {}\n",
                u64::from_le_bytes(v.try_into().unwrap())
            ));
            Reply::None
        }
        None => Reply::Status(status::BAD_PTR),
    })
    .ocall(test_ocall::COPY_REPORT, |args| {
        let Some(rep) = args.get(..report::REPORT) else { return Reply::Status(status::BAD_PTR) };
        // The verifier runs in Python (keystone_py.attest) on this line;
        // the nonce is checked here too.
        let len = u64::from_le_bytes(rep[report::OFF_DATA_LEN..][..8].try_into().unwrap());
        let nonce = &rep[report::OFF_DATA..report::OFF_DATA + (len as usize).min(report::DATA_MAX)];
        let hex: String = rep.iter().map(|b| format!("{b:02x}")).collect();
        print_flush(&format!(
            "Attestation report data: {}\n# report {hex}\n",
            String::from_utf8_lossy(nonce)
        ));
        Reply::None
    })
    .ocall(test_ocall::GET_STRING, |_| Reply::Wrapped(HOST_STRING.to_vec()))
    .ocall_shared(test_ocall::NOP, |_| Reply::None)
    .ocall(test_ocall::BAD_REPLY, |_| Reply::Raw {
        status: status::OK,
        offset: u64::MAX - 4,
        size: 16,
    })
}
