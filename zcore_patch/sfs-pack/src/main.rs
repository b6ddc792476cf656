//! Packs a folder into an rcore-fs SFS image, the root file system zCore mounts
//! from `-initrd`: the same library calls as zCore's `xtask image`, without its
//! downloads (keystone-py builds this for the build machine from the vendored
//! rcore-fs; see zcore_patch/README.md).
//!
//! Usage: `sfs-pack DIR IMAGE`

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use rcore_fs::vfs::FileSystem;
use rcore_fs_fuse::zip::zip_dir;
use rcore_fs_sfs::SimpleFileSystem;

/// The largest image the free-block bitmap describes (zCore's xtask uses the same).
const MAX_SPACE: usize = 1024 * 1024 * 1024;
/// Room added after the packed files, as zCore's xtask does (`qemu-img resize +5M`):
/// zCore reads the whole free map, which describes blocks past the packed ones.
const EXTRA_SPACE: u64 = 5 * 1024 * 1024;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [dir, image] = args.as_slice() else {
        eprintln!("usage: sfs-pack DIR IMAGE");
        return ExitCode::from(2);
    };
    let file =
        match OpenOptions::new().read(true).write(true).create(true).truncate(true).open(image) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("sfs-pack: cannot create {}: {e}", image.display());
                return ExitCode::FAILURE;
            }
        };
    let fs = match SimpleFileSystem::create(Arc::new(Mutex::new(file)), MAX_SPACE) {
        Ok(fs) => fs,
        Err(e) => {
            eprintln!("sfs-pack: cannot create the file system: {e:?}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = zip_dir(dir, fs.root_inode()) {
        eprintln!("sfs-pack: cannot pack {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    if let Err(e) = fs.sync() {
        eprintln!("sfs-pack: cannot write {}: {e:?}", image.display());
        return ExitCode::FAILURE;
    }
    drop(fs);
    let grown = OpenOptions::new()
        .write(true)
        .open(image)
        .and_then(|f| f.metadata().and_then(|m| f.set_len(m.len() + EXTRA_SPACE)));
    if let Err(e) = grown {
        eprintln!("sfs-pack: cannot extend {}: {e}", image.display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
