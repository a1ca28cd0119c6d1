// SPDX-License-Identifier: GPL-2.0-or-later
//! Ownership of a `glfs_t` at its end: the [`Teardown`] policy, [`RawGlfs`]
//! (an instance on its way to `glfs_fini`, with the finaliser of the way it
//! was opened) and the count of background teardowns.

use std::ptr::NonNull;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::raw;

/// What happens to the `glfs_t` when the last [`Fs`](crate::Fs) handle (clone or [`File`](crate::File))
/// is dropped.
///
/// Why this exists: on GlusterFS 10.x `glfs_fini` blocks for about 10 seconds
/// (an RPC "call_bail" timer holds a reference on the connection and only
/// fires every 10 s; upstream issue gluster/glusterfs#2606). Skipping
/// `glfs_fini` altogether leaks the instance's threads, sockets and memory for
/// the rest of the process. So the choice is the caller's:
///
/// * [`Fini`](Teardown::Fini) (default) — call `glfs_fini` in `drop`, blocking
///   the dropping thread for ~10 s. Always correct.
/// * [`Background`](Teardown::Background) — run `glfs_fini` on a short-lived
///   background thread; `drop` returns at once. Resources are released ~10 s
///   later. Call [`crate::wait_background_teardowns`] before the process exits
///   (or before measuring resource usage) to wait for them.
/// * [`SkipFini`](Teardown::SkipFini) — the process-exit fast path: do not call
///   `glfs_fini`; the instance (threads, sockets, memory) is leaked until the
///   process ends. No written data is lost by this: every [`File`](crate::File) holds an
///   [`Fs`](crate::Fs) clone, so the last drop happens only after every file has been
///   closed, and `glfs_close` flushes (write-behind included) to the bricks
///   before it returns. Use it when the process is about to exit anyway
///   (e.g. the end of a benchmark); do not use it in a loop.
///
/// ```no_run
/// use gfapi::{Teardown, Volume};
/// let fs = Volume::new("myvol").init()?;
/// fs.set_teardown(Teardown::Background);
/// drop(fs); // returns immediately; glfs_fini runs on a background thread
/// assert!(gfapi::wait_background_teardowns(std::time::Duration::from_secs(30)));
/// # Ok::<(), gfapi::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Teardown {
    /// Blocking `glfs_fini` in the last drop (~10 s on GlusterFS 10).
    #[default]
    Fini,
    /// `glfs_fini` on a background thread; see
    /// [`crate::wait_background_teardowns`].
    Background,
    /// No `glfs_fini`: every fd is already closed (and so flushed); the
    /// instance is leaked until process exit.
    SkipFini,
}

pub(crate) const TD_FINI: u8 = 0;
pub(crate) const TD_BACKGROUND: u8 = 1;
pub(crate) const TD_SKIP: u8 = 2;
/// Already torn down by [`Fs::shutdown`](crate::Fs::shutdown).
pub(crate) const TD_DONE: u8 = 3;

impl Teardown {
    pub(crate) fn to_u8(self) -> u8 {
        match self {
            Teardown::Fini => TD_FINI,
            Teardown::Background => TD_BACKGROUND,
            Teardown::SkipFini => TD_SKIP,
        }
    }
}

impl Teardown {
    /// The inverse of `to_u8`; [`TD_DONE`] reads as the default.
    pub(crate) fn from_u8(v: u8) -> Teardown {
        match v {
            TD_BACKGROUND => Teardown::Background,
            TD_SKIP => Teardown::SkipFini,
            _ => Teardown::Fini,
        }
    }
}

/// Finalises one instance exactly once, when nothing uses it any more, and
/// returns `glfs_fini`'s result. The way an instance was opened chooses it:
/// [`plain_fini`], or rpc-bypass's teardown with its workarounds.
pub(crate) type Finaliser = fn(NonNull<raw::glfs_t>) -> i32;

/// `glfs_fini`, nothing else: for instances opened through gfapi's own
/// volfile handling (and for any that never finished init).
pub(crate) fn plain_fini(glfs: NonNull<raw::glfs_t>) -> i32 {
    // SAFETY: a Finaliser is called only by the instance's owner, once,
    // when nothing uses it any more (last handle gone, or init failed).
    unsafe { raw::glfs_fini(glfs.as_ptr()) }
}

/// A `glfs_t` pointer that may be moved to the thread that tears it down,
/// with the finaliser it must be torn down with.
pub(crate) struct RawGlfs {
    glfs: NonNull<raw::glfs_t>,
    finaliser: Finaliser,
}

// SAFETY: a glfs_t is not bound to the thread that created it; gfapi entry
// points may be called from any thread, and we move ownership, not share it.
unsafe impl Send for RawGlfs {}

impl RawGlfs {
    /// An instance finalised with plain `glfs_fini`.
    pub(crate) fn new(glfs: NonNull<raw::glfs_t>) -> RawGlfs {
        RawGlfs::with_finaliser(glfs, plain_fini)
    }

    /// An instance finalised with `finaliser`.
    pub(crate) fn with_finaliser(glfs: NonNull<raw::glfs_t>, finaliser: Finaliser) -> RawGlfs {
        RawGlfs { glfs, finaliser }
    }

    /// The instance.
    pub(crate) fn as_non_null(&self) -> NonNull<raw::glfs_t> {
        self.glfs
    }

    /// How it must be finalised.
    pub(crate) fn finaliser(&self) -> Finaliser {
        self.finaliser
    }

    /// Blocking finalisation; returns `glfs_fini`'s result code.
    pub(crate) fn fini(self) -> i32 {
        (self.finaliser)(self.glfs)
    }

    /// [`fini`](RawGlfs::fini) on a background thread, tracked for
    /// [`wait_background_teardowns`].
    pub(crate) fn fini_in_background(self) {
        let (glfs, finaliser) = (self.glfs, self.finaliser);
        background_begin();
        let spawned = std::thread::Builder::new()
            .name("gfapi-fini".into())
            .spawn(move || {
                self.fini();
                background_end();
            });
        if spawned.is_err() {
            // No thread (resource limits). The closure was dropped without
            // running, so the instance is still ours: finalise it here.
            RawGlfs::with_finaliser(glfs, finaliser).fini();
            background_end();
        }
    }
}

static BACKGROUND: Mutex<usize> = Mutex::new(0);
static BACKGROUND_DONE: Condvar = Condvar::new();

pub(crate) fn background_begin() {
    *BACKGROUND.lock().unwrap_or_else(PoisonError::into_inner) += 1;
}

pub(crate) fn background_end() {
    let mut n = BACKGROUND.lock().unwrap_or_else(PoisonError::into_inner);
    *n -= 1;
    if *n == 0 {
        BACKGROUND_DONE.notify_all();
    }
}

/// Wait until every background teardown ([`Teardown::Background`] drops, and
/// instances whose `init` failed or timed out) has finished `glfs_fini`.
///
/// Returns `true` if none is left, `false` if `timeout` expired first. Call it
/// before the process exits after using [`Teardown::Background`], so that no
/// `glfs_fini` is cut short, and before measuring fds/threads.
///
/// ```
/// // Nothing pending in a fresh process:
/// assert!(gfapi::wait_background_teardowns(std::time::Duration::ZERO));
/// ```
pub fn wait_background_teardowns(timeout: Duration) -> bool {
    let deadline = Instant::now().checked_add(timeout);
    let mut n = BACKGROUND.lock().unwrap_or_else(PoisonError::into_inner);
    while *n > 0 {
        match deadline {
            None => {
                n = BACKGROUND_DONE
                    .wait(n)
                    .unwrap_or_else(PoisonError::into_inner)
            }
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return false;
                }
                n = BACKGROUND_DONE
                    .wait_timeout(n, d - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
    }
    true
}

/// Number of background teardowns still running.
///
/// ```
/// assert_eq!(gfapi::background_teardowns(), 0);
/// ```
pub fn background_teardowns() -> usize {
    *BACKGROUND.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teardown_codes_round_trip() {
        for t in [Teardown::Fini, Teardown::Background, Teardown::SkipFini] {
            let v = t.to_u8();
            let back = match v {
                TD_BACKGROUND => Teardown::Background,
                TD_SKIP => Teardown::SkipFini,
                _ => Teardown::Fini,
            };
            assert_eq!(back, t);
        }
        assert_eq!(Teardown::default(), Teardown::Fini);
    }
}
