// SPDX-License-Identifier: GPL-2.0-or-later
//! The GlusterFS 10.3 specific part of rpc-bypass: the writes into
//! libglusterfs' memory that make `storage/posix` work under gfapi
//! (workarounds 1 to 4 of the `posix_bypass` module docs). Each one stands
//! in for something `glusterfsd` or `protocol/client` does on a normal
//! brick and gfapi does not. The offsets they rely on are checked by
//! `layouts_match_the_verified_binary_offsets` (in `internals/mod.rs`), and
//! every call is preceded by the run-time fingerprint of `fingerprint.rs`;
//! nothing here runs on another GlusterFS version.

use std::ptr::{self, addr_of_mut};
use std::sync::OnceLock;

use crate::bindings::gi;

// ---------------------------------------------------------------------------
// Workaround 1: the context lists glusterfsd initialises and gfapi does not.
// ---------------------------------------------------------------------------

/// Workaround 1: what glusterfsd's `glusterfs_ctx_defaults_init` does
/// and gfapi's does not.
pub(super) unsafe fn init_ctx_lists(ctx: *mut gi::glusterfs_ctx_t) {
    // SAFETY: ctx validated by ctx_of; fields are plain list heads and
    // pthread objects not yet used by anyone.
    unsafe {
        for h in [
            addr_of_mut!((*ctx).janitor_fds),
            addr_of_mut!((*ctx).diskth_xl),
        ] {
            (*h).next = h;
            (*h).prev = h;
        }
        libc::pthread_mutex_init(addr_of_mut!((*ctx).fd_lock).cast(), ptr::null());
        libc::pthread_cond_init(addr_of_mut!((*ctx).fd_cond).cast(), ptr::null());
        libc::pthread_mutex_init(addr_of_mut!((*ctx).xl_lock).cast(), ptr::null());
        libc::pthread_cond_init(addr_of_mut!((*ctx).xl_cond).cast(), ptr::null());
    }
}

// ---------------------------------------------------------------------------
// Workaround 2: the root lookup carries no gfid.
// ---------------------------------------------------------------------------

type LookupFn = unsafe extern "C" fn(
    *mut gi::call_frame_t,
    *mut gi::xlator_t,
    *mut gi::loc_t,
    *mut gi::dict_t,
) -> i32;

/// posix's original `lookup`, saved before it is wrapped.
static ORIG_LOOKUP: OnceLock<LookupFn> = OnceLock::new();

/// Workaround 2: posix's `lookup`, with `loc->gfid` filled from
/// `loc->inode->gfid` when only the inode carries it — what `loc_copy`
/// (io-threads, protocol/server) does on a normal brick. Runs on gluster
/// threads; cannot panic.
unsafe extern "C" fn lookup_fill_gfid(
    frame: *mut gi::call_frame_t,
    this: *mut gi::xlator_t,
    loc: *mut gi::loc_t,
    xdata: *mut gi::dict_t,
) -> i32 {
    // SAFETY: posix's lookup contract: `loc` is null or a valid loc_t
    // owned by the caller for the duration of the call, whose `inode` is
    // null or a referenced inode.
    unsafe {
        if !loc.is_null() {
            let inode = (*loc).inode;
            if (*loc).gfid == [0u8; 16] && !inode.is_null() && (*inode).gfid != [0u8; 16] {
                (*loc).gfid = (*inode).gfid;
            }
        }
        match ORIG_LOOKUP.get() {
            Some(orig) => orig(frame, this, loc, xdata),
            // Unreachable: the wrapper is installed only after
            // ORIG_LOOKUP is set.
            None => -1,
        }
    }
}

/// Install [`lookup_fill_gfid`] in posix's fops table, saving the original
/// `lookup` first; a table that already holds the wrapper is left alone.
///
/// # Safety
///
/// `fops` is posix's table in writable memory, and nobody reads its
/// `lookup` concurrently (no posix graph exists in this process yet).
pub(super) unsafe fn wrap_lookup(fops: *mut gi::xlator_fops) -> Result<(), String> {
    // SAFETY: the caller's contract.
    unsafe {
        let slot = addr_of_mut!((*fops).lookup);
        match ptr::read(slot) {
            Some(f) if f as usize == lookup_fill_gfid as LookupFn as usize => {}
            Some(f) => {
                let _ = ORIG_LOOKUP.set(f);
                ptr::write_volatile(slot, Some(lookup_fill_gfid));
            }
            None => return Err("storage/posix has no lookup".into()),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Workaround 3: glfs_fini waits for a CHILD_DOWN posix never sends.
// ---------------------------------------------------------------------------

/// Mark the graph's top translator `cleanup_starting`, the flag of the
/// brick-detach path: only then does posix answer gfapi's `PARENT_DOWN`
/// with the `CHILD_DOWN` that `glfs_fini` waits for.
///
/// # Safety
///
/// `graph` is the active graph of a live instance with no fops in flight.
pub(super) unsafe fn let_posix_answer_parent_down(graph: *mut gi::glusterfs_graph_t) {
    // SAFETY: the caller's contract; `top` is checked for null.
    unsafe {
        let top = (*graph).top as *mut gi::xlator_t;
        if !top.is_null() {
            ptr::write_volatile(addr_of_mut!((*top).cleanup_starting), 1);
        }
    }
}

// ---------------------------------------------------------------------------
// Workaround 4: posix's timer-wheel references are never dropped.
// ---------------------------------------------------------------------------

/// How many references the timer wheel `tw` holds (0 for none). Read before
/// `glfs_fini`: posix initialised fully (graph active), so it deletes its
/// janitor timer during `glfs_fini`; afterwards the only users of the wheel
/// are these leaked references.
///
/// # Safety
///
/// `tw` is null or the context's live timer wheel.
pub(super) unsafe fn timer_wheel_refs(tw: *mut gi::gf_ctx_tw) -> u32 {
    if tw.is_null() {
        0
    } else {
        // SAFETY: the caller's contract.
        unsafe { (*tw)._ref.cnt }
    }
}

/// After `glfs_fini`: drop posix's `refs` references; the last one joins the
/// timer thread and frees the wheel. `tw` is not touched afterwards.
///
/// # Safety
///
/// `refs` came from [`timer_wheel_refs`] on the same `tw`, and nothing else
/// holds a reference any more.
pub(super) unsafe fn put_timer_wheel_refs(tw: *mut gi::gf_ctx_tw, refs: u32) {
    for _ in 0..refs {
        // SAFETY: the caller's contract; each put matches a leaked get.
        unsafe { gi::_gf_ref_put(addr_of_mut!((*tw)._ref)) };
    }
}
