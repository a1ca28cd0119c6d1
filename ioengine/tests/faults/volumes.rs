// SPDX-License-Identifier: GPL-2.0-or-later
//! Volumes for the fault cases: plain ones, ones on a small tmpfs (a disk
//! that fills up), the shared option-abuse volume, and stopping a brick.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::common::args;
use crate::fault_runner::poll;
use crate::fio::*;
use glusterrs_cluster::{Volume, VolumeSpec};

pub fn volume() -> Volume {
    Volume::create(VolumeSpec::new().prefix("grs-fault")).expect("create volume")
}

pub fn on(vol: &Volume, extra: &[&str]) -> Vec<String> {
    let mut a = vec![format!("--volume={}", vol.name())];
    a.extend(args(extra));
    a
}

/// Starts `job` through the engine on `vol`.
pub fn spawn_on(vol: &Volume, dir: &Path, who: As, job: &[&str]) -> Fio {
    spawn(dir, true, who, &on(vol, job))
}

/// Runs `job` through the engine on `vol`, as root.
pub fn run_on(vol: &Volume, dir: &Path, job: &[&str]) -> Outcome {
    run_fio(dir, &on(vol, job))
}

/// SIGKILLs the brick under a running `fio` and waits for fio to end; the
/// outcome's seconds count from the kill.
pub fn kill_brick_under(vol: &Volume, fio: Fio) -> Outcome {
    let t = Instant::now();
    vol.stop_brick(0).expect("kill brick");
    fio.wait_since(t, Duration::from_secs(60))
}

/// Starts `job` on `vol`, lets it run for `after`, then kills the brick.
pub fn kill_brick_after(vol: &Volume, dir: &Path, job: &[&str], after: Duration) -> Outcome {
    let mut fio = spawn_on(vol, dir, As::Root, job);
    std::thread::sleep(after);
    assert!(fio.running(), "fio ended early");
    kill_brick_under(vol, fio)
}

pub const TMPFS_PREFIX: &str = "grs-fault-tmpfs-";

/// A volume whose brick lives on a small tmpfs (a disk that fills up, and
/// a bound on what a runaway layout can write).
pub struct TmpfsVolume {
    pub vol: Option<Volume>,
    pub mnt: PathBuf,
}

pub static TMPFS_SEQ: AtomicUsize = AtomicUsize::new(0);

pub fn tmpfs_volume(size: &str) -> TmpfsVolume {
    tmpfs_volume_with(size, &[])
}

/// [`tmpfs_volume`] with volume options set before it starts.
pub fn tmpfs_volume_with(size: &str, options: &[(&str, &str)]) -> TmpfsVolume {
    let mnt = std::env::temp_dir().join(format!(
        "{TMPFS_PREFIX}{}-{}",
        std::process::id(),
        TMPFS_SEQ.fetch_add(1, Ordering::SeqCst)
    ));
    fs::create_dir_all(&mnt).expect("mkdir tmpfs mountpoint");
    let st = Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size},mode=0755"),
            "tmpfs",
        ])
        .arg(&mnt)
        .status()
        .expect("mount");
    assert!(st.success(), "mount tmpfs on {}", mnt.display());
    let mut t = TmpfsVolume { vol: None, mnt };
    t.vol = Some(
        Volume::create(options.iter().fold(
            VolumeSpec::new().prefix("grs-fault").brick_root(&t.mnt),
            |spec, (k, v)| spec.option(*k, *v),
        ))
        .expect("create volume on tmpfs"),
    );
    t
}

impl std::ops::Deref for TmpfsVolume {
    type Target = Volume;
    fn deref(&self) -> &Volume {
        self.vol.as_ref().expect("volume")
    }
}

pub fn unmount(mnt: &Path) {
    let _ = poll(Duration::from_secs(10), || {
        Command::new("umount")
            .arg(mnt)
            .stderr(Stdio::null())
            .status()
            .ok()
            .filter(|s| s.success())
            .map(|_| ())
    });
    let _ = fs::remove_dir(mnt);
}

impl Drop for TmpfsVolume {
    fn drop(&mut self) {
        drop(self.vol.take());
        unmount(&self.mnt);
    }
}

/// tmpfs bricks of runs that were killed (their pid is gone).
pub fn cleanup_stale_tmpfs() {
    let _ = glusterrs_cluster::cleanup_stale("grs-fault");
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let tmp = std::env::temp_dir();
    for mp in mounts.lines().filter_map(|l| l.split_whitespace().nth(1)) {
        let p = Path::new(mp);
        let Some(rest) = p
            .strip_prefix(&tmp)
            .ok()
            .and_then(|r| r.to_str())
            .and_then(|r| r.strip_prefix(TMPFS_PREFIX))
        else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
            unmount(p);
        }
    }
}

pub static ABUSE_VOLUME: OnceLock<Mutex<Option<TmpfsVolume>>> = OnceLock::new();

/// A shared tmpfs volume for the option-abuse cases (they only add files
/// with their own names; a 64 MiB brick bounds what a runaway layout can
/// write); removed by the runner's teardown.
pub fn abuse_volume() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let v = tmpfs_volume("64m");
        let name = v.name().to_string();
        let _ = ABUSE_VOLUME.set(Mutex::new(Some(v)));
        name
    })
}

/// SIGCONTs a stopped brick when dropped, so a failing case never leaves it
/// stopped (its volume's teardown would hang).
pub struct Resume(u32);

impl Drop for Resume {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.0.to_string()])
            .status();
    }
}

pub fn stop_process(pid: u32) -> Resume {
    let st = Command::new("kill")
        .args(["-STOP", &pid.to_string()])
        .status()
        .expect("kill -STOP");
    assert!(st.success());
    Resume(pid)
}

pub fn brick_pid(vol: &Volume) -> u32 {
    vol.brick_pids().expect("brick status")[0].expect("brick online")
}

pub fn file_size(p: &Path) -> u64 {
    fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// Writes `name` (`size`, in 64 KiB blocks) through the engine on `vol`.
pub fn layout(vol: &Volume, dir: &Path, name: &str, size: &str) {
    let r = run_on(
        vol,
        dir,
        &[
            &format!("--name={name}"),
            "--rw=write",
            "--bs=64k",
            &format!("--size={size}"),
        ],
    );
    assert!(r.ok(), "layout: {}", r.tail());
}
