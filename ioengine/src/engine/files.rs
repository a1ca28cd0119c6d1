//! fio's file entry points on the volume: open (with the layout check
//! when `prepopulate_file` did not run), close, unlink and file sizes.

use super::job::{job_state, no_job};
use super::layout::ensure_layout;
use super::paths::{file_path, gfapi_errno, open_path, stat_size};
use super::registry::{lock, registry, REGISTRY};
use crate::error::EngineError;
use crate::fio::{self, FioFile, JobSettings, Td};

/// An open file (kept in `fio_file->engine_data`).
pub struct FileState {
    pub(super) file: gfapi::File,
    pub(super) path: String,
}

/// Open flags following fio's generic_open_file().
pub(super) fn open_flags(s: &JobSettings) -> i32 {
    let mut flags = 0;
    if !(s.dirs.trim && !s.dirs.read && !s.dirs.write) {
        if s.odirect {
            flags |= libc::O_DIRECT;
        }
        flags |= s.sync_io;
        if s.create_on_open && s.allow_create {
            flags |= libc::O_CREAT;
        }
    }
    let ro = fio::read_only();
    if s.dirs.write {
        flags |= if ro { libc::O_RDONLY } else { libc::O_RDWR };
        if s.allow_create {
            flags |= libc::O_CREAT;
        }
    } else if s.dirs.read {
        flags |= libc::O_RDONLY;
    } else if !ro {
        flags |= libc::O_RDWR;
    }
    flags
}

pub fn open_file(td: &mut Td, mut f: FioFile) -> Result<(), EngineError> {
    td.end_sizing();
    let job = job_state(td).ok_or_else(no_job)?;
    let (fs, settings, spec) = (job.fs.clone(), job.settings.clone(), job.opts.conn.clone());
    let path = file_path(&f, &job.opts)?;
    let idx = f.index();
    if !f.layout_done() && !job.checked.contains(&idx) {
        // Only when prepopulate_file did not run for this file.
        ensure_layout(td, &fs, &spec, &settings, &f, &path, &mut |m| {
            fio::log_info(&m)
        })?;
        if let Some(job) = job_state(td) {
            job.checked.insert(idx);
        }
    }
    if let Some(old) = f.take_state::<FileState>() {
        let _ = old.file.close();
    }
    let flags = open_flags(&settings);
    let file = open_path(&fs, &path, flags).map_err(|e| {
        let what = if flags & libc::O_DIRECT != 0 && gfapi_errno(&e) == libc::EINVAL {
            " (O_DIRECT not supported?)"
        } else {
            ""
        };
        EngineError::gfapi(&e, format!("open {path}{what}"))
    })?;
    f.set_state(FileState { file, path });
    Ok(())
}

pub fn close_file(_td: &mut Td, mut f: FioFile) -> Result<(), EngineError> {
    match f.take_state::<FileState>() {
        Some(st) => {
            let path = st.path;
            st.file
                .close()
                .map_err(|e| EngineError::gfapi(&e, format!("close {path}")))
        }
        None => Ok(()),
    }
}

pub fn unlink_file(td: &mut Td, f: FioFile) -> Result<(), EngineError> {
    let job = job_state(td).ok_or_else(no_job)?;
    let path = file_path(&f, &job.opts)?;
    let key = (job.opts.conn.volume_key(), path.clone());
    let r = job.fs.unlink(&path);
    {
        let mut g = lock(&REGISTRY);
        registry(&mut g).laid_out.remove(&key);
    }
    if let Some(job) = job_state(td) {
        job.checked.remove(&f.index());
    }
    r.map_err(|e| EngineError::gfapi(&e, format!("unlink {path}")))
}

pub fn get_file_size(td: &mut Td, mut f: FioFile) -> Result<(), EngineError> {
    if f.size_known() {
        return Ok(());
    }
    let Some(job) = job_state(td) else {
        // Sizes are set by setup(); nothing to add outside a job.
        return Ok(());
    };
    let path = file_path(&f, &job.opts)?;
    if let Some(size) = stat_size(&job.fs, &path)? {
        f.set_real_file_size(size);
    }
    Ok(())
}
