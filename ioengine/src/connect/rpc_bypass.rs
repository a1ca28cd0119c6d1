//! rpc-bypass (`posix=DIR`): the brick directory opened in-process through
//! `gfapi::Volume::posix` — storage/posix runs inside fio, no glusterd, no
//! brick process, no network.
//!
//! What the engine adds on top of the gfapi crate:
//! * Jobs of one fio run share the brick. In process mode every job (and
//!   the short-lived helpers `setup` forks) opens its own posix instance;
//!   gfapi's safety check would see the other jobs as "another process
//!   serving the brick" and refuse. Users of the brick that belong to this
//!   fio run (the fio process whose executable we run in, and its
//!   descendants running the same executable) are therefore not counted;
//!   any other user (a brick process, a started volume, another program)
//!   still makes gfapi refuse.
//! * Errors in fio's terms (`posix_read_only=1`, `posix_force=1`).
//! * Without io-threads (`posix_io_threads=0`, the default at iodepth 1)
//!   posix runs every request to completion inside the submitting call,
//!   async ones included: the completion is delivered before
//!   `glfs_*_async` returns. The options then select synchronous submission
//!   (see `options::posix::resolve_posix`), which is cheaper and lets fio book the
//!   I/O time as completion latency. An async completion delivered inside
//!   the submit call is handled anyway (as gfapi can do for requests that
//!   fail at once, e.g. on a disconnected client): the completion queue counts the request in flight
//!   before submitting, `queue` returns `FIO_Q_QUEUED`, and the next
//!   `getevents` reaps it without waiting.

use std::path::{Path, PathBuf};

use gfapi::{Fs, Teardown};

use crate::error::EngineError;
use crate::fio::{self, JobSettings};
use crate::options::{ConnSpec, EngineOptions, PosixSpec};

/// Opens the brick of `p` in-process (see the module docs).
pub fn connect(spec: &ConnSpec, p: &PosixSpec) -> Result<Fs, EngineError> {
    let open = |force: bool| {
        gfapi::Volume::posix(&p.dir)
            .read_only(p.read_only)
            .io_threads(p.io_threads)
            .force(force)
            .log_file(&spec.logfile)
            .log_level(spec.loglevel)
            .init()
    };
    // gfapi checks who else uses the brick. Users that are only this fio
    // run's jobs and helpers are fine (they are to a shared brick what
    // several jobs in one process are): then gfapi's check is skipped
    // (`force`). The scan is repeated when gfapi refused, because a job
    // starting at the same moment may have opened the brick between our
    // scan and gfapi's. The window until posix's init stays the few
    // milliseconds gfapi's own check has.
    let mut force = p.force || only_this_run(&p.dir, false);
    let mut attempts = 0;
    let fs = loop {
        attempts += 1;
        match open(force) {
            Ok(fs) => break fs,
            Err(gfapi::Error::BrickInUse { .. })
                if !force && attempts < 3 && only_this_run(&p.dir, true) =>
            {
                force = true;
            }
            Err(e) => return Err(open_error(p, &e)),
        }
    };
    // Teardown takes milliseconds here (not gluster's ~10 s), so a private
    // connection (single-instance=0) is finalised when its job ends rather
    // than leaking its threads and ~260 descriptors until fio exits.
    fs.set_teardown(Teardown::Fini);
    Ok(fs)
}

/// Whether every current user of `dir` (see `gfapi::brick_users`) belongs
/// to this fio run; with no users at all, `if_none`. A failed scan says no
/// (gfapi then checks and explains).
fn only_this_run(dir: &Path, if_none: bool) -> bool {
    match gfapi::brick_users(dir) {
        Ok(users) if users.is_empty() => if_none,
        Ok(users) => {
            let run = FioRun::current();
            users
                .iter()
                .all(|u| u.pid.is_some_and(|pid| run.contains(pid)))
        }
        Err(_) => false,
    }
}

/// The fio error for a failed `Volume::posix(..).init()`.
pub fn open_error(p: &PosixSpec, e: &gfapi::Error) -> EngineError {
    match e {
        gfapi::Error::BrickInUse { dir, detail } => EngineError::new(
            libc::EBUSY,
            format!(
                "posix={}: refusing to open brick {} in rpc-bypass mode: {}",
                p.dir.display(),
                dir.display(),
                fio_terms(detail)
            ),
        ),
        gfapi::Error::Unsupported(msg) => EngineError::new(
            libc::ENOTSUP,
            format!(
                "posix={}: rpc-bypass is not supported here: {msg}",
                p.dir.display()
            ),
        ),
        other => EngineError::new(
            other.raw_os_error().unwrap_or(libc::EIO),
            format!(
                "posix={}: cannot open the brick in-process: {other}",
                p.dir.display()
            ),
        ),
    }
}

/// gfapi's advice names its builder calls; a fio user sets options.
fn fio_terms(detail: &str) -> String {
    detail
        .replace("read_only(true)", "posix_read_only=1")
        .replace("force(true)", "posix_force=1")
}

/// Refuses a writing job on a read-only brick before anything starts.
pub fn check_job(opts: &EngineOptions, s: &JobSettings) -> Result<(), EngineError> {
    match &opts.conn.posix {
        Some(p) if p.read_only && (s.dirs.write || s.dirs.trim) => Err(EngineError::new(
            libc::EROFS,
            format!(
                "{}: posix_read_only=1 but the job writes or trims (posix={})",
                s.name,
                p.dir.display()
            ),
        )),
        _ => Ok(()),
    }
}

/// The error for a file a read-only brick cannot lay out.
pub fn layout_refused(p: &PosixSpec, path: &str, needed: u64) -> EngineError {
    EngineError::new(
        libc::EROFS,
        format!(
            "{path}: missing or shorter than the {needed} bytes the job needs, and \
             posix_read_only=1 cannot lay it out (create it first, e.g. through a FUSE \
             mount of the volume; posix={})",
            p.dir.display()
        ),
    )
}

/// The processes of the running fio: the topmost ancestor-or-self running
/// this process's executable, and its descendants running it too.
struct FioRun {
    exe: Option<PathBuf>,
    root: u32,
}

impl FioRun {
    fn current() -> FioRun {
        let me = fio::getpid();
        let my_exe = exe(me);
        let mut root = me;
        if my_exe.is_some() {
            for _ in 0..32 {
                match ppid(root) {
                    Some(p) if p > 1 && exe(p) == my_exe => root = p,
                    _ => break,
                }
            }
        }
        FioRun { exe: my_exe, root }
    }

    /// Whether `pid` belongs to this run, or is gone: a job that finished
    /// may be listed as a user while it exits.
    fn contains(&self, pid: u32) -> bool {
        if self.exe.is_none() {
            return false;
        }
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return true;
        }
        let mut cur = pid;
        for _ in 0..32 {
            if cur == self.root {
                return true;
            }
            // An exiting process has no exe link any more (its memory is
            // released before its descriptors): judge it by its parent.
            if exe(cur).is_some_and(|e| Some(e) != self.exe) {
                return false;
            }
            match ppid(cur) {
                Some(p) if p > 1 => cur = p,
                _ => return false,
            }
        }
        false
    }
}

fn exe(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// Parent pid from `/proc/PID/stat` (the field after the `(comm)`).
fn ppid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_ppid(&stat)
}

fn parse_ppid(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppid_parsing() {
        assert_eq!(parse_ppid("42 (a) b) c) S 7 42 42 0"), Some(7));
        assert_eq!(parse_ppid("garbage"), None);
        assert_eq!(
            ppid(std::process::id()),
            Some(std::os::unix::process::parent_id())
        );
    }

    #[test]
    fn this_process_tree() {
        let run = FioRun::current();
        assert!(run.contains(std::process::id()));
        // A child running another executable is not part of the run.
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert!(!run.contains(child.id()));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!run.contains(1));
    }

    #[test]
    fn hints_in_fio_terms() {
        let s = fio_terms("x (use read_only(true), or force(true) on a scratch brick)");
        assert_eq!(
            s,
            "x (use posix_read_only=1, or posix_force=1 on a scratch brick)"
        );
    }
}
