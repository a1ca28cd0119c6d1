//! `struct thread_data` seen safely ([`Td`]): the job's settings, its
//! files, its error and flags, the engine option values fio parsed, and the
//! slot that holds the engine's per-job state.

use std::any::Any;
use std::ffi::{c_char, c_int, c_uint, c_ulonglong, CString};
use std::io;
use std::ptr::{self, NonNull};

use super::symbols::{api, running_fio_version, sym};
use super::{cstr_opt, slot, sys, FioFile, BUILT_FOR_FIO};
use crate::error::EngineError;
use crate::options::{OptionValues, RawOptions, WRITE_AGGREGATION_OFF};

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
    /// Only the entry points make a `Td`, from the pointer fio passes them.
    pub(crate) fn new(ptr: *mut sys::thread_data) -> Option<Td> {
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
        unsafe { (*eo).write_aggregation = WRITE_AGGREGATION_OFF };
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
        FioFile::new(f)
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
                let fp = f.as_ptr();
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

    /// The engine's state of this job, if `init` stored one of type `J`.
    pub fn job<J: Any>(&mut self) -> Option<&mut J> {
        // SAFETY: io_ops_data is NULL or set by set_job(); only this job's
        // thread uses it, and the borrow of self covers the result.
        unsafe { slot::get_mut(self.raw().io_ops_data) }
    }

    /// Stores the engine's state of this job (`td->io_ops_data`); an earlier
    /// one would leak, so `init` stores it once.
    pub fn set_job<J: Any>(&mut self, job: J) {
        self.raw_mut().io_ops_data = slot::put(job);
    }

    /// Takes the engine's state of this job out of `td->io_ops_data`, if it
    /// is of type `J`.
    pub fn take_job<J: Any>(&mut self) -> Option<Box<J>> {
        // SAFETY: as in job(); the slot is cleared right after.
        let job = unsafe { slot::take(self.raw().io_ops_data) }?;
        self.raw_mut().io_ops_data = ptr::null_mut();
        Some(job)
    }

    /// `ours` is this engine's ops table, which `td->io_ops` must point at.
    pub fn check_abi(&self, ours: *const sys::ioengine_ops) -> Result<(), EngineError> {
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
        if !ptr::eq(td.io_ops, ours) {
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
