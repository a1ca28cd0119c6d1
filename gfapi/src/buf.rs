// SPDX-License-Identifier: GPL-2.0-or-later
//! Buffers for I/O: [`AlignedBuf`] for `O_DIRECT`, and the [`IoBuf`] /
//! [`IoBufMut`] traits that let the safe async calls own a buffer while gfapi
//! uses it.

use std::fmt;
use std::io;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// A zero-initialised heap buffer whose start is aligned to a power of two
/// (allocated with `posix_memalign`), as `O_DIRECT` I/O needs.
///
/// Dereferences to `[u8]`. It is [`IoBuf`]/[`IoBufMut`], so it can be handed to
/// [`crate::File::read_at_async`] / [`crate::File::write_at_async`].
///
/// ```
/// use gfapi::AlignedBuf;
///
/// let mut buf = AlignedBuf::new(8192, 4096)?;
/// assert_eq!(buf.as_ptr() as usize % 4096, 0);
/// assert!(buf.iter().all(|&b| b == 0));
/// buf[..5].copy_from_slice(b"hello");
/// assert_eq!(&buf[..5], b"hello");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    len: usize,
    align: usize,
}

// SAFETY: AlignedBuf uniquely owns its allocation (like Box<[u8]>); shared
// references only allow reads.
unsafe impl Send for AlignedBuf {}
// SAFETY: see above; &AlignedBuf gives only &[u8].
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// Allocate `len` zeroed bytes aligned to `align`.
    ///
    /// `align` must be a power of two and a multiple of `size_of::<*const ()>()`
    /// (e.g. 512 or 4096); otherwise `InvalidInput` is returned. A zero `len`
    /// is allowed (one byte is allocated behind the scenes).
    ///
    /// ```
    /// assert!(gfapi::AlignedBuf::new(4096, 3).is_err());
    /// let empty = gfapi::AlignedBuf::new(0, 4096).unwrap();
    /// assert!(empty.is_empty());
    /// ```
    pub fn new(len: usize, align: usize) -> io::Result<AlignedBuf> {
        if !align.is_power_of_two() || align < std::mem::size_of::<*const ()>() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("alignment {align} is not a power of two >= pointer size"),
            ));
        }
        let mut p: *mut libc::c_void = std::ptr::null_mut();
        // SAFETY: `p` is a valid out-pointer; align was validated above.
        let rc = unsafe { libc::posix_memalign(&mut p, align, len.max(1)) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        let ptr = NonNull::new(p.cast::<u8>())
            .ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        // SAFETY: the allocation is at least max(len, 1) bytes long.
        unsafe { std::ptr::write_bytes(ptr.as_ptr(), 0, len) };
        Ok(AlignedBuf { ptr, len, align })
    }

    /// Allocate an aligned copy of `data`.
    ///
    /// ```
    /// let b = gfapi::AlignedBuf::from_slice(b"abc", 512).unwrap();
    /// assert_eq!(&b[..], b"abc");
    /// ```
    pub fn from_slice(data: &[u8], align: usize) -> io::Result<AlignedBuf> {
        let mut b = AlignedBuf::new(data.len(), align)?;
        b.copy_from_slice(data);
        Ok(b)
    }

    /// The alignment the buffer was allocated with.
    pub fn align(&self) -> usize {
        self.align
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: ptr is valid for len initialised bytes for our lifetime.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in deref, and &mut self guarantees uniqueness.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: ptr came from posix_memalign and is freed exactly once here.
        unsafe { libc::free(self.ptr.as_ptr().cast()) }
    }
}

impl Clone for AlignedBuf {
    fn clone(&self) -> AlignedBuf {
        AlignedBuf::from_slice(self, self.align)
            .expect("posix_memalign failed while cloning AlignedBuf")
    }
}

impl fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("ptr", &self.ptr)
            .field("len", &self.len)
            .field("align", &self.align)
            .finish()
    }
}

/// A buffer the async calls can own while gfapi reads from it.
///
/// # Safety
///
/// Implementors guarantee that [`io_ptr`](IoBuf::io_ptr) points to
/// [`io_len`](IoBuf::io_len) readable bytes and that this memory **does not
/// move or get freed while the value is moved around** (it lives on the heap
/// and is only released by `Drop`). `Vec<u8>` and [`AlignedBuf`] qualify;
/// arrays stored inline do not. (`Box<[u8]>` is deliberately not implemented:
/// moving a `Box` asserts unique access, which would conflict with gfapi
/// using the bytes meanwhile.)
pub unsafe trait IoBuf: Send + 'static {
    /// Start of the bytes to use.
    fn io_ptr(&self) -> *const u8;
    /// Number of bytes to use.
    fn io_len(&self) -> usize;
}

/// A buffer the async calls can own while gfapi writes into it.
///
/// # Safety
///
/// As for [`IoBuf`], and [`io_mut_ptr`](IoBufMut::io_mut_ptr) must be writable
/// for `io_len()` bytes.
pub unsafe trait IoBufMut: IoBuf {
    /// Start of the bytes gfapi may write.
    fn io_mut_ptr(&mut self) -> *mut u8;
}

// SAFETY: a Vec's heap buffer does not move when the Vec value moves; we use
// its initialised length.
unsafe impl IoBuf for Vec<u8> {
    fn io_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn io_len(&self) -> usize {
        self.len()
    }
}
// SAFETY: see IoBuf for Vec<u8>.
unsafe impl IoBufMut for Vec<u8> {
    fn io_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
}
// SAFETY: the posix_memalign'd block does not move with the AlignedBuf value.
unsafe impl IoBuf for AlignedBuf {
    fn io_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }
    fn io_len(&self) -> usize {
        self.len
    }
}
// SAFETY: see IoBuf for AlignedBuf.
unsafe impl IoBufMut for AlignedBuf {
    fn io_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_and_zeroing() {
        for align in [8, 512, 4096, 1 << 16] {
            let b = AlignedBuf::new(10_000, align).unwrap();
            assert_eq!(b.as_ptr() as usize % align, 0);
            assert_eq!(b.len(), 10_000);
            assert_eq!(b.align(), align);
            assert!(b.iter().all(|&x| x == 0));
        }
        assert_eq!(
            AlignedBuf::new(1, 4095).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert!(AlignedBuf::new(1, 2).is_err());
    }

    #[test]
    fn clone_and_io_traits() {
        let mut b = AlignedBuf::from_slice(&[1, 2, 3], 4096).unwrap();
        let c = b.clone();
        b[0] = 9;
        assert_eq!(&c[..], &[1, 2, 3]);
        assert_eq!(c.io_len(), 3);
        assert_eq!(c.io_ptr() as usize % 4096, 0);
        let p = b.io_mut_ptr();
        let moved = b;
        assert_eq!(
            moved.io_ptr(),
            p as *const u8,
            "moving must not move the bytes"
        );
    }
}
