// SPDX-License-Identifier: GPL-2.0-or-later
//! [`File`]: an open gfapi file descriptor (`glfs_fd_t`) and its synchronous
//! operations, and the [`Fs`] methods that open one ([`Fs::open`],
//! [`Fs::create`]). The `*_async` operations are in `file_async.rs`.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::raw::c_int;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Arc;

use crate::aio::FileOps;
use crate::error::{Error, Result};
use crate::fs::{check, cpath, Fs};
use crate::raw;
use crate::stat::Stat;

/// An open file on a volume, from [`Fs::open`] or [`Fs::create`].
///
/// `Send + Sync`: positional reads and writes may be issued from many threads
/// at once. The file holds an [`Fs`] clone, so the `glfs_t` outlives it.
/// Dropping it (or [`close`](File::close)) first waits for any of its async
/// operations still inside gfapi, then calls `glfs_close` exactly once
/// (which flushes write-behind data to the bricks).
///
/// ```no_run
/// use gfapi::Volume;
///
/// let fs = Volume::new("myvol").init()?;
/// let f = fs.create("/f", libc::O_RDWR | libc::O_TRUNC, 0o644)?;
/// assert_eq!(f.write_at(b"hello world", 0)?, 11);
/// let mut buf = [0u8; 5];
/// assert_eq!(f.read_at(&mut buf, 6)?, 5);
/// assert_eq!(&buf, b"world");
/// f.fsync()?;
/// f.close()?;
/// # Ok::<(), gfapi::Error>(())
/// ```
pub struct File {
    pub(crate) fd: *mut raw::glfs_fd_t,
    pub(crate) path: PathBuf,
    pub(crate) ops: Arc<FileOps>,
    fs: Fs,
}

// SAFETY: a glfs_fd_t may be used from any thread and concurrently: gfapi
// refcounts it (GF_REF_GET/PUT around every call) and we only use positional
// calls, never the shared file offset. The pointer is closed once, in
// close/drop, after all other uses (which borrow &self) have ended.
unsafe impl Send for File {}
// SAFETY: see Send.
unsafe impl Sync for File {}

impl Fs {
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
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("path", &self.path)
            .field("volume", &self.fs.volume_name())
            .finish()
    }
}

pub(crate) fn offset(op: &'static str, path: &Path, offset: u64) -> Result<libc::off_t> {
    libc::off_t::try_from(offset).map_err(|_| {
        Error::io(
            op,
            Some(path),
            io::Error::new(io::ErrorKind::InvalidInput, "offset beyond off_t range"),
        )
    })
}

pub(crate) fn invalid(op: &'static str, path: &Path, msg: &'static str) -> Error {
    Error::io(
        op,
        Some(path),
        io::Error::new(io::ErrorKind::InvalidInput, msg),
    )
}

/// A range length as gfapi's `size_t`.
pub(crate) fn length(op: &'static str, path: &Path, len: u64) -> Result<usize> {
    usize::try_from(len).map_err(|_| invalid(op, path, "length too large"))
}

impl File {
    pub(crate) fn new(fs: Fs, fd: NonNull<raw::glfs_fd_t>, path: PathBuf) -> File {
        File {
            fd: fd.as_ptr(),
            path,
            ops: Arc::new(FileOps::default()),
            fs,
        }
    }

    /// The path this file was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The instance this file belongs to.
    pub fn fs(&self) -> &Fs {
        &self.fs
    }

    fn ret_len(&self, op: &'static str, n: isize) -> Result<usize> {
        if n < 0 {
            Err(Error::last_os(op, Some(&self.path)))
        } else {
            Ok(n as usize)
        }
    }

    /// `pread`: read up to `buf.len()` bytes at `offset`; returns the number
    /// read (0 at end of file). Short reads are possible.
    ///
    /// ```no_run
    /// # let fs = gfapi::Volume::new("myvol").init()?;
    /// # let f = fs.open("/f", libc::O_RDONLY)?;
    /// let mut buf = vec![0u8; 4096];
    /// let n = f.read_at(&mut buf, 0)?;
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let off = self::offset("glfs_pread", &self.path, offset)?;
        // SAFETY: fd is open; buf is valid for writes of buf.len() bytes for
        // the duration of this synchronous call; NULL poststat is allowed.
        let n = unsafe {
            raw::glfs_pread(
                self.fd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                off,
                0,
                std::ptr::null_mut(),
            )
        };
        self.ret_len("glfs_pread", n)
    }

    /// `pwrite`: write `buf` at `offset`; returns the number of bytes written.
    ///
    /// ```no_run
    /// # let fs = gfapi::Volume::new("myvol").init()?;
    /// # let f = fs.create("/f", libc::O_WRONLY, 0o644)?;
    /// f.write_at(b"data", 4096)?;
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize> {
        let off = self::offset("glfs_pwrite", &self.path, offset)?;
        // SAFETY: fd is open; buf is valid for reads of buf.len() bytes for
        // the duration of the call; NULL pre/poststat are allowed.
        let n = unsafe {
            raw::glfs_pwrite(
                self.fd,
                buf.as_ptr().cast(),
                buf.len(),
                off,
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        self.ret_len("glfs_pwrite", n)
    }

    /// `preadv`: scatter-read into the caller's buffers at `offset` (the
    /// iovec array is passed to gfapi as is, no intermediate Rust copy).
    ///
    /// ```no_run
    /// # let fs = gfapi::Volume::new("myvol").init()?;
    /// # let f = fs.open("/f", libc::O_RDONLY)?;
    /// use std::io::IoSliceMut;
    /// let (mut a, mut b) = ([0u8; 4], [0u8; 8]);
    /// let n = f.read_vectored_at(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)], 0)?;
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn read_vectored_at(&self, bufs: &mut [IoSliceMut<'_>], offset: u64) -> Result<usize> {
        let off = self::offset("glfs_preadv", &self.path, offset)?;
        if bufs.is_empty() {
            return Ok(0);
        }
        let cnt = c_int::try_from(bufs.len())
            .map_err(|_| invalid("glfs_preadv", &self.path, "too many buffers"))?;
        // SAFETY: IoSliceMut is guaranteed ABI-compatible with struct iovec on
        // Unix; every slice is valid for writes for the duration of the call.
        let n =
            unsafe { raw::glfs_preadv(self.fd, bufs.as_ptr().cast::<libc::iovec>(), cnt, off, 0) };
        self.ret_len("glfs_preadv", n)
    }

    /// `pwritev`: gather-write the caller's buffers at `offset`.
    ///
    /// Note: gfapi rejects a first buffer of 1 GiB or more with `EINVAL`.
    ///
    /// ```no_run
    /// # let fs = gfapi::Volume::new("myvol").init()?;
    /// # let f = fs.create("/f", libc::O_WRONLY, 0o644)?;
    /// use std::io::IoSlice;
    /// f.write_vectored_at(&[IoSlice::new(b"head"), IoSlice::new(b"tail")], 0)?;
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn write_vectored_at(&self, bufs: &[IoSlice<'_>], offset: u64) -> Result<usize> {
        let off = self::offset("glfs_pwritev", &self.path, offset)?;
        if bufs.is_empty() {
            return Ok(0);
        }
        let cnt = c_int::try_from(bufs.len())
            .map_err(|_| invalid("glfs_pwritev", &self.path, "too many buffers"))?;
        // SAFETY: IoSlice is ABI-compatible with struct iovec on Unix; every
        // slice is valid for reads for the duration of the call.
        let n =
            unsafe { raw::glfs_pwritev(self.fd, bufs.as_ptr().cast::<libc::iovec>(), cnt, off, 0) };
        self.ret_len("glfs_pwritev", n)
    }

    /// `fsync`: data and metadata to stable storage on the bricks.
    pub fn fsync(&self) -> Result<()> {
        // SAFETY: fd is open; NULL pre/poststat are allowed.
        let rc = unsafe { raw::glfs_fsync(self.fd, std::ptr::null_mut(), std::ptr::null_mut()) };
        check(rc, "glfs_fsync", Some(&self.path))
    }

    /// `fdatasync`: data (and size) to stable storage on the bricks.
    pub fn fdatasync(&self) -> Result<()> {
        // SAFETY: fd is open; NULL pre/poststat are allowed.
        let rc =
            unsafe { raw::glfs_fdatasync(self.fd, std::ptr::null_mut(), std::ptr::null_mut()) };
        check(rc, "glfs_fdatasync", Some(&self.path))
    }

    /// `ftruncate`: set the file size to `len`.
    ///
    /// ```no_run
    /// # let fs = gfapi::Volume::new("myvol").init()?;
    /// # let f = fs.create("/f", libc::O_WRONLY, 0o644)?;
    /// f.truncate(1 << 20)?;
    /// assert_eq!(f.stat()?.size, 1 << 20);
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn truncate(&self, len: u64) -> Result<()> {
        let len = self::offset("glfs_ftruncate", &self.path, len)?;
        // SAFETY: fd is open; NULL pre/poststat are allowed.
        let rc = unsafe {
            raw::glfs_ftruncate(self.fd, len, std::ptr::null_mut(), std::ptr::null_mut())
        };
        check(rc, "glfs_ftruncate", Some(&self.path))
    }

    /// `fallocate`: reserve space for `[offset, offset + len)`.
    ///
    /// `mode` is `0` (extend the file size if needed) or
    /// `libc::FALLOC_FL_KEEP_SIZE`. gfapi's `glfs_fallocate` only has a
    /// keep-size switch, so other flags are rejected with `EOPNOTSUPP`; use
    /// [`discard`](File::discard) to punch a hole and
    /// [`zerofill`](File::zerofill) to zero a range.
    ///
    /// ```no_run
    /// # let fs = gfapi::Volume::new("myvol").init()?;
    /// # let f = fs.create("/f", libc::O_WRONLY, 0o644)?;
    /// f.fallocate(0, 0, 1 << 20)?;
    /// f.fallocate(libc::FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20)?;
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn fallocate(&self, mode: i32, offset: u64, len: u64) -> Result<()> {
        const OP: &str = "glfs_fallocate";
        if mode & !libc::FALLOC_FL_KEEP_SIZE != 0 {
            return Err(Error::io(
                OP,
                Some(&self.path),
                io::Error::from_raw_os_error(libc::EOPNOTSUPP),
            ));
        }
        let off = self::offset(OP, &self.path, offset)?;
        let len = length(OP, &self.path, len)?;
        // SAFETY: fd is open; plain integer arguments.
        let rc = unsafe { raw::glfs_fallocate(self.fd, mode, off, len) };
        check(rc, OP, Some(&self.path))
    }

    /// Discard (punch a hole in) `[offset, offset + len)`; the file size is
    /// kept and the range reads back as zeros.
    pub fn discard(&self, offset: u64, len: u64) -> Result<()> {
        const OP: &str = "glfs_discard";
        let off = self::offset(OP, &self.path, offset)?;
        let len = length(OP, &self.path, len)?;
        // SAFETY: fd is open; plain integer arguments.
        let rc = unsafe { raw::glfs_discard(self.fd, off, len) };
        check(rc, OP, Some(&self.path))
    }

    /// Write zeros to `[offset, offset + len)` (allocating it).
    pub fn zerofill(&self, offset: u64, len: u64) -> Result<()> {
        const OP: &str = "glfs_zerofill";
        let off = self::offset(OP, &self.path, offset)?;
        let len = self::offset(OP, &self.path, len)?;
        // SAFETY: fd is open; plain integer arguments.
        let rc = unsafe { raw::glfs_zerofill(self.fd, off, len) };
        check(rc, OP, Some(&self.path))
    }

    /// `fstat`.
    pub fn stat(&self) -> Result<Stat> {
        let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
        // SAFETY: fd is open; st is writable storage for a struct stat.
        let rc = unsafe { raw::glfs_fstat(self.fd, st.as_mut_ptr()) };
        check(rc, "glfs_fstat", Some(&self.path))?;
        // SAFETY: zero-initialised and filled in by gfapi on success.
        Ok(Stat::from(unsafe { st.assume_init() }))
    }

    /// Close the file, reporting errors from the final flush (which `drop`
    /// cannot). Waits for this file's in-flight async operations first.
    pub fn close(mut self) -> Result<()> {
        self.close_now()
    }

    fn close_now(&mut self) -> Result<()> {
        if self.fd.is_null() {
            return Ok(());
        }
        // gfapi silently drops the callback of an operation whose fd was
        // closed while it was in flight; wait so no completion is lost and
        // no buffer stays in use.
        self.ops.wait_idle();
        let fd = std::mem::replace(&mut self.fd, std::ptr::null_mut());
        // SAFETY: fd is open, no operation is in flight and no &self borrow
        // exists (we have &mut self); it is closed exactly once because we
        // nulled the field.
        let rc = unsafe { raw::glfs_close(fd) };
        check(rc, "glfs_close", Some(&self.path))
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // Drop cannot report errors; callers who care use `close()`.
        let _ = self.close_now();
    }
}
