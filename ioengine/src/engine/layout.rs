//! Laying out the files a job needs (fio's extend_file() semantics, from a
//! forked helper in fio's parent), and `write_aggregation=auto`: whether a
//! job's writes could fill the volume.

use std::time::Duration;

use gfapi::Fs;

use super::job::{job_options, job_state};
use super::paths::{gfapi_errno, open_path, stat_size};
use super::registry::{connection, has_connections, lock, registry, LAYOUT, REGISTRY};
use crate::connect::{connect, rpc_bypass};
use crate::error::EngineError;
use crate::fio::{self, Fallocate, FioFile, JobSettings, Td};
use crate::options::{ConnSpec, EngineOptions, WriteAggregation};

/// Lays out a file the job needs but that is missing or too short, with the
/// semantics of fio's extend_file() for local files: read jobs (and
/// overwrite=1 writers) get the file written in full, other writers get it
/// recreated; `fallocate=` preallocates, `create_fsync` syncs.
pub(super) fn ensure_layout(
    td: &mut Td,
    fs: &Fs,
    spec: &ConnSpec,
    s: &JobSettings,
    f: &FioFile,
    path: &str,
    log: &mut dyn FnMut(String),
) -> Result<(), EngineError> {
    if s.create_on_open || s.fill_device || fio::read_only() {
        return Ok(());
    }
    let needed = f.file_offset().saturating_add(f.io_size());
    if needed == 0 || needed == u64::MAX {
        return Ok(());
    }
    let _serial = lock(&LAYOUT);
    let key = (spec.volume_key(), path.to_string());
    {
        let mut g = lock(&REGISTRY);
        if registry(&mut g).laid_out.contains(&key) {
            return Ok(());
        }
    }
    if stat_size(fs, path)?.is_some_and(|size| size >= needed) {
        return Ok(());
    }
    if let Some(p) = spec.posix.as_ref().filter(|p| p.read_only) {
        return Err(rpc_bypass::layout_refused(p, path, needed));
    }
    let new_layout = s.dirs.read || (s.dirs.write && s.overwrite && !s.file_append);
    let unlink_first = s.dirs.write && !s.overwrite && !s.file_append;
    if new_layout || unlink_first {
        match fs.unlink(path) {
            Ok(()) => {}
            Err(e) if gfapi_errno(&e) == libc::ENOENT => {}
            Err(e) => return Err(EngineError::gfapi(&e, format!("unlink {path}"))),
        }
    }
    let mut flags = libc::O_WRONLY;
    if s.allow_create {
        flags |= libc::O_CREAT;
    }
    if new_layout {
        flags |= libc::O_TRUNC;
    }
    let file = match open_path(fs, path, flags) {
        Ok(file) => file,
        Err(e) if gfapi_errno(&e) == libc::ENOENT && !s.allow_create => {
            return Err(EngineError::new(
                libc::ENOENT,
                format!("{path}: file creation disallowed by allow_file_create=0"),
            ))
        }
        Err(e) => return Err(EngineError::gfapi(&e, format!("create {path}"))),
    };
    match s.fallocate {
        Fallocate::None => {}
        Fallocate::Native => {
            // Best effort, like fio's native mode.
            let _ = file.fallocate(0, 0, needed);
        }
        Fallocate::Posix => {
            if let Err(e) = file.fallocate(0, 0, needed) {
                fio::log_err(&format!("fio: posix_fallocate fails: {e}\n"));
            }
        }
        Fallocate::KeepSize => file
            .fallocate(libc::FALLOC_FL_KEEP_SIZE, 0, needed)
            .map_err(|e| EngineError::gfapi(&e, format!("fallocate {path}")))?,
        Fallocate::Truncate => file
            .truncate(needed)
            .map_err(|e| EngineError::gfapi(&e, format!("ftruncate {path}")))?,
    }
    if new_layout {
        if fio::normal_output() {
            log(format!(
                "{}: Laying out IO file {path} ({}MiB)\n",
                s.name,
                needed >> 20
            ));
        }
        file.truncate(needed)
            .map_err(|e| EngineError::gfapi(&e, format!("ftruncate {path}")))?;
        let bs = s.max_bs_write.clamp(1 << 20, 16 << 20).min(needed) as usize;
        let mut buf = vec![0u8; bs.max(1)];
        let mut off = 0u64;
        while off < needed && !td.terminating() {
            let n = ((needed - off) as usize).min(buf.len());
            td.fill_buffer(&mut buf[..n]);
            match file.write_at(&buf[..n], off) {
                Ok(0) => {
                    return Err(EngineError::new(
                        libc::EIO,
                        format!("laying out {path}: short write"),
                    ))
                }
                Ok(w) => off += w as u64,
                Err(e) => {
                    let errno = gfapi_errno(&e);
                    if errno == libc::ENOSPC || errno == libc::EDQUOT {
                        log("fio: ENOSPC on laying out file, stopping\n".to_string());
                    }
                    return Err(EngineError::gfapi(&e, format!("laying out {path}")));
                }
            }
        }
        if td.terminating() {
            drop(file);
            let _ = fs.unlink(path);
            return Ok(());
        }
        if s.create_fsync {
            file.fsync()
                .map_err(|e| EngineError::gfapi(&e, format!("fsync {path}")))?;
        }
    }
    file.close()
        .map_err(|e| EngineError::gfapi(&e, format!("close {path}")))?;
    let mut g = lock(&REGISTRY);
    registry(&mut g).laid_out.insert(key);
    Ok(())
}

/// `prepopulate_file`: called by fio's setup_files() for every file once the
/// io sizes are known, before any job starts (in fio's parent by default).
/// The first call lays out every file of the job that needs it, the way
/// fio lays out local files at that point (see `ensure_layout`).
pub fn prepopulate_file(td: &mut Td, f: FioFile) -> Result<(), EngineError> {
    if f.index() != 0 {
        return Ok(());
    }
    let settings = td.settings();
    let (opts, paths) = job_options(td)?;
    let files: Vec<FioFile> = (0..td.nr_files()).filter_map(|i| td.file(i)).collect();
    let in_process = match job_state(td) {
        Some(job) => Some(job.fs.clone()),
        None if settings.use_thread || has_connections() => Some(connection(&opts.conn, true)?),
        None => None,
    };
    let check_space = opts.write_aggregation == WriteAggregation::Auto && settings.dirs.write;
    let space = match in_process {
        Some(fs) => {
            for (f, path) in files.iter().zip(&paths) {
                ensure_layout(td, &fs, &opts.conn, &settings, f, path, &mut |m| {
                    fio::log_info(&m)
                })?;
            }
            check_space.then(|| write_space(&fs, &files, &paths))
        }
        None => layout_in_child(td, &opts.conn, &settings, &files, &paths, check_space)?,
    };
    for mut f in files {
        f.set_layout_done();
    }
    if let Some(space) = space {
        decide_write_aggregation(td, &opts, &settings, space);
    }
    Ok(())
}

/// What a writing job may still allocate on the volume, and the volume's
/// free space, once its files are laid out (`write_aggregation=auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WriteSpace {
    /// Bytes past the current end of the job's files, up to where it writes.
    needed: u64,
    /// Free bytes; `None` if statvfs failed.
    avail: Option<u64>,
}

pub(super) fn write_space(fs: &Fs, files: &[FioFile], paths: &[String]) -> WriteSpace {
    let needed = files
        .iter()
        .zip(paths)
        .map(|(f, path)| {
            let end = f.file_offset().saturating_add(f.io_size());
            let have = stat_size(fs, path).ok().flatten().unwrap_or(0);
            end.saturating_sub(have)
        })
        .fold(0u64, u64::saturating_add);
    let avail = fs.statvfs("/").ok().map(|s| s.avail_bytes());
    WriteSpace { needed, avail }
}

/// Could writes of `needed` bytes (on top of `earlier` from other jobs of
/// this run) fill a volume with `avail` free? 10 % of the free space is
/// kept for writers outside fio.
pub(super) fn could_fill(earlier: u64, needed: u64, avail: Option<u64>) -> bool {
    needed > 0
        && avail.map_or(true, |avail| {
            earlier.saturating_add(needed) >= avail / 10 * 9
        })
}

/// `write_aggregation=auto`: turns write-behind's aggregation off for a job
/// whose writes could fill the volume (see `connect::client`), and says so.
pub(super) fn decide_write_aggregation(
    td: &mut Td,
    opts: &EngineOptions,
    s: &JobSettings,
    space: WriteSpace,
) {
    let key = opts.conn.volume_key();
    let earlier = {
        let mut g = lock(&REGISTRY);
        let planned = registry(&mut g).planned_writes.entry(key).or_insert(0);
        let earlier = *planned;
        *planned = planned.saturating_add(space.needed);
        earlier
    };
    if !could_fill(earlier, space.needed, space.avail) {
        return;
    }
    let free = match space.avail {
        Some(a) => format!("{} MiB free", a >> 20),
        None => "free space unknown".to_string(),
    };
    let others = if earlier > 0 {
        format!(" (with {} MiB of earlier jobs)", earlier >> 20)
    } else {
        String::new()
    };
    let risk = format!(
        "glusterrs: {}: writes of {} MiB{others} could fill {} ({free})",
        s.name,
        space.needed >> 20,
        opts.conn
    );
    if job_state(td).is_some() {
        // create_serialize=0: this job is connected already.
        fio::log_info(&format!(
            "{risk}; with create_serialize=0 write_aggregation=auto decides too late: set \
             write_aggregation=off to keep GlusterFS 10.3's write-behind from crashing on a \
             full brick\n"
        ));
        return;
    }
    td.set_write_aggregation_off();
    fio::log_info(&format!(
        "{risk}: write-behind aggregation off (write_aggregation=auto; GlusterFS 10.3 \
         overruns its buffer on a short write at a full brick)\n"
    ));
}

/// Lays the files out from a forked helper (fio's parent keeps no gfapi
/// state); the helper's messages are printed by the parent.
pub(super) fn layout_in_child(
    td: &mut Td,
    spec: &ConnSpec,
    settings: &JobSettings,
    files: &[FioFile],
    paths: &[String],
    check_space: bool,
) -> Result<Option<WriteSpace>, EngineError> {
    let out = fio::run_in_child(
        || {
            let mut out = String::new();
            let fs = match connect(spec) {
                Ok(fs) => fs,
                Err(e) => return format!("ERR {} {}\n", e.errno(), e).into_bytes(),
            };
            for (f, path) in files.iter().zip(paths) {
                let mut log = |m: String| {
                    for l in m.lines() {
                        out.push_str("MSG ");
                        out.push_str(l);
                        out.push('\n');
                    }
                };
                if let Err(e) = ensure_layout(td, &fs, spec, settings, f, path, &mut log) {
                    out.push_str(&format!("ERR {} {}\n", e.errno(), e));
                    break;
                }
            }
            if check_space {
                let space = write_space(&fs, files, paths);
                let avail = space.avail.map_or("-".to_string(), |a| a.to_string());
                out.push_str(&format!("SPACE {} {avail}\n", space.needed));
            }
            out.push_str("DONE\n");
            std::mem::forget(fs);
            out.into_bytes()
        },
        Duration::from_secs(24 * 3600),
    )
    .map_err(|e| {
        EngineError::new(
            e.raw_os_error().unwrap_or(libc::EIO),
            format!("laying out files from a helper process failed: {e}"),
        )
    })?;
    let text = String::from_utf8_lossy(&out);
    let mut done = false;
    let mut space = None;
    for l in text.lines() {
        if let Some(m) = l.strip_prefix("MSG ") {
            fio::log_info(&format!("{m}\n"));
        } else if let Some(rest) = l.strip_prefix("SPACE ") {
            let mut it = rest.split(' ');
            let needed = it.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            let avail = it.next().and_then(|n| n.parse().ok());
            space = Some(WriteSpace { needed, avail });
        } else if let Some(rest) = l.strip_prefix("ERR ") {
            let (errno, msg) = rest.split_once(' ').unwrap_or((rest, "unknown error"));
            return Err(EngineError::new(errno.parse().unwrap_or(libc::EIO), msg));
        } else if l == "DONE" {
            done = true;
        }
    }
    if !done {
        return Err(EngineError::new(
            libc::EIO,
            "the helper process laying out the files died without an answer",
        ));
    }
    Ok(space)
}

#[cfg(test)]
mod tests {
    use super::could_fill;

    const MIB: u64 = 1 << 20;

    #[test]
    fn a_job_that_fits_keeps_aggregation() {
        assert!(!could_fill(0, 100 * MIB, Some(1000 * MIB)));
        assert!(!could_fill(0, 0, Some(0)), "nothing to allocate");
        assert!(!could_fill(0, 0, None), "nothing to allocate");
    }

    #[test]
    fn a_job_that_could_fill_the_volume_turns_it_off() {
        assert!(could_fill(0, 32 * MIB, Some(8 * MIB)));
        // 10 % of the free space is kept for other writers.
        assert!(could_fill(0, 900 * MIB, Some(1000 * MIB)));
        assert!(!could_fill(0, 899 * MIB, Some(1000 * MIB)));
        assert!(could_fill(0, 1, None), "free space unknown");
    }

    #[test]
    fn earlier_jobs_of_the_run_count() {
        assert!(!could_fill(0, 500 * MIB, Some(1000 * MIB)));
        assert!(could_fill(500 * MIB, 500 * MIB, Some(1000 * MIB)));
        assert!(could_fill(u64::MAX, 1, Some(u64::MAX)), "saturates");
    }
}
