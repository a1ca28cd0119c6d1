// SPDX-License-Identifier: GPL-2.0-or-later
//! The safety checks of rpc-bypass: who else serves a brick directory
//! ([`brick_users`]), and the refusal to write behind their back (see "Safety
//! of the brick" in the module docs of `posix_bypass`).

use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Error, Result};

/// A process (or glusterd configuration) that serves a brick directory; see
/// [`brick_users`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrickUser {
    /// Process id, if a process was found (`None`: glusterd's configuration).
    pub pid: Option<u32>,
    /// Process name (`/proc/PID/comm`), or `"glusterd"` for a configured brick.
    pub process: String,
    /// How it uses the directory.
    pub reason: String,
}

impl fmt::Display for BrickUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "pid {pid} ({}) {}", self.process, self.reason),
            None => write!(f, "{}: {}", self.process, self.reason),
        }
    }
}

/// Who serves the brick directory `dir`, other than this process?
///
/// * a process started with `--brick-name DIR` (a `glusterfsd` brick
///   process; with brick multiplexing only the first brick is on the command
///   line, hence the next check);
/// * a process holding `DIR/.glusterfs` open — every `storage/posix`
///   instance does (brick processes, multiplexed or not, and rpc-bypass
///   clients in other processes). Processes whose `/proc/PID/fd` cannot be
///   read (other users, without root) are skipped;
/// * glusterd's configuration (`/var/lib/glusterd/vols/*/bricks/*`): a brick
///   of this node in a *started* volume, whose brick process glusterd may
///   (re)start at any time.
///
/// ```no_run
/// for u in gfapi::brick_users("/srv/brick1")? {
///     println!("in use: {u}");
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn brick_users(dir: impl AsRef<Path>) -> io::Result<Vec<BrickUser>> {
    let dir = std::fs::canonicalize(dir.as_ref())?;
    let hidden = dir.join(".glusterfs");
    let me = std::process::id();
    let mut users = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let proc_dir = entry.path();
        let comm = std::fs::read_to_string(proc_dir.join("comm"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        if let Ok(cmdline) = std::fs::read(proc_dir.join("cmdline")) {
            let mut args = cmdline.split(|b| *b == 0);
            let mut found = false;
            while let Some(a) = args.next() {
                if a == b"--brick-name" {
                    if let Some(p) = args.next() {
                        found |= same_path(Path::new(std::ffi::OsStr::from_bytes(p)), &dir);
                    }
                }
            }
            if found {
                users.push(BrickUser {
                    pid: Some(pid),
                    process: comm,
                    reason: format!("runs with --brick-name {}", dir.display()),
                });
                continue;
            }
        }
        let Ok(fds) = std::fs::read_dir(proc_dir.join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|t| t == hidden) {
                users.push(BrickUser {
                    pid: Some(pid),
                    process: comm.clone(),
                    reason: format!(
                        "holds {} open (a storage/posix instance: brick process or rpc-bypass client)",
                        hidden.display()
                    ),
                });
                break;
            }
        }
    }
    for (volume, started) in glusterd_bricks(&dir) {
        if started {
            users.push(BrickUser {
                pid: None,
                process: "glusterd".into(),
                reason: format!("{} is a brick of started volume '{volume}'", dir.display()),
            });
        }
    }
    Ok(users)
}

fn same_path(a: &Path, canonical: &Path) -> bool {
    a == canonical || std::fs::canonicalize(a).is_ok_and(|c| c == canonical)
}

/// Volumes of this node that have `dir` as a brick: `(name, started)`.
fn glusterd_bricks(dir: &Path) -> Vec<(String, bool)> {
    let base = Path::new("/var/lib/glusterd");
    let kv = |text: &str, key: &str| -> Option<String> {
        text.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
            .map(|v| v.trim().to_string())
    };
    let local_uuid = std::fs::read_to_string(base.join("glusterd.info"))
        .ok()
        .and_then(|t| kv(&t, "UUID"));
    let mut found = Vec::new();
    let Ok(vols) = std::fs::read_dir(base.join("vols")) else {
        return found;
    };
    for vol in vols.flatten() {
        let Ok(bricks) = std::fs::read_dir(vol.path().join("bricks")) else {
            continue;
        };
        let mut ours = false;
        for b in bricks.flatten() {
            let Ok(text) = std::fs::read_to_string(b.path()) else {
                continue;
            };
            let local = match (&local_uuid, kv(&text, "uuid")) {
                (Some(l), Some(u)) => *l == u,
                _ => true,
            };
            let matches = ["path", "real_path"]
                .iter()
                .filter_map(|k| kv(&text, k))
                .any(|p| same_path(Path::new(&p), dir));
            ours |= local && matches;
        }
        if ours {
            let started = std::fs::read_to_string(vol.path().join("info"))
                .ok()
                .and_then(|t| kv(&t, "status"))
                .is_some_and(|s| s == "1");
            found.push((vol.file_name().to_string_lossy().into_owned(), started));
        }
    }
    found
}

/// Does `DIR/.glusterfs/unlink` hold entries (which posix's init deletes)?
fn unlink_dir_nonempty(dir: &Path) -> bool {
    std::fs::read_dir(dir.join(".glusterfs").join("unlink"))
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
}

/// Refuse `dir` (canonical) if another process or glusterd serves it: always
/// for writing, and read-only too while `.glusterfs/unlink` holds entries.
/// `init_err` builds the error for a failed check.
pub(super) fn refuse_if_served(
    dir: &Path,
    read_only: bool,
    init_err: &dyn Fn(String, io::Error) -> Error,
) -> Result<()> {
    let users = brick_users(dir).map_err(|e| init_err("cannot check brick users".into(), e))?;
    if !users.is_empty() {
        let list = users
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        if !read_only {
            return Err(Error::BrickInUse {
                dir: dir.to_path_buf(),
                detail: format!(
                    "it is served by {list}; writing behind its back corrupts the volume \
                     (use read_only(true), or force(true) on a scratch brick)"
                ),
            });
        }
        if unlink_dir_nonempty(dir) {
            return Err(Error::BrickInUse {
                dir: dir.to_path_buf(),
                detail: format!(
                    "it is served by {list} and {}/.glusterfs/unlink is not empty: \
                     storage/posix's init would delete those entries even read-only \
                     (retry later, or force(true))",
                    dir.display()
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brick_users_of_a_fresh_dir_is_empty() {
        let d = std::env::temp_dir().join(format!("gfapi-bu-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        assert_eq!(brick_users(&d).unwrap(), Vec::new());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
