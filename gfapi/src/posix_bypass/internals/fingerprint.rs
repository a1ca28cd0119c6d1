// SPDX-License-Identifier: GPL-2.0-or-later
//! The run-time fingerprint of rpc-bypass: before anything is written into
//! a gfapi context, [`ctx_of`] checks that it looks exactly as GlusterFS
//! 10.3's `glfs_new` leaves it; after `glfs_init`, [`check_graph`] checks
//! the graph that was built. Either refusal stops rpc-bypass with
//! `Error::Unsupported` instead of writing into memory of unknown layout.

use std::ffi::CStr;
use std::ptr::{addr_of, addr_of_mut, NonNull};

use super::io_threads::iot_fini_keep_conf;
use super::support::support;
use super::GLFS_NAME;
use crate::bindings::gi;
use crate::raw;

/// `GF_CLIENT_PROCESS` (common-utils.h).
const GF_CLIENT_PROCESS: i32 = 1;

/// Leading members of gfapi's `struct glfs` (api/src/glfs-internal.h,
/// not installed): `char *volname; uuid_t vol_uuid; glusterfs_ctx_t
/// *ctx;` — the only route to the context between `glfs_new` and
/// `glfs_init`. Unchanged since GlusterFS 3.4; validated in [`ctx_of`]
/// against values `glfs_new` just stored.
#[repr(C)]
pub(super) struct GlfsHead {
    pub(super) volname: *const libc::c_char,
    pub(super) vol_uuid: [u8; 16],
    pub(super) ctx: *mut gi::glusterfs_ctx_t,
}

/// The context of a fresh `glfs_new` instance, after checking that the
/// memory we are about to write looks exactly as GlusterFS
/// `BUILT_VERSION` leaves it.
pub(super) unsafe fn ctx_of(
    fs: NonNull<raw::glfs_t>,
    volfile: &CStr,
) -> std::result::Result<*mut gi::glusterfs_ctx_t, &'static str> {
    // SAFETY (whole fn): fs points to a live struct glfs whose leading
    // members are GlfsHead (see there); every pointer is checked for
    // null before it is followed, and only fields the headers describe
    // are read.
    unsafe {
        let head = fs.as_ptr() as *const GlfsHead;
        let volname = (*head).volname;
        if volname.is_null() || CStr::from_ptr(volname) != GLFS_NAME {
            return Err("glfs volname");
        }
        let ctx = (*head).ctx;
        if ctx.is_null() {
            return Err("no context");
        }
        let args = addr_of!((*ctx).cmd_args);
        let id = (*args).volfile_id;
        if id.is_null() || CStr::from_ptr(id) != GLFS_NAME {
            return Err("cmd_args.volfile_id");
        }
        let vf = (*args).volfile;
        if vf.is_null() || CStr::from_ptr(vf) != volfile {
            return Err("cmd_args.volfile");
        }
        if (*ctx).process_mode != GF_CLIENT_PROCESS {
            return Err("process_mode");
        }
        if (*ctx).page_size != 128 * 1024 {
            return Err("page_size");
        }
        let self_linked = |h: *mut gi::list_head| (*h).next == h && (*h).prev == h;
        if !self_linked(addr_of_mut!((*ctx).graphs))
            || !self_linked(addr_of_mut!((*ctx).mempool_list))
            || !self_linked(addr_of_mut!((*ctx).volfile_list))
        {
            return Err("graphs/mempool_list/volfile_list list heads");
        }
        let zero = |h: *const gi::list_head| (*h).next.is_null() && (*h).prev.is_null();
        if !zero(addr_of!((*ctx).janitor_fds)) || !zero(addr_of!((*ctx).diskth_xl)) {
            return Err("janitor_fds/diskth_xl are not the zeroed lists of gfapi 10.3");
        }
        if (*ctx).pxl_count != 0
            || (*ctx).diskxl_count != 0
            || !(*ctx).tw.is_null()
            || !(*ctx).active.is_null()
            || !(*ctx).root.is_null()
            || (*ctx).event_pool.is_null()
        {
            return Err("counters/tw/active/root/event_pool");
        }
        Ok(ctx)
    }
}

/// After glfs_init: the graph is `meta` on top of our translators, all
/// bound to this context, and the posix translator uses the wrapped
/// fops table.
pub(super) unsafe fn check_graph(ctx: *mut gi::glusterfs_ctx_t) -> std::result::Result<(), String> {
    // SAFETY: ctx belongs to an initialised instance; graph and xlator
    // pointers come from it and are checked for null.
    unsafe {
        let graph = (*ctx).active;
        if graph.is_null() {
            return Err("no active graph".into());
        }
        let top = (*graph).top as *mut gi::xlator_t;
        if top.is_null() || (*top).ctx != ctx {
            return Err("top translator".into());
        }
        let ty = |xl: *mut gi::xlator_t| {
            if (*xl).type_.is_null() {
                String::new()
            } else {
                CStr::from_ptr((*xl).type_).to_string_lossy().into_owned()
            }
        };
        if ty(top) != "meta" {
            return Err(format!("top translator is {:?}, not meta", ty(top)));
        }
        let fops = support().map_err(|e| e.to_string())?.fops;
        let mut xl = (*graph).first as *mut gi::xlator_t;
        let mut posix_ok = false;
        let mut n = 0;
        while !xl.is_null() && n < 16 {
            if (*xl).ctx != ctx {
                return Err("translator bound to another context".into());
            }
            if ty(xl) == "storage/posix" {
                posix_ok = (*xl).fops as usize == fops;
            }
            if ty(xl) == "performance/io-threads" {
                // Workaround 6: see iot_fini_keep_conf.
                (*xl).fini = Some(iot_fini_keep_conf);
            }
            xl = (*xl).next;
            n += 1;
        }
        if !posix_ok {
            return Err("storage/posix translator not using the wrapped fops table".into());
        }
        Ok(())
    }
}
