// SPDX-License-Identifier: GPL-2.0-or-later
//! Workaround 5 of rpc-bypass: stop an instance's event threads before
//! `glfs_fini`, without gluster's own one-second wait.

use std::ptr::{self, addr_of, addr_of_mut};
use std::time::Duration;

use crate::bindings::gi;

struct SendPtr(*mut gi::event_pool);
// SAFETY: the pool is shared with gluster's own threads by design; we
// only pass its address to gluster's destroy function.
unsafe impl Send for SendPtr {}
impl SendPtr {
    fn get(&self) -> *mut gi::event_pool {
        self.0
    }
}

/// Evaluate `cond` on the pool under its mutex until it holds or
/// `limit` passes; returns whether it held.
unsafe fn wait_pool(
    pool: *mut gi::event_pool,
    limit: Duration,
    mut cond: impl FnMut(*mut gi::event_pool) -> bool,
) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        // SAFETY: pool alive (caller's contract); mutex locked/unlocked
        // in pairs around plain reads of fields it protects.
        let ok = unsafe {
            let m = addr_of_mut!((*pool).mutex).cast::<libc::pthread_mutex_t>();
            libc::pthread_mutex_lock(m);
            let ok = cond(pool);
            libc::pthread_mutex_unlock(m);
            ok
        };
        if ok {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// Workaround 5. Stop the instance's event threads before `glfs_fini`:
///
/// 1. wait until the dispatcher thread (`glfspoll`, started by
///    `glfs_init` without waiting for it) has registered itself — else a
///    quick init→fini frees the pool under a thread that starts later
///    (a race gluster's own 1 s wait usually hides);
/// 2. run gluster's `gf_event_dispatch_destroy` on a helper thread and
///    wake it as soon as the active-thread count is 0 (the dispatcher's
///    exit does not signal, so it would sleep a full second);
/// 3. wait until every worker has left its last critical section
///    (`pollers[]` cleared, `poller_death_sliced` reset).
///
/// `glfs_fini` then finds the pool in destroy mode and its own
/// `gf_event_dispatch_destroy` returns at once.
pub(super) unsafe fn stop_event_threads(pool: *mut gi::event_pool) {
    if pool.is_null() {
        return;
    }
    // SAFETY (all reads below): fields of the live pool read under its
    // mutex by wait_pool.
    let active =
        |p: *mut gi::event_pool| unsafe { ptr::read_volatile(addr_of!((*p).activethreadcount)) };
    // 1.
    // SAFETY: pool alive until glfs_fini, which runs after this fn.
    unsafe { wait_pool(pool, Duration::from_secs(5), |p| active(p) > 0) };
    // 2.
    let p = SendPtr(pool);
    std::thread::scope(|s| {
        let spawned = std::thread::Builder::new()
            .name("gfapi-evstop".into())
            .spawn_scoped(s, move || {
                // SAFETY: pool alive until glfs_fini, which runs after
                // this scope ends.
                unsafe { gi::gf_event_dispatch_destroy(p.get()) }
            });
        let Ok(h) = spawned else {
            return; // no thread: glfs_fini does it, 1 s slower
        };
        while !h.is_finished() {
            // SAFETY: as above; broadcast on the pool's own cond with
            // its mutex held.
            unsafe {
                wait_pool(pool, Duration::ZERO, |p| {
                    if ptr::read_volatile(addr_of!((*p).destroy)) != 0 && active(p) == 0 {
                        libc::pthread_cond_broadcast(
                            addr_of_mut!((*p).cond).cast::<libc::pthread_cond_t>(),
                        );
                    }
                    true
                })
            };
            std::thread::sleep(Duration::from_micros(200));
        }
        let _ = h.join();
    });
    // 3.
    // SAFETY: as in 1.
    unsafe {
        wait_pool(pool, Duration::from_secs(5), |p| {
            active(p) == 0
                && ptr::read_volatile(addr_of!((*p).poller_death_sliced)) == 0
                && (*p).pollers.iter().all(|t| *t == 0)
        })
    };
}
