//! Prints every shared constant and layout as `NAME VALUE` lines, so a test
//! can compare the C header and the Python mirror with this crate.

use core::mem::{offset_of, size_of};
use keystone_abi::edge::{self, EdgeCall};
use keystone_abi::ioctl::{self as kio, CreateEnclave, RunEnclave};
use keystone_abi::sm::{self, err, fid, report, state, stop_reason, CreateArgs, RuntimeParams};
use keystone_abi::{eyrie, layout};

fn main() {
    let mut rows: Vec<(&str, i128)> = vec![
        ("KEYSTONE_EID", sm::KEYSTONE_EID as i128),
        ("SBI_IMPL_ID", sm::SBI_IMPL_ID as i128),
        ("ENCLAVES_MAX", sm::ENCLAVES_MAX as i128),
        ("SM_BASE", layout::SM_BASE as i128),
        ("SM_SIZE", layout::SM_SIZE as i128),
        ("PAYLOAD_BASE", layout::PAYLOAD_BASE as i128),
        ("DEVICE_SECRET_ADDR", sm::DEVICE_SECRET_ADDR as i128),
        ("SM_HASH_SIZE", sm::SM_HASH_SIZE as i128),
        ("FID_CREATE_ENCLAVE", fid::CREATE_ENCLAVE as i128),
        ("FID_DESTROY_ENCLAVE", fid::DESTROY_ENCLAVE as i128),
        ("FID_RUN_ENCLAVE", fid::RUN_ENCLAVE as i128),
        ("FID_RESUME_ENCLAVE", fid::RESUME_ENCLAVE as i128),
        ("FID_RANDOM", fid::RANDOM as i128),
        ("FID_ATTEST_ENCLAVE", fid::ATTEST_ENCLAVE as i128),
        ("FID_GET_SEALING_KEY", fid::GET_SEALING_KEY as i128),
        ("FID_STOP_ENCLAVE", fid::STOP_ENCLAVE as i128),
        ("FID_EXIT_ENCLAVE", fid::EXIT_ENCLAVE as i128),
        ("FID_CALL_PLUGIN", fid::CALL_PLUGIN as i128),
        ("STOP_TIMER_INTERRUPT", stop_reason::TIMER_INTERRUPT as i128),
        ("STOP_EDGE_CALL_HOST", stop_reason::EDGE_CALL_HOST as i128),
        ("STOP_EXIT_ENCLAVE", stop_reason::EXIT_ENCLAVE as i128),
        ("STATE_INVALID", state::INVALID as i128),
        ("STATE_DESTROYING", state::DESTROYING as i128),
        ("STATE_ALLOCATED", state::ALLOCATED as i128),
        ("STATE_FRESH", state::FRESH as i128),
        ("STATE_STOPPED", state::STOPPED as i128),
        ("STATE_RUNNING", state::RUNNING as i128),
        ("CREATE_ARGS_SIZE", size_of::<CreateArgs>() as i128),
        ("CREATE_ARGS_EPM_PADDR", offset_of!(CreateArgs, epm_paddr) as i128),
        ("CREATE_ARGS_EPM_SIZE", offset_of!(CreateArgs, epm_size) as i128),
        ("CREATE_ARGS_UTM_PADDR", offset_of!(CreateArgs, utm_paddr) as i128),
        ("CREATE_ARGS_UTM_SIZE", offset_of!(CreateArgs, utm_size) as i128),
        ("CREATE_ARGS_RUNTIME_PADDR", offset_of!(CreateArgs, runtime_paddr) as i128),
        ("CREATE_ARGS_USER_PADDR", offset_of!(CreateArgs, user_paddr) as i128),
        ("CREATE_ARGS_FREE_PADDR", offset_of!(CreateArgs, free_paddr) as i128),
        ("CREATE_ARGS_FREE_REQUESTED", offset_of!(CreateArgs, free_requested) as i128),
        ("RUNTIME_PARAMS_SIZE", size_of::<RuntimeParams>() as i128),
        ("REPORT_SIZE", report::REPORT as i128),
        ("ENCLAVE_REPORT_SIZE", report::ENCLAVE_REPORT as i128),
        ("SM_REPORT_SIZE", report::SM_REPORT as i128),
        ("ATTEST_DATA_MAX", report::DATA_MAX as i128),
        ("SEALING_KEY_SIZE", report::SEALING_KEY as i128),
        ("SEALING_KEY_STRUCT_SIZE", report::SEALING_KEY_STRUCT as i128),
        ("SEALING_IDENT_MAX", report::SEALING_IDENT_MAX as i128),
        ("EDGE_CALL_SIZE", size_of::<EdgeCall>() as i128),
        ("EDGE_CALL_ARG_OFFSET", offset_of!(EdgeCall, call_arg_offset) as i128),
        ("EDGE_CALL_ARG_SIZE", offset_of!(EdgeCall, call_arg_size) as i128),
        ("EDGE_CALL_RETURN", offset_of!(EdgeCall, return_data) as i128),
        ("EDGE_STATUS_OK", edge::status::OK as i128),
        ("EDGE_STATUS_BAD_CALL_ID", edge::status::BAD_CALL_ID as i128),
        ("EDGE_STATUS_BAD_OFFSET", edge::status::BAD_OFFSET as i128),
        ("EDGE_STATUS_BAD_PTR", edge::status::BAD_PTR as i128),
        ("EDGE_STATUS_ERROR", edge::status::ERROR as i128),
        ("EDGE_STATUS_SYSCALL_FAILED", edge::status::SYSCALL_FAILED as i128),
        ("EDGECALL_SYSCALL", edge::EDGECALL_SYSCALL as i128),
        ("EYRIE_OCALL", eyrie::syscall::OCALL as i128),
        ("EYRIE_SHAREDCOPY", eyrie::syscall::SHAREDCOPY as i128),
        ("EYRIE_ATTEST_ENCLAVE", eyrie::syscall::ATTEST_ENCLAVE as i128),
        ("EYRIE_GET_SEALING_KEY", eyrie::syscall::GET_SEALING_KEY as i128),
        ("EYRIE_EXIT", eyrie::syscall::EXIT as i128),
        ("KEYSTONE_IOC_MAGIC", kio::IOC_MAGIC as i128),
        ("KEYSTONE_IOC_CREATE_ENCLAVE", kio::CREATE_ENCLAVE.cmd() as i128),
        ("KEYSTONE_IOC_DESTROY_ENCLAVE", kio::DESTROY_ENCLAVE.cmd() as i128),
        ("KEYSTONE_IOC_RUN_ENCLAVE", kio::RUN_ENCLAVE.cmd() as i128),
        ("KEYSTONE_IOC_RESUME_ENCLAVE", kio::RESUME_ENCLAVE.cmd() as i128),
        ("KEYSTONE_IOC_FINALIZE_ENCLAVE", kio::FINALIZE_ENCLAVE.cmd() as i128),
        ("KEYSTONE_IOC_UTM_INIT", kio::UTM_INIT.cmd() as i128),
        ("KEYSTONE_UTM_MAX", kio::UTM_MAX as i128),
        ("IOCTL_CREATE_SIZE", size_of::<CreateEnclave>() as i128),
        ("IOCTL_CREATE_EID", offset_of!(CreateEnclave, eid) as i128),
        ("IOCTL_CREATE_MIN_PAGES", offset_of!(CreateEnclave, min_pages) as i128),
        ("IOCTL_CREATE_UTM_SIZE", offset_of!(CreateEnclave, utm_size) as i128),
        ("IOCTL_CREATE_RUNTIME_PADDR", offset_of!(CreateEnclave, runtime_paddr) as i128),
        ("IOCTL_CREATE_USER_PADDR", offset_of!(CreateEnclave, user_paddr) as i128),
        ("IOCTL_CREATE_FREE_PADDR", offset_of!(CreateEnclave, free_paddr) as i128),
        ("IOCTL_CREATE_FREE_REQUESTED", offset_of!(CreateEnclave, free_requested) as i128),
        ("IOCTL_CREATE_EPM_PADDR", offset_of!(CreateEnclave, epm_paddr) as i128),
        ("IOCTL_CREATE_EPM_SIZE", offset_of!(CreateEnclave, epm_size) as i128),
        ("IOCTL_CREATE_UTM_PADDR", offset_of!(CreateEnclave, utm_paddr) as i128),
        ("IOCTL_RUN_SIZE", size_of::<RunEnclave>() as i128),
        ("IOCTL_RUN_ERROR", offset_of!(RunEnclave, error) as i128),
        ("IOCTL_RUN_VALUE", offset_of!(RunEnclave, value) as i128),
    ];
    let errors = [
        ("SUCCESS", err::SUCCESS),
        ("UNKNOWN_ERROR", err::UNKNOWN_ERROR),
        ("INVALID_ID", err::INVALID_ID),
        ("INTERRUPTED", err::INTERRUPTED),
        ("PMP_FAILURE", err::PMP_FAILURE),
        ("NOT_RUNNABLE", err::NOT_RUNNABLE),
        ("NOT_DESTROYABLE", err::NOT_DESTROYABLE),
        ("REGION_OVERLAPS", err::REGION_OVERLAPS),
        ("NOT_ACCESSIBLE", err::NOT_ACCESSIBLE),
        ("ILLEGAL_ARGUMENT", err::ILLEGAL_ARGUMENT),
        ("NOT_RUNNING", err::NOT_RUNNING),
        ("NOT_RESUMABLE", err::NOT_RESUMABLE),
        ("EDGE_CALL_HOST", err::EDGE_CALL_HOST),
        ("NOT_INITIALIZED", err::NOT_INITIALIZED),
        ("NO_FREE_RESOURCE", err::NO_FREE_RESOURCE),
        ("SBI_PROHIBITED", err::SBI_PROHIBITED),
        ("ILLEGAL_PTE", err::ILLEGAL_PTE),
        ("NOT_FRESH", err::NOT_FRESH),
        ("DEPRECATED", err::DEPRECATED),
        ("NOT_IMPLEMENTED", err::NOT_IMPLEMENTED),
        ("PMP_REGION_SIZE_INVALID", err::PMP_REGION_SIZE_INVALID),
        ("PMP_REGION_NOT_PAGE_GRANULARITY", err::PMP_REGION_NOT_PAGE_GRANULARITY),
        ("PMP_REGION_NOT_ALIGNED", err::PMP_REGION_NOT_ALIGNED),
        ("PMP_REGION_MAX_REACHED", err::PMP_REGION_MAX_REACHED),
        ("PMP_REGION_INVALID", err::PMP_REGION_INVALID),
        ("PMP_REGION_OVERLAP", err::PMP_REGION_OVERLAP),
        ("PMP_REGION_IMPOSSIBLE_TOR", err::PMP_REGION_IMPOSSIBLE_TOR),
    ];
    let names: Vec<String> = errors.iter().map(|(n, _)| format!("ERR_{n}")).collect();
    for ((_, v), name) in errors.iter().zip(&names) {
        rows.push((name.as_str(), *v as i128));
    }
    if std::env::args().any(|a| a == "--python") {
        print!("{}", python_module(&rows));
        return;
    }
    for (name, value) in rows {
        println!("{name} {value}");
    }
}

/// `keystone_py/abi.py`, generated: this crate is the one source, the
/// Python module is its output (`dump_abi --python > keystone_py/abi.py`),
/// and `tests/tools/test_abi.py` fails when the committed file is stale.
fn python_module(rows: &[(&str, i128)]) -> String {
    let mut out = String::from(
        "\"\"\"The SM ABI for Python, generated from the Rust crate ``sdk/abi``.\n\n\
         Do not edit: regenerate with\n\
         ``cargo run -q -p keystone-abi --example dump_abi -- --python > keystone_py/abi.py``\n\
         (``tests/tools/test_abi.py`` fails when this file is stale, and checks the C\n\
         headers in ``sdk/abi/include`` against the same values).\n\"\"\"\n\n\
         from __future__ import annotations\n\n\
         from typing import Dict\n\n",
    );
    for (name, value) in rows {
        if *value >= 0x1000 {
            out += &format!("{name} = {value:#x}\n");
        } else {
            out += &format!("{name} = {value}\n");
        }
    }
    out += &format!("KEYSTONE_DEVICE_PATH = \"{}\"\n", kio::DEVICE_PATH);
    out += "\n#: Every constant above by name (what the cross-check compares).\n";
    out += "ALL: Dict[str, int] = {\n";
    for (name, _) in rows {
        out += &format!("    \"{name}\": {name},\n");
    }
    out += "}\n\n#: Error names by code, for messages.\n";
    out += "ERROR_NAMES: Dict[int, str] = {v: k[4:] for k, v in ALL.items() if k.startswith(\"ERR_\")}\n";
    out
}
