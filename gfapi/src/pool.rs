// SPDX-License-Identifier: GPL-2.0-or-later
//! [`IoPool`]: synchronous reads and writes run on threads of the pool's
//! own, each completion delivered to a [`CompletionQueue`] exactly as the
//! `*_async` calls deliver theirs.
//!
//! Why it exists: when the bottom of the graph is synchronous (storage/posix
//! inside the process, rpc-bypass), gfapi's async calls run in parallel only
//! with performance/io-threads above posix, and io-threads' call stubs,
//! shared queue and wake-ups cost more per request than a plain hand-off to
//! a thread that calls `glfs_pread` itself. 4 KiB O_DIRECT random reads at
//! depth 32 on a disk brick: 1.4-1.9 × the IOPS with 16 pool threads
//! against 16 io-threads (issue 12, results/PERFORMANCE.md). On a graph with
//! protocol/client the async calls are already cheap; use them there.
//!
//! Ownership: a request holds the file's `glfs_fd_t` pointer and counts as
//! one of the file's operations in flight, so [`File`]'s drop waits for it
//! before `glfs_close`, as it waits for async ones. Dropping the pool runs
//! every queued request to completion, then joins the threads.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use crate::aio::{complete, CompletionQueue, Op};
use crate::creds::cache_thread_credentials;
use crate::error::{Error, Result};
use crate::file::{self, File};
use crate::raw;

/// Largest number of threads one pool may have.
pub const MAX_POOL_THREADS: usize = 256;

/// A fixed set of threads that run [`File`] reads and writes synchronously
/// and deliver their completions to the caller's [`CompletionQueue`].
///
/// ```no_run
/// use gfapi::{CompletionQueue, IoPool, Volume};
///
/// let fs = Volume::posix("/bricks/b1").read_only(true).init()?;
/// let f = fs.open("/data", libc::O_RDONLY)?;
/// let q = CompletionQueue::new();
/// let pool = IoPool::new(4)?;
/// let mut bufs = vec![vec![0u8; 4096]; 4];
/// for (i, b) in bufs.iter_mut().enumerate() {
///     // SAFETY: each buffer stays alive and untouched until its completion is popped.
///     unsafe { pool.read_at_raw(&f, b.as_mut_ptr(), b.len(), i as u64 * 4096, &q, i)? };
/// }
/// let mut done = Vec::new();
/// q.wait(&mut done, 4, 4, None);
/// # Ok::<(), gfapi::Error>(())
/// ```
pub struct IoPool<T: Send + 'static> {
    shared: Arc<PoolShared<T>>,
    workers: Vec<JoinHandle<()>>,
}

impl<T: Send + 'static> fmt::Debug for IoPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoPool")
            .field("threads", &self.workers.len())
            .field("queued", &self.shared.lock().requests.len())
            .finish()
    }
}

struct PoolShared<T> {
    state: Mutex<PoolState<T>>,
    work: Condvar,
}

struct PoolState<T> {
    requests: VecDeque<Request<T>>,
    /// Threads blocked on `work`; a submission signals only if one is.
    idle: usize,
    shutdown: bool,
}

impl<T> PoolShared<T> {
    fn lock(&self) -> MutexGuard<'_, PoolState<T>> {
        // Every mutation under this lock is one push/pop or counter update.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Read(*mut u8),
    Write(*const u8),
}

struct Request<T> {
    fd: *mut raw::glfs_fd_t,
    direction: Direction,
    len: usize,
    offset: libc::off_t,
    op: Op<T>,
}

// SAFETY: the fd may be used from any thread (see `File`'s Send); the
// buffer pointer is the caller's, who promised (read_at_raw/write_at_raw)
// that nobody else touches it until the completion is taken, so moving it
// to the worker that alone uses it is sound. T is Send.
unsafe impl<T: Send> Send for Request<T> {}

impl<T: Send + 'static> IoPool<T> {
    /// A pool of `threads` threads (1 to [`MAX_POOL_THREADS`]). The threads
    /// block every signal, as gluster's own threads do, so signals meant for
    /// the program reach its threads, and send every request with the
    /// process's credentials as they are now (see
    /// [`cache_thread_credentials`](crate::cache_thread_credentials)).
    pub fn new(threads: usize) -> Result<IoPool<T>> {
        let bad = |msg| {
            Error::io(
                "IoPool::new",
                None,
                io::Error::new(io::ErrorKind::InvalidInput, msg),
            )
        };
        if threads == 0 {
            return Err(bad("a pool needs at least one thread"));
        }
        if threads > MAX_POOL_THREADS {
            return Err(bad("more threads than MAX_POOL_THREADS"));
        }
        let shared = Arc::new(PoolShared {
            state: Mutex::new(PoolState {
                requests: VecDeque::new(),
                idle: 0,
                shutdown: false,
            }),
            work: Condvar::new(),
        });
        let mut pool = IoPool {
            shared,
            workers: Vec::with_capacity(threads),
        };
        for i in 0..threads {
            let shared = Arc::clone(&pool.shared);
            let spawned = std::thread::Builder::new()
                .name(format!("gfapi-pool{i}"))
                .stack_size(256 * 1024)
                .spawn(move || worker(&shared));
            match spawned {
                Ok(h) => pool.workers.push(h),
                // Drop joins the threads already started.
                Err(e) => return Err(Error::io("IoPool::new (spawn)", None, e)),
            }
        }
        Ok(pool)
    }

    /// Threads of this pool.
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// Queue a `pread` of `len` bytes at `offset` of `file` into `buf`; the
    /// result (bytes read, or errno) arrives on `queue` with `token`.
    ///
    /// # Safety
    ///
    /// `buf` must be valid for writes of `len` bytes, and must not be read,
    /// written or freed by anyone else, until the completion for `token` has
    /// been taken from `queue` by [`CompletionQueue::wait`].
    pub unsafe fn read_at_raw(
        &self,
        file: &File,
        buf: *mut u8,
        len: usize,
        offset: u64,
        queue: &CompletionQueue<T>,
        token: T,
    ) -> Result<()> {
        self.submit(file, Direction::Read(buf), len, offset, queue, token)
    }

    /// Queue a `pwrite` of `len` bytes from `buf` at `offset` of `file`.
    ///
    /// # Safety
    ///
    /// `buf` must be valid for reads of `len` bytes and must not be written
    /// or freed until the completion for `token` has been taken from `queue`.
    pub unsafe fn write_at_raw(
        &self,
        file: &File,
        buf: *const u8,
        len: usize,
        offset: u64,
        queue: &CompletionQueue<T>,
        token: T,
    ) -> Result<()> {
        self.submit(file, Direction::Write(buf), len, offset, queue, token)
    }

    fn submit(
        &self,
        file: &File,
        direction: Direction,
        len: usize,
        offset: u64,
        queue: &CompletionQueue<T>,
        token: T,
    ) -> Result<()> {
        let op = match direction {
            Direction::Read(_) => "glfs_pread (pool)",
            Direction::Write(_) => "glfs_pwrite (pool)",
        };
        let offset = file::offset(op, &file.path, offset)?;
        // Counted before the request is visible to a worker, so neither
        // CompletionQueue::in_flight nor File's drop can miss it.
        let request = Request {
            fd: file.fd,
            direction,
            len,
            offset,
            op: Op::begin(queue, token, &file.ops),
        };
        let mut st = self.shared.lock();
        st.requests.push_back(request);
        let wake = st.idle > 0;
        drop(st);
        if wake {
            self.shared.work.notify_one();
        }
        Ok(())
    }
}

impl<T: Send + 'static> Drop for IoPool<T> {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.work.notify_all();
        for h in self.workers.drain(..) {
            // A worker never panics outward (run() is fenced); a join
            // error would only repeat what it already printed.
            let _ = h.join();
        }
    }
}

fn block_signals() {
    // SAFETY: a zeroed sigset_t filled by sigfillset; pthread_sigmask only
    // changes this thread's mask.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
    }
}

fn worker<T: Send + 'static>(shared: &PoolShared<T>) {
    block_signals();
    // Without a cached identity gfapi asks the kernel for it on every
    // request (geteuid, getegid, getgroups twice); the process's identity
    // now is what the requests would carry anyway. Failing that, gfapi
    // keeps asking: same identity, four system calls more.
    let _ = cache_thread_credentials();
    loop {
        let request = {
            let mut st = shared.lock();
            loop {
                if let Some(r) = st.requests.pop_front() {
                    break r;
                }
                if st.shutdown {
                    return;
                }
                st.idle += 1;
                st = shared.work.wait(st).unwrap_or_else(PoisonError::into_inner);
                st.idle -= 1;
            }
        };
        run(request);
    }
}

/// Runs one request and delivers its completion; never unwinds.
fn run<T: Send + 'static>(r: Request<T>) {
    let Request {
        fd,
        direction,
        len,
        offset,
        op,
    } = r;
    // SAFETY: fd is open: File's drop waits until `complete` below has
    // ended the operation before closing it. The buffer is valid for len bytes and ours alone until
    // the completion is taken (read_at_raw/write_at_raw's contract).
    let ret = unsafe {
        match direction {
            Direction::Read(buf) => {
                raw::glfs_pread(fd, buf.cast(), len, offset, 0, std::ptr::null_mut())
            }
            Direction::Write(buf) => raw::glfs_pwrite(
                fd,
                buf.cast(),
                len,
                offset,
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            ),
        }
    };
    let errno = if ret < 0 {
        io::Error::last_os_error().raw_os_error().unwrap_or(0)
    } else {
        0
    };
    // Delivered as gfapi's callback delivers an async completion (fenced,
    // counts kept right on every path).
    complete(op, ret, errno);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_counts_are_checked() {
        assert!(IoPool::<u8>::new(0).is_err());
        assert!(IoPool::<u8>::new(MAX_POOL_THREADS + 1).is_err());
        let p = IoPool::<u8>::new(3).unwrap();
        assert_eq!(p.threads(), 3);
        drop(p); // joins without hanging
    }
}
