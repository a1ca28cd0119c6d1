//! Process plumbing: the interrupt flag set by SIGINT/SIGTERM, external
//! commands run without a shell (each in its own process group, so a
//! terminal Ctrl-C reaches only the harness, which then stops them in
//! order), and the LIFO teardown stack.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use rustix::process::{kill_process_group, Pid, Signal};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// Set by SIGINT, SIGTERM and SIGHUP (signal-hook's handler: an atomic store).
static INTERRUPTED: LazyLock<Arc<AtomicBool>> = LazyLock::new(Arc::default);
/// The last of those signals that arrived (0: none).
static SIGNAL: LazyLock<Arc<AtomicUsize>> = LazyLock::new(Arc::default);

/// Routes SIGINT, SIGTERM and SIGHUP to the interrupt flag.
pub fn install_signal_handlers() -> Result<()> {
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        signal_hook::flag::register_usize(sig, Arc::clone(&SIGNAL), sig as usize)
            .and_then(|_| signal_hook::flag::register(sig, Arc::clone(&INTERRUPTED)))
            .with_context(|| format!("installing the handler of signal {sig}"))?;
    }
    Ok(())
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The flag the signal handlers set, for code that polls it itself
/// (the cluster crate's bring-up).
pub fn interrupt_flag() -> Arc<AtomicBool> {
    Arc::clone(&INTERRUPTED)
}

/// The signal that interrupted the run, if any.
pub fn signal() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => i32::try_from(s).ok(),
    }
}

/// The conventional exit status of a program stopped by the signal that
/// interrupted the run: 128 + signal (130 for SIGINT, 143 for SIGTERM).
pub fn interrupted_exit_code() -> i32 {
    128 + signal().unwrap_or(SIGINT)
}

fn signal_name(sig: i32) -> String {
    match sig {
        SIGINT => "SIGINT".into(),
        SIGTERM => "SIGTERM".into(),
        SIGHUP => "SIGHUP".into(),
        s => format!("signal {s}"),
    }
}

/// Error returned when the run was interrupted.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match signal() {
            Some(s) => write!(f, "interrupted by {}", signal_name(s)),
            None => write!(f, "interrupted"),
        }
    }
}
impl std::error::Error for Interrupted {}

pub fn check_interrupted() -> Result<()> {
    if interrupted() {
        return Err(Interrupted.into());
    }
    Ok(())
}

/// A command in its own process group with stdin closed.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new(program);
    c.stdin(Stdio::null()).process_group(0);
    c
}

/// Output of a finished command.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs to completion, capturing output. Not interruptible on purpose:
/// used for short management commands, including teardown.
pub fn output(mut cmd: Command) -> Result<Output> {
    let what = describe(&cmd);
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("running {what}"))?;
    Ok(Output {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Runs and fails (with its output) unless it exits 0.
pub fn run(cmd: Command) -> Result<Output> {
    let what = describe(&cmd);
    let out = output(cmd)?;
    if !out.status.success() {
        bail!(
            "`{what}` failed ({}): {}{}",
            out.status,
            out.stdout.trim(),
            if out.stderr.trim().is_empty() {
                String::new()
            } else {
                format!(" {}", out.stderr.trim())
            }
        );
    }
    Ok(out)
}

/// How a watched child ended.
#[derive(Debug)]
pub enum Ended {
    Exited(ExitStatus),
    TimedOut,
    Interrupted,
}

/// Waits for `child` (started with [`command`]), polling the interrupt flag.
/// On interrupt or timeout the child's whole process group gets SIGINT, then
/// SIGKILL after `grace`; it is always reaped before returning.
pub fn watch(child: &mut Child, timeout: Option<Duration>, grace: Duration) -> Result<Ended> {
    let start = Instant::now();
    let mut reason = None;
    loop {
        if let Some(st) = child.try_wait()? {
            return Ok(match reason {
                None => Ended::Exited(st),
                Some(r) => r,
            });
        }
        if reason.is_none() {
            if interrupted() {
                reason = Some(Ended::Interrupted);
            } else if timeout.is_some_and(|t| start.elapsed() > t) {
                reason = Some(Ended::TimedOut);
            }
            if let Some(r) = reason {
                kill_group(child.id(), Signal::INT);
                let deadline = Instant::now() + grace;
                while Instant::now() < deadline {
                    if child.try_wait()?.is_some() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                if child.try_wait()?.is_none() {
                    kill_group(child.id(), Signal::KILL);
                }
                child.wait()?;
                return Ok(r);
            }
        }
        // Short: the caller times the child's start-to-exit (a per-job fixed
        // cost of ~0.3 s is one of the things measured).
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Signals the process group `pid` leads (a child started with [`command`]).
fn kill_group(pid: u32, sig: Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        // ESRCH: the group is gone already.
        let _ = kill_process_group(pid, sig);
    }
}

/// `sync; echo 3 > /proc/sys/vm/drop_caches`.
pub fn drop_caches() -> Result<()> {
    rustix::fs::sync();
    std::fs::write("/proc/sys/vm/drop_caches", "3\n").context("writing /proc/sys/vm/drop_caches")
}

type Step = Box<dyn FnOnce() -> Result<()>>;

/// Teardown actions run in reverse order of registration when dropped
/// (normal end, error, panic unwind, or after an interrupt).
#[derive(Default)]
pub struct Teardown {
    steps: Vec<(String, Step)>,
    pub verbose: bool,
}

impl Teardown {
    pub fn push(&mut self, what: impl Into<String>, f: impl FnOnce() -> Result<()> + 'static) {
        self.steps.push((what.into(), Box::new(f)));
    }

    /// Runs every step now; returns the failures.
    pub fn run(&mut self) -> Vec<anyhow::Error> {
        let mut errors = Vec::new();
        while let Some((what, f)) = self.steps.pop() {
            if self.verbose {
                eprintln!("teardown: {what}");
            }
            if let Err(e) = f() {
                eprintln!("teardown: {what} failed: {e:#}");
                errors.push(anyhow!("{what}: {e:#}"));
            }
        }
        errors
    }
}

impl Drop for Teardown {
    fn drop(&mut self) {
        self.run();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[test]
    fn teardown_runs_in_reverse_even_after_a_failure() {
        let log = Rc::new(RefCell::new(Vec::new()));
        {
            let mut t = Teardown::default();
            for i in 0..3 {
                let l = log.clone();
                t.push(format!("step {i}"), move || {
                    l.borrow_mut().push(i);
                    if i == 1 {
                        bail!("boom");
                    }
                    Ok(())
                });
            }
        }
        assert_eq!(*log.borrow(), vec![2, 1, 0]);
    }

    #[test]
    fn run_reports_failures_and_no_shell_is_involved() {
        let mut c = command("printf");
        c.arg("%s").arg("a;b $(x)");
        assert_eq!(run(c).unwrap().stdout, "a;b $(x)");
        let e = run(command("false")).unwrap_err();
        assert!(e.to_string().contains("`false` failed"), "{e}");
    }

    #[test]
    fn watch_times_out_and_kills_the_group() {
        let mut c = command("sleep");
        c.arg("30");
        let mut child = c.spawn().unwrap();
        let t = Instant::now();
        let ended = watch(
            &mut child,
            Some(Duration::from_millis(200)),
            Duration::from_secs(2),
        )
        .unwrap();
        assert!(matches!(ended, Ended::TimedOut), "{ended:?}");
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    const SIGNAL_CHILD_ENV: &str = "GLUSTERRS_SYS_SIGNAL_CHILD";

    #[test]
    fn signals_set_the_flag_and_the_exit_code() {
        // The flag is process-wide: the signal is raised in a child copy of
        // this test binary, so that the other tests here stay uninterrupted.
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "sys::tests::raise_sigterm_in_this_process",
                "--ignored",
                "--test-threads=1",
            ])
            .env(SIGNAL_CHILD_ENV, "1")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        assert!(text.contains("1 passed"), "{text}");
    }

    #[test]
    #[ignore = "raises SIGTERM in its own process; run by signals_set_the_flag_and_the_exit_code"]
    fn raise_sigterm_in_this_process() {
        if std::env::var_os(SIGNAL_CHILD_ENV).is_none() {
            return;
        }
        install_signal_handlers().unwrap();
        assert!(!interrupted() && signal().is_none());
        rustix::process::kill_process(rustix::process::getpid(), Signal::TERM).unwrap();
        let t = Instant::now();
        while !interrupted() && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(interrupted(), "SIGTERM did not set the flag");
        assert!(interrupt_flag().load(Ordering::SeqCst));
        assert_eq!(signal(), Some(SIGTERM));
        assert_eq!(interrupted_exit_code(), 143);
        assert_eq!(Interrupted.to_string(), "interrupted by SIGTERM");
        assert!(check_interrupted().is_err());
    }
}
