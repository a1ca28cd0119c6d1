// SPDX-License-Identifier: GPL-2.0-or-later
//! Running the harness (`glusterrs-bench run`) for a case, waiting for a
//! stage, and listing what it left behind.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::fault_runner::poll;
use crate::scratch::*;
use crate::signals::{Sig, Stage, Target};
use crate::BIN;
use rustix::process::{kill_process, kill_process_group, Pid, Signal};

pub struct Bench {
    pub child: Child,
    pub lines: Arc<Mutex<Vec<String>>>,
    pub reader: Option<std::thread::JoinHandle<()>>,
}

/// Starts glusterrs-bench in its own process group (so a group signal
/// reaches exactly it and its children), stderr collected line by line.
pub fn start_bench(cwd: &Path, args: &[String]) -> Bench {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("start glusterrs-bench");
    let err = child.stderr.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l2 = lines.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            l2.lock().unwrap().push(line);
        }
    });
    Bench {
        child,
        lines,
        reader: Some(reader),
    }
}

impl Bench {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn pid_t(&self) -> Pid {
        Pid::from_raw(self.pid() as i32).expect("a child's pid is positive")
    }

    /// kill(2) on the child we started, or on its process group (it leads it).
    pub fn signal(&self, sig: Sig, target: Target) {
        let rc = match target {
            Target::Pid => kill_process(self.pid_t(), sig.signal()),
            Target::Group => kill_process_group(self.pid_t(), sig.signal()),
        };
        rc.unwrap_or_else(|e| panic!("kill {target:?} {}: {e}", sig.name()));
    }

    pub fn wait(mut self, limit: Duration) -> (ExitStatus, String, f64) {
        let t = Instant::now();
        let st = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            if t.elapsed() > limit {
                let _ = kill_process_group(self.pid_t(), Signal::KILL);
                let _ = self.child.wait();
                panic!(
                    "glusterrs-bench still running {limit:?} after the signal: killed\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        (st, self.log(), t.elapsed().as_secs_f64())
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = kill_process_group(self.pid_t(), Signal::KILL);
            let _ = self.child.wait();
        }
    }
}

/// A harness run on a new local volume `volume` with bricks in the scratch
/// dir: base and fuse setups, four 64 MiB files, three repeats (long
/// enough to catch every stage).
pub fn run_args(s: &Scratch, volume: &str, name: &str) -> Vec<String> {
    let jobs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../jobs/seq-read.fio");
    vec![
        "run".into(),
        "--size".into(),
        "64m".into(),
        "--repeat".into(),
        "3".into(),
        "--setups".into(),
        "base,fuse,bypass".into(),
        "--no-plots".into(),
        "--fio-timeout".into(),
        "120".into(),
        "--name".into(),
        name.into(),
        "--volume".into(),
        volume.into(),
        "--brick-dir".into(),
        s.bricks().display().to_string(),
        "--results".into(),
        s.results().display().to_string(),
        jobs.display().to_string(),
    ]
}

/// Waits until the run reaches `stage`; false if it ended first.
pub fn wait_stage(b: &mut Bench, stage: Stage, volume: &str) -> bool {
    let pid = b.pid();
    let vol_dir = Path::new("/var/lib/glusterd/vols").join(volume);
    let hit = poll(Duration::from_secs(180), || {
        if !b.running() {
            return Some(false);
        }
        let hit = match stage {
            // glusterd writes the volume's directory at `volume create`.
            Stage::BringUp => vol_dir.exists(),
            Stage::Layout | Stage::Measure => descendants(pid).iter().any(|p| {
                p.comm == "fio"
                    && p.cmdline.contains(".fio")
                    && p.cmdline.contains("-layout.fio") == (stage == Stage::Layout)
            }),
            Stage::Teardown => b
                .lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.starts_with("teardown:")),
        };
        hit.then_some(true)
    });
    hit == Some(true)
}

/// Everything the run may have left: returns what it found.
/// The CPU accounting cgroups of the run of pid `bench` (glusterrs-bench-PID-N).
pub fn cgroups_of(bench: u32) -> Vec<String> {
    let mut found = Vec::new();
    for root in [
        "/sys/fs/cgroup/cpuacct",
        "/sys/fs/cgroup",
        "/sys/fs/cgroup/unified",
    ] {
        for e in std::fs::read_dir(root).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().to_string();
            if n.starts_with(&format!("glusterrs-bench-{bench}-")) {
                found.push(format!("cgroup {}", e.path().display()));
            }
        }
    }
    found
}

pub fn leftovers(volume: &str, s: &Scratch, glusterd_before: &[u32], bench: u32) -> Vec<String> {
    let mut found = cgroups_of(bench);
    if volumes().iter().any(|v| v == volume) {
        found.push(format!("volume {volume}"));
    }
    if Path::new("/var/lib/glusterd/vols").join(volume).exists() {
        found.push(format!("/var/lib/glusterd/vols/{volume}"));
    }
    let prefix = s.0.to_string_lossy().to_string();
    for (src, mp, fstype) in mounts() {
        if mp.starts_with(&prefix) || (fstype.starts_with("fuse") && src.contains(volume)) {
            found.push(format!("mount {src} on {mp} ({fstype})"));
        }
    }
    // glusterd runs its post-delete hooks for a moment.
    let procs = poll(Duration::from_secs(20), || {
        let p: Vec<String> = processes()
            .into_iter()
            .filter(|p| p.cmdline.contains(volume) || p.cmdline.contains(&prefix))
            .map(|p| format!("process {} {}", p.pid, p.cmdline))
            .collect();
        p.is_empty().then_some(())
    });
    if procs.is_none() {
        found.extend(
            processes()
                .into_iter()
                .filter(|p| p.cmdline.contains(volume) || p.cmdline.contains(&prefix))
                .map(|p| format!("process {} {}", p.pid, p.cmdline)),
        );
    }
    for e in std::fs::read_dir(s.bricks())
        .into_iter()
        .flatten()
        .flatten()
    {
        let n = e.file_name().to_string_lossy().to_string();
        if n.starts_with("glusterrs-bench-") {
            found.push(format!("directory {}", e.path().display()));
        }
    }
    // Brick logs, and FUSE client logs (the cluster crate names them
    // glusterrs-mnt-PID-N-VOLUME.log in the temp dir).
    let client_logs = format!("glusterrs-mnt-{bench}-");
    for d in ["/tmp", "/var/tmp", "/var/log/glusterfs/bricks"] {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().to_string();
            if n.contains(volume) || n.starts_with(&client_logs) {
                found.push(format!("{}", e.path().display()));
            }
        }
    }
    // FUSE client logs glusterfs names after a mountpoint below the scratch
    // dir, in /var/log/glusterfs, when not told where to log.
    for l in client_logs_under(&s.0) {
        found.push(format!("FUSE client log {}", l.display()));
    }
    let now = glusterd_pids();
    if now != glusterd_before {
        found.push(format!(
            "glusterd changed: {glusterd_before:?} before, {now:?} after"
        ));
    }
    found
}
