//! I/O: `queue` submits an io_u (async through the job's completion queue,
//! or synchronously), `getevents` and `event` hand completions back to fio.

use std::io;
use std::time::Duration;

use super::files::FileState;
use super::job::{job_state, no_job};
use crate::error::EngineError;
use crate::fio::{self, Ddir, IoU, IoUToken, Td};
use crate::options::IoMode;

/// Outcome of `queue`.
pub enum Queued {
    Completed,
    Queued,
}

/// Bytes an operation "transferred" when it succeeded: reads and writes
/// report their count, the others complete fully.
pub(super) fn done_bytes(ddir: Ddir, len: u64, n: usize) -> u64 {
    match ddir {
        Ddir::Read | Ddir::Write => n as u64,
        _ => len,
    }
}

pub(super) fn finish(u: &mut IoU, result: io::Result<usize>) {
    let ddir = u.ddir();
    let len = u.xfer_len();
    u.complete(match result {
        Ok(n) => Ok(done_bytes(ddir, len, n)),
        Err(e) => Err(e.raw_os_error().unwrap_or(libc::EIO)),
    });
}

pub(super) fn sync_io(file: &gfapi::File, u: &mut IoU) -> io::Result<usize> {
    let off = u.offset();
    let r = match u.ddir() {
        Ddir::Read => file.read_at(u.buffer_mut(), off),
        Ddir::Write => file.write_at(u.buffer_mut(), off),
        Ddir::Trim => file.discard(off, u.xfer_len()).map(|()| 0),
        Ddir::Sync => file.fsync().map(|()| 0),
        Ddir::Datasync => file.fdatasync().map(|()| 0),
        Ddir::Other(_) => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
    };
    r.map_err(io::Error::from)
}

pub fn queue(td: &mut Td, u: &mut IoU) -> Result<Queued, EngineError> {
    let job = job_state(td).ok_or_else(no_job)?;
    let f = u
        .file()
        .ok_or_else(|| EngineError::invalid("io_u without a file"))?;
    let st = f
        .state::<FileState>()
        .ok_or_else(|| EngineError::new(libc::EBADF, format!("{}: file not open", f.name())))?;
    // fio ignores the error of a sync io_u that completes through
    // getevents (io_completed returns early for sync directions): a failed
    // fsync would pass as done and fio exit 0 over lost writes. Sync
    // directions therefore complete here, as in fio's libaio engine.
    let sync_dir = matches!(u.ddir(), Ddir::Sync | Ddir::Datasync);
    if job.opts.io_mode == IoMode::Sync || sync_dir {
        let r = sync_io(&st.file, u);
        if let (true, Err(e)) = (sync_dir, &r) {
            // fio names no file for a failed sync; say which one.
            let op = if u.ddir() == Ddir::Sync {
                "fsync"
            } else {
                "fdatasync"
            };
            fio::log_err(&format!("glusterrs: {op} {}: {e}\n", st.path));
        }
        finish(u, r);
        return Ok(Queued::Completed);
    }
    let q = &job.queue;
    let r = match u.ddir() {
        Ddir::Read => u.submit_rw(&st.file, q, job.pool.as_ref(), false),
        Ddir::Write => u.submit_rw(&st.file, q, job.pool.as_ref(), true),
        Ddir::Trim => st
            .file
            .discard_async(u.offset(), u.xfer_len(), q, u.token()),
        Ddir::Sync => st.file.fsync_async(q, u.token()),
        Ddir::Datasync => st.file.fdatasync_async(q, u.token()),
        Ddir::Other(d) => {
            return Err(EngineError::invalid(format!(
                "unsupported I/O direction {d}"
            )))
        }
    };
    match r {
        Ok(()) => Ok(Queued::Queued),
        Err(e) => Err(EngineError::gfapi(&e, format!("submit to {}", st.path))),
    }
}

pub fn getevents(
    td: &mut Td,
    min: usize,
    max: usize,
    timeout: Option<Duration>,
) -> Result<usize, EngineError> {
    let job = job_state(td).ok_or_else(no_job)?;
    job.completions.clear();
    job.events.clear();
    // Never wait for more than is outstanding (ready first: an operation
    // moving from in-flight to ready in between is then not counted twice).
    let outstanding = job.queue.ready() + job.queue.in_flight();
    let min = min.min(outstanding);
    let max = max.max(min);
    job.queue.wait(&mut job.completions, min, max, timeout);
    for c in job.completions.drain(..) {
        finish(&mut c.token.io_u(), c.result);
        job.events.push(c.token);
    }
    Ok(job.events.len())
}

pub fn event(td: &mut Td, i: usize) -> Result<IoUToken, EngineError> {
    let job = job_state(td).ok_or_else(no_job)?;
    job.events
        .get(i)
        .copied()
        .ok_or_else(|| EngineError::invalid(format!("event {i} out of range")))
}
