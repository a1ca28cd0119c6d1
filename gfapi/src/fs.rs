// SPDX-License-Identifier: GPL-2.0-or-later
//! [`Fs`]: the handle to an initialised gfapi instance (`glfs_t`) that every
//! clone and open file shares, and the path operations on it (stat,
//! statvfs, mkdir, unlink, ...). Opening files is in `file.rs`; what the
//! last handle's drop does is in `teardown.rs`.

use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::raw;
use crate::stat::{Space, Stat};
use crate::teardown::{Finaliser, RawGlfs, Teardown, TD_BACKGROUND, TD_DONE, TD_FINI};

struct FsInner {
    raw: NonNull<raw::glfs_t>,
    /// How this instance is finalised (see [`Finaliser`]).
    finaliser: Finaliser,
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
        let raw = RawGlfs::with_finaliser(self.raw, self.finaliser);
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
/// [`File`](crate::File) holds a clone, so the instance lives until the last `Fs` *and*
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
    /// Wrap a successfully initialised `glfs_t`, finalised as `raw` says.
    pub(crate) fn from_raw(raw: RawGlfs, volume: String) -> Fs {
        Fs {
            inner: Arc::new(FsInner {
                raw: raw.as_non_null(),
                finaliser: raw.finaliser(),
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
        Teardown::from_u8(self.inner.teardown.load(Ordering::Acquire))
    }

    /// Tell gfapi the calling thread's process id once, so the requests
    /// it sends from this thread carry it without a `getpid()` system call
    /// each (gfapi fills every frame's pid that way unless the thread has
    /// one set). Call it on each thread that submits I/O, after any fork.
    ///
    /// ```no_run
    /// # let fs = gfapi::Volume::new("myvol").init()?;
    /// fs.cache_thread_pid()?;
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn cache_thread_pid(&self) -> Result<()> {
        extern "C" {
            // libgfapi's GFAPI_PRIVATE_6.1 export (not in glfs.h): stores
            // `pid` in the calling thread's syncop context.
            fn glfs_setfspid(fs: *mut raw::glfs_t, pid: libc::pid_t) -> libc::c_int;
        }
        // SAFETY: the instance is alive (we hold a handle); the call only
        // validates it and stores the pid in gfapi's thread-local context.
        let rc = unsafe { glfs_setfspid(self.raw(), libc::getpid()) };
        check(rc, "glfs_setfspid", None)
    }

    /// Number of live handles (this one, other `Fs` clones and open
    /// [`File`](crate::File)s) sharing this instance.
    pub fn handle_count(&self) -> usize {
        Arc::strong_count(&self.inner)
    }

    /// Tear down now with a blocking `glfs_fini` (~10 s on GlusterFS 10) and
    /// report its result, regardless of the [`Teardown`] policy.
    ///
    /// Only possible once every other handle is gone (all [`File`](crate::File)s closed,
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
                let raw = RawGlfs::with_finaliser(inner.raw, inner.finaliser);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_in_path_is_invalid_input() {
        let e = cpath("glfs_open", Path::new("/a\0b")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(e.op(), Some("glfs_open"));
    }
}
