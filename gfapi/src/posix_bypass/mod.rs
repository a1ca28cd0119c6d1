// SPDX-License-Identifier: GPL-2.0-or-later
//! rpc-bypass: a brick directory opened in-process through a client graph
//! that holds only `storage/posix` — no glusterd, no brick process, no RPC.
//!
//! [`Volume::posix`](crate::Volume::posix) generates the volfile itself:
//!
//! ```text
//! volume rpc-bypass-posix
//!     type storage/posix
//!     option directory "/the/brick"
//!     option health-check-interval 0
//! end-volume
//! ```
//!
//! (plus `features/read-only` with [`Volume::read_only`](crate::Volume::read_only), and
//! `performance/io-threads` only if asked for with [`Volume::io_threads`](crate::Volume::io_threads)).
//! gfapi adds its own `meta-autoload` translator on top of every graph. The
//! workarounds need no extra translator. io-threads is a measured trade-off
//! (see [`Volume::io_threads`](crate::Volume::io_threads) and `docs/rpc-bypass.md`): ~46 µs more
//! per operation, but the only source of parallelism for async I/O at queue
//! depth > 1 — posix alone completes every request inside the submitting
//! thread.
//!
//! # Why workarounds are needed (GlusterFS 10.3)
//!
//! libgfapi was never meant to host `storage/posix` directly; three things
//! that `glusterfsd` or `protocol/client` normally do are missing. All fixes
//! live in `internals/` (the GlusterFS-10.3-specific memory writes in
//! `internals/gluster_10_3.rs`), are applied only in this mode, and only on
//! a GlusterFS version whose layout was verified (build time:
//! `build_posix_bypass.rs`; run time: `internals/support.rs`, plus a
//! fingerprint of the context before anything is written,
//! `internals/fingerprint.rs`):
//!
//! 1. **Uninitialised context lists** — `glusterfsd` initialises
//!    `ctx->janitor_fds` and `ctx->diskth_xl` (glusterfsd.c,
//!    `glusterfs_ctx_defaults_init`); gfapi does not. posix's `init` appends
//!    to `diskth_xl` (segfault in `glfs_init`) and its fd-janitor thread walks
//!    `janitor_fds`. Fix: `INIT_LIST_HEAD` both (and initialise their
//!    mutex/cond pairs) between `glfs_new` and `glfs_init`.
//! 2. **Root lookup has no gfid** — gfapi's root lookup
//!    (`glfs_resolve_root`) sends a loc with only `inode` set; posix resolves
//!    nameless lookups by `loc->gfid`, so it fails and `glfs_init`'s final
//!    `chdir("/")` reports `ENOTDIR`. `protocol/client` (or any translator
//!    that copies the loc with `loc_copy`, e.g. io-threads) normally fills
//!    the gfid from the inode. Fix: the posix translator's `lookup` entry is
//!    wrapped once per process by `lookup_fill_gfid`, which does exactly
//!    that fill and calls the original.
//! 3. **`glfs_fini` never returns** — gfapi sends `PARENT_DOWN` and waits for
//!    `CHILD_DOWN`; posix answers only when the victim translator is marked
//!    `cleanup_starting` (the brick-detach path). Fix: mark the graph's top
//!    translator before `glfs_fini`.
//!
//! Two more make teardown quick and leak-free:
//!
//! 4. posix takes references on the context's timer wheel
//!    (`glusterfs_ctx_tw_get`) and never drops them, so every instance would
//!    leak the timer thread; the references are dropped after `glfs_fini`.
//! 5. `gf_event_dispatch_destroy` waits a full second for the event
//!    dispatcher thread (its last exit does not signal); the event threads
//!    are stopped just before `glfs_fini` with a helper that signals when
//!    they are gone. `glfs_fini` then takes ~2 ms instead of ~1 s.
//!
//! # Side effects on the host process
//!
//! posix's `init` sets the process umask to 0 (restored right after
//! `glfs_init`; other threads creating files during those milliseconds see
//! umask 0) and tries to raise `RLIMIT_NOFILE` to 1048576 (left as is). Each
//! instance keeps ~260 fds open (the brick's `.glusterfs/xx` handle dirs).
//! The posix health-check thread is disabled: on a failed check it would
//! `kill()` the host process.
//!
//! # Safety of the brick
//!
//! The translator is the brick's own `storage/posix`, so the on-disk format
//! (`trusted.gfid`, `trusted.gfid2path.*`, `.glusterfs` handles) is exactly a
//! brick's. What is *not* there are the other brick-side translators
//! (changelog, marker/quota, index, bitrot, locks, utime): writes made in this
//! mode are invisible to geo-replication, quota and self-heal bookkeeping, and
//! do not update the `trusted.glusterfs.mdata` times of existing files. So
//! [`init`] refuses a directory that a running brick process (or another
//! posix instance) serves, or that is a brick of a started volume, unless
//! [`Volume::read_only`](crate::Volume::read_only) or [`Volume::force`](crate::Volume::force) is given. Read-only access is
//! refused too while `.glusterfs/unlink` is non-empty, because posix's `init`
//! empties that directory (a live brick keeps open-but-unlinked files there).
//! Several instances inside *one* process on the same directory are allowed
//! (fio jobs), but must not create or remove the same names concurrently.
//!
//! # Files
//!
//! * this file: the entry point ([`init`]: what is checked before anything
//!   is loaded) and [`rpc_bypass_support`];
//! * `brick_users.rs`: who else serves a brick directory, and the refusal;
//! * `brick_volfile.rs`: the generated volfile;
//! * `internals/` (only where the version was verified): everything that
//!   touches libglusterfs internals; `unsupported.rs` elsewhere.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::fs::Fs;
use crate::volume::PosixConfig;

mod brick_users;
mod brick_volfile;
#[cfg(gfapi_posix_bypass)]
mod internals;
#[cfg(not(gfapi_posix_bypass))]
mod unsupported;

pub use brick_users::{brick_users, BrickUser};
#[cfg(gfapi_posix_bypass)]
use internals as imp;
#[cfg(not(gfapi_posix_bypass))]
use unsupported as imp;

/// [`Volume::init`](crate::Volume::init) for [`Volume::posix`](crate::Volume::posix). `conflicting`: servers or a
/// volfile were also given.
pub(crate) fn init(
    cfg: &PosixConfig,
    name: &str,
    conflicting: bool,
    log_file: &Path,
    log_level: i32,
    xlator_options: &[(String, String, String)],
) -> Result<Fs> {
    let Some(dir) = &cfg.dir else {
        return Err(Error::InvalidConfig(
            "read_only()/force() apply to Volume::posix only".into(),
        ));
    };
    if conflicting {
        return Err(Error::InvalidConfig(
            "Volume::posix cannot be combined with volfile servers or a volfile".into(),
        ));
    }
    let via = format!("rpc-bypass {}", dir.display());
    let init_err = |detail: String, source: io::Error| Error::Init {
        volume: name.to_string(),
        via: via.clone(),
        detail,
        source,
    };
    let dir = std::fs::canonicalize(dir).map_err(|e| init_err("brick directory".into(), e))?;
    if !dir.is_dir() {
        return Err(init_err(
            "brick path is not a directory".into(),
            io::Error::from_raw_os_error(libc::ENOTDIR),
        ));
    }
    if dir.as_os_str().as_bytes().contains(&b'\n') {
        return Err(Error::InvalidConfig("brick path contains a newline".into()));
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(init_err(
            "storage/posix needs root (it sets trusted.* extended attributes)".into(),
            io::Error::from_raw_os_error(libc::EPERM),
        ));
    }

    if !cfg.force {
        brick_users::refuse_if_served(&dir, cfg.read_only, &init_err)?;
    }

    imp::init(&dir, cfg, name, &via, log_file, log_level, xlator_options)
}

/// Version of the installed GlusterFS whose rpc-bypass support was checked,
/// or why rpc-bypass is not available here.
///
/// ```no_run
/// match gfapi::rpc_bypass_support() {
///     Ok(v) => println!("rpc-bypass available (GlusterFS {v})"),
///     Err(e) => println!("no rpc-bypass: {e}"),
/// }
/// ```
pub fn rpc_bypass_support() -> Result<String> {
    imp::support_version()
}

#[cfg(test)]
mod tests {
    use crate::{Error, Volume};

    #[test]
    fn flags_without_posix_are_rejected() {
        let e = Volume::new("v").read_only(true).init().unwrap_err();
        assert!(matches!(e, Error::InvalidConfig(_)), "{e}");
        let e = Volume::posix("/tmp").server("h", 1).init().unwrap_err();
        assert!(matches!(e, Error::InvalidConfig(_)), "{e}");
    }
}
