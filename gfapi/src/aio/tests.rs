// SPDX-License-Identifier: GPL-2.0-or-later
//! Unit tests of `aio.rs`: the C callback path driven without gfapi.

use super::*;
use std::thread;

/// Simulate gfapi: "submit" a request, and later fire the real C callback.
fn fake_submit<T: Send + 'static>(q: &CompletionQueue<T>, file: &Arc<FileOps>, token: T) -> usize {
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
