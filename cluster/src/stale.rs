//! Removing what crashed earlier runs left behind.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cmd::{gluster, Cmd};
use crate::error::{Error, Result};
use crate::mount::{
    find_client_pid, wait_exit_or_term, CLIENT_LOG_DIR, CLIENT_LOG_SUFFIX, MOUNT_DIR_PREFIX,
};
use crate::names::parse_unique_name;
use crate::procfs::{creator_alive, gluster_log_name, is_mounted, mounts, pid_alive};
use crate::volume::{
    brick_socket, list_volumes, remove_brick_logs, remove_run_leftovers, OWNER_MARKER,
};
use crate::xml;

/// What [`cleanup_stale`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanupReport {
    /// Volumes stopped and deleted.
    pub volumes: Vec<String>,
    /// Mountpoints unmounted.
    pub mounts: Vec<PathBuf>,
    /// Directories removed (brick trees and empty mount directories).
    pub dirs: Vec<PathBuf>,
    /// FUSE client logs removed (`glusterrs-mnt-PID-N-VOLUME.log` in the temp dir).
    pub logs: Vec<PathBuf>,
}

impl CleanupReport {
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.volumes.is_empty()
            && self.mounts.is_empty()
            && self.dirs.is_empty()
            && self.logs.is_empty()
    }
}

/// Deletes volumes named `PREFIX[-MORE]-PID-COUNTER-TIME` (as
/// [`crate::unique_name`] makes them) when process PID no longer runs (or the pid now
/// belongs to a process started after the volume was named). Their FUSE mounts are
/// unmounted first, and their brick trees removed when they carry this crate's owner
/// marker. Brick trees and empty mount directories in the temp dir left by dead runs are
/// removed too. Volumes of live processes and any other volume are never touched.
/// Needs a running glusterd.
pub fn cleanup_stale(prefix: &str) -> Result<CleanupReport> {
    if prefix.is_empty() {
        return Err(Error::invalid("prefix", prefix, "must not be empty"));
    }
    let mut report = CleanupReport::default();
    let stale: Vec<String> = list_volumes()?
        .into_iter()
        .filter(|v| parse_unique_name(v, prefix).is_some_and(|(pid, _, t)| !creator_alive(pid, t)))
        .collect();

    let mut first_err: Option<Error> = None;
    for vol in &stale {
        if let Err(e) = remove_volume(vol, &mut report) {
            first_err.get_or_insert(e);
        }
    }

    // Trees of volumes that were never created or already deleted, in the temp dir.
    let tmp = std::env::temp_dir();
    let known = list_volumes().unwrap_or_default();
    if let Ok(entries) = fs::read_dir(&tmp) {
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let path = entry.path();
            if let Some((pid, _, t)) = parse_unique_name(&name, prefix) {
                if !creator_alive(pid, t) && !known.contains(&name) && owned_by(&path, &name) {
                    match fs::remove_dir_all(&path) {
                        Ok(()) => report.dirs.push(path),
                        Err(e) => {
                            first_err.get_or_insert(Error::io("remove dir", &path, e));
                        }
                    }
                }
            } else if let Some(rest) = name.strip_prefix(MOUNT_DIR_PREFIX) {
                let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
                let dead = pid.is_some_and(|p| !pid_alive(p));
                if let Some(stem) = name.strip_suffix(CLIENT_LOG_SUFFIX) {
                    // glusterrs-mnt-PID-N-VOLUME.log: the client log of a dead run's mount,
                    // once nothing is mounted on its mount directory any more.
                    let file = entry.file_type().is_ok_and(|t| t.is_file());
                    if dead && file && !is_mounted(&tmp.join(stem)) {
                        match fs::remove_file(&path) {
                            Ok(()) => report.logs.push(path),
                            Err(e) => {
                                first_err.get_or_insert(Error::io("remove", &path, e));
                            }
                        }
                    }
                } else if dead && fs::remove_dir(&path).is_ok() {
                    // glusterrs-mnt-PID-N-VOLUME: rmdir only removes it if empty (unmounted).
                    // Runs before the logs were moved out of /var/log/glusterfs left one there.
                    let _ =
                        fs::remove_file(Path::new(CLIENT_LOG_DIR).join(gluster_log_name(&path)));
                    report.dirs.push(path);
                }
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

fn remove_volume(vol: &str, report: &mut CleanupReport) -> Result<()> {
    // FUSE mounts of it: SOURCE is `host:/vol` or `host:vol`.
    for m in mounts()? {
        if !m.fstype.starts_with("fuse.glusterfs") {
            continue;
        }
        let src_vol = m
            .source
            .rsplit(':')
            .next()
            .unwrap_or("")
            .trim_start_matches('/');
        if src_vol != vol {
            continue;
        }
        let client = find_client_pid(&m.target);
        if Cmd::new("umount").arg(&m.target).run().is_err() {
            Cmd::new("umount").arg("-l").arg(&m.target).run()?;
        }
        if let Some(pid) = client {
            let _ = wait_exit_or_term(pid);
        }
        report.mounts.push(m.target.clone());
        let ours = m.target.parent() == Some(std::env::temp_dir().as_path())
            || m.target
                .parent()
                .and_then(|p| fs::canonicalize(p).ok())
                .zip(fs::canonicalize(std::env::temp_dir()).ok())
                .is_some_and(|(a, b)| a == b);
        let named_ours = m
            .target
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(MOUNT_DIR_PREFIX));
        if ours && named_ours && fs::remove_dir(&m.target).is_ok() {
            let _ = fs::remove_file(Path::new(CLIENT_LOG_DIR).join(gluster_log_name(&m.target)));
            report.dirs.push(m.target.clone());
            // Its client log, named after the directory (see FuseMount).
            let mut log = m.target.clone().into_os_string();
            log.push(CLIENT_LOG_SUFFIX);
            let log = PathBuf::from(log);
            if log.is_file() && fs::remove_file(&log).is_ok() {
                report.logs.push(log);
            }
        }
    }

    let bricks = volume_bricks(vol)?;
    let sockets = volume_sockets(vol, &bricks);
    match gluster(["volume", "stop", vol, "force"]) {
        Ok(_) => {}
        Err(Error::Command { detail, .. }) if detail.contains("is not in the started state") => {}
        Err(e) => return Err(e),
    }
    gluster(["volume", "delete", vol])?;
    report.volumes.push(vol.to_string());
    remove_run_leftovers(vol, &sockets);

    // Brick trees: the parent of the bricks, named after the volume, with our marker.
    let mut removed: Vec<PathBuf> = Vec::new();
    for b in &bricks {
        let Some(parent) = b.parent() else { continue };
        if removed.iter().any(|r| r == parent) {
            continue;
        }
        if parent.file_name().and_then(|n| n.to_str()) == Some(vol) && owned_by(parent, vol) {
            fs::remove_dir_all(parent).map_err(|e| Error::io("remove dir", parent, e))?;
            removed.push(parent.to_path_buf());
        }
    }
    if !removed.is_empty() {
        remove_brick_logs(&bricks);
    }
    report.dirs.extend(removed);
    Ok(())
}

/// Brick directories of a volume, from `gluster volume info NAME --xml`.
fn volume_bricks(vol: &str) -> Result<Vec<PathBuf>> {
    let out = gluster(["volume", "info", vol, "--xml"])?;
    Ok(xml::elements(&out.stdout, "brick")
        .into_iter()
        .filter_map(|b| {
            let name = xml::first(b, "name").unwrap_or_else(|| xml::leading_text(b));
            // HOST:PATH; paths cannot contain ':' (gluster refuses them).
            name.split_once(':').map(|(_, p)| PathBuf::from(p))
        })
        .collect())
}

/// Sockets of the running brick processes of `vol` (best effort; bricks only, never the
/// shared self-heal daemon).
fn volume_sockets(vol: &str, bricks: &[PathBuf]) -> Vec<PathBuf> {
    let Ok(out) = gluster(["volume", "status", vol, "--xml"]) else {
        return Vec::new();
    };
    xml::elements(&out.stdout, "node")
        .into_iter()
        .filter(|n| {
            xml::first(n, "path")
                .is_some_and(|p| bricks.iter().any(|b| b.as_os_str() == p.as_str()))
        })
        .filter_map(|n| xml::first(n, "pid")?.parse::<u32>().ok())
        .filter_map(|pid| brick_socket(vol, pid))
        .collect()
}

/// True when `dir` holds this crate's owner marker naming `volume`.
fn owned_by(dir: &Path, volume: &str) -> bool {
    fs::read_to_string(dir.join(OWNER_MARKER)).is_ok_and(|s| s.trim_end() == volume)
}
