//! Prints the SM's CSR table as JSON lines (name, number, count, extension),
//! so the Python tests can compare it with the CSRs QEMU's hart exposes.

fn main() {
    for r in sm_core::world_csrs::TABLE {
        println!(
            "{{\"name\": \"{}\", \"number\": {}, \"count\": {}, \"ext\": \"{:?}\"}}",
            r.name, r.number, r.count, r.ext
        );
    }
}
