//! Hands each world its linker script: the loader is linked at the EPM window
//! base, the runtime at RUNTIME_VA (firmware target only).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bin=loader=-T{dir}/loader.ld");
        println!("cargo:rustc-link-arg-bin=eyrie-rt=-T{dir}/runtime.ld");
        // The runtime ELF is copied into every EPM and measured: no DWARF
        // (symbols stay for GDB).
        println!("cargo:rustc-link-arg-bin=eyrie-rt=--strip-debug");
    }
    println!("cargo:rerun-if-changed=loader.ld");
    println!("cargo:rerun-if-changed=runtime.ld");
}
