// SPDX-License-Identifier: GPL-2.0-or-later
//! Build-time part of the rpc-bypass mode (`src/posix_bypass/`).
//!
//! Generates `$OUT_DIR/glusterfs_internal.rs`: bindgen over the *installed*
//! internal libglusterfs headers (`glusterfs/glusterfs.h`, `xlator.h`,
//! `gf-event.h`, `refcount.h`), restricted to the handful of structs and
//! functions the rpc-bypass workarounds touch. Nothing generated is
//! committed.
//!
//! The internal headers' struct layouts depend on configure-time macros that
//! `glusterfs-api.pc` does not export. The values below are the ones the
//! Debian 12 build of GlusterFS 10.3 was compiled with; they were checked
//! against the machine code of the installed binaries (see
//! `docs/rpc-bypass.md`), and the runtime code re-checks the layout
//! before writing anything.
//!
//! This step never fails the build: if the headers are missing, bindgen
//! fails, the GlusterFS version is not one whose layout was verified, or the
//! target is not 64-bit Linux, the crate is built without the
//! `gfapi_posix_bypass` cfg and `Volume::posix(..).init()` returns
//! `Error::Unsupported` at run time.

use std::env;
use std::path::PathBuf;

/// GlusterFS versions (package version, as in `glusterfs-api.pc`'s
/// `7.<version>`) whose internal layouts were verified for rpc-bypass.
const VERIFIED_VERSIONS: &[&str] = &["10.3"];

/// Configure-time macros of the GlusterFS build that change struct layouts
/// in the internal headers (`GF_LINUX_HOST_OS`: `cmd_args_t.oom_score_adj`;
/// `HAVE_ATOMIC_BUILTINS` + `SIZEOF_LONG`: the size of every `gf_atomic_t`).
const LAYOUT_DEFINES: &[&str] = &[
    "-DGF_LINUX_HOST_OS",
    "-D_GNU_SOURCE",
    "-DHAVE_ATOMIC_BUILTINS",
    "-DSIZEOF_LONG=8",
    "-D_FILE_OFFSET_BITS=64",
];

const WRAPPER: &str = "\
#include <glusterfs/glusterfs.h>
#include <glusterfs/xlator.h>
#include <glusterfs/gf-event.h>
#include <glusterfs/refcount.h>
";

/// Emit the bindings and `cargo:rustc-cfg=gfapi_posix_bypass` when possible;
/// otherwise a `cargo:warning` saying why rpc-bypass is unavailable.
pub fn generate(lib: &pkg_config::Library, include_dirs: &[PathBuf]) {
    println!("cargo:rustc-check-cfg=cfg(gfapi_posix_bypass)");
    println!("cargo:rerun-if-changed=build_posix_bypass.rs");

    // "7.10.3" -> "10.3"
    let version = lib
        .version
        .strip_prefix("7.")
        .unwrap_or(&lib.version)
        .to_string();
    println!("cargo:rustc-env=GFAPI_GLUSTER_VERSION={version}");

    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let width = env::var("CARGO_CFG_TARGET_POINTER_WIDTH").unwrap_or_default();
    if os != "linux" || width != "64" {
        println!("cargo:warning=gfapi: rpc-bypass (Volume::posix) disabled: only 64-bit Linux is verified");
        return;
    }
    if !VERIFIED_VERSIONS.contains(&version.as_str()) {
        println!(
            "cargo:warning=gfapi: rpc-bypass (Volume::posix) disabled: GlusterFS {version} \
             is not a version whose internal layout was verified ({VERIFIED_VERSIONS:?})"
        );
        return;
    }

    let mut args: Vec<String> = LAYOUT_DEFINES.iter().map(|s| s.to_string()).collect();
    for dir in lib.include_paths.iter().chain(include_dirs) {
        args.push(format!("-I{}", dir.display()));
        for h in ["glusterfs.h", "xlator.h", "gf-event.h", "refcount.h"] {
            let p = dir.join("glusterfs").join(h);
            if p.is_file() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
    let builder = bindgen::Builder::default()
        .header_contents("gfapi_posix_bypass.h", WRAPPER)
        .clang_args(&args)
        .allowlist_type(
            "_glusterfs_ctx|glusterfs_ctx_t|_xlator|xlator_t|_glusterfs_graph|glusterfs_graph_t|\
             event_pool|gf_ctx_tw|_loc|loc_t|_inode|inode_t|xlator_api_t|xlator_fops|\
             volume_opt_list_t|glusterfs_event_t",
        )
        .allowlist_function(
            "xlator_volopt_dynload|xlator_notify|gf_event_dispatch_destroy|_gf_ref_put",
        )
        .layout_tests(false)
        .derive_default(false)
        .derive_debug(false)
        .derive_copy(false)
        .generate_comments(false);
    let bindings = match builder.generate() {
        Ok(b) => b,
        Err(e) => {
            println!(
                "cargo:warning=gfapi: rpc-bypass (Volume::posix) disabled: bindgen over the \
                 internal glusterfs headers failed: {e}"
            );
            return;
        }
    };
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"))
        .join("glusterfs_internal.rs");
    if let Err(e) = bindings.write_to_file(&out) {
        println!(
            "cargo:warning=gfapi: rpc-bypass disabled: cannot write {}: {e}",
            out.display()
        );
        return;
    }
    println!("cargo:rustc-cfg=gfapi_posix_bypass");
}
