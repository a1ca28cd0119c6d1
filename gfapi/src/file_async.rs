// SPDX-License-Identifier: GPL-2.0-or-later
//! The `*_async` operations of a [`File`]: each submits one gfapi call whose
//! completion arrives on a [`CompletionQueue`] (see `aio.rs`) with the
//! caller's token.

use std::os::raw::{c_int, c_void};

use crate::aio::{submit, CompletionQueue};
use crate::buf::{IoBuf, IoBufMut};
use crate::error::{Error, Result};
use crate::file::{self, invalid, length, File};
use crate::raw;

impl File {
    /// Submits one async call, `call(fd, cb, data)`, whose completion goes to
    /// `queue` with `token`; a submission error names `op` and this file.
    fn submit_async<T: Send + 'static>(
        &self,
        op: &'static str,
        queue: &CompletionQueue<T>,
        token: T,
        call: impl FnOnce(*mut raw::glfs_fd_t, raw::glfs_io_cbk, *mut c_void) -> c_int,
    ) -> Result<()> {
        let fd = self.fd;
        submit(queue, token, &self.ops, |cb, data| call(fd, cb, data))
            .map_err(|(_, e)| Error::io(op, Some(&self.path), e))
    }

    /// Submit an async `pread` of `len` bytes at `offset` into `buf`; the
    /// result (bytes read, or errno) arrives on `queue` with `token`.
    ///
    /// # Safety
    ///
    /// `buf` must be valid for writes of `len` bytes, and must not be read,
    /// written or freed by anyone else, until the completion for `token` has
    /// been taken from `queue` by [`CompletionQueue::wait`].
    ///
    /// ```no_run
    /// # let fs = gfapi::Volume::new("myvol").init()?;
    /// # let f = fs.open("/f", libc::O_RDONLY)?;
    /// let q = gfapi::CompletionQueue::new();
    /// let mut buf = vec![0u8; 4096];
    /// // SAFETY: buf stays alive and untouched until its completion is popped.
    /// unsafe { f.read_at_async_raw(buf.as_mut_ptr(), buf.len(), 0, &q, 1u64)? };
    /// let mut done = Vec::new();
    /// q.wait(&mut done, 1, 1, None);
    /// let n = done[0].result.as_ref().map_err(|e| e.kind());
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub unsafe fn read_at_async_raw<T: Send + 'static>(
        &self,
        buf: *mut u8,
        len: usize,
        offset: u64,
        queue: &CompletionQueue<T>,
        token: T,
    ) -> Result<()> {
        const OP: &str = "glfs_pread_async";
        let off = file::offset(OP, &self.path, offset)?;
        self.submit_async(OP, queue, token, |fd, cb, data| {
            // SAFETY: fd is open (File::drop waits for in-flight ops before
            // closing); the caller guarantees buf/len; cb/data come from
            // `submit`, which keeps data alive until the callback.
            unsafe { raw::glfs_pread_async(fd, buf.cast(), len, off, 0, cb, data) }
        })
    }

    /// Submit an async `pwrite` of `len` bytes from `buf` at `offset`.
    ///
    /// `len` must fit in an `i32` (gfapi's `glfs_pwrite_async` takes an `int`
    /// count); larger requests fail with `InvalidInput`.
    ///
    /// # Safety
    ///
    /// `buf` must be valid for reads of `len` bytes and must not be written
    /// or freed until the completion for `token` has been taken from `queue`.
    pub unsafe fn write_at_async_raw<T: Send + 'static>(
        &self,
        buf: *const u8,
        len: usize,
        offset: u64,
        queue: &CompletionQueue<T>,
        token: T,
    ) -> Result<()> {
        const OP: &str = "glfs_pwrite_async";
        let off = file::offset(OP, &self.path, offset)?;
        let count = c_int::try_from(len)
            .map_err(|_| invalid(OP, &self.path, "length does not fit gfapi's int count"))?;
        self.submit_async(OP, queue, token, |fd, cb, data| {
            // SAFETY: as in read_at_async_raw; buf is valid for `count` bytes.
            unsafe { raw::glfs_pwrite_async(fd, buf.cast(), count, off, 0, cb, data) }
        })
    }

    /// Safe async read: `buf` (a `Vec<u8>` or [`crate::AlignedBuf`]) is
    /// filled from `offset` for its whole length and handed back with `token`
    /// in the completion as `(token, buf)`; `result` is the byte count.
    ///
    /// If the submission fails the buffer is dropped and the error returned.
    ///
    /// ```no_run
    /// use gfapi::{AlignedBuf, CompletionQueue};
    /// # let fs = gfapi::Volume::new("myvol").init()?;
    /// let f = fs.open("/f", libc::O_RDONLY | libc::O_DIRECT)?;
    /// let q: CompletionQueue<(usize, AlignedBuf)> = CompletionQueue::new();
    /// f.read_at_async(AlignedBuf::new(4096, 4096)?, 0, &q, 0)?;
    /// let mut done = Vec::new();
    /// q.wait(&mut done, 1, 1, None);
    /// let (_token, buf) = &done[0].token;
    /// let n = *done[0].result.as_ref().unwrap();
    /// println!("{:?}", &buf[..n]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_at_async<T, B>(
        &self,
        mut buf: B,
        offset: u64,
        queue: &CompletionQueue<(T, B)>,
        token: T,
    ) -> Result<()>
    where
        T: Send + 'static,
        B: IoBufMut,
    {
        let ptr = buf.io_mut_ptr();
        let len = buf.io_len();
        // SAFETY: `buf` is moved into the token, which lives in the request
        // box until the callback and then in the completion; its bytes do not
        // move (IoBuf contract) and nobody else can touch them meanwhile.
        unsafe { self.read_at_async_raw(ptr, len, offset, queue, (token, buf)) }
    }

    /// Safe async write of the whole of `buf` at `offset`; the buffer comes
    /// back with `token` in the completion as `(token, buf)`.
    ///
    /// ```no_run
    /// # let fs = gfapi::Volume::new("myvol").init()?;
    /// # let f = fs.create("/f", libc::O_WRONLY, 0o644)?;
    /// let q = gfapi::CompletionQueue::new();
    /// f.write_at_async(b"hello".to_vec(), 0, &q, "greeting")?;
    /// let mut done = Vec::new();
    /// q.wait(&mut done, 1, 1, None);
    /// assert_eq!(*done[0].result.as_ref().unwrap(), 5);
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn write_at_async<T, B>(
        &self,
        buf: B,
        offset: u64,
        queue: &CompletionQueue<(T, B)>,
        token: T,
    ) -> Result<()>
    where
        T: Send + 'static,
        B: IoBuf,
    {
        let ptr = buf.io_ptr();
        let len = buf.io_len();
        // SAFETY: as in read_at_async.
        unsafe { self.write_at_async_raw(ptr, len, offset, queue, (token, buf)) }
    }

    /// Async `fsync`; `result` is `Ok(0)` on success.
    ///
    /// ```no_run
    /// # let fs = gfapi::Volume::new("myvol").init()?;
    /// # let f = fs.create("/f", libc::O_WRONLY, 0o644)?;
    /// let q = gfapi::CompletionQueue::new();
    /// f.fsync_async(&q, ())?;
    /// let mut done = Vec::new();
    /// q.wait(&mut done, 1, 1, None);
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn fsync_async<T: Send + 'static>(
        &self,
        queue: &CompletionQueue<T>,
        token: T,
    ) -> Result<()> {
        self.submit_async("glfs_fsync_async", queue, token, |fd, cb, data| {
            // SAFETY: fd stays open until in-flight ops finish; cb/data from submit.
            unsafe { raw::glfs_fsync_async(fd, cb, data) }
        })
    }

    /// Async `fdatasync`; `result` is `Ok(0)` on success.
    pub fn fdatasync_async<T: Send + 'static>(
        &self,
        queue: &CompletionQueue<T>,
        token: T,
    ) -> Result<()> {
        self.submit_async("glfs_fdatasync_async", queue, token, |fd, cb, data| {
            // SAFETY: as in fsync_async.
            unsafe { raw::glfs_fdatasync_async(fd, cb, data) }
        })
    }

    /// Async [`discard`](File::discard); `result` is `Ok(0)` on success.
    pub fn discard_async<T: Send + 'static>(
        &self,
        offset: u64,
        len: u64,
        queue: &CompletionQueue<T>,
        token: T,
    ) -> Result<()> {
        const OP: &str = "glfs_discard_async";
        let off = file::offset(OP, &self.path, offset)?;
        let len = length(OP, &self.path, len)?;
        self.submit_async(OP, queue, token, |fd, cb, data| {
            // SAFETY: as in fsync_async.
            unsafe { raw::glfs_discard_async(fd, off, len, cb, data) }
        })
    }

    /// Async [`zerofill`](File::zerofill); `result` is `Ok(0)` on success.
    pub fn zerofill_async<T: Send + 'static>(
        &self,
        offset: u64,
        len: u64,
        queue: &CompletionQueue<T>,
        token: T,
    ) -> Result<()> {
        const OP: &str = "glfs_zerofill_async";
        let off = file::offset(OP, &self.path, offset)?;
        let len = file::offset(OP, &self.path, len)?;
        self.submit_async(OP, queue, token, |fd, cb, data| {
            // SAFETY: as in fsync_async.
            unsafe { raw::glfs_zerofill_async(fd, off, len, cb, data) }
        })
    }
}
