// SPDX-License-Identifier: GPL-2.0-or-later
//! rpc-bypass: a brick directory opened in-process through a client graph
//! that holds only `storage/posix` — no glusterd, no brick process, no RPC.
//!
//! [`Volume::posix`] generates the volfile itself:
//!
//! ```text
//! volume rpc-bypass-posix
//!     type storage/posix
//!     option directory "/the/brick"
//!     option health-check-interval 0
//! end-volume
//! ```
//!
//! (plus `features/read-only` with [`Volume::read_only`], and
//! `performance/io-threads` only if asked for with [`Volume::io_threads`]).
//! gfapi adds its own `meta-autoload` translator on top of every graph. The
//! workarounds need no extra translator. io-threads is a measured trade-off
//! (see [`Volume::io_threads`] and `docs/rpc-bypass.md`): ~46 µs more
//! per operation, but the only source of parallelism for async I/O at queue
//! depth > 1 — posix alone completes every request inside the submitting
//! thread.
//!
//! # Why workarounds are needed (GlusterFS 10.3)
//!
//! libgfapi was never meant to host `storage/posix` directly; three things
//! that `glusterfsd` or `protocol/client` normally do are missing. All fixes
//! live in this file, are applied only in this mode, and only on a GlusterFS
//! version whose layout was verified (build time: `build_posix_bypass.rs`;
//! run time: [`support`] plus a fingerprint of the context before anything
//! is written):
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
//!    wrapped once per process by [`lookup_fill_gfid`], which does exactly
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
//! [`Volume::read_only`] or [`Volume::force`] is given. Read-only access is
//! refused too while `.glusterfs/unlink` is non-empty, because posix's `init`
//! empties that directory (a live brick keeps open-but-unlinked files there).
//! Several instances inside *one* process on the same directory are allowed
//! (fio jobs), but must not create or remove the same names concurrently.

use std::fmt;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fs::Fs;
use crate::volume::Volume;

/// rpc-bypass settings carried by a [`Volume`].
#[derive(Debug, Clone, Default)]
pub(crate) struct PosixConfig {
    pub(crate) dir: Option<PathBuf>,
    pub(crate) read_only: bool,
    pub(crate) force: bool,
    pub(crate) io_threads: u32,
}

impl PosixConfig {
    /// Was any rpc-bypass setting used?
    pub(crate) fn is_set(&self) -> bool {
        self.dir.is_some() || self.read_only || self.force || self.io_threads > 0
    }
}

impl Volume {
    /// rpc-bypass: open the brick directory `dir` in-process through a
    /// generated volfile holding only `storage/posix` — no glusterd, no
    /// brick process, no network.
    ///
    /// `dir` is a brick root: an existing directory on a filesystem with
    /// extended attributes; a fresh empty directory becomes a valid brick
    /// (root `trusted.gfid`, `.glusterfs/`) exactly as a brick process would
    /// make it. Needs root. Supported only on GlusterFS versions whose
    /// internals were verified (10.3); elsewhere `init` returns
    /// [`Error::Unsupported`].
    ///
    /// `init` refuses ([`Error::BrickInUse`]) a directory that a running
    /// brick process or another process's posix instance serves, or that is
    /// a brick of a started volume, unless [`read_only`](Volume::read_only)
    /// or [`force`](Volume::force) is set. Teardown takes milliseconds.
    ///
    /// ```no_run
    /// let fs = gfapi::Volume::posix("/srv/brick1").init()?;
    /// let f = fs.create("/data", libc::O_RDWR | libc::O_TRUNC, 0o644)?;
    /// f.write_at(b"hello", 0)?;
    /// f.close()?;
    /// fs.shutdown()?; // ~2 ms
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn posix(dir: impl AsRef<Path>) -> Volume {
        let dir = dir.as_ref();
        let mut v = Volume::new(dir.display().to_string());
        v.posix.dir = Some(dir.to_path_buf());
        v
    }

    /// rpc-bypass only: open read-only. A `features/read-only` translator
    /// makes every modifying operation fail with `EROFS`. Allowed on a
    /// directory a brick process serves (reads only; posix's periodic
    /// landfill clean-up is pushed out to 24 h).
    ///
    /// ```
    /// let v = gfapi::Volume::posix("/srv/brick1").read_only(true);
    /// assert_eq!(v.describe_source(), "rpc-bypass /srv/brick1 (read-only)");
    /// ```
    pub fn read_only(mut self, on: bool) -> Volume {
        self.posix.read_only = on;
        self
    }

    /// rpc-bypass only: put `performance/io-threads` (with `threads` worker
    /// threads; 0 = none, the default) between posix and gfapi.
    ///
    /// Without it every operation — including `*_async` ones — runs to
    /// completion inside the calling thread (the async completion is
    /// delivered before the submit call returns), so a single submitter gets
    /// no I/O parallelism. Measured on the reference VM (2 vCPU, virtio
    /// disk; see `docs/rpc-bypass.md`): io-threads adds ~46 µs per
    /// operation (cached 4 KiB reads 4.8 → 50 µs; O_DIRECT 4 KiB random
    /// reads at depth 1: 16.6k → 13.1k IOPS) but lifts async depth-32
    /// O_DIRECT reads from 16.7k to 56k IOPS (4 KiB random) and from 846 to
    /// ~1200–1600 MiB/s (128 KiB sequential). Use it for queue depth > 1
    /// (16 threads is gluster's default and was best here), not for
    /// synchronous I/O.
    ///
    /// ```
    /// let v = gfapi::Volume::posix("/srv/brick1").io_threads(16);
    /// assert_eq!(v.describe_source(), "rpc-bypass /srv/brick1 (io-threads 16)");
    /// ```
    pub fn io_threads(mut self, threads: u32) -> Volume {
        self.posix.io_threads = threads;
        self
    }

    /// rpc-bypass only: open even if a brick process or another posix
    /// instance serves the directory. This can corrupt the volume (two
    /// translators caching the same inodes, writes that bypass the brick's
    /// changelog/index/quota bookkeeping); meant for experiments on scratch
    /// bricks.
    pub fn force(mut self, on: bool) -> Volume {
        self.posix.force = on;
        self
    }
}

/// A process (or glusterd configuration) that serves a brick directory; see
/// [`brick_users`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrickUser {
    /// Process id, if a process was found (`None`: glusterd's configuration).
    pub pid: Option<u32>,
    /// Process name (`/proc/PID/comm`), or `"glusterd"` for a configured brick.
    pub process: String,
    /// How it uses the directory.
    pub reason: String,
}

impl fmt::Display for BrickUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "pid {pid} ({}) {}", self.process, self.reason),
            None => write!(f, "{}: {}", self.process, self.reason),
        }
    }
}

/// Who serves the brick directory `dir`, other than this process?
///
/// * a process started with `--brick-name DIR` (a `glusterfsd` brick
///   process; with brick multiplexing only the first brick is on the command
///   line, hence the next check);
/// * a process holding `DIR/.glusterfs` open — every `storage/posix`
///   instance does (brick processes, multiplexed or not, and rpc-bypass
///   clients in other processes). Processes whose `/proc/PID/fd` cannot be
///   read (other users, without root) are skipped;
/// * glusterd's configuration (`/var/lib/glusterd/vols/*/bricks/*`): a brick
///   of this node in a *started* volume, whose brick process glusterd may
///   (re)start at any time.
///
/// ```no_run
/// for u in gfapi::brick_users("/srv/brick1")? {
///     println!("in use: {u}");
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn brick_users(dir: impl AsRef<Path>) -> io::Result<Vec<BrickUser>> {
    let dir = std::fs::canonicalize(dir.as_ref())?;
    let hidden = dir.join(".glusterfs");
    let me = std::process::id();
    let mut users = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let proc_dir = entry.path();
        let comm = std::fs::read_to_string(proc_dir.join("comm"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        if let Ok(cmdline) = std::fs::read(proc_dir.join("cmdline")) {
            let mut args = cmdline.split(|b| *b == 0);
            let mut found = false;
            while let Some(a) = args.next() {
                if a == b"--brick-name" {
                    if let Some(p) = args.next() {
                        found |= same_path(Path::new(std::ffi::OsStr::from_bytes(p)), &dir);
                    }
                }
            }
            if found {
                users.push(BrickUser {
                    pid: Some(pid),
                    process: comm,
                    reason: format!("runs with --brick-name {}", dir.display()),
                });
                continue;
            }
        }
        let Ok(fds) = std::fs::read_dir(proc_dir.join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|t| t == hidden) {
                users.push(BrickUser {
                    pid: Some(pid),
                    process: comm.clone(),
                    reason: format!(
                        "holds {} open (a storage/posix instance: brick process or rpc-bypass client)",
                        hidden.display()
                    ),
                });
                break;
            }
        }
    }
    for (volume, started) in glusterd_bricks(&dir) {
        if started {
            users.push(BrickUser {
                pid: None,
                process: "glusterd".into(),
                reason: format!("{} is a brick of started volume '{volume}'", dir.display()),
            });
        }
    }
    Ok(users)
}

fn same_path(a: &Path, canonical: &Path) -> bool {
    a == canonical || std::fs::canonicalize(a).is_ok_and(|c| c == canonical)
}

/// Volumes of this node that have `dir` as a brick: `(name, started)`.
fn glusterd_bricks(dir: &Path) -> Vec<(String, bool)> {
    let base = Path::new("/var/lib/glusterd");
    let kv = |text: &str, key: &str| -> Option<String> {
        text.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
            .map(|v| v.trim().to_string())
    };
    let local_uuid = std::fs::read_to_string(base.join("glusterd.info"))
        .ok()
        .and_then(|t| kv(&t, "UUID"));
    let mut found = Vec::new();
    let Ok(vols) = std::fs::read_dir(base.join("vols")) else {
        return found;
    };
    for vol in vols.flatten() {
        let Ok(bricks) = std::fs::read_dir(vol.path().join("bricks")) else {
            continue;
        };
        let mut ours = false;
        for b in bricks.flatten() {
            let Ok(text) = std::fs::read_to_string(b.path()) else {
                continue;
            };
            let local = match (&local_uuid, kv(&text, "uuid")) {
                (Some(l), Some(u)) => *l == u,
                _ => true,
            };
            let matches = ["path", "real_path"]
                .iter()
                .filter_map(|k| kv(&text, k))
                .any(|p| same_path(Path::new(&p), dir));
            ours |= local && matches;
        }
        if ours {
            let started = std::fs::read_to_string(vol.path().join("info"))
                .ok()
                .and_then(|t| kv(&t, "status"))
                .is_some_and(|s| s == "1");
            found.push((vol.file_name().to_string_lossy().into_owned(), started));
        }
    }
    found
}

/// Does `DIR/.glusterfs/unlink` hold entries (which posix's init deletes)?
fn unlink_dir_nonempty(dir: &Path) -> bool {
    std::fs::read_dir(dir.join(".glusterfs").join("unlink"))
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
}

/// Volfile text for `dir` (already canonical, no newline).
#[cfg_attr(not(gfapi_posix_bypass), allow(dead_code))]
fn volfile_text(dir: &Path, read_only: bool, io_threads: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(
        b"volume rpc-bypass-posix\n    type storage/posix\n    option directory \"",
    );
    for &b in dir.as_os_str().as_bytes() {
        if b == b'"' || b == b'\\' {
            v.push(b'\\');
        }
        v.push(b);
    }
    v.extend_from_slice(b"\"\n");
    // The health check would kill() the host process after a failed check.
    v.extend_from_slice(b"    option health-check-interval 0\n");
    if read_only {
        // Leave .glusterfs/landfill to the brick process.
        v.extend_from_slice(b"    option janitor-sleep-duration 86400\n");
    }
    v.extend_from_slice(b"end-volume\n");
    let mut below = "rpc-bypass-posix";
    if io_threads > 0 {
        v.extend_from_slice(
            format!(
                "\nvolume rpc-bypass-io-threads\n    type performance/io-threads\n    \
                 option thread-count {io_threads}\n    subvolumes {below}\nend-volume\n"
            )
            .as_bytes(),
        );
        below = "rpc-bypass-io-threads";
    }
    if read_only {
        v.extend_from_slice(
            format!(
                "\nvolume rpc-bypass-read-only\n    type features/read-only\n    \
                 option read-only on\n    subvolumes {below}\nend-volume\n"
            )
            .as_bytes(),
        );
    }
    v
}

/// A volfile in the temp dir, removed on drop (gfapi reads it during
/// `glfs_init` only).
#[cfg_attr(not(gfapi_posix_bypass), allow(dead_code))]
struct TempVolfile(PathBuf);

#[cfg_attr(not(gfapi_posix_bypass), allow(dead_code))]
impl TempVolfile {
    fn create(text: &[u8]) -> io::Result<TempVolfile> {
        use std::os::unix::fs::OpenOptionsExt;
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        loop {
            let n = N.fetch_add(1, Ordering::Relaxed);
            let p = std::env::temp_dir()
                .join(format!("gfapi-rpc-bypass-{}-{n}.vol", std::process::id()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&p)
            {
                Ok(mut f) => {
                    let t = TempVolfile(p);
                    f.write_all(text)?;
                    return Ok(t);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for TempVolfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// [`Volume::init`] for [`Volume::posix`]. `conflicting`: servers or a
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
        let users =
            brick_users(&dir).map_err(|e| init_err("cannot check brick users".into(), e))?;
        if !users.is_empty() {
            let list = users
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            if !cfg.read_only {
                return Err(Error::BrickInUse {
                    dir: dir.clone(),
                    detail: format!(
                        "it is served by {list}; writing behind its back corrupts the volume \
                         (use read_only(true), or force(true) on a scratch brick)"
                    ),
                });
            }
            if unlink_dir_nonempty(&dir) {
                return Err(Error::BrickInUse {
                    dir: dir.clone(),
                    detail: format!(
                        "it is served by {list} and {}/.glusterfs/unlink is not empty: \
                         storage/posix's init would delete those entries even read-only \
                         (retry later, or force(true))",
                        dir.display()
                    ),
                });
            }
        }
    }

    imp::init(&dir, cfg, name, &via, log_file, log_level, xlator_options)
}

/// Teardown hook called by [`crate::fs::RawGlfs::fini`]: if `fs` is an
/// rpc-bypass instance, finalise it (workarounds included) and return
/// `glfs_fini`'s result; otherwise `None`.
pub(crate) fn fini_hook(fs: std::ptr::NonNull<crate::raw::glfs_t>) -> Option<i32> {
    imp::fini_hook(fs)
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

#[cfg(not(gfapi_posix_bypass))]
mod imp {
    use super::*;

    fn unsupported() -> Error {
        Error::Unsupported(format!(
            "rpc-bypass (Volume::posix) is not available in this build: GlusterFS {} \
             headers/layout not verified (see the build warnings)",
            option_env!("GFAPI_GLUSTER_VERSION").unwrap_or("?")
        ))
    }

    pub(super) fn init(
        _dir: &Path,
        _cfg: &PosixConfig,
        _name: &str,
        _via: &str,
        _log_file: &Path,
        _log_level: i32,
        _xlator_options: &[(String, String, String)],
    ) -> Result<Fs> {
        Err(unsupported())
    }

    pub(super) fn fini_hook(_fs: std::ptr::NonNull<crate::raw::glfs_t>) -> Option<i32> {
        None
    }

    pub(super) fn support_version() -> Result<String> {
        Err(unsupported())
    }
}

#[cfg(gfapi_posix_bypass)]
mod imp {
    //! Everything that touches libglusterfs internals. Layouts come from
    //! bindgen over the installed headers (`gi`); each use is re-checked at
    //! run time before anything is written.

    use super::*;
    use crate::bindings::gi;
    use crate::raw;
    use std::ffi::{CStr, CString};
    use std::ptr::{self, addr_of, addr_of_mut, NonNull};
    use std::sync::{Mutex, OnceLock, PoisonError};
    use std::time::Duration;

    /// Versions whose layouts were verified (keep in sync with
    /// `build_posix_bypass.rs`).
    const VERIFIED_VERSIONS: &[&str] = &["10.3"];
    /// The version this crate was compiled against (`glusterfs-api.pc`).
    const BUILT_VERSION: &str = env!("GFAPI_GLUSTER_VERSION");
    /// Name passed to `glfs_new` (gfapi accepts `[A-Za-z0-9_-]` only).
    const GLFS_NAME: &CStr = c"rpc-bypass";
    /// `GF_CLIENT_PROCESS` (common-utils.h).
    const GF_CLIENT_PROCESS: i32 = 1;

    /// Leading members of gfapi's `struct glfs` (api/src/glfs-internal.h,
    /// not installed): `char *volname; uuid_t vol_uuid; glusterfs_ctx_t
    /// *ctx;` — the only route to the context between `glfs_new` and
    /// `glfs_init`. Unchanged since GlusterFS 3.4; validated in [`ctx_of`]
    /// against values `glfs_new` just stored.
    #[repr(C)]
    struct GlfsHead {
        volname: *const libc::c_char,
        vol_uuid: [u8; 16],
        ctx: *mut gi::glusterfs_ctx_t,
    }

    /// What [`support`] established once per process.
    struct Support {
        version: String,
        /// posix's `struct xlator_fops` (in posix.so's writable data).
        fops: usize,
    }

    static SUPPORT: OnceLock<std::result::Result<Support, String>> = OnceLock::new();

    type LookupFn = unsafe extern "C" fn(
        *mut gi::call_frame_t,
        *mut gi::xlator_t,
        *mut gi::loc_t,
        *mut gi::dict_t,
    ) -> i32;

    /// posix's original `lookup`, saved before it is wrapped.
    static ORIG_LOOKUP: OnceLock<LookupFn> = OnceLock::new();

    /// Workaround 2: posix's `lookup`, with `loc->gfid` filled from
    /// `loc->inode->gfid` when only the inode carries it — what `loc_copy`
    /// (io-threads, protocol/server) does on a normal brick. Runs on gluster
    /// threads; cannot panic.
    unsafe extern "C" fn lookup_fill_gfid(
        frame: *mut gi::call_frame_t,
        this: *mut gi::xlator_t,
        loc: *mut gi::loc_t,
        xdata: *mut gi::dict_t,
    ) -> i32 {
        // SAFETY: posix's lookup contract: `loc` is null or a valid loc_t
        // owned by the caller for the duration of the call, whose `inode` is
        // null or a referenced inode.
        unsafe {
            if !loc.is_null() {
                let inode = (*loc).inode;
                if (*loc).gfid == [0u8; 16] && !inode.is_null() && (*inode).gfid != [0u8; 16] {
                    (*loc).gfid = (*inode).gfid;
                }
            }
            match ORIG_LOOKUP.get() {
                Some(orig) => orig(frame, this, loc, xdata),
                // Unreachable: the wrapper is installed only after
                // ORIG_LOOKUP is set.
                None => -1,
            }
        }
    }

    /// Once per process: load posix.so the way gluster will (from its
    /// XLATORDIR), check the installed version against the verified one,
    /// and wrap posix's `lookup` (workaround 2). The handle is never closed,
    /// so posix.so — and the wrapped table — stay mapped for the process
    /// lifetime.
    fn support() -> Result<&'static Support> {
        SUPPORT
            .get_or_init(|| {
                // SAFETY: called after glfs_new (libglusterfs globals are set
                // up); see probe's own comments.
                unsafe { probe() }
            })
            .as_ref()
            .map_err(|e| Error::Unsupported(e.clone()))
    }

    unsafe fn probe() -> std::result::Result<Support, String> {
        let mut handle: *mut libc::c_void = ptr::null_mut();
        // SAFETY: all-zero is a valid volume_opt_list_t (list head + ptr);
        // xlator_volopt_dynload only stores into `given_opt`.
        let mut opts: gi::volume_opt_list_t = unsafe { std::mem::zeroed() };
        let ty = c"storage/posix";
        // SAFETY: valid C string (not modified despite the `char *`),
        // out-pointers to live locals.
        let rc = unsafe {
            gi::xlator_volopt_dynload(ty.as_ptr() as *mut libc::c_char, &mut handle, &mut opts)
        };
        if rc != 0 || handle.is_null() {
            return Err(
                "cannot load the storage/posix translator (glusterfs-common \
                        installed?)"
                    .into(),
            );
        }
        // SAFETY: handle is a live dlopen handle; symbol name is a C string.
        let api = unsafe { libc::dlsym(handle, c"xlator_api".as_ptr()) } as *mut gi::xlator_api_t;
        if api.is_null() {
            return Err("storage/posix has no xlator_api".into());
        }
        // SAFETY: zeroed Dl_info is valid; dladdr fills it for an address
        // inside a loaded object.
        let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
        if unsafe { libc::dladdr(api as *const libc::c_void, &mut info) } == 0
            || info.dli_fname.is_null()
        {
            return Err("cannot locate posix.so".into());
        }
        // SAFETY: dli_fname is a NUL-terminated string owned by the loader.
        let path = unsafe { CStr::from_ptr(info.dli_fname) }
            .to_string_lossy()
            .into_owned();
        let version = xlator_dir_version(&path)
            .ok_or_else(|| format!("cannot tell the GlusterFS version from {path}"))?;
        if version != BUILT_VERSION {
            return Err(format!(
                "the installed GlusterFS is {version} ({path}) but this crate was built against \
                 {BUILT_VERSION}; rebuild"
            ));
        }
        if !VERIFIED_VERSIONS.contains(&version.as_str()) {
            return Err(format!(
                "rpc-bypass relies on GlusterFS internals verified only for {VERIFIED_VERSIONS:?}, \
                 not {version}"
            ));
        }
        // SAFETY: api points to posix's xlator_api_t (checked symbol).
        let fops = unsafe { (*api).fops };
        if fops.is_null() {
            return Err("storage/posix has no fops table".into());
        }
        if !writable(fops as usize, std::mem::size_of::<gi::xlator_fops>()) {
            return Err("storage/posix's fops table is not in writable memory".into());
        }
        // SAFETY: fops is posix's table in writable memory; no posix graph
        // exists in this process yet (this runs before the first rpc-bypass
        // glfs_init, and nothing else loads storage/posix in a client), so
        // nobody reads `lookup` concurrently.
        unsafe {
            let slot = addr_of_mut!((*fops).lookup);
            match ptr::read(slot) {
                Some(f) if f as usize == lookup_fill_gfid as LookupFn as usize => {}
                Some(f) => {
                    let _ = ORIG_LOOKUP.set(f);
                    ptr::write_volatile(slot, Some(lookup_fill_gfid));
                }
                None => return Err("storage/posix has no lookup".into()),
            }
        }
        Ok(Support {
            version,
            fops: fops as usize,
        })
    }

    /// ".../glusterfs/10.3/xlator/storage/posix.so" -> "10.3".
    fn xlator_dir_version(path: &str) -> Option<String> {
        let parts: Vec<&str> = path.split('/').collect();
        parts.windows(3).find_map(|w| {
            (w[0] == "glusterfs"
                && w[2] == "xlator"
                && w[1].starts_with(|c: char| c.is_ascii_digit()))
            .then(|| w[1].to_string())
        })
    }

    /// Is `[addr, addr+len)` inside one writable mapping of this process?
    fn writable(addr: usize, len: usize) -> bool {
        let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
            return false;
        };
        maps.lines().any(|l| {
            let mut it = l.split_whitespace();
            let (Some(range), Some(perms)) = (it.next(), it.next()) else {
                return false;
            };
            let Some((a, b)) = range.split_once('-') else {
                return false;
            };
            let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            else {
                return false;
            };
            perms.as_bytes().get(1) == Some(&b'w') && a <= addr && addr + len <= b
        })
    }

    static IOT_PINNED: OnceLock<std::result::Result<(), String>> = OnceLock::new();

    /// Workaround 6, part 1: keep `performance/io-threads` loaded for the
    /// life of the process. Its worker threads are detached and still run a
    /// few instructions of io-threads.so after signalling their exit; gluster
    /// dlcloses the translator at the end of `glfs_fini`, so a worker
    /// preempted at that point would execute unmapped code (observed as
    /// SIGSEGV under CPU load). An extra dlopen reference prevents the unmap.
    fn pin_io_threads() -> Result<()> {
        IOT_PINNED
            .get_or_init(|| {
                let mut handle: *mut libc::c_void = ptr::null_mut();
                // SAFETY: all-zero is a valid volume_opt_list_t.
                let mut opts: gi::volume_opt_list_t = unsafe { std::mem::zeroed() };
                // SAFETY: valid C string (not modified), out-pointers to
                // live locals; called after glfs_new.
                let rc = unsafe {
                    gi::xlator_volopt_dynload(
                        c"performance/io-threads".as_ptr() as *mut libc::c_char,
                        &mut handle,
                        &mut opts,
                    )
                };
                if rc != 0 || handle.is_null() {
                    Err("cannot load performance/io-threads".into())
                } else {
                    Ok(()) // handle deliberately never closed
                }
            })
            .clone()
            .map_err(Error::Unsupported)
    }

    /// Workaround 6, part 2: the io-threads instance's `fini`. io-threads'
    /// own `fini` frees its conf right after the workers' count reaches
    /// zero, but each worker unlocks `conf->mutex` once more after
    /// decrementing that count (io-threads.c, `iot_worker`), so the free
    /// races with that unlock. The workers were already stopped by
    /// [`stop_io_threads`] before `glfs_fini`, so there is nothing left to
    /// do but keep the conf alive: it is leaked (a few KiB per io-threads
    /// instance).
    unsafe extern "C" fn iot_fini_keep_conf(_this: *mut gi::xlator_t) {}

    pub(super) fn support_version() -> Result<String> {
        // probe() needs libglusterfs' globals, which glfs_new sets up.
        // SAFETY: valid C string; the instance is finalised below.
        let fs = unsafe { raw::glfs_new(GLFS_NAME.as_ptr()) };
        let Some(fs) = NonNull::new(fs) else {
            return Err(Error::Unsupported("glfs_new failed".into()));
        };
        let r = support().map(|s| s.version.clone());
        // SAFETY: never initialised, owned here; glfs_fini of an instance
        // without glfs_init only frees it.
        unsafe { raw::glfs_fini(fs.as_ptr()) };
        r
    }

    /// A live rpc-bypass instance, registered for [`fini_hook`].
    struct State {
        fs: usize,
        ctx: usize,
    }

    static STATES: Mutex<Vec<State>> = Mutex::new(Vec::new());

    fn register(fs: NonNull<raw::glfs_t>, ctx: *mut gi::glusterfs_ctx_t) {
        STATES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(State {
                fs: fs.as_ptr() as usize,
                ctx: ctx as usize,
            });
    }

    fn take(fs: NonNull<raw::glfs_t>) -> Option<State> {
        let mut v = STATES.lock().unwrap_or_else(PoisonError::into_inner);
        let i = v.iter().position(|s| s.fs == fs.as_ptr() as usize)?;
        Some(v.swap_remove(i))
    }

    /// Finalise a fresh instance that was never registered.
    fn fini_plain(fs: NonNull<raw::glfs_t>) {
        // SAFETY: owned, not initialised (or failed before the graph was
        // built), finalised once.
        unsafe { raw::glfs_fini(fs.as_ptr()) };
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn init(
        dir: &Path,
        cfg: &PosixConfig,
        name: &str,
        via: &str,
        log_file: &Path,
        log_level: i32,
        xlator_options: &[(String, String, String)],
    ) -> Result<Fs> {
        let init_err = |detail: String, source: io::Error| Error::Init {
            volume: name.to_string(),
            via: via.to_string(),
            detail,
            source,
        };
        let cstr = |what: &str, s: &[u8]| {
            CString::new(s).map_err(|_| Error::InvalidConfig(format!("{what} contains a NUL byte")))
        };
        let volfile = TempVolfile::create(&volfile_text(dir, cfg.read_only, cfg.io_threads))
            .map_err(|e| init_err("cannot write the generated volfile".into(), e))?;
        let c_volfile = cstr("volfile path", volfile.0.as_os_str().as_bytes())?;
        let c_log = cstr("log file path", log_file.as_os_str().as_bytes())?;
        let c_opts = xlator_options
            .iter()
            .map(|(x, k, v)| {
                Ok((
                    cstr("xlator name", x.as_bytes())?,
                    cstr("xlator option key", k.as_bytes())?,
                    cstr("xlator option value", v.as_bytes())?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;

        // SAFETY: valid C string.
        let Some(fs) = NonNull::new(unsafe { raw::glfs_new(GLFS_NAME.as_ptr()) }) else {
            return Err(init_err(
                "glfs_new failed".into(),
                crate::error::last_errno_error(),
            ));
        };
        let fail = |e: Error| {
            fini_plain(fs);
            Err(e)
        };
        // SAFETY: fresh uninitialised instance; valid C strings.
        unsafe {
            if raw::glfs_set_volfile(fs.as_ptr(), c_volfile.as_ptr()) != 0 {
                return fail(init_err(
                    "glfs_set_volfile failed".into(),
                    crate::error::last_errno_error(),
                ));
            }
            if raw::glfs_set_logging(fs.as_ptr(), c_log.as_ptr(), log_level) != 0 {
                return fail(init_err(
                    format!("cannot set up logging to {}", log_file.display()),
                    crate::error::last_errno_error(),
                ));
            }
            for (x, k, v) in &c_opts {
                if raw::glfs_set_xlator_option(fs.as_ptr(), x.as_ptr(), k.as_ptr(), v.as_ptr()) != 0
                {
                    return fail(init_err(
                        format!("glfs_set_xlator_option({x:?}, {k:?}, {v:?}) failed"),
                        crate::error::last_errno_error(),
                    ));
                }
            }
        }
        if let Err(e) = support() {
            return fail(e);
        }
        if cfg.io_threads > 0 {
            if let Err(e) = pin_io_threads() {
                return fail(e);
            }
        }
        // SAFETY: fs is a fresh glfs_t from glfs_new with the volfile set.
        let ctx = match unsafe { ctx_of(fs, &c_volfile) } {
            Ok(ctx) => ctx,
            Err(why) => {
                return fail(Error::Unsupported(format!(
                    "rpc-bypass: the gfapi context does not look like GlusterFS {BUILT_VERSION}'s \
                     ({why}); refusing to touch it"
                )))
            }
        };
        // Workaround 1.
        // SAFETY: ctx validated by ctx_of; nothing else uses these fields
        // before glfs_init (no graph, no posix yet).
        unsafe { init_ctx_lists(ctx) };
        // From here every teardown must go through fini_hook.
        register(fs, ctx);

        // posix's init does umask(0); restore ours afterwards.
        // SAFETY: umask has no preconditions.
        let old_umask = unsafe { libc::umask(0o022) };
        // SAFETY: umask restored at once to the original value.
        unsafe { libc::umask(old_umask) };
        // SAFETY: configured instance, initialised once.
        let rc = unsafe { raw::glfs_init(fs.as_ptr()) };
        let errno = io::Error::last_os_error();
        // SAFETY: as above.
        unsafe { libc::umask(old_umask) };
        let finalise = || {
            if let Some(st) = take(fs) {
                // SAFETY: registered instance, owned here, finalised once.
                unsafe { teardown(fs, st) };
            }
        };
        if rc != 0 {
            finalise();
            return Err(init_err(
                "storage/posix could not start on this directory (set log_file() for details)"
                    .into(),
                crate::error::errno_error(errno.raw_os_error().unwrap_or(0)),
            ));
        }
        // SAFETY: initialised instance; ctx is its context.
        if let Err(why) = unsafe { check_graph(ctx) } {
            finalise();
            return Err(Error::Unsupported(format!(
                "rpc-bypass: unexpected client graph ({why})"
            )));
        }
        drop(volfile);
        Ok(Fs::from_raw(fs, name.to_string()))
    }

    /// The context of a fresh `glfs_new` instance, after checking that the
    /// memory we are about to write looks exactly as GlusterFS
    /// `BUILT_VERSION` leaves it.
    unsafe fn ctx_of(
        fs: NonNull<raw::glfs_t>,
        volfile: &CStr,
    ) -> std::result::Result<*mut gi::glusterfs_ctx_t, &'static str> {
        // SAFETY (whole fn): fs points to a live struct glfs whose leading
        // members are GlfsHead (see there); every pointer is checked for
        // null before it is followed, and only fields the headers describe
        // are read.
        unsafe {
            let head = fs.as_ptr() as *const GlfsHead;
            let volname = (*head).volname;
            if volname.is_null() || CStr::from_ptr(volname) != GLFS_NAME {
                return Err("glfs volname");
            }
            let ctx = (*head).ctx;
            if ctx.is_null() {
                return Err("no context");
            }
            let args = addr_of!((*ctx).cmd_args);
            let id = (*args).volfile_id;
            if id.is_null() || CStr::from_ptr(id) != GLFS_NAME {
                return Err("cmd_args.volfile_id");
            }
            let vf = (*args).volfile;
            if vf.is_null() || CStr::from_ptr(vf) != volfile {
                return Err("cmd_args.volfile");
            }
            if (*ctx).process_mode != GF_CLIENT_PROCESS {
                return Err("process_mode");
            }
            if (*ctx).page_size != 128 * 1024 {
                return Err("page_size");
            }
            let self_linked = |h: *mut gi::list_head| (*h).next == h && (*h).prev == h;
            if !self_linked(addr_of_mut!((*ctx).graphs))
                || !self_linked(addr_of_mut!((*ctx).mempool_list))
                || !self_linked(addr_of_mut!((*ctx).volfile_list))
            {
                return Err("graphs/mempool_list/volfile_list list heads");
            }
            let zero = |h: *const gi::list_head| (*h).next.is_null() && (*h).prev.is_null();
            if !zero(addr_of!((*ctx).janitor_fds)) || !zero(addr_of!((*ctx).diskth_xl)) {
                return Err("janitor_fds/diskth_xl are not the zeroed lists of gfapi 10.3");
            }
            if (*ctx).pxl_count != 0
                || (*ctx).diskxl_count != 0
                || !(*ctx).tw.is_null()
                || !(*ctx).active.is_null()
                || !(*ctx).root.is_null()
                || (*ctx).event_pool.is_null()
            {
                return Err("counters/tw/active/root/event_pool");
            }
            Ok(ctx)
        }
    }

    /// Workaround 1: what glusterfsd's `glusterfs_ctx_defaults_init` does
    /// and gfapi's does not.
    unsafe fn init_ctx_lists(ctx: *mut gi::glusterfs_ctx_t) {
        // SAFETY: ctx validated by ctx_of; fields are plain list heads and
        // pthread objects not yet used by anyone.
        unsafe {
            for h in [
                addr_of_mut!((*ctx).janitor_fds),
                addr_of_mut!((*ctx).diskth_xl),
            ] {
                (*h).next = h;
                (*h).prev = h;
            }
            libc::pthread_mutex_init(addr_of_mut!((*ctx).fd_lock).cast(), ptr::null());
            libc::pthread_cond_init(addr_of_mut!((*ctx).fd_cond).cast(), ptr::null());
            libc::pthread_mutex_init(addr_of_mut!((*ctx).xl_lock).cast(), ptr::null());
            libc::pthread_cond_init(addr_of_mut!((*ctx).xl_cond).cast(), ptr::null());
        }
    }

    /// After glfs_init: the graph is `meta` on top of our translators, all
    /// bound to this context, and the posix translator uses the wrapped
    /// fops table.
    unsafe fn check_graph(ctx: *mut gi::glusterfs_ctx_t) -> std::result::Result<(), String> {
        // SAFETY: ctx belongs to an initialised instance; graph and xlator
        // pointers come from it and are checked for null.
        unsafe {
            let graph = (*ctx).active;
            if graph.is_null() {
                return Err("no active graph".into());
            }
            let top = (*graph).top as *mut gi::xlator_t;
            if top.is_null() || (*top).ctx != ctx {
                return Err("top translator".into());
            }
            let ty = |xl: *mut gi::xlator_t| {
                if (*xl).type_.is_null() {
                    String::new()
                } else {
                    CStr::from_ptr((*xl).type_).to_string_lossy().into_owned()
                }
            };
            if ty(top) != "meta" {
                return Err(format!("top translator is {:?}, not meta", ty(top)));
            }
            let fops = support().map_err(|e| e.to_string())?.fops;
            let mut xl = (*graph).first as *mut gi::xlator_t;
            let mut posix_ok = false;
            let mut n = 0;
            while !xl.is_null() && n < 16 {
                if (*xl).ctx != ctx {
                    return Err("translator bound to another context".into());
                }
                if ty(xl) == "storage/posix" {
                    posix_ok = (*xl).fops as usize == fops;
                }
                if ty(xl) == "performance/io-threads" {
                    // Workaround 6: see iot_fini_keep_conf.
                    (*xl).fini = Some(iot_fini_keep_conf);
                }
                xl = (*xl).next;
                n += 1;
            }
            if !posix_ok {
                return Err("storage/posix translator not using the wrapped fops table".into());
            }
            Ok(())
        }
    }

    pub(super) fn fini_hook(fs: NonNull<raw::glfs_t>) -> Option<i32> {
        let st = take(fs)?;
        // SAFETY: a registered instance handed to us for its one teardown.
        Some(unsafe { teardown(fs, st) })
    }

    /// Workarounds 3, 4, 5 around `glfs_fini`.
    unsafe fn teardown(fs: NonNull<raw::glfs_t>, st: State) -> i32 {
        let ctx = st.ctx as *mut gi::glusterfs_ctx_t;
        // SAFETY: ctx is the instance's context, alive until glfs_fini
        // returns; no fops are in flight (the last handle is gone).
        unsafe {
            let graph = (*ctx).active;
            let mut tw: *mut gi::gf_ctx_tw = ptr::null_mut();
            if !graph.is_null() {
                stop_io_threads(graph);
                // 3: let posix answer PARENT_DOWN with CHILD_DOWN.
                let top = (*graph).top as *mut gi::xlator_t;
                if !top.is_null() {
                    ptr::write_volatile(addr_of_mut!((*top).cleanup_starting), 1);
                }
                // 4: posix initialised fully (graph active), so it deletes
                // its janitor timer during glfs_fini; afterwards the only
                // users of the timer wheel are the leaked references.
                tw = (*ctx).tw;
            }
            // 5: stop the event threads now, without the 1 s wait.
            stop_event_threads((*ctx).event_pool as *mut gi::event_pool);
            let refs = if tw.is_null() { 0 } else { (*tw)._ref.cnt };
            let rc = raw::glfs_fini(fs.as_ptr());
            // 4: drop posix's references; the last one joins the timer
            // thread and frees the wheel. `tw` is not touched afterwards.
            for _ in 0..refs {
                gi::_gf_ref_put(addr_of_mut!((*tw)._ref));
            }
            rc
        }
    }

    /// Workaround 6, part 3: stop io-threads' workers before `glfs_fini`.
    /// posix's `CHILD_DOWN` goes straight to io-threads' parent
    /// (`default_notify(this->parents->xlator, ...)`), so io-threads'
    /// `notify` never sees it, and its workers would only be stopped by its
    /// `fini` — which [`iot_fini_keep_conf`] replaces. A `PARENT_DOWN` whose
    /// victim is not `cleanup_starting` makes io-threads run
    /// `iot_exit_threads` (waits until the workers have left their loop) and
    /// is ignored by posix.
    unsafe fn stop_io_threads(graph: *mut gi::glusterfs_graph_t) {
        // SAFETY: graph of a live, initialised instance with no fops in
        // flight; the translator list is immutable after init.
        unsafe {
            let mut xl = (*graph).first as *mut gi::xlator_t;
            let mut n = 0;
            while !xl.is_null() && n < 16 {
                let ty = (*xl).type_;
                if !ty.is_null() && CStr::from_ptr(ty) == c"performance/io-threads" {
                    gi::xlator_notify(
                        xl,
                        gi::glusterfs_event_t_GF_EVENT_PARENT_DOWN as i32,
                        xl as *mut libc::c_void,
                    );
                }
                xl = (*xl).next;
                n += 1;
            }
        }
    }

    struct SendPtr(*mut gi::event_pool);
    // SAFETY: the pool is shared with gluster's own threads by design; we
    // only pass its address to gluster's destroy function.
    unsafe impl Send for SendPtr {}
    impl SendPtr {
        fn get(&self) -> *mut gi::event_pool {
            self.0
        }
    }

    /// Evaluate `cond` on the pool under its mutex until it holds or
    /// `limit` passes; returns whether it held.
    unsafe fn wait_pool(
        pool: *mut gi::event_pool,
        limit: Duration,
        mut cond: impl FnMut(*mut gi::event_pool) -> bool,
    ) -> bool {
        let deadline = std::time::Instant::now() + limit;
        loop {
            // SAFETY: pool alive (caller's contract); mutex locked/unlocked
            // in pairs around plain reads of fields it protects.
            let ok = unsafe {
                let m = addr_of_mut!((*pool).mutex).cast::<libc::pthread_mutex_t>();
                libc::pthread_mutex_lock(m);
                let ok = cond(pool);
                libc::pthread_mutex_unlock(m);
                ok
            };
            if ok {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }

    /// Workaround 5. Stop the instance's event threads before `glfs_fini`:
    ///
    /// 1. wait until the dispatcher thread (`glfspoll`, started by
    ///    `glfs_init` without waiting for it) has registered itself — else a
    ///    quick init→fini frees the pool under a thread that starts later
    ///    (a race gluster's own 1 s wait usually hides);
    /// 2. run gluster's `gf_event_dispatch_destroy` on a helper thread and
    ///    wake it as soon as the active-thread count is 0 (the dispatcher's
    ///    exit does not signal, so it would sleep a full second);
    /// 3. wait until every worker has left its last critical section
    ///    (`pollers[]` cleared, `poller_death_sliced` reset).
    ///
    /// `glfs_fini` then finds the pool in destroy mode and its own
    /// `gf_event_dispatch_destroy` returns at once.
    unsafe fn stop_event_threads(pool: *mut gi::event_pool) {
        if pool.is_null() {
            return;
        }
        // SAFETY (all reads below): fields of the live pool read under its
        // mutex by wait_pool.
        let active = |p: *mut gi::event_pool| unsafe {
            ptr::read_volatile(addr_of!((*p).activethreadcount))
        };
        // 1.
        // SAFETY: pool alive until glfs_fini, which runs after this fn.
        unsafe { wait_pool(pool, Duration::from_secs(5), |p| active(p) > 0) };
        // 2.
        let p = SendPtr(pool);
        std::thread::scope(|s| {
            let spawned = std::thread::Builder::new()
                .name("gfapi-evstop".into())
                .spawn_scoped(s, move || {
                    // SAFETY: pool alive until glfs_fini, which runs after
                    // this scope ends.
                    unsafe { gi::gf_event_dispatch_destroy(p.get()) }
                });
            let Ok(h) = spawned else {
                return; // no thread: glfs_fini does it, 1 s slower
            };
            while !h.is_finished() {
                // SAFETY: as above; broadcast on the pool's own cond with
                // its mutex held.
                unsafe {
                    wait_pool(pool, Duration::ZERO, |p| {
                        if ptr::read_volatile(addr_of!((*p).destroy)) != 0 && active(p) == 0 {
                            libc::pthread_cond_broadcast(
                                addr_of_mut!((*p).cond).cast::<libc::pthread_cond_t>(),
                            );
                        }
                        true
                    })
                };
                std::thread::sleep(Duration::from_micros(200));
            }
            let _ = h.join();
        });
        // 3.
        // SAFETY: as in 1.
        unsafe {
            wait_pool(pool, Duration::from_secs(5), |p| {
                active(p) == 0
                    && ptr::read_volatile(addr_of!((*p).poller_death_sliced)) == 0
                    && (*p).pollers.iter().all(|t| *t == 0)
            })
        };
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn version_from_xlator_path() {
            assert_eq!(
                xlator_dir_version(
                    "/usr/lib/x86_64-linux-gnu/glusterfs/10.3/xlator/storage/posix.so"
                )
                .as_deref(),
                Some("10.3")
            );
            assert_eq!(
                xlator_dir_version("/usr/lib64/glusterfs/11.1/xlator/x.so").as_deref(),
                Some("11.1")
            );
            assert_eq!(xlator_dir_version("/opt/posix.so"), None);
        }

        #[test]
        fn layouts_match_the_verified_binary_offsets() {
            // Offsets read from the machine code of the Debian 12 GlusterFS
            // 10.3 binaries (glusterfsd's glusterfs_ctx_defaults_init,
            // libglusterfs' gf_event_dispatch_destroy/glusterfs_ctx_tw_get,
            // posix.so's notify); see docs/rpc-bypass.md.
            use std::mem::offset_of;
            assert_eq!(offset_of!(gi::glusterfs_ctx_t, janitor_fds), 0x14f0);
            assert_eq!(offset_of!(gi::glusterfs_ctx_t, fd_cond), 0x1500);
            assert_eq!(offset_of!(gi::glusterfs_ctx_t, fd_lock), 0x1530);
            assert_eq!(offset_of!(gi::glusterfs_ctx_t, diskth_xl), 0x1568);
            assert_eq!(offset_of!(gi::glusterfs_ctx_t, xl_lock), 0x1578);
            assert_eq!(offset_of!(gi::glusterfs_ctx_t, xl_cond), 0x15a0);
            assert_eq!(offset_of!(gi::glusterfs_ctx_t, tw), 0x1490);
            assert_eq!(offset_of!(gi::xlator_t, cleanup_starting), 0x1000);
            assert_eq!(offset_of!(gi::event_pool, mutex), 0x3040);
            assert_eq!(offset_of!(gi::event_pool, cond), 0x3068);
            assert_eq!(offset_of!(gi::event_pool, destroy), 0x50a8);
            assert_eq!(offset_of!(gi::event_pool, activethreadcount), 0x50ac);
            assert_eq!(offset_of!(GlfsHead, ctx), 24);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volfile_quotes_the_directory() {
        let t = volfile_text(Path::new("/a \"b\"\\c"), false, 0);
        let t = String::from_utf8(t).unwrap();
        assert!(
            t.contains("option directory \"/a \\\"b\\\"\\\\c\"\n"),
            "{t}"
        );
        assert!(t.contains("option health-check-interval 0"));
        assert!(!t.contains("read-only"));
        let ro = String::from_utf8(volfile_text(Path::new("/b"), true, 0)).unwrap();
        assert!(
            ro.contains("type features/read-only") && ro.contains("subvolumes rpc-bypass-posix")
        );
        let both = String::from_utf8(volfile_text(Path::new("/b"), true, 8)).unwrap();
        assert!(
            both.contains("option thread-count 8\n    subvolumes rpc-bypass-posix"),
            "{both}"
        );
        assert!(both.contains("subvolumes rpc-bypass-io-threads"), "{both}");
    }

    #[test]
    fn flags_without_posix_are_rejected() {
        let e = Volume::new("v").read_only(true).init().unwrap_err();
        assert!(matches!(e, Error::InvalidConfig(_)), "{e}");
        let e = Volume::posix("/tmp").server("h", 1).init().unwrap_err();
        assert!(matches!(e, Error::InvalidConfig(_)), "{e}");
    }

    #[test]
    fn brick_users_of_a_fresh_dir_is_empty() {
        let d = std::env::temp_dir().join(format!("gfapi-bu-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        assert_eq!(brick_users(&d).unwrap(), Vec::new());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
