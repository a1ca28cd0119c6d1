//! Paths on the volume: the path a fio file denotes, its size, and opening
//! it with its parent directories created.

use std::path::Path;

use gfapi::Fs;

use crate::error::EngineError;
use crate::fio::FioFile;
use crate::options::{parse_gluster_url, volume_path, EngineOptions, DEFAULT_PORT};

pub(super) fn file_path(f: &FioFile, opts: &EngineOptions) -> Result<String, EngineError> {
    let name = f.name();
    let port = opts.conn.servers.first().map_or(DEFAULT_PORT, |s| s.port);
    let url = parse_gluster_url(&name, port)?;
    Ok(volume_path(&name, url.as_ref()))
}

/// Size of a file on the volume; `None` if it does not exist.
pub(super) fn stat_size(fs: &Fs, path: &str) -> Result<Option<u64>, EngineError> {
    match fs.stat(path) {
        Ok(st) if st.is_dir() => Err(EngineError::new(
            libc::EISDIR,
            format!("{path} is a directory on the volume"),
        )),
        Ok(st) => Ok(Some(st.size)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(EngineError::gfapi(&e, format!("stat {path}"))),
    }
}

pub(super) fn gfapi_errno(e: &gfapi::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

/// Creates the missing parent directories of `path` on the volume.
pub(super) fn make_parents(fs: &Fs, path: &str) -> Result<(), EngineError> {
    let mut cur = std::path::PathBuf::from("/");
    let parent = Path::new(path).parent().unwrap_or(Path::new("/"));
    for comp in parent.components().skip(1) {
        cur.push(comp);
        match fs.mkdir(&cur, 0o755) {
            Ok(()) => {}
            Err(e) if gfapi_errno(&e) == libc::EEXIST => {}
            Err(e) => return Err(EngineError::gfapi(&e, format!("mkdir {}", cur.display()))),
        }
    }
    Ok(())
}

/// Opens `path`, creating it (and its directories) when `flags` has O_CREAT.
pub(super) fn open_path(fs: &Fs, path: &str, flags: i32) -> Result<gfapi::File, gfapi::Error> {
    if flags & libc::O_CREAT == 0 {
        return fs.open(path, flags);
    }
    match fs.create(path, flags, 0o644) {
        Err(e) if gfapi_errno(&e) == libc::ENOENT && make_parents(fs, path).is_ok() => {
            fs.create(path, flags, 0o644)
        }
        r => r,
    }
}
