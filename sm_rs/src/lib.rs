#![cfg_attr(not(test), no_std)]
pub mod fdt_patch;
pub mod pmp;
