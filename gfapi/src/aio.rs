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

/// State owned by gfapi between submission and callback.
struct Op<T> {
    queue: Arc<Shared<T>>,
    token: T,
    file: Arc<FileOps>,
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
    queue.shared.in_flight.fetch_add(1, Ordering::AcqRel);
    file.begin();
    let op = Box::into_raw(Box::new(Op {
        queue: Arc::clone(&queue.shared),
        token,
        file: Arc::clone(file),
    }));
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
fn complete<T: Send + 'static>(op: Op<T>, ret: isize, errno: i32) {
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
mod tests {
    use super::*;
    use std::thread;

    /// Simulate gfapi: "submit" a request, and later fire the real C callback.
    fn fake_submit<T: Send + 'static>(
        q: &CompletionQueue<T>,
        file: &Arc<FileOps>,
        token: T,
    ) -> usize {
        let mut ptr = 0usize;
        submit(q, token, file, |cb, data| {
            assert!(cb.is_some());
            ptr = data as usize;
            0
        })
        .map_err(|_| ())
        .unwrap();
        ptr
    }

    fn fire<T: Send + 'static>(data: usize, ret: isize) {
        // SAFETY: `data` came from fake_submit for this T and fires once.
        unsafe {
            io_callback::<T>(
                std::ptr::null_mut(),
                ret,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                data as *mut c_void,
            )
        }
    }

    #[test]
    fn zero_timeout_and_max_zero_never_block() {
        let q: CompletionQueue<u32> = CompletionQueue::new();
        let mut out = Vec::new();
        let t = Instant::now();
        assert_eq!(q.wait(&mut out, 5, 0, None), 0);
        assert_eq!(q.wait(&mut out, 1, 4, Some(Duration::ZERO)), 0);
        assert!(t.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn timeout_returns_partial() {
        let q: CompletionQueue<u32> = CompletionQueue::new();
        let f = Arc::new(FileOps::default());
        let d = fake_submit(&q, &f, 7);
        fire::<u32>(d, 11);
        let mut out = Vec::new();
        let t = Instant::now();
        assert_eq!(q.wait(&mut out, 3, 8, Some(Duration::from_millis(150))), 1);
        let el = t.elapsed();
        assert!(el >= Duration::from_millis(150), "{el:?}");
        assert!(el < Duration::from_secs(2), "{el:?}");
        assert_eq!(out[0].token, 7);
        assert_eq!(out[0].result.as_ref().unwrap(), &11);
        assert_eq!(q.in_flight(), 0);
        assert_eq!(f.count(), 0);
    }

    #[test]
    fn max_caps_and_leaves_rest() {
        let q: CompletionQueue<u32> = CompletionQueue::with_capacity(8);
        let f = Arc::new(FileOps::default());
        let ds: Vec<_> = (0..5).map(|i| fake_submit(&q, &f, i)).collect();
        assert_eq!(q.in_flight(), 5);
        for d in ds {
            fire::<u32>(d, 0);
        }
        assert_eq!(q.in_flight(), 0);
        assert_eq!(q.ready(), 5);
        let mut out = Vec::new();
        assert_eq!(q.wait(&mut out, 1, 3, None), 3);
        assert_eq!(q.ready(), 2);
        assert_eq!(q.wait(&mut out, 0, 10, Some(Duration::ZERO)), 2);
        let tokens: Vec<_> = out.iter().map(|c| c.token).collect();
        assert_eq!(tokens, vec![0, 1, 2, 3, 4], "FIFO order");
    }

    #[test]
    fn min_blocks_until_enough_from_other_threads() {
        let q: CompletionQueue<usize> = CompletionQueue::new();
        let f = Arc::new(FileOps::default());
        let ds: Vec<_> = (0..4).map(|i| fake_submit(&q, &f, i)).collect();
        let h = thread::spawn(move || {
            for (i, d) in ds.into_iter().enumerate() {
                thread::sleep(Duration::from_millis(20));
                fire::<usize>(d, i as isize);
            }
        });
        let mut out = Vec::new();
        let t = Instant::now();
        let n = q.wait(&mut out, 4, 4, Some(Duration::from_secs(10)));
        assert_eq!(n, 4);
        assert!(t.elapsed() >= Duration::from_millis(60));
        assert!(t.elapsed() < Duration::from_secs(5));
        h.join().unwrap();
        assert_eq!(q.in_flight(), 0);
    }

    #[test]
    fn errors_carry_errno() {
        let q: CompletionQueue<()> = CompletionQueue::new();
        let f = Arc::new(FileOps::default());
        let d = fake_submit(&q, &f, ());
        // gfapi sets errno before calling back with ret = -1.
        thread::spawn(move || {
            // SAFETY: __errno_location is the calling thread's errno.
            unsafe { *libc::__errno_location() = libc::ENOSPC };
            fire::<()>(d, -1);
        })
        .join()
        .unwrap();
        let mut out = Vec::new();
        q.wait(&mut out, 1, 1, None);
        assert_eq!(
            out[0].result.as_ref().unwrap_err().raw_os_error(),
            Some(libc::ENOSPC)
        );
    }

    #[test]
    fn failed_submit_returns_token_and_frees() {
        let q: CompletionQueue<Arc<()>> = CompletionQueue::new();
        let f = Arc::new(FileOps::default());
        let tok = Arc::new(());
        let r = submit(&q, Arc::clone(&tok), &f, |_, _| {
            // SAFETY: setting our own errno.
            unsafe { *libc::__errno_location() = libc::EBADF };
            -1
        });
        let (back, err) = r.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF));
        assert_eq!(Arc::strong_count(&tok), 2);
        drop(back);
        assert_eq!(Arc::strong_count(&tok), 1, "token freed exactly once");
        assert_eq!(q.in_flight(), 0);
        assert_eq!(f.count(), 0);
        assert_eq!(Arc::strong_count(&q.shared), 1, "box (queue clone) freed");
    }

    #[test]
    fn callback_frees_box_once_and_tokens_are_not_leaked() {
        let q: CompletionQueue<Arc<()>> = CompletionQueue::new();
        let f = Arc::new(FileOps::default());
        let tok = Arc::new(());
        let d = fake_submit(&q, &f, Arc::clone(&tok));
        assert_eq!(Arc::strong_count(&q.shared), 2);
        fire::<Arc<()>>(d, 0);
        assert_eq!(Arc::strong_count(&q.shared), 1);
        assert_eq!(Arc::strong_count(&f), 1);
        let mut out = Vec::new();
        q.wait(&mut out, 1, 1, None);
        drop(out);
        assert_eq!(Arc::strong_count(&tok), 1);
    }

    #[test]
    fn panic_in_delivery_is_caught_and_counters_stay_right() {
        let q: CompletionQueue<u8> = CompletionQueue::new();
        let f = Arc::new(FileOps::default());
        let d = fake_submit(&q, &f, 1);
        q.shared.panic_on_deliver.store(true, Ordering::SeqCst);
        // Must return normally (an unwind out of an extern "C" fn would abort).
        fire::<u8>(d, 0);
        assert_eq!(q.in_flight(), 0);
        assert_eq!(f.count(), 0);
        f.wait_idle(); // must not hang
                       // The queue still works afterwards.
        let d = fake_submit(&q, &f, 2);
        fire::<u8>(d, 0);
        let mut out = Vec::new();
        assert_eq!(q.wait(&mut out, 1, 1, Some(Duration::from_secs(1))), 1);
        assert_eq!(out[0].token, 2);
    }

    /// Records the thread its value is dropped on.
    struct DropProbe(std::sync::mpsc::Sender<thread::ThreadId>);
    impl Drop for DropProbe {
        fn drop(&mut self) {
            let _ = self.0.send(thread::current().id());
        }
    }

    #[test]
    fn orphaned_queue_drops_tokens_off_the_callback_thread() {
        let (tx, rx) = std::sync::mpsc::channel();
        let f = Arc::new(FileOps::default());
        let d = {
            let q: CompletionQueue<DropProbe> = CompletionQueue::new();
            fake_submit(&q, &f, DropProbe(tx))
            // every user handle of the queue is dropped here
        };
        let cb = thread::spawn(move || {
            fire::<DropProbe>(d, 0);
            thread::current().id()
        });
        let cb_id = cb.join().unwrap();
        let dropped_on = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_ne!(dropped_on, cb_id, "token dropped on the callback thread");
        assert_eq!(f.count(), 0);
    }

    #[test]
    fn file_wait_idle_blocks_until_callbacks_ran() {
        let q: CompletionQueue<u8> = CompletionQueue::new();
        let f = Arc::new(FileOps::default());
        let d1 = fake_submit(&q, &f, 1);
        let d2 = fake_submit(&q, &f, 2);
        let h = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            fire::<u8>(d1, 0);
            thread::sleep(Duration::from_millis(50));
            fire::<u8>(d2, 0);
        });
        let t = Instant::now();
        f.wait_idle();
        assert!(t.elapsed() >= Duration::from_millis(100));
        assert_eq!(f.count(), 0);
        h.join().unwrap();
    }

    #[test]
    fn many_producers_many_waiters_lose_nothing() {
        const PRODUCERS: usize = 4;
        const PER: usize = 2000;
        let q: CompletionQueue<usize> = CompletionQueue::new();
        let f = Arc::new(FileOps::default());
        let ptrs: Vec<Vec<usize>> = (0..PRODUCERS)
            .map(|p| (0..PER).map(|i| fake_submit(&q, &f, p * PER + i)).collect())
            .collect();
        let consumers: Vec<_> = (0..3)
            .map(|k| {
                let q = q.clone();
                thread::spawn(move || {
                    let mut out = Vec::new();
                    loop {
                        let n = q.wait(&mut out, 1 + k, 16, Some(Duration::from_millis(200)));
                        if n == 0 && q.in_flight() == 0 && q.ready() == 0 {
                            break;
                        }
                    }
                    out.into_iter().map(|c| c.token).collect::<Vec<_>>()
                })
            })
            .collect();
        let producers: Vec<_> = ptrs
            .into_iter()
            .map(|v| {
                thread::spawn(move || {
                    for d in v {
                        fire::<usize>(d, 1);
                    }
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        let mut all: Vec<usize> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..PRODUCERS * PER).collect::<Vec<_>>());
        assert_eq!(f.count(), 0);
    }
}
