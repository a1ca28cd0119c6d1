//! Running external programs without a shell, with a time limit and captured output.
//!
//! Every command runs in a process group of its own. A terminal's Ctrl-C (or a SIGTERM
//! to the caller's process group) then reaches only the caller, which decides when to
//! stop and tears down in order; it does not also kill a `gluster` CLI half-way through
//! a transaction or a `mount` half-way through starting its FUSE client. A command that
//! outlives its time limit is killed with its whole group and reaped.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Default limit for one `gluster` CLI call (the CLI itself gives up after 120 s).
pub(crate) const GLUSTER_TIMEOUT: Duration = Duration::from_secs(130);
/// How long transient "another transaction is in progress" failures are retried.
const GLUSTER_RETRY_FOR: Duration = Duration::from_secs(60);

/// Output of a finished command.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stderr, or stdout when stderr is empty, trimmed.
    pub fn detail(&self) -> String {
        let err = self.stderr.trim();
        if err.is_empty() {
            self.stdout.trim().to_string()
        } else {
            err.to_string()
        }
    }
}

/// One external command: program plus arguments, each passed as its own argv entry.
#[derive(Debug, Clone)]
pub(crate) struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    timeout: Duration,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Cmd {
        Cmd {
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            timeout: Duration::from_secs(60),
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Cmd {
        self.timeout = timeout;
        self
    }

    /// The command line for messages; arguments are quoted when they need it.
    pub fn display(&self) -> String {
        std::iter::once(&self.program)
            .chain(self.args.iter())
            .map(|a| quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs the command; a non-zero exit is returned as `Ok` with its status.
    pub fn output(&self) -> Result<Output> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: see the module documentation.
            .process_group(0)
            .spawn()
            .map_err(|source| Error::Spawn {
                program: self.program.to_string_lossy().into_owned(),
                source,
            })?;
        let stdout = reader(child.stdout.take());
        let stderr = reader(child.stderr.take());
        let status = match wait_deadline(&mut child, self.timeout) {
            Some(status) => status,
            None => {
                kill_group(&mut child);
                return Err(Error::CommandTimeout {
                    command: self.display(),
                    timeout: self.timeout,
                });
            }
        };
        // A daemon forked by the command (mount.glusterfs -> glusterfs) may keep the pipes
        // open; do not wait for EOF forever, what was said before exit is enough.
        let grace = Duration::from_secs(2);
        Ok(Output {
            status,
            stdout: collect(stdout, grace),
            stderr: collect(stderr, grace),
        })
    }

    /// Runs the command and fails with [`Error::Command`] on a non-zero exit.
    pub fn run(&self) -> Result<Output> {
        let out = self.output()?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(Error::Command {
                command: self.display(),
                status: out.status.to_string(),
                detail: out.detail(),
            })
        }
    }
}

/// `gluster --mode=script ARGS...`, retrying while glusterd reports a concurrent transaction.
pub(crate) fn gluster<I, S>(args: I) -> Result<Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    gluster_via(&[], args)
}

/// [`gluster`] run through `wrapper` (e.g. `nsenter --mount=... --net=...`, so that the CLI
/// talks to the glusterd of one node of a [`crate::Cluster`]); empty: run directly.
pub(crate) fn gluster_via<I, S>(wrapper: &[OsString], args: I) -> Result<Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let cmd = match wrapper.split_first() {
        Some((program, rest)) => Cmd::new(program).args(rest).arg("gluster"),
        None => Cmd::new("gluster"),
    };
    let cmd = cmd.arg("--mode=script").args(args).timeout(GLUSTER_TIMEOUT);
    let start = Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        let out = cmd.output()?;
        if out.status.success() {
            return Ok(out);
        }
        let detail = out.detail();
        if is_transient(&detail) && start.elapsed() < GLUSTER_RETRY_FOR {
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(2));
            continue;
        }
        return Err(Error::Command {
            command: cmd.display(),
            status: out.status.to_string(),
            detail,
        });
    }
}

fn is_transient(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    d.contains("another transaction is in progress")
        || d.contains("locking failed")
        || d.contains("please try again after some time")
}

fn reader<R: Read + Send + 'static>(pipe: Option<R>) -> Option<mpsc::Receiver<Vec<u8>>> {
    let mut pipe = pipe?;
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    Some(rx)
}

fn collect(rx: Option<mpsc::Receiver<Vec<u8>>>, grace: Duration) -> String {
    rx.and_then(|rx| rx.recv_timeout(grace).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// SIGKILLs the process group `child` leads (it was started with `process_group(0)`),
/// so that helpers it started die with it, and reaps `child`.
fn kill_group(child: &mut Child) {
    let pid = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    let killed = pid.is_some_and(|pid| {
        rustix::process::kill_process_group(pid, rustix::process::Signal::KILL).is_ok()
    });
    if !killed {
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// A flag a caller sets (typically from a SIGINT/SIGTERM handler) to stop a multi-step
/// bring-up such as [`crate::Volume::create`] at the next step. A command that is running
/// is let finish (within its time limit), so that whether it took effect is known and can
/// be undone; what was done is then rolled back and [`Error::Interrupted`] returned.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// A new flag, not set.
    pub fn new() -> Interrupt {
        Interrupt::default()
    }

    /// Watches an existing flag (e.g. one registered with `signal_hook::flag::register`).
    pub fn from_flag(flag: Arc<AtomicBool>) -> Interrupt {
        Interrupt(flag)
    }

    /// Sets the flag.
    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// `Err(Error::Interrupted)` naming `next` (the step not taken) when the flag is set.
    pub(crate) fn check(&self, next: impl FnOnce() -> String) -> Result<()> {
        if self.is_set() {
            return Err(Error::Interrupted { next: next() });
        }
        Ok(())
    }
}

/// Two `Interrupt`s are equal when they watch the same flag.
impl PartialEq for Interrupt {
    fn eq(&self, other: &Interrupt) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Interrupt {}

/// Waits for the child until `timeout`; `None` when it is still running then.
fn wait_deadline(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(_) => return child.wait().ok(),
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Quotes an argument for display only (nothing is ever handed to a shell).
fn quote(arg: &OsStr) -> String {
    let s = arg.to_string_lossy();
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c));
    if plain {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Polls `probe` until it returns `Some`, or fails with [`Error::Timeout`] after `timeout`.
pub(crate) fn wait_for<T>(
    what: impl FnOnce() -> String,
    timeout: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        if let Some(v) = probe() {
            return Ok(v);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::Timeout {
                what: what(),
                timeout,
            });
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Polls `probe` until it returns `Ok`; after `timeout` fails with [`Error::Timeout`]
/// naming `what` and the probe's last complaint.
pub(crate) fn wait_ok<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> std::result::Result<T, String>,
) -> Result<T> {
    let mut last = String::new();
    wait_for(String::new, timeout, || match probe() {
        Ok(v) => Some(v),
        Err(e) => {
            last = e;
            None
        }
    })
    .map_err(|_| Error::Timeout {
        what: format!("{what} (last: {last})"),
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_without_shell() {
        let out = Cmd::new("echo").arg("a b; echo pwned").run().unwrap();
        assert_eq!(out.stdout, "a b; echo pwned\n");
    }

    #[test]
    fn failure_is_typed() {
        let err = Cmd::new("sh").args(["-c", "echo oops >&2; exit 3"]).run();
        match err {
            Err(Error::Command { status, detail, .. }) => {
                assert!(status.contains('3'), "{status}");
                assert_eq!(detail, "oops");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn missing_program() {
        let err = Cmd::new("/nonexistent/glusterrs-prog").run().unwrap_err();
        assert!(matches!(err, Error::Spawn { .. }), "{err}");
    }

    #[test]
    fn timeout_kills() {
        let t = Instant::now();
        let err = Cmd::new("sleep")
            .arg("5")
            .timeout(Duration::from_millis(200))
            .run()
            .unwrap_err();
        assert!(matches!(err, Error::CommandTimeout { .. }), "{err}");
        assert!(t.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        // The shell's background child is in the command's own process group.
        let marker = std::env::temp_dir().join(format!("glusterrs-cmd-pg-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let script = format!("(sleep 1; touch {}) & sleep 30", marker.display());
        let err = Cmd::new("sh")
            .args(["-c", &script])
            .timeout(Duration::from_millis(300))
            .run()
            .unwrap_err();
        assert!(matches!(err, Error::CommandTimeout { .. }), "{err}");
        thread::sleep(Duration::from_millis(1500));
        assert!(
            !marker.exists(),
            "the group's other process survived the kill"
        );
    }

    #[test]
    fn commands_run_in_their_own_process_group() {
        // `ps -o pgid= -p $$` from the child: its pgid is its own pid.
        let out = Cmd::new("sh")
            .args(["-c", "echo $$ $(ps -o pgid= -p $$)"])
            .run()
            .unwrap();
        let v: Vec<&str> = out.stdout.split_whitespace().collect();
        assert_eq!(v.len(), 2, "{out:?}");
        assert_eq!(v[0], v[1], "child is not a process group leader");
        let mine = std::fs::read_to_string("/proc/self/stat").unwrap();
        let my_pgid = mine[mine.rfind(')').unwrap() + 2..]
            .split_whitespace()
            .nth(2)
            .unwrap()
            .to_string();
        assert_ne!(v[1], my_pgid);
    }

    #[test]
    fn interrupt_flag() {
        let i = Interrupt::new();
        assert!(i.check(|| "x".into()).is_ok());
        let j = i.clone();
        j.set();
        assert!(i.is_set());
        assert_eq!(i, j);
        assert_ne!(i, Interrupt::new());
        let e = i.check(|| "starting the volume".into()).unwrap_err();
        assert!(matches!(e, Error::Interrupted { .. }), "{e}");
        assert!(e.to_string().contains("starting the volume"), "{e}");
    }

    #[test]
    fn display_quotes() {
        let c = Cmd::new("gluster").args(["volume", "a b;c", "it's"]);
        assert_eq!(c.display(), r"gluster volume 'a b;c' 'it'\''s'");
    }

    #[test]
    fn transient_detection() {
        assert!(is_transient(
            "volume create: x: failed: Another transaction is in progress for x. Please try again after some time."
        ));
        assert!(!is_transient(
            "volume create: x: failed: Volume x already exists"
        ));
    }
}
