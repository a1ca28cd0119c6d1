//! The top of the fio glue: the `ioengine_ops` table and the option table
//! handed to fio (`get_ioengine`), and the `extern "C"` entry points. Every
//! entry point runs the engine inside `catch_unwind` (its panic fence):
//! nothing unwinds into fio, an engine error becomes a fio error.

use std::any::Any;
use std::ffi::{c_char, c_int, c_uint};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::OnceLock;
use std::time::Duration;

use crate::engine::{self, Job};
use crate::error::EngineError;
use crate::fio::{c_string, log_err, pin_library, sys, FioFile, IoU, Td};
use crate::options::{option_specs, OptKind, RawOptions};

struct Leaked<T>(*mut T);
// SAFETY: the tables are created once, then only read by us and written by
// fio (dlhandle/flags) from its main thread, as for any C engine's static ops.
unsafe impl<T> Send for Leaked<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for Leaked<T> {}

fn option_table() -> *mut sys::fio_option {
    static TABLE: OnceLock<Leaked<sys::fio_option>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            let specs = option_specs();
            let mut table: Vec<sys::fio_option> = Vec::with_capacity(specs.len() + 1);
            let leak = |s: &str| -> *const c_char { c_string(s).into_raw() };
            for s in specs {
                // SAFETY: fio_option is a plain C struct; all-zero is its
                // "unset" state (NULL pointers, 0 numbers, no callbacks).
                let mut o: sys::fio_option = unsafe { std::mem::zeroed() };
                o.name = leak(s.name);
                o.lname = leak(s.lname);
                o.alias = s.alias.map_or(ptr::null(), leak);
                o.off1 = s.offset as c_uint;
                o.help = leak(s.help);
                o.def = s.def.map_or(ptr::null(), leak);
                o.category = sys::FIO_OPT_C_ENGINE as u64;
                o.group = sys::FIO_OPT_G_GFAPI;
                match s.kind {
                    OptKind::Str => o.type_ = sys::FIO_OPT_STR_STORE,
                    OptKind::Bool => o.type_ = sys::FIO_OPT_BOOL,
                    OptKind::Int { min, max } => {
                        o.type_ = sys::FIO_OPT_INT;
                        o.minval = min;
                        o.maxval = max;
                    }
                    OptKind::Choice(values) => {
                        o.type_ = sys::FIO_OPT_STR;
                        for (slot, (ival, oval, help)) in o.posval.iter_mut().zip(values) {
                            slot.ival = leak(ival);
                            slot.oval = u64::from(*oval);
                            slot.help = leak(help);
                        }
                    }
                }
                table.push(o);
            }
            // SAFETY: the all-zero entry terminates fio's option list.
            table.push(unsafe { std::mem::zeroed() });
            Leaked(Box::leak(table.into_boxed_slice()).as_mut_ptr())
        })
        .0
}

fn ops_ptr() -> *mut sys::ioengine_ops {
    static OPS: OnceLock<Leaked<sys::ioengine_ops>> = OnceLock::new();
    OPS.get_or_init(|| {
        // SAFETY: ioengine_ops is a plain C struct; all-zero means no
        // callbacks, empty list head, no dlhandle.
        let mut ops: sys::ioengine_ops = unsafe { std::mem::zeroed() };
        ops.name = c"glusterrs".as_ptr();
        ops.version = sys::FIO_IOOPS_VERSION as c_int;
        ops.flags = sys::FIO_DISKLESSIO as c_int;
        ops.setup = Some(fio_setup);
        ops.init = Some(fio_init);
        ops.queue = Some(fio_queue);
        ops.getevents = Some(fio_getevents);
        ops.event = Some(fio_event);
        ops.cleanup = Some(fio_cleanup);
        ops.open_file = Some(fio_open_file);
        ops.close_file = Some(fio_close_file);
        ops.unlink_file = Some(fio_unlink_file);
        ops.get_file_size = Some(fio_get_file_size);
        ops.prepopulate_file = Some(fio_prepopulate_file);
        ops.option_struct_size = std::mem::size_of::<RawOptions>() as c_int;
        ops.options = option_table();
        Leaked(Box::into_raw(Box::new(ops)))
    })
    .0
}

/// fio's lookup hook for external engines: hands out the (writable, leaked)
/// ops table.
///
/// # Safety
/// `ops` must be a valid pointer to write the result to (fio passes one).
#[no_mangle]
pub unsafe extern "C" fn get_ioengine(ops: *mut *mut sys::ioengine_ops) {
    let r = catch_unwind(|| {
        if !ops.is_null() {
            // SAFETY: fio passes a valid out-pointer.
            unsafe { *ops = ops_ptr() };
        }
    });
    if r.is_err() {
        log_err("glusterrs: internal error while building the ops table\n");
    }
}

fn panic_text(p: &(dyn Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs an engine step, converting errors and panics into fio errors.
fn guard<R>(
    td: *mut sys::thread_data,
    func: &str,
    fail: R,
    f: impl FnOnce(&mut Td) -> Result<R, EngineError>,
) -> R {
    let Some(mut t) = Td::new(td) else {
        log_err(&format!("glusterrs: {func} called without a thread_data\n"));
        return fail;
    };
    match catch_unwind(AssertUnwindSafe(|| f(&mut t))) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            log_err(&format!("glusterrs: {e}\n"));
            t.set_error(e.errno(), func);
            fail
        }
        Err(p) => {
            log_err(&format!(
                "glusterrs: internal error in {func}: {}\n",
                panic_text(p.as_ref())
            ));
            t.set_error(libc::EIO, func);
            fail
        }
    }
}

unsafe extern "C" fn fio_setup(td: *mut sys::thread_data) -> c_int {
    guard(td, "setup", 1, |t| {
        t.check_abi(ops_ptr())?;
        engine::setup(t).map(|()| 0)
    })
}

unsafe extern "C" fn fio_init(td: *mut sys::thread_data) -> c_int {
    guard(td, "init", 1, |t| {
        t.check_abi(ops_ptr())?;
        pin_library();
        let job = engine::init(t)?;
        t.set_job(job);
        Ok(0)
    })
}

unsafe extern "C" fn fio_cleanup(td: *mut sys::thread_data) {
    guard(td, "cleanup", (), |t| {
        if let Some(job) = t.take_job::<Job>() {
            engine::cleanup(*job);
        }
        Ok(())
    })
}

fn with_file<R>(
    td: *mut sys::thread_data,
    f: *mut sys::fio_file,
    func: &str,
    fail: R,
    body: impl FnOnce(&mut Td, FioFile) -> Result<R, EngineError>,
) -> R {
    guard(td, func, fail, |t| {
        let file = FioFile::new(f).ok_or_else(|| EngineError::invalid("NULL fio_file"))?;
        body(t, file)
    })
}

unsafe extern "C" fn fio_open_file(td: *mut sys::thread_data, f: *mut sys::fio_file) -> c_int {
    with_file(td, f, "open_file", 1, |t, f| {
        engine::open_file(t, f).map(|()| 0)
    })
}

unsafe extern "C" fn fio_close_file(td: *mut sys::thread_data, f: *mut sys::fio_file) -> c_int {
    // fio's close path expects an errno back, not td->error.
    let Some(mut t) = Td::new(td) else {
        return libc::EINVAL;
    };
    let Some(file) = FioFile::new(f) else {
        return libc::EINVAL;
    };
    match catch_unwind(AssertUnwindSafe(|| engine::close_file(&mut t, file))) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            log_err(&format!("glusterrs: {e}\n"));
            // fio ignores what close_file returns, but a failed close is a
            // failed flush: writes the job counted as done may be lost
            // (e.g. the brick died behind write-behind). Fail the job.
            t.set_error(e.errno(), "close_file");
            e.errno()
        }
        Err(p) => {
            log_err(&format!(
                "glusterrs: internal error in close_file: {}\n",
                panic_text(p.as_ref())
            ));
            libc::EIO
        }
    }
}

unsafe extern "C" fn fio_unlink_file(td: *mut sys::thread_data, f: *mut sys::fio_file) -> c_int {
    // fio compares the result with ENOENT; return an errno, no td error.
    let Some(mut t) = Td::new(td) else {
        return libc::EINVAL;
    };
    let Some(file) = FioFile::new(f) else {
        return libc::EINVAL;
    };
    match catch_unwind(AssertUnwindSafe(|| engine::unlink_file(&mut t, file))) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            if e.errno() != libc::ENOENT {
                log_err(&format!("glusterrs: {e}\n"));
            }
            e.errno()
        }
        Err(p) => {
            log_err(&format!(
                "glusterrs: internal error in unlink_file: {}\n",
                panic_text(p.as_ref())
            ));
            libc::EIO
        }
    }
}

unsafe extern "C" fn fio_get_file_size(td: *mut sys::thread_data, f: *mut sys::fio_file) -> c_int {
    with_file(td, f, "get_file_size", 1, |t, f| {
        engine::get_file_size(t, f).map(|()| 0)
    })
}

unsafe extern "C" fn fio_prepopulate_file(
    td: *mut sys::thread_data,
    f: *mut sys::fio_file,
) -> c_int {
    with_file(td, f, "prepopulate_file", 1, |t, f| {
        engine::prepopulate_file(t, f).map(|()| 0)
    })
}

unsafe extern "C" fn fio_queue(
    td: *mut sys::thread_data,
    io_u: *mut sys::io_u,
) -> sys::fio_q_status {
    guard(td, "queue", sys::FIO_Q_COMPLETED, |t| {
        let mut u = IoU::new(io_u).ok_or_else(|| EngineError::invalid("NULL io_u"))?;
        match engine::queue(t, &mut u) {
            Ok(engine::Queued::Completed) => Ok(sys::FIO_Q_COMPLETED),
            Ok(engine::Queued::Queued) => Ok(sys::FIO_Q_QUEUED),
            Err(e) => {
                // The error belongs to this I/O; fio accounts it.
                u.complete(Err(e.errno()));
                Ok(sys::FIO_Q_COMPLETED)
            }
        }
    })
}

unsafe extern "C" fn fio_getevents(
    td: *mut sys::thread_data,
    min: c_uint,
    max: c_uint,
    t: *const sys::timespec,
) -> c_int {
    let timeout = if t.is_null() {
        None
    } else {
        // SAFETY: fio passes NULL or a valid timespec.
        let ts = unsafe { &*t };
        Some(Duration::new(
            ts.tv_sec.max(0) as u64,
            ts.tv_nsec.clamp(0, 999_999_999) as u32,
        ))
    };
    guard(td, "getevents", -libc::EIO, |t| {
        engine::getevents(t, min as usize, max as usize, timeout).map(|n| n as c_int)
    })
}

unsafe extern "C" fn fio_event(td: *mut sys::thread_data, event: c_int) -> *mut sys::io_u {
    guard(td, "event", ptr::null_mut(), |t| {
        engine::event(t, event.max(0) as usize).map(|u| u.as_ptr())
    })
}
