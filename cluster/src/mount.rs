//! FUSE mounts of a volume through mount(8) / mount.glusterfs.

use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::cmd::{wait_for, Cmd};
use crate::error::{Error, Result};
use crate::names::validate_volume_name;
use crate::procfs::{is_mounted, pid_alive, pids_by_cmdline};
use crate::volume::Volume;

/// Prefix of the mount directories and client logs this crate creates in the temp dir.
pub(crate) const MOUNT_DIR_PREFIX: &str = "glusterrs-mnt-";
/// Where the FUSE client writes its log unless told otherwise
/// (`<mountpoint with / as ->.log`); this crate always tells it otherwise.
pub(crate) const CLIENT_LOG_DIR: &str = "/var/log/glusterfs";
/// Suffix of the client logs this crate creates (`glusterrs-mnt-PID-N-VOLUME.log`).
pub(crate) const CLIENT_LOG_SUFFIX: &str = ".log";

const MOUNT_TIMEOUT: Duration = Duration::from_secs(60);
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A FUSE mount made by this process. Dropping it (or [`FuseMount::unmount`]) unmounts
/// (lazily if the mount is busy), waits for the client process to exit and removes the
/// mount directory if this crate created it.
///
/// The FUSE client logs to a file this crate creates in the temp dir
/// (`glusterrs-mnt-PID-N-VOLUME.log`, see [`FuseMount::log_file`]) and removes at
/// unmount, so nothing accumulates in `/var/log/glusterfs`; [`FuseMount::unmount_saving_log`]
/// keeps a copy. A `log-file=PATH` mount option names the caller's own file instead,
/// which is left alone.
#[derive(Debug)]
pub struct FuseMount {
    path: PathBuf,
    volume: String,
    server: String,
    created_dir: bool,
    log: PathBuf,
    /// The log is a file this crate created (removed at unmount).
    own_log: bool,
    client_pid: Option<u32>,
    done: bool,
}

impl FuseMount {
    /// `mount -t glusterfs SERVER:/VOLUME DIR`. With `mountpoint: None`, DIR is a fresh
    /// directory `glusterrs-mnt-PID-N-VOLUME` in the temp dir. Returns once the mount is
    /// listed in /proc/mounts.
    pub fn mount(
        server_host: &str,
        volume: &str,
        mountpoint: Option<PathBuf>,
    ) -> Result<FuseMount> {
        Self::mount_with_options(server_host, volume, mountpoint, &[])
    }

    /// Like [`FuseMount::mount`] with `-o OPT,...` handed to mount.glusterfs
    /// (e.g. `direct-io-mode=enable`, or `log-file=PATH` for a log of the caller's own).
    pub fn mount_with_options(
        server_host: &str,
        volume: &str,
        mountpoint: Option<PathBuf>,
        options: &[&str],
    ) -> Result<FuseMount> {
        validate_volume_name(volume)?;
        if server_host.is_empty()
            || server_host
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '/' || c == ',')
        {
            return Err(Error::invalid(
                "server host",
                server_host,
                "must be a non-empty host name or address",
            ));
        }
        let mut callers_log = None;
        for o in options {
            if o.is_empty()
                || o.chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == ',')
            {
                return Err(Error::invalid(
                    "mount option",
                    *o,
                    "must be non-empty, without whitespace or ','",
                ));
            }
            if let Some(p) = o.strip_prefix("log-file=") {
                validate_log_path(Path::new(p))?;
                callers_log = Some(PathBuf::from(p));
            }
        }
        let tmp = std::env::temp_dir();
        let tmp = fs::canonicalize(&tmp).map_err(|e| Error::io("resolve", &tmp, e))?;
        let given = match mountpoint {
            Some(p) => {
                validate_mountpoint(&p)?;
                if !p.is_dir() {
                    return Err(Error::io(
                        "mount on",
                        &p,
                        std::io::Error::from(std::io::ErrorKind::NotFound),
                    ));
                }
                let p = fs::canonicalize(&p).map_err(|e| Error::io("resolve", &p, e))?;
                validate_mountpoint(&p)?;
                if is_mounted(&p) {
                    return Err(Error::invalid(
                        "mountpoint",
                        p.to_string_lossy(),
                        "something is already mounted there",
                    ));
                }
                Some(p)
            }
            None => None,
        };
        // A fresh name in the temp dir for the mount directory (when we make it) and the
        // log (unless the caller named one); both are created exclusively, so nothing of
        // anyone else's is ever taken over (and later removed).
        let (path, created_dir, log, own_log) = loop {
            let stem = tmp.join(format!(
                "{MOUNT_DIR_PREFIX}{}-{}-{volume}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            let (path, created_dir) = match &given {
                Some(p) => (p.clone(), false),
                None => {
                    validate_mountpoint(&stem)?;
                    match fs::create_dir(&stem) {
                        Ok(()) => (stem.clone(), true),
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                        Err(e) => return Err(Error::io("create dir", &stem, e)),
                    }
                }
            };
            if let Some(l) = &callers_log {
                break (path, created_dir, l.clone(), false);
            }
            let mut log = stem.into_os_string();
            log.push(CLIENT_LOG_SUFFIX);
            let log = PathBuf::from(log);
            let made = validate_log_path(&log).and_then(|()| {
                fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&log)
                    .map_err(|e| Error::io("create", &log, e))
            });
            match made {
                Ok(_) => break (path, created_dir, log, true),
                Err(e) => {
                    if created_dir {
                        let _ = fs::remove_dir(&path);
                    }
                    let exists = matches!(&e, Error::Io { source, .. }
                        if source.kind() == std::io::ErrorKind::AlreadyExists);
                    if !exists {
                        return Err(e);
                    }
                }
            }
        };
        let mut m = FuseMount {
            path,
            volume: volume.to_string(),
            server: server_host.to_string(),
            created_dir,
            log,
            own_log,
            client_pid: None,
            done: false,
        };
        let mut options: Vec<String> = options.iter().map(|o| o.to_string()).collect();
        if m.own_log {
            options.push(format!("log-file={}", m.log.display()));
        }
        match m.do_mount(&options) {
            Ok(()) => Ok(m),
            Err(e) => {
                let _ = m.teardown(None);
                Err(e)
            }
        }
    }

    fn do_mount(&mut self, options: &[String]) -> Result<()> {
        let mut cmd = Cmd::new("mount").args(["-t", "glusterfs"]);
        if !options.is_empty() {
            cmd = cmd.arg("-o").arg(options.join(","));
        }
        let cmd = cmd
            .arg(format!("{}:/{}", self.server, self.volume))
            .arg(&self.path)
            .timeout(MOUNT_TIMEOUT);
        if let Err(e) = cmd.run() {
            return Err(match e {
                Error::Command {
                    command,
                    status,
                    detail,
                } => Error::Command {
                    command,
                    status,
                    detail: format!("{detail}{}", self.log_tail()),
                },
                other => other,
            });
        }
        let path = self.path.clone();
        wait_for(
            || format!("{} to appear in /proc/mounts", path.display()),
            SETTLE_TIMEOUT,
            || is_mounted(&path).then_some(()),
        )?;
        self.client_pid = find_client_pid(&self.path);
        Ok(())
    }

    /// The mount directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The mounted volume's name.
    pub fn volume(&self) -> &str {
        &self.volume
    }

    /// Pid of the FUSE client process (`glusterfs`), when found.
    pub fn client_pid(&self) -> Option<u32> {
        self.client_pid
    }

    /// The FUSE client's log file (removed at unmount unless it was the caller's).
    pub fn log_file(&self) -> PathBuf {
        self.log.clone()
    }

    /// Unmounts now, reporting failures (Drop does the same but can only print them).
    pub fn unmount(mut self) -> Result<()> {
        self.teardown(None)
    }

    /// Unmounts like [`FuseMount::unmount`], then copies the client's complete log to
    /// `dest` (any path; no shell is involved) before removing it.
    pub fn unmount_saving_log(mut self, dest: &Path) -> Result<()> {
        self.teardown(Some(dest))
    }

    fn log_tail(&self) -> String {
        match fs::read_to_string(self.log_file()) {
            Ok(text) => {
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(5)..].join("\n");
                format!("\nlast lines of {}:\n{tail}", self.log_file().display())
            }
            Err(_) => String::new(),
        }
    }

    fn teardown(&mut self, save_log: Option<&Path>) -> Result<()> {
        if self.done {
            return Ok(());
        }
        self.done = true;
        let mut first_err = None;
        if is_mounted(&self.path) {
            let plain = Cmd::new("umount")
                .arg(&self.path)
                .timeout(Duration::from_secs(30))
                .run();
            if plain.is_err() {
                if let Err(e) = Cmd::new("umount")
                    .arg("-l")
                    .arg(&self.path)
                    .timeout(Duration::from_secs(30))
                    .run()
                {
                    first_err = Some(e);
                }
            }
            let path = self.path.clone();
            if let Err(e) = wait_for(
                || format!("{} to leave /proc/mounts", path.display()),
                SETTLE_TIMEOUT,
                || (!is_mounted(&path)).then_some(()),
            ) {
                first_err = first_err.or(Some(e));
            }
        }
        if let Some(pid) = self.client_pid {
            if let Err(e) = wait_exit_or_term(pid) {
                first_err = first_err.or(Some(e));
            }
        }
        let unmounted = !is_mounted(&self.path);
        if self.created_dir && unmounted {
            if let Err(e) = fs::remove_dir(&self.path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    first_err = first_err.or(Some(Error::io("remove dir", &self.path, e)));
                }
            }
        }
        if let Some(dest) = save_log {
            if let Err(e) = fs::copy(&self.log, dest) {
                first_err = first_err.or(Some(Error::io("copy log to", dest, e)));
            }
        }
        if self.own_log {
            // Created exclusively by us (see mount_with_options).
            if let Err(e) = fs::remove_file(&self.log) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    first_err = first_err.or(Some(Error::io("remove", &self.log, e)));
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for FuseMount {
    fn drop(&mut self) {
        if let Err(e) = self.teardown(None) {
            eprintln!(
                "glusterrs-cluster: unmount of {} failed: {e}",
                self.path.display()
            );
        }
    }
}

impl Volume {
    /// Mounts the volume with FUSE on a fresh temp directory.
    pub fn mount_fuse(&self) -> Result<FuseMount> {
        FuseMount::mount(self.server_host(), self.name(), None)
    }
}

/// The FUSE client serving `mountpoint`: a `glusterfs` process whose last argument is it.
pub(crate) fn find_client_pid(mountpoint: &Path) -> Option<u32> {
    let want = mountpoint.to_string_lossy().into_owned();
    pids_by_cmdline(|argv| {
        argv[0].rsplit('/').next() == Some("glusterfs") && argv.last() == Some(&want)
    })
    .first()
    .copied()
}

/// Waits for a FUSE client to exit after unmount; SIGTERM after 10 s, then 5 s more.
pub(crate) fn wait_exit_or_term(pid: u32) -> Result<()> {
    let gone = || (!pid_alive(pid)).then_some(());
    if wait_for(String::new, SETTLE_TIMEOUT, gone).is_ok() {
        return Ok(());
    }
    let _ = Cmd::new("kill")
        .args(["-s", "TERM", &pid.to_string()])
        .timeout(Duration::from_secs(10))
        .run();
    wait_for(
        || format!("FUSE client (pid {pid}) to exit"),
        Duration::from_secs(5),
        gone,
    )
}

/// mount.glusterfs is a shell script that pastes the log path into a command line with
/// `echo` and runs it unquoted (word splitting, globbing, backslash escapes): only plain
/// path characters are let through.
fn validate_log_path(path: &Path) -> Result<()> {
    let s = path.to_string_lossy();
    let bad = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/._+-@%=".contains(*c)));
    if !path.is_absolute() || bad.is_some() {
        return Err(Error::invalid(
            "FUSE client log path",
            s,
            match bad {
                Some(c) => format!(
                    "contains {c:?}; mount.glusterfs (a shell script) passes the log path \
                     through echo and word splitting: only letters, digits and /._+-@%= work"
                ),
                None => "must be absolute".to_string(),
            },
        ));
    }
    Ok(())
}

/// mount.glusterfs is a shell script that breaks on whitespace in the mountpoint.
fn validate_mountpoint(path: &Path) -> Result<()> {
    let Some(s) = path.to_str() else {
        return Err(Error::invalid(
            "mountpoint",
            path.to_string_lossy(),
            "not valid UTF-8",
        ));
    };
    if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(
            "mountpoint",
            s,
            format!("contains {c:?}; mount.glusterfs cannot handle whitespace in a mountpoint"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_input_without_side_effects() {
        assert!(FuseMount::mount("localhost", "bad name", None).is_err());
        assert!(FuseMount::mount("local host", "v", None).is_err());
        assert!(FuseMount::mount("localhost", "v", Some("/tmp/a b".into())).is_err());
        assert!(FuseMount::mount_with_options("localhost", "v", None, &["a,b"]).is_err());
        assert!(
            FuseMount::mount("localhost", "v", Some("/nonexistent/glusterrs/x".into())).is_err()
        );
        assert!(
            FuseMount::mount_with_options("localhost", "v", None, &["log-file=/tmp/a*b"]).is_err()
        );
        assert!(
            FuseMount::mount_with_options("localhost", "v", None, &["log-file=rel.log"]).is_err()
        );
    }

    #[test]
    fn log_paths() {
        validate_log_path(Path::new("/tmp/glusterrs-mnt-1-2-grs_v-3.log")).unwrap();
        for bad in [
            "/tmp/a b",
            "/tmp/a\\b",
            "/tmp/a;b",
            "/tmp/$(x)",
            "/tmp/a*",
            "x.log",
        ] {
            assert!(validate_log_path(Path::new(bad)).is_err(), "{bad}");
        }
    }
}
