//! `struct io_u` seen safely ([`IoU`]): direction, offset, buffer, the
//! outcome, and the token ([`IoUToken`]) an I/O travels through gfapi as.

use std::ffi::c_uint;
use std::ptr::NonNull;

use gfapi::{CompletionQueue, IoPool};

use super::{sys, FioFile};

/// fio data directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ddir {
    Read,
    Write,
    Trim,
    Sync,
    Datasync,
    Other(i32),
}

/// An I/O unit handed to queue(); fio owns it until event() returns it.
pub struct IoU {
    ptr: NonNull<sys::io_u>,
}

/// An io_u travelling through gfapi as the completion token.
#[derive(Clone, Copy)]
pub struct IoUToken(NonNull<sys::io_u>);

// SAFETY: the token is only an address; fio does not touch an in-flight
// io_u, and the job thread dereferences it again only after the completion
// was handed back through the queue.
unsafe impl Send for IoUToken {}

impl IoU {
    pub(crate) fn new(ptr: *mut sys::io_u) -> Option<IoU> {
        NonNull::new(ptr).map(|ptr| IoU { ptr })
    }

    fn raw(&self) -> &sys::io_u {
        // SAFETY: fio passes a valid io_u it does not touch while the engine
        // owns it (between queue() and event()).
        unsafe { self.ptr.as_ref() }
    }

    fn raw_mut(&mut self) -> &mut sys::io_u {
        // SAFETY: as in raw().
        unsafe { self.ptr.as_mut() }
    }

    pub fn ddir(&self) -> Ddir {
        match self.raw().ddir {
            sys::DDIR_READ => Ddir::Read,
            sys::DDIR_WRITE => Ddir::Write,
            sys::DDIR_TRIM => Ddir::Trim,
            sys::DDIR_SYNC => Ddir::Sync,
            sys::DDIR_DATASYNC => Ddir::Datasync,
            other => Ddir::Other(other),
        }
    }

    pub fn offset(&self) -> u64 {
        self.raw().offset
    }

    pub fn xfer_len(&self) -> u64 {
        self.raw().xfer_buflen
    }

    pub fn file(&self) -> Option<FioFile> {
        FioFile::new(self.raw().file)
    }

    /// Records the outcome: `Ok(bytes)` sets the residual, `Err(errno)` the
    /// error.
    pub fn complete(&mut self, result: Result<u64, i32>) {
        let u = self.raw_mut();
        match result {
            Ok(done) => {
                u.error = 0;
                u.resid = u.xfer_buflen.saturating_sub(done);
            }
            Err(errno) => {
                u.error = errno.max(1) as c_uint;
                u.resid = u.xfer_buflen;
            }
        }
    }

    /// The transfer buffer for a synchronous read.
    pub fn buffer_mut(&mut self) -> &mut [u8] {
        let u = self.raw();
        if u.xfer_buf.is_null() || u.xfer_buflen == 0 {
            return &mut [];
        }
        // SAFETY: xfer_buf is fio's buffer of xfer_buflen bytes for this
        // io_u, exclusively ours until queue() returns.
        unsafe { std::slice::from_raw_parts_mut(u.xfer_buf.cast(), u.xfer_buflen as usize) }
    }

    pub fn token(&self) -> IoUToken {
        IoUToken(self.ptr)
    }

    /// Submits a read/write of the io_u's transfer buffer to gfapi, or to
    /// `pool`'s threads when the job has one.
    pub fn submit_rw(
        &self,
        file: &gfapi::File,
        queue: &CompletionQueue<IoUToken>,
        pool: Option<&IoPool<IoUToken>>,
        write: bool,
    ) -> gfapi::Result<()> {
        let u = self.raw();
        let (buf, len, off) = (u.xfer_buf.cast::<u8>(), u.xfer_buflen as usize, u.offset);
        let token = self.token();
        // SAFETY: fio keeps xfer_buf (len bytes) alive and untouched while the
        // io_u is in flight, i.e. until event() hands it back, which happens
        // only after its completion was popped from `queue`.
        unsafe {
            match (pool, write) {
                (Some(p), true) => p.write_at_raw(file, buf, len, off, queue, token),
                (Some(p), false) => p.read_at_raw(file, buf, len, off, queue, token),
                (None, true) => file.write_at_async_raw(buf, len, off, queue, token),
                (None, false) => file.read_at_async_raw(buf, len, off, queue, token),
            }
        }
    }
}

impl IoUToken {
    pub fn io_u(&self) -> IoU {
        IoU { ptr: self.0 }
    }

    pub fn as_ptr(&self) -> *mut sys::io_u {
        self.0.as_ptr()
    }
}
