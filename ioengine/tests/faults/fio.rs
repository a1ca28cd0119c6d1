// SPDX-License-Identifier: GPL-2.0-or-later
//! fio processes for the fault cases: start, wait with a limit, judge the
//! outcome (no crash, failed cleanly and in time, output names the cause).

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::engine_arg;
use crate::fault_runner::Log;

pub static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A running fio; killed (SIGKILL) and reaped if dropped while running.
pub struct Fio {
    pub child: Option<Child>,
    pub out: PathBuf,
    pub err: PathBuf,
    pub start: Instant,
}

/// How a fio run ended.
pub struct Outcome {
    pub status: ExitStatus,
    /// Seconds from the reference instant (start, or the fault) to the exit.
    pub secs: f64,
    pub stdout: String,
    pub stderr: String,
}

pub enum As {
    Root,
    Nobody,
}

pub fn spawn(dir: &Path, engine: bool, who: As, a: &[String]) -> Fio {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    let out = dir.join(format!("fio-{n}.out"));
    let err = dir.join(format!("fio-{n}.err"));
    let mut c = match who {
        As::Root => Command::new("fio"),
        As::Nobody => {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "fio"]);
            c
        }
    };
    if engine {
        c.arg(engine_arg());
    }
    c.args(a)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).expect("fio stdout file"))
        .stderr(fs::File::create(&err).expect("fio stderr file"));
    Fio {
        child: Some(c.spawn().expect("start fio")),
        out,
        err,
        start: Instant::now(),
    }
}

impl Fio {
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Waits at most `limit` (then kills); `secs` counts from `since`.
    pub fn wait_since(mut self, since: Instant, limit: Duration) -> Outcome {
        let mut child = self.child.take().expect("child");
        let status = loop {
            if let Some(st) = child.try_wait().expect("wait fio") {
                break st;
            }
            if since.elapsed() > limit {
                let _ = child.kill();
                let st = child.wait().expect("reap fio");
                let o = self.outcome(st, since);
                panic!(
                    "fio still running {:.0} s after the fault/start: killed\n{}",
                    limit.as_secs_f64(),
                    o.tail()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.outcome(status, since)
    }

    pub fn wait(self, limit: Duration) -> Outcome {
        let s = self.start;
        self.wait_since(s, limit)
    }

    pub fn outcome(&self, status: ExitStatus, since: Instant) -> Outcome {
        Outcome {
            status,
            secs: since.elapsed().as_secs_f64(),
            stdout: fs::read_to_string(&self.out).unwrap_or_default(),
            stderr: fs::read_to_string(&self.err).unwrap_or_default(),
        }
    }
}

impl Drop for Fio {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.status.success()
    }

    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The lines where fio and the engine state a cause.
    pub fn key_lines(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for l in self.text().lines().map(str::trim) {
            let keep = l.starts_with("glusterrs")
                || (l.starts_with("fio:") && !l.starts_with("fio: io_u error"))
                || l.contains("err=") && !l.contains("err= 0")
                || l.contains("out of range")
                || l.contains("failed parsing")
                || l.starts_with("error")
                || l.contains("you need to")
                || l.contains("too small")
                || l.contains("larger than");
            let first_io_u = l.starts_with("fio: io_u error")
                && !seen
                    .iter()
                    .any(|s: &String| s.starts_with("fio: io_u error"));
            if (keep || first_io_u) && !seen.iter().any(|s| s == l) {
                let mut s = l.to_string();
                if s.len() > 220 {
                    let mut cut = 220;
                    while !s.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    s.truncate(cut);
                    s.push('…');
                }
                seen.push(s);
            }
        }
        seen.truncate(4);
        seen
    }

    pub fn how(&self) -> String {
        match (self.status.code(), self.status.signal()) {
            (Some(c), _) => format!("exit {c}"),
            (None, Some(s)) => format!("KILLED BY SIGNAL {s}"),
            _ => "unknown end".into(),
        }
    }

    pub fn summary(&self) -> String {
        let mut s = format!("{} after {:.2} s", self.how(), self.secs);
        for l in self.key_lines() {
            s.push_str("\n  | ");
            s.push_str(&l);
        }
        s
    }

    pub fn tail(&self) -> String {
        let t = self.text();
        let lines: Vec<&str> = t.lines().collect();
        lines[lines.len().saturating_sub(25)..].join("\n")
    }
}

pub fn run_fio(dir: &Path, a: &[String]) -> Outcome {
    spawn(dir, true, As::Root, a).wait(Duration::from_secs(180))
}

/// No signal death, no core dump (by status or a core file in the cwd).
#[track_caller]
pub fn assert_no_crash(r: &Outcome, dir: &Path) {
    assert!(
        r.status.signal().is_none() && !r.status.core_dumped(),
        "fio died: {}\n{}",
        r.how(),
        r.tail()
    );
    // A job process killed by a signal is reported by fio's parent.
    assert!(
        !r.text().contains("got signal="),
        "a fio job died by a signal:\n{}",
        r.tail()
    );
    let cores: Vec<_> = fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("core"))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    assert!(cores.is_empty(), "core files: {cores:?}");
}

/// fio failed cleanly: non-zero exit, no crash, within `bound` seconds, and
/// its output names the cause (every needle present).
#[track_caller]
pub fn expect_failure(
    log: &mut Log,
    what: &str,
    r: &Outcome,
    dir: &Path,
    bound: f64,
    needles: &[&str],
) {
    log.say(format!("{what}: {}", r.summary()));
    log.check();
    assert_no_crash(r, dir);
    assert!(!r.ok(), "{what}: fio succeeded\n{}", r.tail());
    assert!(
        r.secs <= bound,
        "{what}: took {:.2} s (promise: {bound} s)\n{}",
        r.secs,
        r.tail()
    );
    let text = r.text();
    for n in needles {
        // "a|b": either.
        assert!(
            n.split('|').any(|alt| text.contains(alt)),
            "{what}: no '{n}' in the output:\n{}",
            r.tail()
        );
    }
}

#[track_caller]
pub fn expect_success(log: &mut Log, what: &str, r: &Outcome, dir: &Path) {
    log.say(format!("{what}: {}", r.summary()));
    log.check();
    assert_no_crash(r, dir);
    assert!(r.ok(), "{what}: fio failed\n{}", r.tail());
    for l in r.stdout.lines().filter(|l| l.contains("err=")) {
        assert!(l.contains("err= 0"), "{what}: job error: {l}\n{}", r.tail());
    }
}

/// The number after `"key" :` inside the first `"section" : {` of fio's JSON.
pub fn json_u64(json: &str, section: &str, key: &str) -> Option<u64> {
    let at = json.find(&format!("\"{section}\" : {{"))?;
    let rest = &json[at..];
    let k = rest.find(&format!("\"{key}\" :"))?;
    rest[k + key.len() + 4..]
        .trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}
