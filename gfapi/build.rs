// SPDX-License-Identifier: GPL-2.0-or-later
//! Build script for the `gfapi` crate.
//!
//! 1. Finds libgfapi through pkg-config (`glusterfs-api.pc`) and emits the
//!    link flags. A missing library stops the build with a message naming the
//!    Debian package that provides it.
//! 2. Runs bindgen over `glusterfs/api/glfs.h`, keeping only `glfs_*` items and
//!    reusing the `libc` crate's definitions of the POSIX types the header
//!    mentions (`struct stat`, `struct iovec`, `off_t`, ...). The bindings are
//!    written to `$OUT_DIR/glfs_bindings.rs`; nothing generated is committed.

use std::env;
use std::path::{Path, PathBuf};

// rpc-bypass (Volume::posix): bindings over internal glusterfs headers.
#[path = "build_posix_bypass.rs"]
mod posix_bypass_build;

/// POSIX / libc types that appear in glfs.h. They are block-listed so bindgen
/// emits references to them by name; the raw module brings them into scope
/// with `use libc::*`, so the bindings share the exact types used by the rest
/// of the Rust world (and `struct stat` keeps the 64-bit-offset layout libgfapi
/// was built with).
const LIBC_TYPES: &[&str] = &[
    "stat",
    "statvfs",
    "iovec",
    "timespec",
    "timeval",
    "dirent",
    "flock",
    "off_t",
    "off64_t",
    "mode_t",
    "uid_t",
    "gid_t",
    "dev_t",
    "ino_t",
    "nlink_t",
    "ssize_t",
    "size_t",
    "time_t",
    "blksize_t",
    "blkcnt_t",
    "pid_t",
    // glibc-internal spellings (`__off64_t`, `__mode_t`, ...) only reachable
    // through the typedefs above.
    "__.*",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=GFAPI_INCLUDE_DIR");

    let lib = match pkg_config::Config::new()
        .atleast_version("6.0")
        .probe("glusterfs-api")
    {
        Ok(lib) => lib,
        Err(e) => {
            panic!(
                "\n\nlibgfapi (pkg-config module `glusterfs-api`, version >= 6.0) was not found: {e}\n\
                 On Debian/Ubuntu install it with:   apt-get install libglusterfs-dev\n\
                 (this also installs glusterfs/api/glfs.h and glusterfs-api.pc; `make deps` does it for you)\n\n"
            );
        }
    };

    // Where is glfs.h? pkg-config strips system include dirs from --cflags, so
    // ask for the module's includedir variable and fall back to /usr/include.
    let mut include_dirs: Vec<PathBuf> = Vec::new();
    if let Ok(dir) = env::var("GFAPI_INCLUDE_DIR") {
        include_dirs.push(dir.into());
    }
    include_dirs.extend(lib.include_paths.iter().cloned());
    if let Ok(dir) = pkg_config::get_variable("glusterfs-api", "includedir") {
        include_dirs.push(dir.into());
    }
    include_dirs.push("/usr/include".into());

    let header = include_dirs
        .iter()
        .map(|d| d.join("glusterfs/api/glfs.h"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "\n\nglusterfs/api/glfs.h not found (searched {include_dirs:?}).\n\
                 On Debian/Ubuntu install it with:   apt-get install libglusterfs-dev\n\n"
            )
        });
    println!("cargo:rerun-if-changed={}", header.display());

    // Pass pkg-config's cflags (-D_FILE_OFFSET_BITS=64, -D__USE_FILE_OFFSET64,
    // ..., -I...) to clang so struct layouts match what libgfapi was built with.
    let mut clang_args: Vec<String> = Vec::new();
    let mut defines: Vec<_> = lib.defines.iter().collect();
    defines.sort();
    for (k, v) in defines {
        match v {
            Some(v) => clang_args.push(format!("-D{k}={v}")),
            None => clang_args.push(format!("-D{k}")),
        }
    }
    // glfs.h forces these anyway; make it explicit in case a future .pc drops them.
    clang_args.push("-D_FILE_OFFSET_BITS=64".into());
    clang_args.push("-D_GNU_SOURCE".into());
    for dir in &lib.include_paths {
        clang_args.push(format!("-I{}", dir.display()));
    }

    let mut builder = bindgen::Builder::default()
        .header(path_str(&header))
        .clang_args(&clang_args)
        .allowlist_function("glfs_.*")
        .allowlist_type("glfs_.*")
        .allowlist_var("GLFS_.*|GFAPI_.*")
        .layout_tests(false)
        .derive_default(true)
        .generate_comments(false)
        .prepend_enum_name(false);
    for ty in LIBC_TYPES {
        builder = builder.blocklist_type(ty);
    }

    let bindings = builder
        .generate()
        .unwrap_or_else(|e| panic!("bindgen failed on {}: {e}", header.display()));

    // gluster's translator directory (<libdir>/glusterfs/<version>/xlator),
    // used to check `type` lines of custom volfiles before gfapi parses them.
    if let Ok(libdir) = pkg_config::get_variable("glusterfs-api", "libdir") {
        let base = Path::new(&libdir).join("glusterfs");
        let dirs: Vec<PathBuf> = std::fs::read_dir(&base)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path().join("xlator"))
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        if let [dir] = dirs.as_slice() {
            println!("cargo:rustc-env=GFAPI_XLATOR_DIR={}", dir.display());
        }
    }

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"))
        .join("glfs_bindings.rs");
    bindings
        .write_to_file(&out)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));

    posix_bypass_build::generate(&lib, &include_dirs);
}

fn path_str(p: &Path) -> String {
    p.to_str()
        .unwrap_or_else(|| panic!("non-UTF-8 header path {}", p.display()))
        .to_owned()
}
