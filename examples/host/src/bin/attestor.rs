//! The attestor's host: picks a fresh 32-byte nonce, serves it to the
//! enclave, and prints the report the enclave sends back for a verifier
//! (`keystone_py.attest`, `keystone-py attest verify`):
//! `attestor: nonce <hex>` then `# report <hex>`; exits with the enclave's value.

use host_examples::{builder, test_ocalls};
use keystone_abi::edge::test_ocall::GET_NONCE;
use keystone_host::Reply;
use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut nonce = [0u8; 32];
    if let Err(e) = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut nonce)) {
        eprintln!("attestor: cannot read /dev/urandom: {e}");
        return ExitCode::from(2);
    }
    let hex: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    println!("attestor: nonce {hex}");
    let served = nonce;
    let b =
        test_ocalls(builder("attestor")).ocall(GET_NONCE, move |_| Reply::Data(served.to_vec()));
    let mut enclave = match b.build() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("attestor: cannot create the enclave: {e}");
            return ExitCode::from(3);
        }
    };
    let result = enclave.run();
    let _ = enclave.destroy();
    match result {
        Ok(v) => {
            println!("attestor: enclave returned {v}");
            ExitCode::from(v.min(255) as u8)
        }
        Err(e) => {
            eprintln!("attestor: {e}");
            ExitCode::from(4)
        }
    }
}
