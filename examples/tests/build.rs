//! Links every eapp with the SDK's eapp.ld (firmware target only).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=-T{dir}/../../sdk/enclave/eapp.ld");
        // Eapp files are copied into the EPM and measured: no DWARF (symbols stay).
        println!("cargo:rustc-link-arg-bins=--strip-debug");
    }
    println!("cargo:rerun-if-changed=../../sdk/enclave/eapp.ld");
}
