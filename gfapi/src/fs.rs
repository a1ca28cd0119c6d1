// SPDX-License-Identifier: GPL-2.0-or-later
//! [`Fs`]: an initialised gfapi instance (`glfs_t`), and how it is torn down.

use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::file::File;
use crate::raw;

/// What happens to the `glfs_t` when the last [`Fs`] handle (clone or [`File`])
/// is dropped.
///
/// Why this exists: on GlusterFS 10.x `glfs_fini` blocks for about 10 seconds
/// (an RPC "call_bail" timer holds a reference on the connection and only
/// fires every 10 s; upstream issue gluster/glusterfs#2606). Skipping
/// `glfs_fini` altogether leaks the instance's threads, sockets and memory for
/// the rest of the process. So the choice is the caller's:
///
/// * [`Fini`](Teardown::Fini) (default) — call `glfs_fini` in `drop`, blocking
///   the dropping thread for ~10 s. Always correct.
/// * [`Background`](Teardown::Background) — run `glfs_fini` on a short-lived
///   background thread; `drop` returns at once. Resources are released ~10 s
///   later. Call [`crate::wait_background_teardowns`] before the process exits
///   (or before measuring resource usage) to wait for them.
/// * [`SkipFini`](Teardown::SkipFini) — the process-exit fast path: do not call
///   `glfs_fini`; the instance (threads, sockets, memory) is leaked until the
///   process ends. No written data is lost by this: every [`File`] holds an
///   [`Fs`] clone, so the last drop happens only after every file has been
///   closed, and `glfs_close` flushes (write-behind included) to the bricks
///   before it returns. Use it when the process is about to exit anyway
///   (e.g. the end of a benchmark); do not use it in a loop.
///
/// ```no_run
/// use gfapi::{Teardown, Volume};
/// let fs = Volume::new("myvol").init()?;
/// fs.set_teardown(Teardown::Background);
/// drop(fs); // returns immediately; glfs_fini runs on a background thread
/// assert!(gfapi::wait_background_teardowns(std::time::Duration::from_secs(30)));
/// # Ok::<(), gfapi::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Teardown {
    /// Blocking `glfs_fini` in the last drop (~10 s on GlusterFS 10).
    #[default]
    Fini,
    /// `glfs_fini` on a background thread; see
    /// [`crate::wait_background_teardowns`].
    Background,
    /// No `glfs_fini`: every fd is already closed (and so flushed); the
    /// instance is leaked until process exit.
    SkipFini,
}

const TD_FINI: u8 = 0;
const TD_BACKGROUND: u8 = 1;
const TD_SKIP: u8 = 2;
/// Already torn down by [`Fs::shutdown`].
const TD_DONE: u8 = 3;

impl Teardown {
    fn to_u8(self) -> u8 {
        match self {
            Teardown::Fini => TD_FINI,
            Teardown::Background => TD_BACKGROUND,
            Teardown::SkipFini => TD_SKIP,
        }
    }
}

/// A `glfs_t` pointer that may be moved to the thread that tears it down.
pub(crate) struct RawGlfs(pub(crate) NonNull<raw::glfs_t>);

// SAFETY: a glfs_t is not bound to the thread that created it; gfapi entry
// points may be called from any thread, and we move ownership, not share it.
unsafe impl Send for RawGlfs {}

impl RawGlfs {
    /// Blocking `glfs_fini`; returns its result code.
    pub(crate) fn fini(self) -> i32 {
        // rpc-bypass instances need their workarounds around glfs_fini.
        if let Some(rc) = crate::posix_bypass::fini_hook(self.0) {
            return rc;
        }
        // SAFETY: we own this glfs_t and nothing uses it any more (last
        // handle gone, or init failed); it is finalised exactly once here.
        unsafe { raw::glfs_fini(self.0.as_ptr()) }
    }

    /// `glfs_fini` on a background thread, tracked for
    /// [`wait_background_teardowns`].
    pub(crate) fn fini_in_background(self) {
        let ptr = self.0;
        background_begin();
        let spawned = std::thread::Builder::new()
            .name("gfapi-fini".into())
            .spawn(move || {
                self.fini();
                background_end();
            });
        if spawned.is_err() {
            // No thread (resource limits). The closure was dropped without
            // running, so the instance is still ours: finalise it here.
            RawGlfs(ptr).fini();
            background_end();
        }
    }
}

static BACKGROUND: Mutex<usize> = Mutex::new(0);
static BACKGROUND_DONE: Condvar = Condvar::new();

pub(crate) fn background_begin() {
    *BACKGROUND.lock().unwrap_or_else(PoisonError::into_inner) += 1;
}

pub(crate) fn background_end() {
    let mut n = BACKGROUND.lock().unwrap_or_else(PoisonError::into_inner);
    *n -= 1;
    if *n == 0 {
        BACKGROUND_DONE.notify_all();
    }
}

/// Wait until every background teardown ([`Teardown::Background`] drops, and
/// instances whose `init` failed or timed out) has finished `glfs_fini`.
///
/// Returns `true` if none is left, `false` if `timeout` expired first. Call it
/// before the process exits after using [`Teardown::Background`], so that no
/// `glfs_fini` is cut short, and before measuring fds/threads.
///
/// ```
/// // Nothing pending in a fresh process:
/// assert!(gfapi::wait_background_teardowns(std::time::Duration::ZERO));
/// ```
pub fn wait_background_teardowns(timeout: Duration) -> bool {
    let deadline = Instant::now().checked_add(timeout);
    let mut n = BACKGROUND.lock().unwrap_or_else(PoisonError::into_inner);
    while *n > 0 {
        match deadline {
            None => {
                n = BACKGROUND_DONE
                    .wait(n)
                    .unwrap_or_else(PoisonError::into_inner)
            }
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return false;
                }
                n = BACKGROUND_DONE
                    .wait_timeout(n, d - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
    }
    true
}

/// Number of background teardowns still running.
///
/// ```
/// assert_eq!(gfapi::background_teardowns(), 0);
/// ```
pub fn background_teardowns() -> usize {
    *BACKGROUND.lock().unwrap_or_else(PoisonError::into_inner)
}

struct FsInner {
    raw: NonNull<raw::glfs_t>,
    teardown: AtomicU8,
    volume: String,
}

// SAFETY: gfapi's glfs_t is designed for concurrent use from many threads
// (every entry point takes its own locks/refs); the pointer itself is
// immutable for the lifetime of FsInner.
unsafe impl Send for FsInner {}
// SAFETY: see Send.
unsafe impl Sync for FsInner {}

impl Drop for FsInner {
    fn drop(&mut self) {
        let raw = RawGlfs(self.raw);
        match self.teardown.load(Ordering::Acquire) {
            TD_FINI => {
                raw.fini();
            }
            TD_BACKGROUND => raw.fini_in_background(),
            // SkipFini: deliberately leaked (see Teardown::SkipFini).
            // Done: shutdown() already called glfs_fini.
            _ => {}
        }
    }
}

/// An initialised connection to a volume (a `glfs_t`), created by
/// [`crate::Volume::init`].
///
/// `Fs` is `Send + Sync` and cheap to clone; clones share one `glfs_t`. Every
/// [`File`] holds a clone, so the instance lives until the last `Fs` *and*
/// the last `File` are gone; that last drop tears it down once, as chosen with
/// [`set_teardown`](Fs::set_teardown).
///
/// Paths are absolute paths inside the volume (`"/dir/file"`).
///
/// ```no_run
/// use gfapi::Volume;
///
/// let fs = Volume::new("myvol").init()?;
/// fs.mkdir("/d", 0o755)?;
/// let f = fs.create("/d/hello", libc::O_WRONLY | libc::O_TRUNC, 0o644)?;
/// f.write_at(b"hello", 0)?;
/// f.close()?;
/// assert_eq!(fs.stat("/d/hello")?.size, 5);
/// fs.unlink("/d/hello")?;
/// fs.shutdown()?; // or set_teardown(...) and drop
/// # Ok::<(), gfapi::Error>(())
/// ```
#[derive(Clone)]
pub struct Fs {
    inner: Arc<FsInner>,
}

impl fmt::Debug for Fs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fs")
            .field("volume", &self.inner.volume)
            .field("teardown", &self.teardown())
            .field("handles", &Arc::strong_count(&self.inner))
            .finish()
    }
}

impl Fs {
    /// Wrap a successfully initialised `glfs_t`.
    pub(crate) fn from_raw(raw: NonNull<raw::glfs_t>, volume: String) -> Fs {
        Fs {
            inner: Arc::new(FsInner {
                raw,
                teardown: AtomicU8::new(TD_FINI),
                volume,
            }),
        }
    }

    pub(crate) fn raw(&self) -> *mut raw::glfs_t {
        self.inner.raw.as_ptr()
    }

    /// The volume name this instance was initialised with.
    pub fn volume_name(&self) -> &str {
        &self.inner.volume
    }

    /// Open an existing file. `flags` are libc `O_*` flags (`O_RDONLY`,
    /// `O_RDWR`, `O_DIRECT`, `O_SYNC`, ...). To create a file use
    /// [`create`](Fs::create).
    ///
    /// ```no_run
    /// # let fs = gfapi::Volume::new("myvol").init()?;
    /// let f = fs.open("/data", libc::O_RDONLY | libc::O_DIRECT)?;
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn open(&self, path: impl AsRef<Path>, flags: i32) -> Result<File> {
        let path = path.as_ref();
        let c = cpath("glfs_open", path)?;
        // SAFETY: raw is a live glfs_t (we hold a strong ref); c is a valid
        // NUL-terminated string for the duration of the call.
        let fd = unsafe { raw::glfs_open(self.raw(), c.as_ptr(), flags) };
        self.opened("glfs_open", path, fd)
    }

    /// Create (or open, if it exists and `O_EXCL` is not given) a regular
    /// file with permission bits `mode`. `flags` as for [`open`](Fs::open);
    /// `O_CREAT` is implied.
    ///
    /// ```no_run
    /// # let fs = gfapi::Volume::new("myvol").init()?;
    /// let f = fs.create("/new", libc::O_RDWR | libc::O_EXCL, 0o600)?;
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn create(&self, path: impl AsRef<Path>, flags: i32, mode: u32) -> Result<File> {
        let path = path.as_ref();
        let c = cpath("glfs_creat", path)?;
        // SAFETY: as in `open`.
        let fd = unsafe {
            raw::glfs_creat(
                self.raw(),
                c.as_ptr(),
                flags | libc::O_CREAT,
                mode as libc::mode_t,
            )
        };
        self.opened("glfs_creat", path, fd)
    }

    /// The [`File`] for what `op` returned (NULL: the thread's errno).
    fn opened(&self, op: &'static str, path: &Path, fd: *mut raw::glfs_fd_t) -> Result<File> {
        match NonNull::new(fd) {
            Some(fd) => Ok(File::new(self.clone(), fd, path.to_path_buf())),
            None => Err(Error::last_os(op, Some(path))),
        }
    }

    /// `stat` (follows symlinks).
    ///
    /// ```no_run
    /// # let fs = gfapi::Volume::new("myvol").init()?;
    /// let st = fs.stat("/data")?;
    /// println!("{} bytes, mode {:o}", st.size, st.mode);
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn stat(&self, path: impl AsRef<Path>) -> Result<Stat> {
        self.stat_with("glfs_stat", path.as_ref(), raw::glfs_stat)
    }

    /// `lstat` (does not follow a final symlink).
    pub fn lstat(&self, path: impl AsRef<Path>) -> Result<Stat> {
        self.stat_with("glfs_lstat", path.as_ref(), raw::glfs_lstat)
    }

    fn stat_with(
        &self,
        op: &'static str,
        path: &Path,
        f: unsafe extern "C" fn(*mut raw::glfs_t, *const libc::c_char, *mut libc::stat) -> i32,
    ) -> Result<Stat> {
        let c = cpath(op, path)?;
        let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
        // SAFETY: live glfs_t, valid C string, `st` is writable storage for a
        // `struct stat` with the layout libgfapi uses (64-bit off_t, checked
        // by bindgen's use of libc's definition).
        let rc = unsafe { f(self.raw(), c.as_ptr(), st.as_mut_ptr()) };
        if rc != 0 {
            return Err(Error::last_os(op, Some(path)));
        }
        // SAFETY: zero-initialised and filled by gfapi on success.
        Ok(Stat::from(unsafe { st.assume_init() }))
    }

    /// `statvfs`: the space and inodes of the volume (the bricks' file
    /// systems as the volume's graph aggregates them) that holds `path`.
    ///
    /// ```no_run
    /// # let fs = gfapi::Volume::new("myvol").init()?;
    /// let space = fs.statvfs("/")?;
    /// println!("{} of {} bytes free", space.avail_bytes(), space.total_bytes());
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn statvfs(&self, path: impl AsRef<Path>) -> Result<Space> {
        let path = path.as_ref();
        let c = cpath("glfs_statvfs", path)?;
        let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
        // SAFETY: live glfs_t, valid C string, `st` is writable storage for
        // a `struct statvfs` (glfs.h declares glfs_statvfs with the system's).
        let rc = unsafe { raw::glfs_statvfs(self.raw(), c.as_ptr(), st.as_mut_ptr()) };
        check(rc, "glfs_statvfs", Some(path))?;
        // SAFETY: zero-initialised and filled by gfapi on success.
        let st = unsafe { st.assume_init() };
        Ok(Space {
            fragment_size: st.f_frsize,
            blocks: st.f_blocks,
            blocks_free: st.f_bfree,
            blocks_avail: st.f_bavail,
            files: st.f_files,
            files_free: st.f_ffree,
        })
    }

    /// Does `path` exist? (`ENOENT` → `false`; other errors are returned.)
    ///
    /// ```no_run
    /// # let fs = gfapi::Volume::new("myvol").init()?;
    /// if !fs.exists("/d")? { fs.mkdir("/d", 0o755)?; }
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn exists(&self, path: impl AsRef<Path>) -> Result<bool> {
        match self.lstat(path) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Remove a file.
    pub fn unlink(&self, path: impl AsRef<Path>) -> Result<()> {
        self.path_op("glfs_unlink", path.as_ref(), raw::glfs_unlink)
    }

    /// Create a directory with permission bits `mode`.
    pub fn mkdir(&self, path: impl AsRef<Path>, mode: u32) -> Result<()> {
        let path = path.as_ref();
        let c = cpath("glfs_mkdir", path)?;
        // SAFETY: live glfs_t, valid C string.
        let rc = unsafe { raw::glfs_mkdir(self.raw(), c.as_ptr(), mode as libc::mode_t) };
        check(rc, "glfs_mkdir", Some(path))
    }

    /// Remove an empty directory.
    pub fn rmdir(&self, path: impl AsRef<Path>) -> Result<()> {
        self.path_op("glfs_rmdir", path.as_ref(), raw::glfs_rmdir)
    }

    /// A gfapi call that takes only a path and returns 0 or -1 with errno.
    fn path_op(
        &self,
        op: &'static str,
        path: &Path,
        f: unsafe extern "C" fn(*mut raw::glfs_t, *const libc::c_char) -> i32,
    ) -> Result<()> {
        let c = cpath(op, path)?;
        // SAFETY: live glfs_t (we hold a strong ref), valid C string.
        check(unsafe { f(self.raw(), c.as_ptr()) }, op, Some(path))
    }

    /// Choose what the last drop of this instance does (default
    /// [`Teardown::Fini`]). Applies to all clones.
    ///
    /// ```no_run
    /// # let fs = gfapi::Volume::new("myvol").init()?;
    /// fs.set_teardown(gfapi::Teardown::SkipFini); // about to exit the process
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn set_teardown(&self, t: Teardown) {
        self.inner.teardown.store(t.to_u8(), Ordering::Release);
    }

    /// The current teardown policy.
    pub fn teardown(&self) -> Teardown {
        match self.inner.teardown.load(Ordering::Acquire) {
            TD_BACKGROUND => Teardown::Background,
            TD_SKIP => Teardown::SkipFini,
            _ => Teardown::Fini,
        }
    }

    /// Number of live handles (this one, other `Fs` clones and open
    /// [`File`]s) sharing this instance.
    pub fn handle_count(&self) -> usize {
        Arc::strong_count(&self.inner)
    }

    /// Tear down now with a blocking `glfs_fini` (~10 s on GlusterFS 10) and
    /// report its result, regardless of the [`Teardown`] policy.
    ///
    /// Only possible once every other handle is gone (all [`File`]s closed,
    /// all clones dropped). Otherwise returns [`Error::InUse`] and nothing is
    /// torn down now: this handle is released and the last remaining handle
    /// tears down according to the policy.
    ///
    /// ```no_run
    /// let fs = gfapi::Volume::new("myvol").init()?;
    /// let f = fs.create("/x", libc::O_WRONLY, 0o644)?;
    /// f.write_at(b"x", 0)?;
    /// f.close()?;
    /// fs.shutdown()?;
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn shutdown(self) -> Result<()> {
        match Arc::try_unwrap(self.inner) {
            Ok(inner) => {
                inner.teardown.store(TD_DONE, Ordering::Release);
                let raw = RawGlfs(inner.raw);
                drop(inner);
                if raw.fini() != 0 {
                    return Err(Error::last_os("glfs_fini", None));
                }
                Ok(())
            }
            Err(inner) => Err(Error::InUse {
                others: Arc::strong_count(&inner) - 1,
            }),
        }
    }
}

/// Path → C string, rejecting interior NUL bytes.
pub(crate) fn cpath(op: &'static str, path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        Error::io(
            op,
            Some(path),
            io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"),
        )
    })
}

/// `0` → `Ok(())`, else the thread's errno.
pub(crate) fn check(rc: i32, op: &'static str, path: Option<&Path>) -> Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::last_os(op, path))
    }
}

/// Space and inodes of a volume, converted from `struct statvfs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Unit of the block counts, in bytes (`f_frsize`).
    pub fragment_size: u64,
    /// Size of the file system in blocks.
    pub blocks: u64,
    /// Free blocks, including those reserved for root.
    pub blocks_free: u64,
    /// Free blocks an unprivileged user may use.
    pub blocks_avail: u64,
    /// Inodes.
    pub files: u64,
    /// Free inodes.
    pub files_free: u64,
}

impl Space {
    /// Total size in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.blocks.saturating_mul(self.fragment_size)
    }

    /// Bytes an unprivileged writer can still use.
    pub fn avail_bytes(&self) -> u64 {
        self.blocks_avail.saturating_mul(self.fragment_size)
    }
}

/// File metadata, converted from `struct stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Device (gluster reports a value derived from the volume).
    pub dev: u64,
    /// Inode number (derived from the gfid).
    pub ino: u64,
    /// File type and permission bits (`libc::S_IF*` | mode).
    pub mode: u32,
    /// Number of hard links.
    pub nlink: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device id for special files.
    pub rdev: u64,
    /// Size in bytes.
    pub size: u64,
    /// Preferred I/O block size.
    pub blksize: u64,
    /// Allocated 512-byte blocks.
    pub blocks: u64,
    /// Last access.
    pub atime: SystemTime,
    /// Last modification.
    pub mtime: SystemTime,
    /// Last status change.
    pub ctime: SystemTime,
}

impl Stat {
    /// Is this a regular file?
    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }

    /// Is this a directory?
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }

    /// Permission bits only (`mode & 0o7777`).
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }
}

fn to_time(sec: i64, nsec: i64) -> SystemTime {
    let nsec = Duration::from_nanos(nsec.clamp(0, 999_999_999) as u64);
    let t = if sec >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(sec as u64))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(sec.unsigned_abs()))
    };
    t.and_then(|t| t.checked_add(nsec)).unwrap_or(UNIX_EPOCH)
}

impl From<libc::stat> for Stat {
    fn from(s: libc::stat) -> Stat {
        // Field widths differ between targets; these conversions are lossless
        // on Linux x86_64/aarch64 where every field fits the chosen type.
        #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
        Stat {
            dev: s.st_dev as u64,
            ino: s.st_ino as u64,
            mode: s.st_mode as u32,
            nlink: s.st_nlink as u64,
            uid: s.st_uid as u32,
            gid: s.st_gid as u32,
            rdev: s.st_rdev as u64,
            size: s.st_size.max(0) as u64,
            blksize: s.st_blksize.max(0) as u64,
            blocks: s.st_blocks.max(0) as u64,
            atime: to_time(s.st_atime as i64, s.st_atime_nsec as i64),
            mtime: to_time(s.st_mtime as i64, s.st_mtime_nsec as i64),
            ctime: to_time(s.st_ctime as i64, s.st_ctime_nsec as i64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_conversion() {
        // SAFETY: all-zero is a valid libc::stat.
        let mut s: libc::stat = unsafe { std::mem::zeroed() };
        s.st_mode = libc::S_IFREG | 0o640;
        s.st_size = 12345;
        s.st_mtime = 1_700_000_000;
        s.st_mtime_nsec = 5;
        s.st_atime = -1;
        let st = Stat::from(s);
        assert!(st.is_file() && !st.is_dir());
        assert_eq!(st.permissions(), 0o640);
        assert_eq!(st.size, 12345);
        assert_eq!(
            st.mtime,
            UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_nanos(5)
        );
        assert_eq!(st.atime, UNIX_EPOCH - Duration::from_secs(1));
    }

    #[test]
    fn nul_in_path_is_invalid_input() {
        let e = cpath("glfs_open", Path::new("/a\0b")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(e.op(), Some("glfs_open"));
    }

    #[test]
    fn teardown_codes_round_trip() {
        for t in [Teardown::Fini, Teardown::Background, Teardown::SkipFini] {
            let v = t.to_u8();
            let back = match v {
                TD_BACKGROUND => Teardown::Background,
                TD_SKIP => Teardown::SkipFini,
                _ => Teardown::Fini,
            };
            assert_eq!(back, t);
        }
        assert_eq!(Teardown::default(), Teardown::Fini);
    }
}
