//! `struct fio_file` seen safely ([`FioFile`]): name, sizes, the engine's
//! layout mark and the slot that holds the engine's open-file state.

use std::any::Any;
use std::ptr::{self, NonNull};

use super::{cstr_opt, slot, sys};

/// One file of a job (`struct fio_file`).
#[derive(Clone, Copy)]
pub struct FioFile {
    ptr: NonNull<sys::fio_file>,
}

impl FioFile {
    pub(crate) fn new(ptr: *mut sys::fio_file) -> Option<FioFile> {
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

    /// The engine's open-file state, if one of type `S` is stored.
    pub fn state<S: Any>(&self) -> Option<&S> {
        // SAFETY: engine_data is NULL or set by set_state(); it is freed
        // only by take_state() from the same job, which writes it from no
        // other place.
        unsafe { slot::get(self.raw().engine_data) }
    }

    pub fn set_state<S: Any>(&mut self, st: S) {
        self.raw_mut().engine_data = slot::put(st);
    }

    pub fn take_state<S: Any>(&mut self) -> Option<Box<S>> {
        // SAFETY: as in state(); the slot is cleared right after.
        let st = unsafe { slot::take(self.raw().engine_data) }?;
        self.raw_mut().engine_data = ptr::null_mut();
        Some(st)
    }

    pub(super) fn as_ptr(&self) -> *mut sys::fio_file {
        self.ptr.as_ptr()
    }
}

const LAYOUT_DONE: u64 = 0x676c_7573_7465_7201;
