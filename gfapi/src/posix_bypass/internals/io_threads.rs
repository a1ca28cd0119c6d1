// SPDX-License-Identifier: GPL-2.0-or-later
//! Workaround 6 of rpc-bypass: `performance/io-threads` (optional, see
//! `Volume::io_threads`) is torn down by hand, because its own teardown
//! races with its detached workers once posix, not protocol/client, is its
//! child.

use std::ffi::CStr;
use std::ptr;
use std::sync::OnceLock;

use crate::bindings::gi;
use crate::error::{Error, Result};

static IOT_PINNED: OnceLock<std::result::Result<(), String>> = OnceLock::new();

/// Workaround 6, part 1: keep `performance/io-threads` loaded for the
/// life of the process. Its worker threads are detached and still run a
/// few instructions of io-threads.so after signalling their exit; gluster
/// dlcloses the translator at the end of `glfs_fini`, so a worker
/// preempted at that point would execute unmapped code (observed as
/// SIGSEGV under CPU load). An extra dlopen reference prevents the unmap.
pub(super) fn pin_io_threads() -> Result<()> {
    IOT_PINNED
        .get_or_init(|| {
            let mut handle: *mut libc::c_void = ptr::null_mut();
            // SAFETY: all-zero is a valid volume_opt_list_t.
            let mut opts: gi::volume_opt_list_t = unsafe { std::mem::zeroed() };
            // SAFETY: valid C string (not modified), out-pointers to
            // live locals; called after glfs_new.
            let rc = unsafe {
                gi::xlator_volopt_dynload(
                    c"performance/io-threads".as_ptr() as *mut libc::c_char,
                    &mut handle,
                    &mut opts,
                )
            };
            if rc != 0 || handle.is_null() {
                Err("cannot load performance/io-threads".into())
            } else {
                Ok(()) // handle deliberately never closed
            }
        })
        .clone()
        .map_err(Error::Unsupported)
}

/// Workaround 6, part 2: the io-threads instance's `fini`. io-threads'
/// own `fini` frees its conf right after the workers' count reaches
/// zero, but each worker unlocks `conf->mutex` once more after
/// decrementing that count (io-threads.c, `iot_worker`), so the free
/// races with that unlock. The workers were already stopped by
/// [`stop_io_threads`] before `glfs_fini`, so there is nothing left to
/// do but keep the conf alive: it is leaked (a few KiB per io-threads
/// instance).
pub(super) unsafe extern "C" fn iot_fini_keep_conf(_this: *mut gi::xlator_t) {}

/// Workaround 6, part 3: stop io-threads' workers before `glfs_fini`.
/// posix's `CHILD_DOWN` goes straight to io-threads' parent
/// (`default_notify(this->parents->xlator, ...)`), so io-threads'
/// `notify` never sees it, and its workers would only be stopped by its
/// `fini` — which [`iot_fini_keep_conf`] replaces. A `PARENT_DOWN` whose
/// victim is not `cleanup_starting` makes io-threads run
/// `iot_exit_threads` (waits until the workers have left their loop) and
/// is ignored by posix.
pub(super) unsafe fn stop_io_threads(graph: *mut gi::glusterfs_graph_t) {
    // SAFETY: graph of a live, initialised instance with no fops in
    // flight; the translator list is immutable after init.
    unsafe {
        let mut xl = (*graph).first as *mut gi::xlator_t;
        let mut n = 0;
        while !xl.is_null() && n < 16 {
            let ty = (*xl).type_;
            if !ty.is_null() && CStr::from_ptr(ty) == c"performance/io-threads" {
                gi::xlator_notify(
                    xl,
                    gi::glusterfs_event_t_GF_EVENT_PARENT_DOWN as i32,
                    xl as *mut libc::c_void,
                );
            }
            xl = (*xl).next;
            n += 1;
        }
    }
}
