// SPDX-License-Identifier: GPL-2.0-or-later
//! Scratch space, names and what exists on the machine (mounts, volumes,
//! processes): what the cases compare before and after a run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub static SEQ: AtomicUsize = AtomicUsize::new(0);

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A volume name `cleanup_stale("gbench")` recognises if we die.
pub fn volume_name(tag: &str) -> String {
    format!(
        "gbench-fault{tag}-{}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst),
        now()
    )
}

pub fn mounts() -> Vec<(String, String, String)> {
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((
                w.next()?.to_string(),
                w.next()?.to_string(),
                w.next()?.to_string(),
            ))
        })
        .collect()
}

/// A scratch directory under /var/tmp (bricks/, results/, cwd), removed on
/// drop; anything still mounted below is lazily unmounted first so that
/// removing it can never reach into a volume.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let p = PathBuf::from("/var/tmp").join(format!(
            "grs-fault-h{tag}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(p.join("bricks")).unwrap();
        Scratch(p)
    }
    pub fn bricks(&self) -> PathBuf {
        self.0.join("bricks")
    }
    pub fn results(&self) -> PathBuf {
        self.0.join("results")
    }
}

/// FUSE client logs glusterfs wrote for mounts below the scratch dir
/// (`/var/log/glusterfs/<mountpoint with / as ->.log`).
pub fn client_logs_under(dir: &Path) -> Vec<PathBuf> {
    let stem = dir
        .to_string_lossy()
        .trim_start_matches('/')
        .replace('/', "-");
    std::fs::read_dir("/var/log/glusterfs")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&stem))
        })
        .collect()
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Logs of mounts made below our scratch dir are ours to remove.
        for l in client_logs_under(&self.0) {
            let _ = std::fs::remove_file(l);
        }
        let prefix = self.0.to_string_lossy().to_string();
        for (_, mp, _) in mounts() {
            if mp.starts_with(&prefix) {
                let _ = Command::new("umount").args(["-l", &mp]).status();
            }
        }
        if mounts().iter().any(|(_, mp, _)| mp.starts_with(&prefix)) {
            eprintln!("not removing {}: still mounted", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn volumes() -> Vec<String> {
    let out = Command::new("gluster")
        .args(["--mode=script", "volume", "list"])
        .output()
        .expect("gluster volume list");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

pub fn volume_started(name: &str) -> bool {
    let out = Command::new("gluster")
        .args(["--mode=script", "volume", "info", name])
        .output()
        .expect("gluster volume info");
    String::from_utf8_lossy(&out.stdout).contains("Status: Started")
}

pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    pub comm: String,
    pub cmdline: String,
    /// Exited, waiting to be reaped.
    pub zombie: bool,
    /// In this process's pid namespace (not a sandbox's).
    pub ours: bool,
}

pub fn processes() -> Vec<Proc> {
    let my_ns = std::fs::read_link("/proc/self/ns/pid").ok();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let (Some(l), Some(r)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[l + 1..r].to_string();
        let mut rest = stat[r + 1..].split_whitespace();
        let zombie = rest.next() == Some("Z");
        let ppid = rest.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let ours = std::fs::read_link(e.path().join("ns/pid")).ok() == my_ns;
        let cmdline = std::fs::read(e.path().join("cmdline"))
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .unwrap_or_default();
        out.push(Proc {
            pid,
            ppid,
            comm,
            cmdline,
            zombie,
            ours,
        });
    }
    out
}

/// Live glusterds of our pid namespace (a sandbox's are not ours).
pub fn glusterd_pids() -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|p| p.comm == "glusterd" && p.ours && !p.zombie)
        .map(|p| p.pid)
        .collect()
}

pub fn descendants(root: u32) -> Vec<Proc> {
    let all = processes();
    let mut set: BTreeSet<u32> = [root].into();
    loop {
        let before = set.len();
        for p in &all {
            if set.contains(&p.ppid) {
                set.insert(p.pid);
            }
        }
        if set.len() == before {
            break;
        }
    }
    all.into_iter()
        .filter(|p| p.pid != root && set.contains(&p.pid))
        .collect()
}
