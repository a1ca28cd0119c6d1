//! CPU time of a whole benchmark process tree and of the brick processes.
//!
//! fio's own `usr_cpu`/`sys_cpu` count only each job's thread
//! (`RUSAGE_THREAD`): the threads gfapi runs (epoll, io-threads, timers)
//! and a forked job whose rusage fio never collects are missing, so for
//! the gluster setups fio's number is not the CPU they cost. The harness
//! therefore runs every measured command inside its own cpuacct cgroup
//! (v1 `cpuacct.usage`, or v2 `cpu.stat` `usage_usec`), which counts every
//! thread of every descendant, and reads the brick processes' CPU from
//! `/proc/PID/stat` before and after.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result};

/// A cgroup that only the harness's measured commands join.
#[derive(Debug)]
pub struct CpuGroup {
    dir: PathBuf,
    v2: bool,
}

impl CpuGroup {
    /// Creates `glusterrs-bench-<pid>-<n>` under the cpuacct hierarchy (v1) or
    /// the unified one (v2). `Err` says why CPU cannot be accounted.
    pub fn create() -> Result<CpuGroup, String> {
        static N: AtomicU32 = AtomicU32::new(0);
        let v1 = Path::new("/sys/fs/cgroup/cpuacct");
        let (root, v2) = if v1.join("cpuacct.usage").is_file() {
            (v1.to_path_buf(), false)
        } else if Path::new("/sys/fs/cgroup/cgroup.controllers").is_file() {
            (PathBuf::from("/sys/fs/cgroup"), true)
        } else if Path::new("/sys/fs/cgroup/unified/cgroup.controllers").is_file() {
            (PathBuf::from("/sys/fs/cgroup/unified"), true)
        } else {
            return Err("no cpuacct cgroup hierarchy".into());
        };
        // The group must be ours alone: a harness in another pid namespace can
        // have the same pid, and a group left by a killed run has old usage.
        let dir = loop {
            let dir = root.join(format!(
                "glusterrs-bench-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            match std::fs::create_dir(&dir) {
                Ok(()) => break dir,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(format!("cannot create cgroup {}: {e}", dir.display())),
            }
        };
        let g = CpuGroup { dir, v2 };
        g.usage_s().map_err(|e| format!("{e:#}"))?;
        Ok(g)
    }

    /// CPU seconds used by every process that ever joined the group.
    pub fn usage_s(&self) -> Result<f64> {
        if self.v2 {
            let p = self.dir.join("cpu.stat");
            let text =
                std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            let us = text
                .lines()
                .find_map(|l| l.strip_prefix("usage_usec "))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .with_context(|| format!("no usage_usec in {}", p.display()))?;
            Ok(us as f64 / 1e6)
        } else {
            let p = self.dir.join("cpuacct.usage");
            let ns: u64 = std::fs::read_to_string(&p)
                .with_context(|| format!("reading {}", p.display()))?
                .trim()
                .parse()
                .with_context(|| format!("parsing {}", p.display()))?;
            Ok(ns as f64 / 1e9)
        }
    }

    /// `program args...`, started through `sh` so that it joins the group
    /// before it execs (its children and threads are then counted too).
    pub fn command(&self, program: &Path, args: &[impl AsRef<OsStr>]) -> Command {
        let mut c = crate::sys::command("/bin/sh");
        c.arg("-c")
            .arg("echo $$ > \"$0\" && exec \"$@\"")
            .arg(self.dir.join("cgroup.procs"))
            .arg(program)
            .args(args);
        c
    }

    /// Removes the (empty) group.
    pub fn remove(&self) -> Result<()> {
        match std::fs::remove_dir(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("removing cgroup {}", self.dir.display())),
        }
    }
}

/// CPU seconds (user + system, all threads) of the processes serving
/// `bricks` (glusterfsd started with `--brick-name BRICK`); `None` when no
/// such process runs.
pub fn bricks_cpu_s(bricks: &[PathBuf]) -> Option<f64> {
    let ticks = clock_ticks();
    let dir = std::fs::read_dir("/proc").ok()?;
    let mut total = 0u64;
    let mut found = false;
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(raw) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let argv: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
        let serves = argv.windows(2).any(|w| {
            w[0] == b"--brick-name"
                && bricks
                    .iter()
                    .any(|b| Path::new(OsStr::from_bytes(w[1])) == b)
        });
        if !serves {
            continue;
        }
        if let Some(t) = proc_cpu_ticks(pid) {
            total += t;
            found = true;
        }
    }
    found.then(|| total as f64 / ticks as f64)
}

/// utime + stime of a process (all its threads), in clock ticks.
fn proc_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: fields restart after ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3, so utime (14) and stime (15) are [11], [12].
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// `/proc` reports CPU times in USER_HZ, which the kernel ABI fixes at 100
/// on every Linux architecture (whatever CONFIG_HZ is).
fn clock_ticks() -> u64 {
    100
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_cpu_is_readable() {
        assert!(proc_cpu_ticks(std::process::id()).is_some());
        assert!(clock_ticks() > 0);
        assert_eq!(bricks_cpu_s(&[PathBuf::from("/no/such/brick")]), None);
    }

    #[test]
    fn group_counts_a_busy_child() {
        let Ok(g) = CpuGroup::create() else {
            eprintln!("no cgroup here; skipped");
            return;
        };
        let before = g.usage_s().unwrap();
        let st = g
            .command(
                Path::new("/bin/sh"),
                &["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"],
            )
            .status()
            .unwrap();
        assert!(st.success());
        let used = g.usage_s().unwrap() - before;
        g.remove().unwrap();
        assert!(used > 0.01, "{used}");
    }
}
