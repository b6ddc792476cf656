//! The ABI of this crate, written out for the other languages. This crate is
//! the one source; everything below is generated from its constants, struct
//! layouts (`offset_of!`, `size_of`) and ioctl commands:
//!
//! - no argument: every shared constant and layout as `NAME VALUE` lines
//!   (what `tests/tools/test_abi.py` compares the C headers with);
//! - `--python`: the module `keystone_py/abi.py`;
//! - `--c-sm`: the C header `sdk/abi/include/keystone_sm.h` (SBI extension,
//!   errors, states, the SM's structs, attestation sizes, edge calls, Eyrie calls);
//! - `--c-user`: the C header `sdk/abi/include/keystone_user.h` (the driver's
//!   device, ioctl numbers and argument structs);
//! - `--c-eapp`: the C header `sdk/c/include/shared/eapp_abi.h` (the C eapp
//!   SDK's numbers under Keystone's names: Eyrie calls, edge-call statuses,
//!   the sealing key; the SDK's other headers include it and define none);
//! - `--c-cpp`: the C header `sdk/cpp/include/common/cpp_abi.h` (the numbers
//!   the C++ host SDK and verifier share: report sizes, the proxied-syscall
//!   edge call; its other headers and sources include it and define none);
//! - `--write`: writes all five files in place (`REGENERATE`);
//! - `--layouts`: every C struct of the headers as `struct - 0 SIZE` and
//!   `struct field OFFSET SIZE` lines, the Rust layout the C compiler must match.
//!
//! `tests/tools/test_abi.py` fails when a committed file differs from this
//! output, and compiles the headers to check every value against the crate.

use core::mem::{offset_of, size_of};
use keystone_abi::edge::{self, EdgeCall, EdgeReturn};
use keystone_abi::ioctl::{self as kio, CreateEnclave, Ioctl, RunEnclave};
use keystone_abi::sm::{self, err, fid, report, state, stop_reason, CreateArgs, RuntimeParams};
use keystone_abi::{eyrie, layout};
use std::path::Path;

/// The one command that regenerates every generated file.
const REGENERATE: &str = "cargo run -q -p keystone-abi --example dump_abi -- --write";

/// How a constant is spelled in C.
#[derive(Clone, Copy)]
enum Form {
    /// A decimal `int` (negative ones in parentheses).
    Dec,
    /// A hexadecimal `int`.
    Hex,
    /// A hexadecimal `unsigned long` (addresses, ids, sizes in bytes).
    HexUl,
}

/// One field of a C struct, taken from the Rust struct.
struct Field {
    name: &'static str,
    offset: usize,
    size: usize,
    rust_type: &'static str,
    doc: &'static str,
}

/// A `#[repr(C)]` struct of this crate as a C struct.
struct CStruct {
    c_name: &'static str,
    rust_type: &'static str,
    size: usize,
    /// Comment above the struct; with field docs it becomes a kernel-doc block.
    doc: &'static str,
    fields: Vec<Field>,
}

/// Something a header defines; `rows()` flattens them into the `NAME VALUE` table.
enum Item {
    /// `#define NAME value`, also a row.
    Const { name: String, value: i128, form: Form },
    /// `#define NAME "text"` (Python gets it too, not a row).
    Str { name: &'static str, value: &'static str },
    /// A struct, and the rows that name its size and offsets.
    Struct { c: CStruct, rows: Vec<(&'static str, usize)> },
    /// `#define NAME _IOR(KEYSTONE_IOC_MAGIC, nr, struct ...)`, also a row (the number).
    Ioctl { name: &'static str, cmd: u32, arg: &'static str },
}

/// Which generated header an item goes to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Header {
    Sm,
    User,
    /// The C eapp SDK's (`sdk/c/include/shared/eapp_abi.h`).
    Eapp,
    /// The C++ host SDK's (`sdk/cpp/include/common/cpp_abi.h`).
    Cpp,
}

/// Items under one comment in one header.
struct Group {
    header: Header,
    comment: &'static str,
    items: Vec<Item>,
}

fn konst(name: &str, value: i128, form: Form) -> Item {
    Item::Const { name: name.to_string(), value, form }
}

/// `#define PREFIX_NAME value` for each constant of a module's `NAMED`
/// table (the crate's `named!`): the constants are not named again here.
fn named(prefix: &str, table: &[(&str, i128)], form: Form) -> Vec<Item> {
    table.iter().map(|(name, value)| konst(&format!("{prefix}{name}"), *value, form)).collect()
}

fn type_of<T>(_: &T) -> (&'static str, usize) {
    (std::any::type_name::<T>(), size_of::<T>())
}

/// `c_struct!(Rust type, "c_name", "doc", { field: "field doc", ... })`: the
/// fields are read from the Rust type (offset, size, type), so a name that is
/// not a field does not compile, and `check_layout` refuses a missing one.
macro_rules! c_struct {
    ($ty:ty, $c_name:literal, $doc:expr, { $($field:ident : $fdoc:expr),* $(,)? }) => {{
        let value = <$ty>::default();
        CStruct {
            c_name: $c_name,
            rust_type: std::any::type_name::<$ty>(),
            size: size_of::<$ty>(),
            doc: $doc,
            fields: vec![$({
                let (rust_type, size) = type_of(&value.$field);
                Field {
                    name: stringify!($field),
                    offset: offset_of!($ty, $field),
                    size,
                    rust_type,
                    doc: $fdoc,
                }
            }),*],
        }
    }};
}

/// The fields cover the struct, in order, without padding: the C struct
/// written from them has the Rust struct's layout on any LP64 compiler.
fn check_layout(c: &CStruct) {
    let mut end = 0;
    for f in &c.fields {
        assert_eq!(
            f.offset, end,
            "{}.{}: a field is missing before it, or padding",
            c.c_name, f.name
        );
        end += f.size;
    }
    assert_eq!(end, c.size, "struct {}: fields missing at the end", c.c_name);
}

fn ioctl<T>(name: &'static str, io: Ioctl<T>, structs: &[&CStruct]) -> Item {
    let arg = structs
        .iter()
        .find(|c| c.rust_type == std::any::type_name::<T>())
        .unwrap_or_else(|| panic!("{name}: no C struct for {}", std::any::type_name::<T>()))
        .c_name;
    assert_eq!(
        io.size(),
        size_of::<T>(),
        "{name}: the command claims another size than its argument"
    );
    assert_eq!((io.cmd() >> 8) & 0xff, kio::IOC_MAGIC, "{name}: not the driver's magic");
    Item::Ioctl { name, cmd: io.cmd(), arg }
}

fn groups() -> Vec<Group> {
    use Form::{Dec, Hex, HexUl};
    let create_args = c_struct!(CreateArgs, "keystone_sbi_create",
        "keystone_sbi_create_t: passed by virtual address to FID_CREATE_ENCLAVE.",
        { epm_paddr: "", epm_size: "", utm_paddr: "", utm_size: "", runtime_paddr: "",
          user_paddr: "", free_paddr: "", free_requested: "" });
    let runtime_params = c_struct!(RuntimeParams, "keystone_runtime_params",
        "runtime_params_t: how the SM describes the enclave's memory to it.",
        { dram_base: "", dram_size: "", runtime_base: "", user_base: "", free_base: "",
          untrusted_base: "", untrusted_size: "", free_requested: "" });
    let edge_return = c_struct!(EdgeReturn, "edge_call_retdata",
        "The edge-call header at the start of the UTM (offsets, never pointers).",
        { call_status: "", call_ret_offset: "", call_ret_size: "" });
    let edge_call = c_struct!(EdgeCall, "edge_call", "",
        { call_id: "", call_arg_offset: "", call_arg_size: "", return_data: "" });
    let create_enclave = c_struct!(CreateEnclave, "keystone_ioctl_create_enclave",
    "CREATE, UTM_INIT, FINALIZE, DESTROY",
    {
        eid: "the driver's id of the enclave (out of CREATE, in for the others)",
        min_pages: "CREATE: EPM pages wanted",
        utm_size: "UTM_INIT: UTM bytes wanted (rounded up to a power of two)",
        runtime_paddr: "FINALIZE: physical address of the runtime image in the EPM",
        user_paddr: "FINALIZE: physical address of the eapp image in the EPM",
        free_paddr: "FINALIZE: first free EPM page",
        free_requested: "FINALIZE: free memory asked for (passed to the SM)",
        epm_paddr: "out of CREATE: EPM base",
        epm_size: "out of CREATE: EPM size in bytes (>= min_pages pages)",
        utm_paddr: "out of UTM_INIT: UTM base (its size is written to @utm_size)",
    });
    let run_enclave = c_struct!(RunEnclave, "keystone_ioctl_run_enclave", "RUN, RESUME",
    {
        eid: "the driver's id of the enclave",
        error: "out: 0 (the enclave exited), ERR_EDGE_CALL_HOST or ERR_INTERRUPTED",
        value: "out: the exit value when @error is 0",
    });
    let args = [&create_enclave, &run_enclave];
    let ioctls = vec![
        ioctl("KEYSTONE_IOC_CREATE_ENCLAVE", kio::CREATE_ENCLAVE, &args),
        ioctl("KEYSTONE_IOC_DESTROY_ENCLAVE", kio::DESTROY_ENCLAVE, &args),
        ioctl("KEYSTONE_IOC_RUN_ENCLAVE", kio::RUN_ENCLAVE, &args),
        ioctl("KEYSTONE_IOC_RESUME_ENCLAVE", kio::RESUME_ENCLAVE, &args),
        ioctl("KEYSTONE_IOC_FINALIZE_ENCLAVE", kio::FINALIZE_ENCLAVE, &args),
        ioctl("KEYSTONE_IOC_UTM_INIT", kio::UTM_INIT, &args),
    ];
    vec![
        Group {
            header: Header::Sm,
            comment: "The SBI extension, the enclave slots and the physical layout.",
            items: vec![
                konst("KEYSTONE_EID", sm::KEYSTONE_EID as i128, HexUl),
                konst("SBI_IMPL_ID", sm::SBI_IMPL_ID as i128, HexUl),
                konst("ENCLAVES_MAX", sm::ENCLAVES_MAX as i128, Dec),
                konst("SM_BASE", layout::SM_BASE as i128, HexUl),
                konst("SM_SIZE", layout::SM_SIZE as i128, HexUl),
                konst("PAYLOAD_BASE", layout::PAYLOAD_BASE as i128, HexUl),
                konst("DEVICE_SECRET_ADDR", sm::DEVICE_SECRET_ADDR as i128, HexUl),
            ],
        },
        Group {
            header: Header::Sm,
            comment: "Bytes from SM_BASE the SM hash covers (Keystone's sanctum_sm_size): the\n\
                      image, zero-padded to this size.",
            items: vec![konst("SM_HASH_SIZE", sm::SM_HASH_SIZE as i128, HexUl)],
        },
        Group {
            header: Header::Sm,
            comment: "Function ids (a6). 2000-2999: host only; 3000-3999: enclave only.",
            items: named("FID_", fid::NAMED, Dec),
        },
        Group {
            header: Header::Sm,
            comment: "STOP_ENCLAVE reasons (a0).",
            items: named("STOP_", stop_reason::NAMED, Dec),
        },
        Group {
            header: Header::Sm,
            comment: "Enclave states.",
            items: named("STATE_", state::NAMED, Dec),
        },
        Group {
            header: Header::Sm,
            comment: "",
            items: vec![
                Item::Struct {
                    rows: vec![
                        ("CREATE_ARGS_SIZE", size_of::<CreateArgs>()),
                        ("CREATE_ARGS_EPM_PADDR", offset_of!(CreateArgs, epm_paddr)),
                        ("CREATE_ARGS_EPM_SIZE", offset_of!(CreateArgs, epm_size)),
                        ("CREATE_ARGS_UTM_PADDR", offset_of!(CreateArgs, utm_paddr)),
                        ("CREATE_ARGS_UTM_SIZE", offset_of!(CreateArgs, utm_size)),
                        ("CREATE_ARGS_RUNTIME_PADDR", offset_of!(CreateArgs, runtime_paddr)),
                        ("CREATE_ARGS_USER_PADDR", offset_of!(CreateArgs, user_paddr)),
                        ("CREATE_ARGS_FREE_PADDR", offset_of!(CreateArgs, free_paddr)),
                        ("CREATE_ARGS_FREE_REQUESTED", offset_of!(CreateArgs, free_requested)),
                    ],
                    c: create_args,
                },
                Item::Struct {
                    rows: vec![("RUNTIME_PARAMS_SIZE", size_of::<RuntimeParams>())],
                    c: runtime_params,
                },
            ],
        },
        Group {
            header: Header::Sm,
            comment: "Attestation report and sealing key layouts (bytes).",
            items: vec![
                konst("REPORT_SIZE", report::REPORT as i128, Dec),
                konst("ENCLAVE_REPORT_SIZE", report::ENCLAVE_REPORT as i128, Dec),
                konst("SM_REPORT_SIZE", report::SM_REPORT as i128, Dec),
                konst("ATTEST_DATA_MAX", report::DATA_MAX as i128, Dec),
                konst("SEALING_KEY_SIZE", report::SEALING_KEY as i128, Dec),
                konst("SEALING_KEY_STRUCT_SIZE", report::SEALING_KEY_STRUCT as i128, Dec),
                konst("SEALING_IDENT_MAX", report::SEALING_IDENT_MAX as i128, Dec),
            ],
        },
        Group {
            header: Header::Sm,
            comment: "",
            items: vec![
                Item::Struct { c: edge_return, rows: vec![] },
                Item::Struct {
                    rows: vec![
                        ("EDGE_CALL_SIZE", size_of::<EdgeCall>()),
                        ("EDGE_CALL_ARG_OFFSET", offset_of!(EdgeCall, call_arg_offset)),
                        ("EDGE_CALL_ARG_SIZE", offset_of!(EdgeCall, call_arg_size)),
                        ("EDGE_CALL_RETURN", offset_of!(EdgeCall, return_data)),
                    ],
                    c: edge_call,
                },
            ],
        },
        Group {
            header: Header::Sm,
            comment:
                "Edge-call statuses (call_status), the proxied-syscall, file and socket call ids, \
                      the argv block the host may place in the UTM.",
            items: [
                named("EDGE_STATUS_", edge::status::NAMED, Dec),
                vec![
                    konst("EDGECALL_SYSCALL", edge::EDGECALL_SYSCALL as i128, Dec),
                    konst("EDGECALL_FILE", edge::EDGECALL_FILE as i128, Dec),
                    konst("FILE_CALL_SIZE", edge::FILE_CALL_SIZE as i128, Dec),
                    konst("FILE_REPLY_SIZE", edge::FILE_REPLY_SIZE as i128, Dec),
                    konst("EDGECALL_SOCKET", keystone_abi::net::EDGECALL_SOCKET as i128, Dec),
                    konst("SOCKADDR_MAX", keystone_abi::net::SOCKADDR_MAX as i128, Dec),
                    konst("SOCKET_ADDR_BLOCK", keystone_abi::net::ADDR_BLOCK as i128, Dec),
                    konst("ARGS_MAGIC", edge::ARGS_MAGIC as i128, HexUl),
                    konst("ARGS_HEADER_SIZE", edge::ARGS_HEADER_SIZE as i128, Dec),
                    konst("ARGS_MAX_BYTES", edge::ARGS_MAX_BYTES as i128, Dec),
                    konst("ARGS_MAX_STRINGS", edge::ARGS_MAX_STRINGS as i128, Dec),
                ],
            ]
            .into_iter()
            .flatten()
            .collect(),
        },
        Group {
            header: Header::Sm,
            comment: "Eyrie system calls an eapp makes (a7).",
            items: vec![
                konst("EYRIE_OCALL", eyrie::syscall::OCALL as i128, Dec),
                konst("EYRIE_SHAREDCOPY", eyrie::syscall::SHAREDCOPY as i128, Dec),
                konst("EYRIE_ATTEST_ENCLAVE", eyrie::syscall::ATTEST_ENCLAVE as i128, Dec),
                konst("EYRIE_GET_SEALING_KEY", eyrie::syscall::GET_SEALING_KEY as i128, Dec),
                konst("EYRIE_EXIT", eyrie::syscall::EXIT as i128, Dec),
            ],
        },
        Group {
            header: Header::User,
            comment: "",
            items: vec![
                Item::Struct {
                    rows: vec![
                        ("IOCTL_CREATE_SIZE", size_of::<CreateEnclave>()),
                        ("IOCTL_CREATE_EID", offset_of!(CreateEnclave, eid)),
                        ("IOCTL_CREATE_MIN_PAGES", offset_of!(CreateEnclave, min_pages)),
                        ("IOCTL_CREATE_UTM_SIZE", offset_of!(CreateEnclave, utm_size)),
                        ("IOCTL_CREATE_RUNTIME_PADDR", offset_of!(CreateEnclave, runtime_paddr)),
                        ("IOCTL_CREATE_USER_PADDR", offset_of!(CreateEnclave, user_paddr)),
                        ("IOCTL_CREATE_FREE_PADDR", offset_of!(CreateEnclave, free_paddr)),
                        ("IOCTL_CREATE_FREE_REQUESTED", offset_of!(CreateEnclave, free_requested)),
                        ("IOCTL_CREATE_EPM_PADDR", offset_of!(CreateEnclave, epm_paddr)),
                        ("IOCTL_CREATE_EPM_SIZE", offset_of!(CreateEnclave, epm_size)),
                        ("IOCTL_CREATE_UTM_PADDR", offset_of!(CreateEnclave, utm_paddr)),
                    ],
                    c: create_enclave,
                },
                Item::Struct {
                    rows: vec![
                        ("IOCTL_RUN_SIZE", size_of::<RunEnclave>()),
                        ("IOCTL_RUN_ERROR", offset_of!(RunEnclave, error)),
                        ("IOCTL_RUN_VALUE", offset_of!(RunEnclave, value)),
                    ],
                    c: run_enclave,
                },
            ],
        },
        Group {
            header: Header::User,
            comment: "",
            items: vec![
                Item::Str { name: "KEYSTONE_DEVICE_PATH", value: kio::DEVICE_PATH },
                konst("KEYSTONE_IOC_MAGIC", kio::IOC_MAGIC as i128, Hex),
            ],
        },
        Group {
            header: Header::User,
            comment: "Keystone's numbers; its _IOR directions are kept for compatibility even\n\
                      where the driver also reads the argument.",
            items: ioctls,
        },
        Group {
            header: Header::User,
            comment: "Largest UTM: one buddy block (MAX_ORDER - 1 on Linux 6.1, 4 KiB pages).",
            items: vec![konst("KEYSTONE_UTM_MAX", kio::UTM_MAX as i128, HexUl)],
        },
        Group {
            header: Header::Eapp,
            comment: "Eyrie-compatible runtime calls an eapp makes with `ecall` (a7 = number).",
            items: vec![
                konst("SYSCALL_OCALL", eyrie::syscall::OCALL as i128, Dec),
                konst("SYSCALL_SHAREDCOPY", eyrie::syscall::SHAREDCOPY as i128, Dec),
                konst("SYSCALL_ATTEST_ENCLAVE", eyrie::syscall::ATTEST_ENCLAVE as i128, Dec),
                konst("SYSCALL_GET_SEALING_KEY", eyrie::syscall::GET_SEALING_KEY as i128, Dec),
                konst("SYSCALL_EXIT", eyrie::syscall::EXIT as i128, Dec),
            ],
        },
        Group {
            header: Header::Eapp,
            comment: "Linux system calls the runtime serves itself or proxies to the host.",
            items: vec![
                konst("SYSCALL_WRITE", eyrie::linux::WRITE as i128, Dec),
                konst("SYSCALL_BRK", eyrie::linux::BRK as i128, Dec),
                konst("SYSCALL_MUNMAP", eyrie::linux::MUNMAP as i128, Dec),
                konst("SYSCALL_MMAP", eyrie::linux::MMAP as i128, Dec),
                konst("SYSCALL_GETRANDOM", eyrie::linux::GETRANDOM as i128, Dec),
            ],
        },
        Group {
            header: Header::Eapp,
            comment: "Edge calls: the size of the host's ocall table (ids below it) and the\n\
                      statuses a callee answers with (call_status).",
            items: [
                vec![konst("MAX_EDGE_CALL", edge::MAX_EDGE_CALL as i128, Dec)],
                named("CALL_STATUS_", edge::status::NAMED, Dec),
            ]
            .into_iter()
            .flatten()
            .collect(),
        },
        Group {
            header: Header::Eapp,
            comment: "The sealing key get_sealing_key() returns (struct sealing_key): key\n\
                      bytes, then the SM's Ed25519 signature over them.",
            items: vec![
                konst("SEALING_KEY_SIZE", report::SEALING_KEY as i128, Dec),
                konst("SIGNATURE_SIZE", report::SIGNATURE as i128, Dec),
            ],
        },
        Group {
            header: Header::Cpp,
            comment: "An attestation report's parts (report_t, docs/abi.md §5.1).",
            items: vec![
                konst("MDSIZE", report::MDSIZE as i128, Dec),
                konst("ATTEST_DATA_MAXLEN", report::DATA_MAX as i128, Dec),
                konst("SIGNATURE_SIZE", report::SIGNATURE as i128, Dec),
                konst("PUBLIC_KEY_SIZE", report::PUBLIC_KEY as i128, Dec),
            ],
        },
        Group {
            header: Header::Cpp,
            comment: "The runtime's proxied Linux system calls: their edge-call id, where the\n\
                      arguments start in the call's data (after the syscall number), and\n\
                      write(2)'s number and where its bytes start in its arguments.",
            items: vec![
                konst("EDGECALL_SYSCALL", edge::EDGECALL_SYSCALL as i128, Dec),
                konst("EDGE_SYSCALL_ARGS", edge::SYSCALL_DATA_OFFSET as i128, Dec),
                konst("EDGE_SYS_WRITE", eyrie::linux::WRITE as i128, Dec),
                konst("EDGE_SYSCALL_WRITE_BUF", edge::WRITE_BUF_OFFSET as i128, Dec),
            ],
        },
        Group {
            header: Header::Sm,
            comment: "Error codes (positive, in a0).",
            items: named("ERR_", err::NAMED, Dec),
        },
    ]
}

/// Every constant and layout as `(NAME, value)`, in the order of the groups;
/// a name two headers define (with the same value, or this panics) once.
fn rows(groups: &[Group]) -> Vec<(String, i128)> {
    let mut rows: Vec<(String, i128)> = Vec::new();
    for item in groups.iter().flat_map(|g| &g.items) {
        match item {
            Item::Const { name, value, .. } => rows.push((name.clone(), *value)),
            Item::Ioctl { name, cmd, .. } => rows.push((name.to_string(), *cmd as i128)),
            Item::Struct { rows: layout, .. } => {
                rows.extend(layout.iter().map(|(n, v)| (n.to_string(), *v as i128)))
            }
            Item::Str { .. } => {}
        }
    }
    let mut seen = std::collections::HashMap::new();
    rows.retain(|(name, value)| match seen.insert(name.clone(), *value) {
        None => true,
        Some(first) => {
            assert_eq!(first, *value, "{name}: two headers give it two values");
            false
        }
    });
    rows
}

/// Every struct of the headers.
fn structs(groups: &[Group]) -> Vec<&CStruct> {
    let items = groups.iter().flat_map(|g| &g.items);
    items.filter_map(|i| if let Item::Struct { c, .. } = i { Some(c) } else { None }).collect()
}

fn main() {
    let groups = groups();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let files = [
        ("keystone_py/abi.py", python_module(&groups)),
        ("sdk/abi/include/keystone_sm.h", c_header(&groups, Header::Sm)),
        ("sdk/abi/include/keystone_user.h", c_header(&groups, Header::User)),
        ("sdk/c/include/shared/eapp_abi.h", c_header(&groups, Header::Eapp)),
        ("sdk/cpp/include/common/cpp_abi.h", c_header(&groups, Header::Cpp)),
    ];
    let arg = std::env::args().nth(1);
    match arg.as_deref() {
        None => {
            for (name, value) in rows(&groups) {
                println!("{name} {value}");
            }
        }
        Some("--layouts") => {
            for c in structs(&groups) {
                println!("{} - 0 {}", c.c_name, c.size);
                for f in &c.fields {
                    println!("{} {} {} {}", c.c_name, f.name, f.offset, f.size);
                }
            }
        }
        Some("--python") => print!("{}", files[0].1),
        Some("--c-sm") => print!("{}", files[1].1),
        Some("--c-user") => print!("{}", files[2].1),
        Some("--c-eapp") => print!("{}", files[3].1),
        Some("--c-cpp") => print!("{}", files[4].1),
        Some("--write") => {
            for (path, text) in &files {
                std::fs::write(root.join(path), text).unwrap_or_else(|e| panic!("{path}: {e}"));
                eprintln!("wrote {path}");
            }
        }
        Some(other) => {
            eprintln!("dump_abi: unknown argument {other:?} (--python, --c-sm, --c-user, --c-eapp, --c-cpp, --write, --layouts)");
            std::process::exit(2);
        }
    }
}

/// `keystone_py/abi.py`.
fn python_module(groups: &[Group]) -> String {
    let rows = rows(groups);
    let mut out = format!(
        "\"\"\"The SM ABI for Python, generated from the Rust crate ``sdk/abi``.\n\n\
         Do not edit: regenerate with\n\
         ``{REGENERATE}``\n\
         (``tests/tools/test_abi.py`` fails when this file is stale, and checks the C\n\
         headers in ``sdk/abi/include``, generated with it, against the same values).\n\"\"\"\n\n\
         from __future__ import annotations\n\n\
         from typing import Dict\n\n",
    );
    for (name, value) in &rows {
        if *value >= 0x1000 {
            out += &format!("{name} = {value:#x}\n");
        } else {
            out += &format!("{name} = {value}\n");
        }
    }
    for item in groups.iter().flat_map(|g| &g.items) {
        if let Item::Str { name, value } = item {
            out += &format!("{name} = \"{value}\"\n");
        }
    }
    out += "\n#: Every constant above by name (what the cross-check compares).\n";
    out += "ALL: Dict[str, int] = {\n";
    for (name, _) in &rows {
        out += &format!("    \"{name}\": {name},\n");
    }
    out += "}\n\n#: Error names by code, for messages.\n";
    out += "ERROR_NAMES: Dict[int, str] = {v: k[4:] for k, v in ALL.items() if k.startswith(\"ERR_\")}\n";
    out
}

const SM_PROLOGUE: &str = "\
/* SPDX-License-Identifier: Apache-2.0 OR GPL-2.0 */
/*
 * The security monitor's ABI for C code (the Linux driver, C host apps):
 * Keystone's SBI extension, error codes, enclave states, the CREATE argument
 * block and the attestation layouts.
 *
";

const SM_INCLUDES: &str = "\
#if defined(__KERNEL__) || defined(__linux__)
#include <linux/types.h>\t/* __u64, also for keystone_user.h */
#else
#include <stdint.h>
typedef uint64_t __u64;
#endif
";

const USER_PROLOGUE: &str = "\
/* SPDX-License-Identifier: Apache-2.0 OR GPL-2.0 WITH Linux-syscall-note */
/*
 * The enclave driver's user ABI: /dev/keystone_enclave, its ioctl numbers
 * (Keystone's values, so Keystone's host SDK works unchanged) and their
 * argument structs.
 *
 * Flow: open -> CREATE (EPM) -> mmap EPM pages, copy loader/runtime/eapp ->
 * UTM_INIT -> FINALIZE (SM create) -> mmap the UTM -> RUN, then RESUME after
 * each INTERRUPTED or EDGE_CALL_HOST -> DESTROY or close. One enclave per open
 * file; closing the file (or the process dying) destroys it.
 *
 * Every command returns 0 or -1 with errno:
 *   ENOTTY      unknown command, or a known one with the wrong argument size
 *   EFAULT      the argument pointer is not readable/writable
 *   ENOENT      eid is not the enclave of this file
 *   EEXIST      CREATE or UTM_INIT again on the same file
 *   EALREADY    FINALIZE again
 *   EBADFD      the command does not fit the enclave's state (UTM_INIT before
 *               CREATE, FINALIZE before UTM_INIT, RUN/RESUME before FINALIZE,
 *               anything after DESTROY)
 *   EINVAL      a bad size or address (min_pages 0 or too large, utm_size 0
 *               or above KEYSTONE_UTM_MAX, FINALIZE addresses outside the EPM
 *               or out of order); also the SM's ILLEGAL_ARGUMENT
 *   ENOMEM      no contiguous memory of that size
 *   EINTR       a signal arrived while waiting for the enclave's lock
 *   SM errors (from FINALIZE, RUN, RESUME, DESTROY) map to: INVALID_ID ENXIO,
 *   NO_FREE_RESOURCE/PMP_FAILURE/PMP_REGION_MAX_REACHED ENOSPC, REGION_OVERLAPS/
 *   PMP_REGION_OVERLAP EADDRINUSE, NOT_FRESH EALREADY... see keystone_errno()
 *   in linux_host/driver/keystone-ioctl.c; RUN/RESUME succeed with error =
 *   0 (exited, value = exit value), EDGE_CALL_HOST or INTERRUPTED.
 *
";

const CPP_PROLOGUE: &str = "\
/*
 * The numbers the C++ host SDK and verifier (sdk/cpp) share with the SM, the
 * runtime and the Rust host SDK, under Keystone's names. The SDK's headers
 * (common/sha3.h, verifier/report.h) and edge_dispatch.c include this file
 * and define no number of their own.
 *
";

const EAPP_PROLOGUE: &str = "\
/*
 * The numbers the C eapp SDK shares with the runtime, the host and the SM,
 * under Keystone's names (Keystone's eapp code compiles unchanged). The SDK's
 * headers (shared/eyrie_call.h, edge/edge_common.h, app/sealing.h) include
 * this file and define no number of their own.
 *
";

const USER_INCLUDES: &str = "#include <linux/ioctl.h>\n#include <linux/types.h>\n";

/// `sdk/abi/include/keystone_sm.h` or `keystone_user.h`.
fn c_header(groups: &[Group], header: Header) -> String {
    let (guard, prologue, includes) = match header {
        Header::Sm => ("KEYSTONE_SM_H", SM_PROLOGUE, SM_INCLUDES),
        Header::User => ("KEYSTONE_USER_H", USER_PROLOGUE, USER_INCLUDES),
        Header::Eapp => ("KEYSTONE_RS_SHARED_EAPP_ABI_H", EAPP_PROLOGUE, ""),
        Header::Cpp => ("KEYSTONE_RS_COMMON_CPP_ABI_H", CPP_PROLOGUE, ""),
    };
    let structs = structs(groups);
    let includes = if includes.is_empty() { String::new() } else { format!("\n{includes}") };
    let mut out = String::from(prologue);
    out += &format!(
        " * Generated from the Rust crate sdk/abi, the one source of these numbers and\n \
         * layouts, by sdk/abi/examples/dump_abi.rs: do not edit, regenerate with\n \
         *   {REGENERATE}\n \
         * (tests/tools/test_abi.py fails when this file is stale, and compiles it to\n \
         * check every value against the crate).\n */\n\
         #ifndef {guard}\n#define {guard}\n{includes}"
    );
    for group in groups.iter().filter(|g| g.header == header) {
        out += "\n";
        if !group.comment.is_empty() {
            out += &c_comment(group.comment);
        }
        for (n, item) in group.items.iter().enumerate() {
            if n > 0 && matches!(item, Item::Struct { .. }) {
                out += "\n";
            }
            match item {
                Item::Const { name, value, form } => {
                    out += &format!("#define {name} {}\n", c_value(*value, *form));
                }
                Item::Str { name, value } => out += &format!("#define {name} \"{value}\"\n"),
                Item::Ioctl { name, cmd, arg } => {
                    let dir = match cmd >> 30 {
                        kio::IOC_READ => "_IOR",
                        kio::IOC_WRITE => "_IOW",
                        _ => "_IOWR",
                    };
                    out += &format!(
                        "#define {name} \\\n\t{dir}(KEYSTONE_IOC_MAGIC, {:#04x}, struct {arg})\n",
                        cmd & 0xff
                    );
                }
                Item::Struct { c, .. } => out += &c_struct(c, &structs),
            }
        }
    }
    out + &format!("\n#endif /* {guard} */\n")
}

fn c_value(value: i128, form: Form) -> String {
    match form {
        Form::Dec if value < 0 => format!("({value})"),
        Form::Dec => format!("{value}"),
        Form::Hex => format!("{value:#x}"),
        Form::HexUl => format!("{value:#x}UL"),
    }
}

/// A `/* ... */` comment, one line or several.
fn c_comment(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() == 1 {
        return format!("/* {text} */\n");
    }
    let mut out = format!("/* {}\n", lines[0]);
    for line in &lines[1..lines.len() - 1] {
        out += &format!(" * {line}\n");
    }
    out + &format!(" * {} */\n", lines[lines.len() - 1])
}

fn c_struct(c: &CStruct, structs: &[&CStruct]) -> String {
    check_layout(c);
    let mut out = String::new();
    if c.fields.iter().any(|f| !f.doc.is_empty()) {
        out += &format!("/**\n * struct {} - {}\n", c.c_name, c.doc);
        for f in &c.fields {
            out += &format!(" * @{}: {}\n", f.name, f.doc);
        }
        out += " */\n";
    } else if !c.doc.is_empty() {
        out += &c_comment(c.doc);
    }
    out += &format!("struct {} {{\n", c.c_name);
    for f in &c.fields {
        let ty = match f.rust_type {
            "u64" => "__u64".to_string(),
            rust => {
                let inner = structs.iter().find(|s| s.rust_type == rust).unwrap_or_else(|| {
                    panic!("{}.{}: no C type for {rust} (add it here)", c.c_name, f.name)
                });
                format!("struct {}", inner.c_name)
            }
        };
        out += &format!("\t{ty} {};\n", f.name);
    }
    out += "};\n";
    out
}
