//! The thin unsafe layer between fio and the engine: the bindgen'd fio ABI,
//! fio's exported helpers (resolved with `dlsym` at run time, so this library
//! has no link-time dependency on the fio binary), safe views of
//! `thread_data`/`fio_file`/`io_u`, the `ioengine_ops` table, and the
//! `extern "C"` entry points. Every entry point runs the engine inside
//! `catch_unwind`; nothing unwinds into fio.
//!
//! This is the only module with `unsafe` code.

use std::any::Any;
use std::ffi::{c_char, c_int, c_uint, c_ulonglong, c_void, CStr, CString};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::sync::OnceLock;
use std::time::Duration;

use gfapi::{CompletionQueue, IoPool};

use crate::engine::{self, EngineError, FileState, Job};
use crate::options::{option_specs, OptKind, OptionValues, RawOptions};

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

/// The fio version (`fio --version`) of the source tree this was built against.
pub const BUILT_FOR_FIO: &str = env!("GLUSTERRS_FIO_VERSION");

// ---------------------------------------------------------------------------
// fio's exported symbols
// ---------------------------------------------------------------------------

type LogFn = unsafe extern "C" fn(*const c_char, ...) -> isize;
type FillFn = unsafe extern "C" fn(*mut sys::thread_data, *mut c_void, c_ulonglong, c_ulonglong);

struct Api {
    log_err: LogFn,
    log_info: LogFn,
    fill_io_buffer: FillFn,
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

fn sym(name: &CStr) -> Option<NonNull<c_void>> {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only looks the
    // symbol up in the global scope; it does not dereference anything.
    NonNull::new(unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) })
}

fn api() -> Option<&'static Api> {
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

fn c_string(msg: &str) -> CString {
    CString::new(msg.replace('\0', "\\0")).unwrap_or_default()
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

// ---------------------------------------------------------------------------
// Safe views of fio's structures
// ---------------------------------------------------------------------------

fn cstr_opt(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: fio's strings are NUL-terminated and stay valid for the call.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// One job (`struct thread_data`), valid for the duration of an entry point.
pub struct Td {
    ptr: NonNull<sys::thread_data>,
}

/// Direction bits of a job.
#[derive(Debug, Clone, Copy)]
pub struct JobDirs {
    pub read: bool,
    pub write: bool,
    pub trim: bool,
}

/// The job settings the engine looks at.
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub name: String,
    pub dirs: JobDirs,
    pub odirect: bool,
    pub sync_io: i32,
    pub use_thread: bool,
    pub create_serialize: bool,
    pub allow_create: bool,
    pub create_on_open: bool,
    pub overwrite: bool,
    pub file_append: bool,
    pub fill_device: bool,
    pub create_fsync: bool,
    pub fallocate: Fallocate,
    pub max_bs_write: u64,
    pub iodepth: u32,
    /// This `thread_data` is a submit worker of an `io_submit_mode=offload` job:
    /// fio's rate-submit.c gives each worker a zeroed copy of the job (thread
    /// number 0, which no real job has) and initialises the engine on it.
    pub offload_worker: bool,
    pub pre_read: bool,
}

/// `IO_MODE_OFFLOAD` of fio.h's `enum fio_io_mode` (bindgen keeps the enum anonymous).
const IO_MODE_OFFLOAD: u32 = 1;

/// fio's `fallocate=` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallocate {
    None,
    Posix,
    KeepSize,
    Native,
    Truncate,
}

impl Td {
    fn new(ptr: *mut sys::thread_data) -> Option<Td> {
        NonNull::new(ptr).map(|ptr| Td { ptr })
    }

    fn raw(&self) -> &sys::thread_data {
        // SAFETY: fio hands each entry point a valid thread_data that outlives
        // the call; the fields read through this reference are only written
        // by the job's own thread (this one) or during option parsing.
        unsafe { self.ptr.as_ref() }
    }

    fn raw_mut(&mut self) -> &mut sys::thread_data {
        // SAFETY: as in raw(); the engine writes only engine-owned fields
        // (io_ops_data, error, flags, files) from the job's own thread.
        unsafe { self.ptr.as_mut() }
    }

    /// The job's settings.
    pub fn settings(&self) -> JobSettings {
        let o = &self.raw().o;
        let d = o.td_ddir;
        JobSettings {
            name: cstr_opt(o.name).unwrap_or_else(|| "job".into()),
            dirs: JobDirs {
                read: d & sys::TD_DDIR_READ != 0,
                write: d & sys::TD_DDIR_WRITE != 0,
                trim: d & sys::TD_DDIR_TRIM != 0,
            },
            odirect: o.odirect != 0,
            sync_io: o.sync_io as i32,
            use_thread: o.use_thread != 0,
            create_serialize: o.create_serialize != 0,
            allow_create: o.allow_create != 0,
            create_on_open: o.create_on_open != 0,
            overwrite: o.overwrite != 0,
            file_append: o.file_append != 0,
            fill_device: o.fill_device != 0,
            create_fsync: o.create_fsync != 0,
            fallocate: match o.fallocate_mode {
                sys::FIO_FALLOCATE_POSIX => Fallocate::Posix,
                sys::FIO_FALLOCATE_KEEP_SIZE => Fallocate::KeepSize,
                sys::FIO_FALLOCATE_NATIVE => Fallocate::Native,
                sys::FIO_FALLOCATE_TRUNCATE => Fallocate::Truncate,
                _ => Fallocate::None,
            },
            max_bs_write: o.max_bs[sys::DDIR_WRITE as usize],
            iodepth: o.iodepth,
            offload_worker: o.io_submit_mode == IO_MODE_OFFLOAD && self.raw().thread_number == 0,
            pre_read: o.pre_read != 0,
        }
    }

    /// Whether fio asked the job to stop (`td->terminate`).
    pub fn terminating(&self) -> bool {
        // SAFETY: terminate is a bool another fio thread may set at any time;
        // a volatile read of a properly aligned field is the C semantics fio
        // relies on.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.ptr.as_ptr()).terminate)) }
    }

    /// The engine option values of this job.
    pub fn option_values(&self) -> Result<OptionValues, EngineError> {
        let eo = self.raw().eo as *const RawOptions;
        if eo.is_null() {
            return Err(EngineError::invalid(
                "fio gave the engine no option struct (td->eo is NULL)",
            ));
        }
        // SAFETY: fio allocated td->eo with option_struct_size =
        // size_of::<RawOptions>() and fills it through our option table.
        let raw = unsafe { &*eo };
        Ok(OptionValues {
            volume: cstr_opt(raw.volume),
            brick: cstr_opt(raw.brick),
            single_instance: raw.single_instance != 0,
            port: raw.port,
            transport: raw.transport,
            loglevel: raw.loglevel,
            io_mode: raw.io_mode,
            volfile: cstr_opt(raw.volfile),
            logfile: cstr_opt(raw.logfile),
            posix: cstr_opt(raw.posix),
            posix_io_threads: cstr_opt(raw.posix_io_threads),
            posix_pool: cstr_opt(raw.posix_pool),
            posix_read_only: raw.posix_read_only != 0,
            posix_force: raw.posix_force != 0,
            io_timeout: raw.io_timeout,
            client_io_threads: raw.client_io_threads != 0,
            write_aggregation: raw.write_aggregation,
            iodepth: self.raw().o.iodepth,
            buffered: self.raw().o.odirect == 0,
        })
    }

    /// Records `write_aggregation=off` in the job's options: the jobs
    /// forked after this call, and every later entry point, see it.
    pub fn set_write_aggregation_off(&mut self) {
        let eo = self.raw().eo as *mut RawOptions;
        if eo.is_null() {
            return;
        }
        // SAFETY: as in option_values(): td->eo is our RawOptions; fio only
        // reads it after parsing, and this job's entry points run on one
        // thread at a time.
        unsafe { (*eo).write_aggregation = crate::options::WRITE_AGGREGATION_OFF };
    }

    /// Reports an error the fio way (`td_verror`): first error wins.
    pub fn set_error(&mut self, errno: i32, func: &str) {
        let full = io::Error::from_raw_os_error(errno).to_string();
        let msg = full.split(" (os error").next().unwrap_or(&full);
        let text = format!("file:glusterrs, func={func}, error={msg}");
        fn set(td: &mut sys::thread_data, errno: i32, text: &str) {
            if td.error != 0 {
                return;
            }
            td.error = errno;
            if td.first_error == 0 {
                let n = text.len().min(td.verror.len() - 1);
                for (dst, src) in td.verror.iter_mut().zip(text.as_bytes()[..n].iter()) {
                    *dst = *src as c_char;
                }
                td.verror[n] = 0;
            }
        }
        let td = self.raw_mut();
        set(td, errno, &text);
        if let Some(mut parent) = NonNull::new(td.parent) {
            // SAFETY: td->parent is the parent job of a cloned (numjobs) job,
            // valid while its children run; fio's td_verror writes it too.
            set(unsafe { parent.as_mut() }, errno, &text);
        }
    }

    fn eng_flags(&self) -> u64 {
        self.raw().flags >> sys::TD_ENG_FLAG_SHIFT
    }

    fn set_eng_flag(&mut self, flag: u32, on: bool) {
        let bit = (flag as u64) << sys::TD_ENG_FLAG_SHIFT;
        let td = self.raw_mut();
        if on {
            td.flags |= bit;
        } else {
            td.flags &= !bit;
        }
    }

    /// Lets fio's setup_files() size files the engine creates itself like it
    /// sizes files it lays out (`real_file_size = file_offset + io_size`):
    /// fio applies that rule only to engines flagged FIO_FAKEIO. The flag is
    /// cleared again before any I/O ([`Td::end_sizing`]), so verification and
    /// everything else behave as for a real engine.
    pub fn begin_sizing(&mut self) {
        self.set_eng_flag(sys::FIO_FAKEIO, true);
    }

    /// See [`Td::begin_sizing`].
    pub fn end_sizing(&mut self) {
        if self.eng_flags() & sys::FIO_FAKEIO as u64 != 0 {
            self.set_eng_flag(sys::FIO_FAKEIO, false);
        }
    }

    /// Marks the job as using a synchronous engine (one I/O at a time).
    pub fn set_sync_engine(&mut self, sync: bool) {
        self.set_eng_flag(sys::FIO_SYNCIO, sync);
    }

    /// Number of files of the job.
    pub fn nr_files(&self) -> usize {
        self.raw().files_index as usize
    }

    /// The `i`th file of the job.
    pub fn file(&self, i: usize) -> Option<FioFile> {
        let td = self.raw();
        if i >= td.files_index as usize || td.files.is_null() {
            return None;
        }
        // SAFETY: td->files holds files_index valid fio_file pointers.
        let f = unsafe { *td.files.add(i) };
        NonNull::new(f).map(|ptr| FioFile { ptr })
    }

    /// Replaces the job's file list by `names` where fio split gluster URLs
    /// into several files: entry `i` keeps its fio_file but gets name
    /// `names[i]`; the surplus entries are dropped from the list (and leaked:
    /// fio may still reference them from its name bookkeeping).
    pub fn rename_and_truncate_files(&mut self, names: &[String]) -> Result<(), EngineError> {
        if names.len() > self.nr_files() {
            return Err(EngineError::invalid(
                "internal: more merged names than files",
            ));
        }
        for (i, name) in names.iter().enumerate() {
            let Some(f) = self.file(i) else { break };
            let c = CString::new(name.as_str())
                .map_err(|_| EngineError::invalid(format!("file name '{name}' contains NUL")))?;
            // SAFETY: f is one of the job's files; file_name is replaced by a
            // string from the allocator fio frees it with (smalloc for files
            // flagged FIO_FILE_smalloc, malloc otherwise); the old one leaks.
            unsafe {
                let fp = f.ptr.as_ptr();
                let new = if (*fp).flags & sys::FIO_FILE_smalloc != 0 {
                    match sym(c"smalloc_strdup") {
                        Some(s) => {
                            let dup: unsafe extern "C" fn(*const c_char) -> *mut c_char =
                                std::mem::transmute(s.as_ptr());
                            dup(c.as_ptr())
                        }
                        None => ptr::null_mut(),
                    }
                } else {
                    libc::strdup(c.as_ptr())
                };
                if new.is_null() {
                    return Err(EngineError::new(libc::ENOMEM, "cannot allocate file name"));
                }
                (*fp).file_name = new;
                (*fp).fileno = i as c_int;
            }
        }
        let n = names.len() as c_uint;
        let td = self.raw_mut();
        td.files_index = n;
        td.o.nr_files = n;
        if td.o.open_files > n || td.o.open_files == 0 {
            td.o.open_files = n;
        }
        Ok(())
    }

    /// Fills `buf` the way fio fills write buffers (buffer_pattern,
    /// compression, ...).
    pub fn fill_buffer(&mut self, buf: &mut [u8]) {
        if let Some(a) = api() {
            let len = buf.len() as c_ulonglong;
            // SAFETY: buf is valid for len bytes; fill_io_buffer writes at
            // most max_bs (= len) bytes into it.
            unsafe { (a.fill_io_buffer)(self.ptr.as_ptr(), buf.as_mut_ptr().cast(), len, len) };
        }
    }

    fn job_ptr(&self) -> *mut Job {
        self.raw().io_ops_data.cast()
    }

    /// The engine state of this job, if init() made one.
    pub fn job(&mut self) -> Option<&mut Job> {
        // SAFETY: io_ops_data is either NULL or the Box<Job> stored by
        // set_job(); only this job's thread uses it.
        unsafe { self.job_ptr().as_mut() }
    }

    fn set_job(&mut self, job: Box<Job>) {
        self.raw_mut().io_ops_data = Box::into_raw(job).cast();
    }

    fn take_job(&mut self) -> Option<Box<Job>> {
        let p = self.job_ptr();
        if p.is_null() {
            return None;
        }
        self.raw_mut().io_ops_data = ptr::null_mut();
        // SAFETY: p came from Box::into_raw in set_job and is taken once.
        Some(unsafe { Box::from_raw(p) })
    }

    /// Refuses to run against a fio whose structures differ from the headers
    /// this library was compiled with.
    fn check_abi(&self) -> Result<(), EngineError> {
        let running = running_fio_version().ok_or_else(|| {
            EngineError::invalid("not running inside fio (fio's symbols were not found)")
        })?;
        if running != BUILT_FOR_FIO {
            return Err(EngineError::invalid(format!(
                "built against {BUILT_FOR_FIO} headers but loaded by {running}: rebuild \
                 libglusterrs.so against the matching fio source (`make deps build`)"
            )));
        }
        let td = self.raw();
        if !ptr::eq(td.io_ops, ops_ptr()) {
            return Err(EngineError::invalid(
                "td->io_ops does not point at this engine's ops: thread_data layout mismatch",
            ));
        }
        // SAFETY: td->io_ops was just checked to be our own ops table.
        let ops = unsafe { &*td.io_ops };
        if ops.version != sys::FIO_IOOPS_VERSION as c_int
            || ops.option_struct_size as usize != std::mem::size_of::<RawOptions>()
        {
            return Err(EngineError::invalid("ioengine_ops contents mismatch"));
        }
        if td.eo.is_null() || td.o.iodepth == 0 || td.o.name.is_null() {
            return Err(EngineError::invalid(
                "thread_data contents look wrong (eo/iodepth/name): layout mismatch",
            ));
        }
        Ok(())
    }
}

/// One file of a job (`struct fio_file`).
#[derive(Clone, Copy)]
pub struct FioFile {
    ptr: NonNull<sys::fio_file>,
}

impl FioFile {
    fn new(ptr: *mut sys::fio_file) -> Option<FioFile> {
        NonNull::new(ptr).map(|ptr| FioFile { ptr })
    }

    fn raw(&self) -> &sys::fio_file {
        // SAFETY: fio_file structures live as long as their job's file list;
        // the engine only uses them during entry points of that job.
        unsafe { self.ptr.as_ref() }
    }

    fn raw_mut(&mut self) -> &mut sys::fio_file {
        // SAFETY: as in raw(); fields written (sizes, flags, engine_data)
        // belong to the job calling the entry point.
        unsafe { self.ptr.as_mut() }
    }

    pub fn name(&self) -> String {
        cstr_opt(self.raw().file_name).unwrap_or_default()
    }

    pub fn index(&self) -> usize {
        self.raw().fileno.max(0) as usize
    }

    pub fn real_file_size(&self) -> u64 {
        self.raw().real_file_size
    }

    pub fn file_offset(&self) -> u64 {
        self.raw().file_offset
    }

    pub fn io_size(&self) -> u64 {
        self.raw().io_size
    }

    pub fn size_known(&self) -> bool {
        self.raw().flags & sys::FIO_FILE_size_known != 0
    }

    /// Sets the size fio plans with and marks it known.
    pub fn set_real_file_size(&mut self, size: u64) {
        let f = self.raw_mut();
        f.real_file_size = size;
        f.flags |= sys::FIO_FILE_size_known;
    }

    /// Files of this engine are regular files on the volume, whatever a
    /// local file of that name may be.
    pub fn set_regular(&mut self) {
        self.raw_mut().filetype = sys::FIO_TYPE_FILE;
    }

    /// Whether prepopulate_file() took care of this file's layout (kept in
    /// `engine_pos`, which fio leaves to the engine and copies into jobs).
    pub fn layout_done(&self) -> bool {
        self.raw().engine_pos == LAYOUT_DONE
    }

    pub fn set_layout_done(&mut self) {
        self.raw_mut().engine_pos = LAYOUT_DONE;
    }

    fn state_ptr(&self) -> *mut FileState {
        self.raw().engine_data.cast()
    }

    /// The engine's open-file state.
    pub fn state(&self) -> Option<&FileState> {
        // SAFETY: engine_data is NULL or the Box<FileState> stored by
        // set_state(); it is freed only by take_state() from the same job.
        unsafe { self.state_ptr().as_ref() }
    }

    pub fn set_state(&mut self, st: Box<FileState>) {
        self.raw_mut().engine_data = Box::into_raw(st).cast();
    }

    pub fn take_state(&mut self) -> Option<Box<FileState>> {
        let p = self.state_ptr();
        if p.is_null() {
            return None;
        }
        self.raw_mut().engine_data = ptr::null_mut();
        // SAFETY: p came from Box::into_raw in set_state and is taken once.
        Some(unsafe { Box::from_raw(p) })
    }
}

const LAYOUT_DONE: u64 = 0x676c_7573_7465_7201;

/// fio data directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ddir {
    Read,
    Write,
    Trim,
    Sync,
    Datasync,
    Other(i32),
}

/// An I/O unit handed to queue(); fio owns it until event() returns it.
pub struct IoU {
    ptr: NonNull<sys::io_u>,
}

/// An io_u travelling through gfapi as the completion token.
#[derive(Clone, Copy)]
pub struct IoUToken(NonNull<sys::io_u>);

// SAFETY: the token is only an address; fio does not touch an in-flight
// io_u, and the job thread dereferences it again only after the completion
// was handed back through the queue.
unsafe impl Send for IoUToken {}

impl IoU {
    fn new(ptr: *mut sys::io_u) -> Option<IoU> {
        NonNull::new(ptr).map(|ptr| IoU { ptr })
    }

    fn raw(&self) -> &sys::io_u {
        // SAFETY: fio passes a valid io_u it does not touch while the engine
        // owns it (between queue() and event()).
        unsafe { self.ptr.as_ref() }
    }

    fn raw_mut(&mut self) -> &mut sys::io_u {
        // SAFETY: as in raw().
        unsafe { self.ptr.as_mut() }
    }

    pub fn ddir(&self) -> Ddir {
        match self.raw().ddir {
            sys::DDIR_READ => Ddir::Read,
            sys::DDIR_WRITE => Ddir::Write,
            sys::DDIR_TRIM => Ddir::Trim,
            sys::DDIR_SYNC => Ddir::Sync,
            sys::DDIR_DATASYNC => Ddir::Datasync,
            other => Ddir::Other(other),
        }
    }

    pub fn offset(&self) -> u64 {
        self.raw().offset
    }

    pub fn xfer_len(&self) -> u64 {
        self.raw().xfer_buflen
    }

    pub fn file(&self) -> Option<FioFile> {
        FioFile::new(self.raw().file)
    }

    /// Records the outcome: `Ok(bytes)` sets the residual, `Err(errno)` the
    /// error.
    pub fn complete(&mut self, result: Result<u64, i32>) {
        let u = self.raw_mut();
        match result {
            Ok(done) => {
                u.error = 0;
                u.resid = u.xfer_buflen.saturating_sub(done);
            }
            Err(errno) => {
                u.error = errno.max(1) as c_uint;
                u.resid = u.xfer_buflen;
            }
        }
    }

    /// The transfer buffer for a synchronous read.
    pub fn buffer_mut(&mut self) -> &mut [u8] {
        let u = self.raw();
        if u.xfer_buf.is_null() || u.xfer_buflen == 0 {
            return &mut [];
        }
        // SAFETY: xfer_buf is fio's buffer of xfer_buflen bytes for this
        // io_u, exclusively ours until queue() returns.
        unsafe { std::slice::from_raw_parts_mut(u.xfer_buf.cast(), u.xfer_buflen as usize) }
    }

    pub fn token(&self) -> IoUToken {
        IoUToken(self.ptr)
    }

    /// Submits a read/write of the io_u's transfer buffer to gfapi, or to
    /// `pool`'s threads when the job has one.
    pub fn submit_rw(
        &self,
        file: &gfapi::File,
        queue: &CompletionQueue<IoUToken>,
        pool: Option<&IoPool<IoUToken>>,
        write: bool,
    ) -> gfapi::Result<()> {
        let u = self.raw();
        let (buf, len, off) = (u.xfer_buf.cast::<u8>(), u.xfer_buflen as usize, u.offset);
        let token = self.token();
        // SAFETY: fio keeps xfer_buf (len bytes) alive and untouched while the
        // io_u is in flight, i.e. until event() hands it back, which happens
        // only after its completion was popped from `queue`.
        unsafe {
            match (pool, write) {
                (Some(p), true) => p.write_at_raw(file, buf, len, off, queue, token),
                (Some(p), false) => p.read_at_raw(file, buf, len, off, queue, token),
                (None, true) => file.write_at_async_raw(buf, len, off, queue, token),
                (None, false) => file.read_at_async_raw(buf, len, off, queue, token),
            }
        }
    }
}

impl IoUToken {
    pub fn io_u(&self) -> IoU {
        IoU { ptr: self.0 }
    }

    pub fn as_ptr(&self) -> *mut sys::io_u {
        self.0.as_ptr()
    }
}

// ---------------------------------------------------------------------------
// Process helpers
// ---------------------------------------------------------------------------

/// The calling process id.
pub fn getpid() -> u32 {
    std::process::id()
}

/// Keeps this library (and so libgfapi, whose threads outlive the jobs when
/// a connection is kept for the process) loaded until exit, whatever
/// dlclose() fio does.
pub fn pin_library() {
    static PINNED: OnceLock<()> = OnceLock::new();
    PINNED.get_or_init(|| {
        // SAFETY: dladdr fills `info` for an address inside this library;
        // dlopen with RTLD_NOLOAD only bumps the reference count of the
        // already loaded object and marks it NODELETE.
        unsafe {
            let mut info: libc::Dl_info = std::mem::zeroed();
            let addr = pin_library as *const c_void;
            if libc::dladdr(addr, &mut info) != 0 && !info.dli_fname.is_null() {
                libc::dlopen(
                    info.dli_fname,
                    libc::RTLD_LAZY | libc::RTLD_NOLOAD | libc::RTLD_NODELETE,
                );
            }
        }
    });
}

/// Ignores SIGPIPE in this process unless someone installed a handler.
/// gluster's socket transport writes to its sockets without MSG_NOSIGNAL;
/// a brick that dies mid-write would otherwise kill the fio job with
/// SIGPIPE (and fio's parent then crashed reaping it). fio itself only
/// handles SIGPIPE in its server mode. Writes then fail with EPIPE, which
/// gluster turns into ENOTCONN for the I/O.
pub fn ignore_sigpipe() {
    // SAFETY: sigaction with a NULL new action only reads the current one
    // into `old`; SIG_IGN is installed only over the default action, with a
    // zeroed (valid, empty-mask) sigaction.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_DFL
        {
            let mut ign: libc::sigaction = std::mem::zeroed();
            ign.sa_sigaction = libc::SIG_IGN;
            libc::sigemptyset(&mut ign.sa_mask);
            libc::sigaction(libc::SIGPIPE, &ign, std::ptr::null_mut());
        }
    }
}

/// Runs `child` in a forked process and returns what it produced. Used to talk
/// to the volume from fio's parent process without ever creating gfapi state
/// (threads) there: the child connects, answers, and `_exit`s without fini.
pub fn run_in_child(child: impl FnOnce() -> Vec<u8>, timeout: Duration) -> io::Result<Vec<u8>> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: pipe2 writes two descriptors into fds.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (rd, wr) = (fds[0], fds[1]);
    // SAFETY: fork in a (possibly multithreaded) fio parent; the child only
    // runs the closure (fresh gfapi instance, plain Rust) and leaves with
    // _exit, never returning into fio.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = io::Error::last_os_error();
        // SAFETY: closing the descriptors just created.
        unsafe {
            libc::close(rd);
            libc::close(wr);
        }
        return Err(e);
    }
    if pid == 0 {
        // SAFETY: child side: die with the parent, write the answer, _exit
        // (no atexit handlers, no glfs_fini).
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            libc::close(rd);
            let out = catch_unwind(AssertUnwindSafe(child)).unwrap_or_else(|_| b"PANIC\n".to_vec());
            let mut off = 0;
            while off < out.len() {
                let n = libc::write(wr, out[off..].as_ptr().cast(), out.len() - off);
                if n <= 0 {
                    break;
                }
                off += n as usize;
            }
            libc::_exit(0);
        }
    }
    // SAFETY: parent side: close the write end, read until EOF or timeout,
    // then reap (or kill and reap) the child.
    unsafe {
        libc::close(wr);
        let deadline = std::time::Instant::now() + timeout;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        let mut timed_out = false;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                timed_out = true;
                break;
            }
            let mut pfd = libc::pollfd {
                fd: rd,
                events: libc::POLLIN,
                revents: 0,
            };
            let r = libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as c_int);
            if r < 0 {
                if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                break;
            }
            if r == 0 {
                continue;
            }
            let n = libc::read(rd, buf.as_mut_ptr().cast(), buf.len());
            if n < 0 {
                if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                break;
            }
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n as usize]);
        }
        libc::close(rd);
        if timed_out {
            libc::kill(pid, libc::SIGKILL);
        }
        let mut status = 0;
        while libc::waitpid(pid, &mut status, 0) < 0
            && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
        {}
        if timed_out {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer within {} s", timeout.as_secs()),
            ));
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------
// The ops table
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

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
        t.check_abi()?;
        engine::setup(t).map(|()| 0)
    })
}

unsafe extern "C" fn fio_init(td: *mut sys::thread_data) -> c_int {
    guard(td, "init", 1, |t| {
        t.check_abi()?;
        pin_library();
        let job = engine::init(t)?;
        t.set_job(Box::new(job));
        Ok(0)
    })
}

unsafe extern "C" fn fio_cleanup(td: *mut sys::thread_data) {
    guard(td, "cleanup", (), |t| {
        if let Some(job) = t.take_job() {
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
