// SPDX-License-Identifier: GPL-2.0-or-later
//! Async completions: the bridge from gfapi's C callbacks to Rust.
//!
//! Every async submission boxes an `Op` (a clone of the queue handle, the
//! caller's token and the file's in-flight counter) and passes the raw box
//! pointer to gfapi as the callback's `data`. gfapi calls [`io_callback`]
//! exactly once per successful submission, on one of *its* threads (epoll or
//! syncenv workers). The callback
//!
//! * takes ownership of the box back (so it is freed exactly once),
//! * turns `ret`/`errno` into an `io::Result<usize>`,
//! * pushes a [`Completion`] onto the queue and wakes a waiter only if the
//!   waiter's `min` is now satisfied,
//! * runs inside `catch_unwind`, so a panic can never unwind into C.
//!
//! If gfapi rejects a submission (returns -1), it will never call back: the
//! submitter frees the box itself and returns the error. Nothing in the
//! callback touches thread-locals or calls back into gfapi.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::os::raw::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{errno_error, last_errno_error};
use crate::raw;

/// One finished async operation.
///
/// `result` is `Ok(n)` with the byte count for reads/writes (0 for
/// fsync/discard/zerofill), or the `errno` as an [`io::Error`]
/// (`raw_os_error()` is set).
#[derive(Debug)]
pub struct Completion<T> {
    /// The token given at submission.
    pub token: T,
    /// Outcome of the operation.
    pub result: io::Result<usize>,
}

/// A multi-producer queue of [`Completion`]s that threads can block on.
///
/// Cheap to clone (an `Arc`); all clones are the same queue. Completions are
/// pushed by gfapi's callback threads and popped with [`wait`](Self::wait).
/// It is a `Mutex<VecDeque>` plus a `Condvar`: waiting never polls or sleeps,
/// and a callback only signals the condvar when a blocked waiter's `min` has
/// just been reached.
///
/// `T` is the caller's per-request token (an index, a pointer wrapper, a
/// buffer, ...). Several [`crate::File`]s may share one queue.
///
/// ```no_run
/// use gfapi::{CompletionQueue, Volume};
/// use std::time::Duration;
///
/// let fs = Volume::new("myvol").init()?;
/// let f = fs.create("/data", libc::O_RDWR, 0o644)?;
/// let q: CompletionQueue<(u32, Vec<u8>)> = CompletionQueue::new();
/// for i in 0..4u32 {
///     f.write_at_async(vec![i as u8; 4096], u64::from(i) * 4096, &q, i)?;
/// }
/// let mut done = Vec::new();
/// q.wait(&mut done, 4, 4, Some(Duration::from_secs(10)));
/// for c in done {
///     let (i, _buf) = c.token;
///     assert_eq!(c.result?, 4096, "write {i}");
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CompletionQueue<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for CompletionQueue<T> {
    fn clone(&self) -> Self {
        CompletionQueue {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> fmt::Debug for CompletionQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompletionQueue")
            .field("in_flight", &self.shared.in_flight.load(Ordering::Relaxed))
            .field("ready", &self.shared.lock().ready.len())
            .finish()
    }
}

impl<T: Send> Default for CompletionQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

pub(crate) struct Shared<T> {
    state: Mutex<State<T>>,
    cond: Condvar,
    /// Submitted, callback not yet run.
    in_flight: AtomicUsize,
    /// Test-only fault injection: make the next delivery panic.
    #[cfg(test)]
    panic_on_deliver: AtomicBool,
}

struct State<T> {
    ready: VecDeque<Completion<T>>,
    /// Number of threads blocked in `wait`.
    waiters: usize,
    /// Smallest number of *new* completions any blocked waiter still needs
    /// (`usize::MAX` when nobody waits). The callback signals only when
    /// `ready.len() >= need`.
    need: usize,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding the lock cannot leave State inconsistent
        // (every mutation is a single push/pop/counter update), so poisoning
        // is ignored rather than propagated into gfapi's threads.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Push a completion and wake a waiter if one is now satisfied.
    fn deliver(&self, token: T, result: io::Result<usize>) {
        let mut st = self.lock();
        #[cfg(test)]
        if self.panic_on_deliver.swap(false, Ordering::SeqCst) {
            drop(st);
            panic!("injected panic in completion delivery");
        }
        st.ready.push_back(Completion { token, result });
        // Decrement while holding the lock so that a locked observer never
        // sees the operation in neither `ready` nor `in_flight`.
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        let wake = st.waiters > 0 && st.ready.len() >= st.need;
        let many = st.waiters > 1;
        drop(st);
        if wake {
            if many {
                self.cond.notify_all();
            } else {
                self.cond.notify_one();
            }
        }
    }
}

impl<T: Send> CompletionQueue<T> {
    /// An empty queue.
    ///
    /// ```
    /// let q: gfapi::CompletionQueue<usize> = gfapi::CompletionQueue::new();
    /// assert_eq!(q.in_flight(), 0);
    /// ```
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty queue with room for `n` completions before it allocates
    /// (use the maximum queue depth to keep the callback allocation-free).
    pub fn with_capacity(n: usize) -> Self {
        CompletionQueue {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    ready: VecDeque::with_capacity(n),
                    waiters: 0,
                    need: usize::MAX,
                }),
                cond: Condvar::new(),
                in_flight: AtomicUsize::new(0),
                #[cfg(test)]
                panic_on_deliver: AtomicBool::new(false),
            }),
        }
    }

    /// Move up to `max` completions into `out` (appending), blocking until at
    /// least `min` have been moved or `timeout` expires. Returns how many were
    /// appended.
    ///
    /// * `min` is clamped to `max`; `max == 0` returns 0 at once.
    /// * `timeout: None` waits as long as it takes; `Some(Duration::ZERO)`
    ///   only collects what is already there (never blocks).
    /// * On timeout the completions gathered so far (possibly fewer than
    ///   `min`) are still appended and counted.
    /// * Waiting for more completions than will ever arrive blocks until the
    ///   timeout; check [`in_flight`](Self::in_flight) if unsure.
    ///
    /// ```
    /// use std::time::Duration;
    /// let q: gfapi::CompletionQueue<u8> = gfapi::CompletionQueue::new();
    /// let mut out = Vec::new();
    /// // Nothing submitted: returns after the timeout with 0 completions.
    /// assert_eq!(q.wait(&mut out, 1, 8, Some(Duration::from_millis(10))), 0);
    /// ```
    pub fn wait(
        &self,
        out: &mut Vec<Completion<T>>,
        min: usize,
        max: usize,
        timeout: Option<Duration>,
    ) -> usize {
        let min = min.min(max);
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        // No deadline: wait forever (also when `now + timeout` overflows).
        let forever = deadline.is_none();
        let sh = &*self.shared;
        let mut got = 0;
        let mut st = sh.lock();
        loop {
            while got < max {
                match st.ready.pop_front() {
                    Some(c) => {
                        out.push(c);
                        got += 1;
                    }
                    None => break,
                }
            }
            if got >= min {
                return got;
            }
            let left = if forever {
                None
            } else {
                let now = Instant::now();
                let d = deadline.expect("deadline set when not waiting forever");
                if now >= d {
                    return got;
                }
                Some(d - now)
            };
            // `ready` is empty here (we drained it and still need more), so
            // `need` counts completions still to arrive.
            let need = min - got;
            st.need = if st.waiters == 0 {
                need
            } else {
                st.need.min(need)
            };
            st.waiters += 1;
            st = match left {
                None => sh.cond.wait(st).unwrap_or_else(PoisonError::into_inner),
                Some(d) => {
                    sh.cond
                        .wait_timeout(st, d)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            st.waiters -= 1;
            if st.waiters == 0 {
                st.need = usize::MAX;
            }
        }
    }

    /// Operations submitted to this queue whose completion has not been
    /// delivered yet (still inside gfapi).
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    /// Completions delivered and waiting to be collected by
    /// [`wait`](Self::wait).
    pub fn ready(&self) -> usize {
        self.shared.lock().ready.len()
    }
}

/// Per-[`crate::File`] count of async operations inside gfapi.
///
/// `File::drop` must not call `glfs_close` while operations are in flight:
/// gfapi drops (without calling back) the completion of an operation whose
/// fd was closed meanwhile, which would leak the request and leave the
/// caller's buffer in use. So the drop waits here until the count is zero.
#[derive(Default)]
pub(crate) struct FileOps {
    count: AtomicUsize,
    closing: AtomicBool,
    lock: Mutex<()>,
    cond: Condvar,
}

impl FileOps {
    fn begin(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    fn end(&self) {
        // SeqCst pairs with `wait_idle`: either it sees our decrement, or we
        // see its `closing` flag and signal under the lock.
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 && self.closing.load(Ordering::SeqCst) {
            let _g = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.cond.notify_all();
        }
    }

    /// Block until every operation submitted on this file has called back.
    pub(crate) fn wait_idle(&self) {
        self.closing.store(true, Ordering::SeqCst);
        if self.count.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut g = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        while self.count.load(Ordering::SeqCst) != 0 {
            g = self.cond.wait(g).unwrap_or_else(PoisonError::into_inner);
        }
    }

    #[cfg(test)]
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

/// One operation between submission and completion: owned by gfapi until
/// its callback, or by the pool until a worker has run it.
pub(crate) struct Op<T> {
    queue: Arc<Shared<T>>,
    token: T,
    file: Arc<FileOps>,
}

impl<T> Op<T> {
    /// Counts the operation in flight on `queue` and on the file before
    /// anyone can complete it; [`complete`] ends both counts.
    pub(crate) fn begin(queue: &CompletionQueue<T>, token: T, file: &Arc<FileOps>) -> Op<T> {
        queue.shared.in_flight.fetch_add(1, Ordering::AcqRel);
        file.begin();
        Op {
            queue: Arc::clone(&queue.shared),
            token,
            file: Arc::clone(file),
        }
    }
}

/// Decrements the file's in-flight count when dropped, even while unwinding.
struct EndGuard(Arc<FileOps>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// Box the request, hand it to `submit_fn` (which calls a `glfs_*_async`
/// function with our callback and `data` pointer) and clean up if gfapi
/// rejects it. On rejection the token is returned with the errno.
pub(crate) fn submit<T: Send + 'static>(
    queue: &CompletionQueue<T>,
    token: T,
    file: &Arc<FileOps>,
    submit_fn: impl FnOnce(raw::glfs_io_cbk, *mut c_void) -> c_int,
) -> Result<(), (T, io::Error)> {
    let op = Box::into_raw(Box::new(Op::begin(queue, token, file)));
    let rc = submit_fn(Some(io_callback::<T>), op.cast());
    if rc == 0 {
        return Ok(());
    }
    let err = last_errno_error();
    // SAFETY: gfapi returned an error before winding the request, so it did
    // not keep `op` and will never call back with it; we still own the box.
    let op = unsafe { Box::from_raw(op) };
    let Op { queue, token, file } = *op;
    queue.in_flight.fetch_sub(1, Ordering::AcqRel);
    file.end();
    Err((token, err))
}

/// The `glfs_io_cbk` given to every async call (monomorphised per token type).
///
/// # Safety
///
/// `data` must be a pointer produced by [`submit`] for the same `T` that has
/// not been passed to this function before. gfapi guarantees one call per
/// successful submission.
unsafe extern "C" fn io_callback<T: Send + 'static>(
    _fd: *mut raw::glfs_fd_t,
    ret: isize,
    _prestat: *mut raw::glfs_stat,
    _poststat: *mut raw::glfs_stat,
    data: *mut c_void,
) {
    // Read errno before anything else can overwrite it.
    let errno = if ret < 0 {
        io::Error::last_os_error().raw_os_error().unwrap_or(0)
    } else {
        0
    };
    if data.is_null() {
        return;
    }
    // SAFETY: per this function's contract `data` is our leaked Box<Op<T>>,
    // delivered exactly once, so reclaiming it here frees it exactly once.
    let op = unsafe { Box::from_raw(data.cast::<Op<T>>()) };
    // Nothing in `complete` is expected to panic (it has its own guard around
    // the delivery), but an unwind must never cross into C.
    if catch_unwind(AssertUnwindSafe(move || complete(*op, ret, errno))).is_err() {
        eprintln!("gfapi: panic in async completion callback");
    }
}

/// Deliver one finished operation; never unwinds.
pub(crate) fn complete<T: Send + 'static>(op: Op<T>, ret: isize, errno: i32) {
    let Op { queue, token, file } = op;
    // Decrement the file's count on every path, including a caught panic.
    let end = EndGuard(file);
    let result = if ret < 0 {
        Err(errno_error(errno))
    } else {
        Ok(ret as usize)
    };
    let q = Arc::clone(&queue);
    if catch_unwind(AssertUnwindSafe(move || q.deliver(token, result))).is_err() {
        // Only reachable if pushing onto the VecDeque itself panicked
        // (capacity overflow). Keep the counters right so nobody hangs on
        // `in_flight`, and say so: unwinding into gfapi would be UB.
        queue.in_flight.fetch_sub(1, Ordering::AcqRel);
        eprintln!("gfapi: panic while delivering an async completion; completion dropped");
    }
    drop(end);
    // If every CompletionQueue handle was dropped while this operation was
    // in flight, we now hold the last reference and nobody can ever collect
    // the completions in it. Dropping them here would run the callers'
    // token destructors on gfapi's thread, where e.g. the last `File` being
    // dropped would call back into gfapi (and could deadlock). Hand them to
    // a short-lived thread instead (leak them if no thread can be started).
    if let Some(orphan) = Arc::into_inner(queue) {
        let orphan = std::mem::ManuallyDrop::new(orphan);
        let _ = std::thread::Builder::new()
            .name("gfapi-cq-drop".into())
            .spawn(move || drop(std::mem::ManuallyDrop::into_inner(orphan)));
    }
}

#[cfg(test)]
mod tests;
