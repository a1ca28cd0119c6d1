//! fio's exported symbols, looked up with `dlsym` on first use: its log
//! functions, `fill_io_buffer`, and the globals the engine reads
//! (`--readonly`, the output format, the version string).

use std::ffi::{c_char, c_int, c_ulonglong, c_void, CStr};
use std::ptr::NonNull;
use std::sync::OnceLock;

use super::{c_string, sys};

type LogFn = unsafe extern "C" fn(*const c_char, ...) -> isize;
type FillFn = unsafe extern "C" fn(*mut sys::thread_data, *mut c_void, c_ulonglong, c_ulonglong);

pub(super) struct Api {
    log_err: LogFn,
    log_info: LogFn,
    pub(super) fill_io_buffer: FillFn,
    version: *const c_char,
    read_only: *const bool,
    output_format: *const c_int,
}

// SAFETY: the pointers refer to fio's global, immutable-or-atomic-sized data and
// functions that live for the whole process; sharing them between threads is
// what fio itself does.
unsafe impl Send for Api {}
// SAFETY: as above.
unsafe impl Sync for Api {}

pub(super) fn sym(name: &CStr) -> Option<NonNull<c_void>> {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only looks the
    // symbol up in the global scope; it does not dereference anything.
    NonNull::new(unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) })
}

pub(super) fn api() -> Option<&'static Api> {
    static API: OnceLock<Option<Api>> = OnceLock::new();
    API.get_or_init(|| {
        let log_err = sym(c"log_err")?;
        let log_info = sym(c"log_info")?;
        let fill = sym(c"fill_io_buffer")?;
        let version = sym(c"fio_version_string")?;
        let read_only = sym(c"read_only")?;
        let output_format = sym(c"output_format")?;
        // SAFETY: these are fio's own functions with exactly these C
        // signatures (log.h, io_u.h); the pointers are non-null code addresses.
        let (log_err, log_info, fill_io_buffer) = unsafe {
            (
                std::mem::transmute::<*mut c_void, LogFn>(log_err.as_ptr()),
                std::mem::transmute::<*mut c_void, LogFn>(log_info.as_ptr()),
                std::mem::transmute::<*mut c_void, FillFn>(fill.as_ptr()),
            )
        };
        Some(Api {
            log_err,
            log_info,
            fill_io_buffer,
            version: version.as_ptr().cast(),
            read_only: read_only.as_ptr().cast(),
            output_format: output_format.as_ptr().cast(),
        })
    })
    .as_ref()
}

/// `log_err()` through fio (stderr outside fio).
pub fn log_err(msg: &str) {
    match api() {
        Some(a) => {
            let m = c_string(msg);
            // SAFETY: "%s" with a valid NUL-terminated string matches the
            // printf-style contract of fio's log_err.
            unsafe { (a.log_err)(c"%s".as_ptr(), m.as_ptr()) };
        }
        None => eprint!("{msg}"),
    }
}

/// `log_info()` through fio (stdout outside fio).
pub fn log_info(msg: &str) {
    match api() {
        Some(a) => {
            let m = c_string(msg);
            // SAFETY: as in log_err.
            unsafe { (a.log_info)(c"%s".as_ptr(), m.as_ptr()) };
        }
        None => print!("{msg}"),
    }
}

/// Whether fio prints its normal (human) output, i.e. informational lines
/// would not corrupt JSON/terse output.
pub fn normal_output() -> bool {
    match api() {
        // SAFETY: output_format is fio's global `int`, set during option
        // parsing and only read afterwards.
        Some(a) => unsafe { *a.output_format as u32 & sys::FIO_OUTPUT_NORMAL != 0 },
        None => true,
    }
}

/// fio's global `--readonly` flag.
pub fn read_only() -> bool {
    // SAFETY: read_only is fio's global `bool`, set during option parsing.
    api().is_some_and(|a| unsafe { *a.read_only })
}

/// The version string of the running fio binary.
pub fn running_fio_version() -> Option<String> {
    // SAFETY: fio_version_string is a NUL-terminated `const char[]`.
    api().map(|a| {
        unsafe { CStr::from_ptr(a.version) }
            .to_string_lossy()
            .into_owned()
    })
}
