// SPDX-License-Identifier: GPL-2.0-or-later
//! Minimal local GlusterFS test volumes for the gfapi integration tests.
//!
//! Deliberately self-contained (shells out to the `gluster` CLI) so it can be
//! swapped for the `glusterrs-cluster` crate later without touching the tests:
//! the tests only use [`TestVolume::create`], [`TestVolume::create_with`],
//! [`TestVolume::name`], [`TestVolume::mount`] and the `Drop` clean-up.
//!
//! Each volume gets a unique name `grs-gfapi-<pid>-<n>-<tag>` and a brick in
//! a fresh directory under the system temp dir. `Drop` stops and deletes the
//! volume and removes the brick directory. Volumes left behind by killed test
//! processes (their pid no longer exists) are removed when the next helper
//! starts.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

pub const PREFIX: &str = "grs-gfapi-";

static COUNTER: AtomicUsize = AtomicUsize::new(0);
static SETUP: Once = Once::new();

/// A started single-brick volume, removed on drop.
pub struct TestVolume {
    name: String,
    dir: PathBuf,
}

fn hostname() -> String {
    let out = Command::new("hostname").output().expect("run hostname");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Run `gluster --mode=script ARGS`, retrying while glusterd is busy with
/// another transaction (parallel tests and other users share one glusterd).
pub fn gluster(args: &[&str]) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut delay = Duration::from_millis(50);
    loop {
        let out = Command::new("gluster")
            .arg("--mode=script")
            .args(args)
            .output()
            .map_err(|e| format!("cannot run gluster: {e}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            return Ok(text);
        }
        let busy = text.contains("Another transaction is in progress")
            || text.contains("Locking failed")
            || text.contains("locking failed")
            || text.contains("Error : Request timed out");
        if !busy || Instant::now() > deadline {
            return Err(format!("gluster {}: {}", args.join(" "), text.trim()));
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(500));
    }
}

/// Start glusterd if it is not running and wait until the CLI answers.
pub fn ensure_glusterd() {
    SETUP.call_once(|| {
        let running = Command::new("pgrep")
            .args(["-x", "glusterd"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !running {
            let st = Command::new("glusterd").status().expect("start glusterd");
            assert!(st.success(), "glusterd failed to start");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while gluster(&["volume", "list"]).is_err() {
            assert!(Instant::now() < deadline, "glusterd did not come up");
            std::thread::sleep(Duration::from_millis(200));
        }
        remove_stale();
    });
}

/// Remove volumes (and bricks) created by test processes that no longer exist.
fn remove_stale() {
    let Ok(list) = gluster(&["volume", "list"]) else {
        return;
    };
    for name in list.lines().map(str::trim) {
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let _ = gluster(&["volume", "stop", name, "force"]);
        let _ = gluster(&["volume", "delete", name]);
        let _ = std::fs::remove_dir_all(std::env::temp_dir().join(name));
    }
}

impl TestVolume {
    /// Create and start a fresh volume.
    pub fn create(tag: &str) -> TestVolume {
        Self::create_with(tag, &[])
    }

    /// Create, set `options` (`gluster volume set`), and start a volume.
    pub fn create_with(tag: &str, options: &[(&str, &str)]) -> TestVolume {
        ensure_glusterd();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("{PREFIX}{}-{n}-{tag}", std::process::id());
        let dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&dir).expect("create brick parent dir");
        let vol = TestVolume { name, dir };
        let brick = format!("{}:{}", hostname(), vol.brick().display());
        gluster(&["volume", "create", &vol.name, &brick, "force"]).expect("volume create");
        for (k, v) in options {
            gluster(&["volume", "set", &vol.name, k, v]).expect("volume set");
        }
        gluster(&["volume", "start", &vol.name]).expect("volume start");
        vol
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn brick(&self) -> PathBuf {
        self.dir.join("brick")
    }

    /// Path of glusterd's generated client volfile for this volume.
    pub fn client_volfile(&self) -> PathBuf {
        PathBuf::from(format!(
            "/var/lib/glusterd/vols/{0}/{0}.tcp-fuse.vol",
            self.name
        ))
    }

    /// `gluster volume stop`.
    pub fn stop(&self) {
        gluster(&["volume", "stop", &self.name, "force"]).expect("volume stop");
    }

    /// Connect with gfapi (localhost:24007), torn down with `SkipFini` (the
    /// documented fast path: every File is closed before the last drop).
    pub fn mount(&self) -> gfapi::Fs {
        let fs = gfapi::Volume::new(&self.name)
            .init()
            .unwrap_or_else(|e| panic!("init {}: {e}", self.name));
        fs.set_teardown(gfapi::Teardown::SkipFini);
        fs
    }
}

impl Drop for TestVolume {
    fn drop(&mut self) {
        let _ = gluster(&["volume", "stop", &self.name, "force"]);
        if let Err(e) = gluster(&["volume", "delete", &self.name]) {
            eprintln!("warning: {e}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Number of open fds of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Number of threads of this process.
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Deterministic pseudo-random bytes (xorshift), so failures are repeatable.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
