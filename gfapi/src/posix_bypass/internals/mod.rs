// SPDX-License-Identifier: GPL-2.0-or-later
//! Everything of rpc-bypass that touches libglusterfs internals (built
//! only with `cfg(gfapi_posix_bypass)`, i.e. for a verified GlusterFS
//! version). Layouts come from bindgen over the installed headers (`gi`);
//! each use is re-checked at run time before anything is written.
//!
//! This file runs an instance's life: `glfs_new`, the checks and
//! workarounds in their order, `glfs_init`, and the teardown the instance's
//! [`Fs`] is given. The pieces: `support.rs` (may rpc-bypass run here?),
//! `fingerprint.rs` (does the memory look as expected?), `gluster_10_3.rs`
//! (workarounds 1-4), `event_threads.rs` (5), `io_threads.rs` (6).

use std::ffi::CStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::{self, NonNull};
use std::sync::{Mutex, PoisonError};

use super::brick_volfile::{volfile_text, TempVolfile};
use crate::bindings::gi;
use crate::error::{Error, Result};
use crate::fs::Fs;
use crate::raw;
use crate::teardown::{plain_fini, RawGlfs};
use crate::volume::{c_string, c_xlator_options, PosixConfig};

mod event_threads;
mod fingerprint;
mod gluster_10_3;
mod io_threads;
mod support;

use event_threads::stop_event_threads;
use fingerprint::{check_graph, ctx_of};
use io_threads::{pin_io_threads, stop_io_threads};
use support::{support, BUILT_VERSION};

/// Name passed to `glfs_new` (gfapi accepts `[A-Za-z0-9_-]` only).
pub(super) const GLFS_NAME: &CStr = c"rpc-bypass";

pub(super) fn support_version() -> Result<String> {
    // probe() needs libglusterfs' globals, which glfs_new sets up.
    // SAFETY: valid C string; the instance is finalised below.
    let fs = unsafe { raw::glfs_new(GLFS_NAME.as_ptr()) };
    let Some(fs) = NonNull::new(fs) else {
        return Err(Error::Unsupported("glfs_new failed".into()));
    };
    let r = support().map(|s| s.version.clone());
    // SAFETY: never initialised, owned here; glfs_fini of an instance
    // without glfs_init only frees it.
    unsafe { raw::glfs_fini(fs.as_ptr()) };
    r
}

/// A live rpc-bypass instance, registered for [`bypass_fini`].
struct State {
    fs: usize,
    ctx: usize,
}

static STATES: Mutex<Vec<State>> = Mutex::new(Vec::new());

fn register(fs: NonNull<raw::glfs_t>, ctx: *mut gi::glusterfs_ctx_t) {
    STATES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(State {
            fs: fs.as_ptr() as usize,
            ctx: ctx as usize,
        });
}

fn take(fs: NonNull<raw::glfs_t>) -> Option<State> {
    let mut v = STATES.lock().unwrap_or_else(PoisonError::into_inner);
    let i = v.iter().position(|s| s.fs == fs.as_ptr() as usize)?;
    Some(v.swap_remove(i))
}

/// Finalise a fresh instance that was never registered.
fn fini_plain(fs: NonNull<raw::glfs_t>) {
    // SAFETY: owned, not initialised (or failed before the graph was
    // built), finalised once.
    unsafe { raw::glfs_fini(fs.as_ptr()) };
}

#[allow(clippy::too_many_arguments)]
pub(super) fn init(
    dir: &Path,
    cfg: &PosixConfig,
    name: &str,
    via: &str,
    log_file: &Path,
    log_level: i32,
    xlator_options: &[(String, String, String)],
) -> Result<Fs> {
    let init_err = |detail: String, source: io::Error| Error::Init {
        volume: name.to_string(),
        via: via.to_string(),
        detail,
        source,
    };
    let volfile = TempVolfile::create(&volfile_text(dir, cfg.read_only, cfg.io_threads))
        .map_err(|e| init_err("cannot write the generated volfile".into(), e))?;
    let c_volfile = c_string("volfile path", volfile.0.as_os_str().as_bytes())?;
    let c_log = c_string("log file path", log_file.as_os_str().as_bytes())?;
    let c_opts = c_xlator_options(xlator_options)?;

    // SAFETY: valid C string.
    let Some(fs) = NonNull::new(unsafe { raw::glfs_new(GLFS_NAME.as_ptr()) }) else {
        return Err(init_err(
            "glfs_new failed".into(),
            crate::error::last_errno_error(),
        ));
    };
    let fail = |e: Error| {
        fini_plain(fs);
        Err(e)
    };
    // SAFETY: fresh uninitialised instance; valid C strings.
    unsafe {
        if raw::glfs_set_volfile(fs.as_ptr(), c_volfile.as_ptr()) != 0 {
            return fail(init_err(
                "glfs_set_volfile failed".into(),
                crate::error::last_errno_error(),
            ));
        }
        if raw::glfs_set_logging(fs.as_ptr(), c_log.as_ptr(), log_level) != 0 {
            return fail(init_err(
                format!("cannot set up logging to {}", log_file.display()),
                crate::error::last_errno_error(),
            ));
        }
        for (x, k, v) in &c_opts {
            if raw::glfs_set_xlator_option(fs.as_ptr(), x.as_ptr(), k.as_ptr(), v.as_ptr()) != 0 {
                return fail(init_err(
                    format!("glfs_set_xlator_option({x:?}, {k:?}, {v:?}) failed"),
                    crate::error::last_errno_error(),
                ));
            }
        }
    }
    if let Err(e) = support() {
        return fail(e);
    }
    if cfg.io_threads > 0 {
        if let Err(e) = pin_io_threads() {
            return fail(e);
        }
    }
    // SAFETY: fs is a fresh glfs_t from glfs_new with the volfile set.
    let ctx = match unsafe { ctx_of(fs, &c_volfile) } {
        Ok(ctx) => ctx,
        Err(why) => {
            return fail(Error::Unsupported(format!(
                "rpc-bypass: the gfapi context does not look like GlusterFS {BUILT_VERSION}'s \
                 ({why}); refusing to touch it"
            )))
        }
    };
    // Workaround 1.
    // SAFETY: ctx validated by ctx_of; nothing else uses these fields
    // before glfs_init (no graph, no posix yet).
    unsafe { gluster_10_3::init_ctx_lists(ctx) };
    // From here every teardown must go through bypass_fini.
    register(fs, ctx);

    // posix's init does umask(0); restore ours afterwards.
    // SAFETY: umask has no preconditions.
    let old_umask = unsafe { libc::umask(0o022) };
    // SAFETY: umask restored at once to the original value.
    unsafe { libc::umask(old_umask) };
    // SAFETY: configured instance, initialised once.
    let rc = unsafe { raw::glfs_init(fs.as_ptr()) };
    let errno = io::Error::last_os_error();
    // SAFETY: as above.
    unsafe { libc::umask(old_umask) };
    let finalise = || {
        if let Some(st) = take(fs) {
            // SAFETY: registered instance, owned here, finalised once.
            unsafe { teardown(fs, st) };
        }
    };
    if rc != 0 {
        finalise();
        return Err(init_err(
            "storage/posix could not start on this directory (set log_file() for details)".into(),
            crate::error::errno_error(errno.raw_os_error().unwrap_or(0)),
        ));
    }
    // SAFETY: initialised instance; ctx is its context.
    if let Err(why) = unsafe { check_graph(ctx) } {
        finalise();
        return Err(Error::Unsupported(format!(
            "rpc-bypass: unexpected client graph ({why})"
        )));
    }
    drop(volfile);
    Ok(Fs::from_raw(
        RawGlfs::with_finaliser(fs, bypass_fini),
        name.to_string(),
    ))
}

/// The [`Finaliser`](crate::teardown::Finaliser) of an rpc-bypass [`Fs`]:
/// the registered instance's teardown, workarounds included (plain
/// `glfs_fini` for one that is not registered).
fn bypass_fini(fs: NonNull<raw::glfs_t>) -> i32 {
    match take(fs) {
        // SAFETY: a registered instance handed to us for its one teardown.
        Some(st) => unsafe { teardown(fs, st) },
        None => plain_fini(fs),
    }
}

/// Workarounds 3, 4, 5 and 6 around `glfs_fini`.
unsafe fn teardown(fs: NonNull<raw::glfs_t>, st: State) -> i32 {
    let ctx = st.ctx as *mut gi::glusterfs_ctx_t;
    // SAFETY: ctx is the instance's context, alive until glfs_fini
    // returns; no fops are in flight (the last handle is gone).
    unsafe {
        let graph = (*ctx).active;
        let mut tw: *mut gi::gf_ctx_tw = ptr::null_mut();
        if !graph.is_null() {
            stop_io_threads(graph);
            gluster_10_3::let_posix_answer_parent_down(graph);
            tw = (*ctx).tw;
        }
        // 5: stop the event threads now, without the 1 s wait.
        stop_event_threads((*ctx).event_pool as *mut gi::event_pool);
        let refs = gluster_10_3::timer_wheel_refs(tw);
        let rc = raw::glfs_fini(fs.as_ptr());
        gluster_10_3::put_timer_wheel_refs(tw, refs);
        rc
    }
}

#[cfg(test)]
mod tests {
    use super::fingerprint::GlfsHead;
    use super::*;

    #[test]
    fn layouts_match_the_verified_binary_offsets() {
        // Offsets read from the machine code of the Debian 12 GlusterFS
        // 10.3 binaries (glusterfsd's glusterfs_ctx_defaults_init,
        // libglusterfs' gf_event_dispatch_destroy/glusterfs_ctx_tw_get,
        // posix.so's notify); see docs/rpc-bypass.md.
        use std::mem::offset_of;
        assert_eq!(offset_of!(gi::glusterfs_ctx_t, janitor_fds), 0x14f0);
        assert_eq!(offset_of!(gi::glusterfs_ctx_t, fd_cond), 0x1500);
        assert_eq!(offset_of!(gi::glusterfs_ctx_t, fd_lock), 0x1530);
        assert_eq!(offset_of!(gi::glusterfs_ctx_t, diskth_xl), 0x1568);
        assert_eq!(offset_of!(gi::glusterfs_ctx_t, xl_lock), 0x1578);
        assert_eq!(offset_of!(gi::glusterfs_ctx_t, xl_cond), 0x15a0);
        assert_eq!(offset_of!(gi::glusterfs_ctx_t, tw), 0x1490);
        assert_eq!(offset_of!(gi::xlator_t, cleanup_starting), 0x1000);
        assert_eq!(offset_of!(gi::event_pool, mutex), 0x3040);
        assert_eq!(offset_of!(gi::event_pool, cond), 0x3068);
        assert_eq!(offset_of!(gi::event_pool, destroy), 0x50a8);
        assert_eq!(offset_of!(gi::event_pool, activethreadcount), 0x50ac);
        assert_eq!(offset_of!(GlfsHead, ctx), 24);
    }
}
