//! fio's ABI, the bottom of the fio glue: the bindgen'd structures, fio's
//! exported helpers (resolved with `dlsym` at run time, so this library has
//! no link-time dependency on the fio binary), safe views of `thread_data`
//! ([`Td`]), `fio_file` ([`FioFile`]) and `io_u` ([`IoU`]), and the process
//! helpers fio's process model needs ([`process`]).
//!
//! Nothing here knows the engine: the engine's per-job and per-file state
//! ride in fio's `io_ops_data`/`engine_data` slots as typed boxes the engine
//! names. The C entry points that call the engine are in [`crate::ops`].
//! With `ops`, this is the only code with `unsafe`.

use std::ffi::{c_char, CStr, CString};

/// Bindings generated from the fio source tree at build time.
#[allow(
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    dead_code,
    clippy::all
)]
pub mod sys {
    include!(concat!(env!("OUT_DIR"), "/fio_bindings.rs"));
}

mod file;
mod io_u;
pub mod process;
mod slot;
mod symbols;
mod td;

pub use file::FioFile;
pub use io_u::{Ddir, IoU, IoUToken};
pub use process::{getpid, ignore_sigpipe, pin_library, run_in_child};
pub use symbols::{log_err, log_info, normal_output, read_only, running_fio_version};
pub use td::{Fallocate, JobDirs, JobSettings, Td};

/// The fio version (`fio --version`) of the source tree this was built against.
pub const BUILT_FOR_FIO: &str = env!("GLUSTERRS_FIO_VERSION");

/// `msg` as a C string for fio (an inner NUL is spelt `\\0`).
pub fn c_string(msg: &str) -> CString {
    CString::new(msg.replace('\0', "\\0")).unwrap_or_default()
}

fn cstr_opt(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: fio's strings are NUL-terminated and stay valid for the call.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}
