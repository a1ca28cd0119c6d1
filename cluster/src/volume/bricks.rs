//! The brick processes (`glusterfsd`) of a [`Volume`]: their status, killing one and
//! restarting it, waiting for them to come up or go away, and the sockets and logs they
//! leave behind.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Volume;
use crate::cmd::{gluster, wait_for, Cmd, Interrupt};
use crate::error::{Error, Result};
use crate::procfs::{self, gluster_log_name, pid_alive, pid_exists};
use crate::xml;

/// Where glusterd's brick processes write their logs.
pub(crate) const BRICK_LOG_DIR: &str = "/var/log/glusterfs/bricks";
/// glusterd's runtime directory (pid files, brick sockets).
pub(crate) const RUN_DIR: &str = "/var/run/gluster";

const ONLINE_TIMEOUT: Duration = Duration::from_secs(30);
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// State of one brick as `gluster volume status --xml` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrickStatus {
    /// Brick host as given at creation (the machine's host name).
    pub host: String,
    /// Brick directory.
    pub path: PathBuf,
    /// Whether the brick process is up.
    pub online: bool,
    /// TCP port the brick listens on, when online.
    pub port: Option<u16>,
    /// Pid of the brick process (`glusterfsd`), when online.
    pub pid: Option<u32>,
}

impl Volume {
    /// Status of each brick, in the order of [`Volume::bricks`].
    pub fn status(&self) -> Result<Vec<BrickStatus>> {
        let args = ["volume", "status", &self.name, "--xml"];
        let out = match gluster(args) {
            Ok(out) => out,
            // A stopped volume answers with a failure; nothing is online then.
            Err(Error::Command { detail, .. }) if detail.contains("is not started") => {
                return Ok(self.offline_status())
            }
            Err(e) => return Err(e),
        };
        let op_ret = xml::first(&out.stdout, "opRet");
        if op_ret.as_deref() != Some("0") {
            let err = xml::first(&out.stdout, "opErrstr").unwrap_or_default();
            if err.contains("is not started") {
                return Ok(self.offline_status());
            }
            return Err(Error::Parse {
                command: format!("gluster volume status {} --xml", self.name),
                detail: format!("opRet {op_ret:?}: {err}"),
            });
        }
        let nodes = xml::elements(&out.stdout, "node");
        let mut result = self.offline_status();
        for node in nodes {
            let path = xml::first(node, "path").unwrap_or_default();
            let Some(slot) = result
                .iter_mut()
                .find(|s| s.path.as_os_str() == path.as_str())
            else {
                continue; // self-heal daemon and friends
            };
            let online = xml::first(node, "status").as_deref() == Some("1");
            slot.online = online;
            slot.port = xml::first(node, "port")
                .and_then(|p| p.parse().ok())
                .filter(|p| *p != 0 && online);
            slot.pid = xml::first(node, "pid")
                .and_then(|p| p.parse::<i64>().ok())
                .filter(|p| *p > 0 && online)
                .and_then(|p| u32::try_from(p).ok());
            if let Some(sock) = slot.pid.and_then(|p| brick_socket(&self.name, p)) {
                let mut known = self.sockets.lock().unwrap_or_else(|e| e.into_inner());
                if !known.contains(&sock) {
                    known.push(sock);
                }
            }
        }
        Ok(result)
    }

    fn offline_status(&self) -> Vec<BrickStatus> {
        self.bricks
            .iter()
            .map(|b| BrickStatus {
                host: self.host.clone(),
                path: b.clone(),
                online: false,
                port: None,
                pid: None,
            })
            .collect()
    }

    /// Pid of each brick process (`None` for a brick that is down), in brick order.
    pub fn brick_pids(&self) -> Result<Vec<Option<u32>>> {
        Ok(self.status()?.into_iter().map(|s| s.pid).collect())
    }

    /// TCP port of brick `index`, `None` when it is down.
    pub fn brick_port(&self, index: usize) -> Result<Option<u16>> {
        self.check_index(index)?;
        Ok(self.status()?[index].port)
    }

    /// Kills brick `index` with SIGKILL (a crash, as a fault test wants) and waits until
    /// the process is gone (and, best effort, reaped). Bring it back with
    /// [`Volume::start_force`].
    pub fn stop_brick(&self, index: usize) -> Result<()> {
        self.check_index(index)?;
        let Some(pid) = self.status()?[index].pid else {
            return Ok(());
        };
        Cmd::new("kill")
            .args(["-s", "KILL", &pid.to_string()])
            .timeout(Duration::from_secs(10))
            .run()?;
        wait_for(
            || format!("brick {index} (pid {pid}) of {} to exit", self.name),
            EXIT_TIMEOUT,
            || (!pid_alive(pid)).then_some(()),
        )?;
        // Until its parent reaps it, glusterd takes the zombie for a running brick.
        let _ = wait_for(String::new, EXIT_TIMEOUT, || {
            (!pid_exists(pid)).then_some(())
        });
        Ok(())
    }

    /// Waits for the brick processes `pids` (taken before a stop) to exit.
    pub(super) fn wait_exited(&self, pids: &[u32]) -> Result<()> {
        for &pid in pids {
            wait_for(
                || format!("brick process {pid} of {} to exit", self.name),
                EXIT_TIMEOUT,
                || (!pid_alive(pid)).then_some(()),
            )?;
        }
        Ok(())
    }

    /// `gluster volume start NAME force` (restarts dead bricks) and waits until every
    /// brick is online, repeating the start every 2 s meanwhile: glusterd skips a brick
    /// whose dead process is not reaped yet.
    pub fn start_force(&self) -> Result<()> {
        let mut last_err = None;
        let res = wait_for(
            || format!("all bricks of volume {} to come online", self.name),
            ONLINE_TIMEOUT,
            || {
                if let Err(e) = gluster(["volume", "start", &self.name, "force"]) {
                    last_err = Some(e);
                    return None;
                }
                let end = std::time::Instant::now() + Duration::from_secs(2);
                while std::time::Instant::now() < end {
                    match self.status() {
                        Ok(st) if st.iter().all(|s| s.online && s.port.is_some()) => {
                            return Some(())
                        }
                        Ok(_) => {}
                        Err(e) => last_err = Some(e),
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                None
            },
        );
        res.map_err(|e| last_err.unwrap_or(e))
    }

    fn check_index(&self, index: usize) -> Result<()> {
        if index >= self.bricks.len() {
            return Err(Error::invalid(
                "brick index",
                index.to_string(),
                format!("volume {} has {} bricks", self.name, self.bricks.len()),
            ));
        }
        Ok(())
    }

    pub(super) fn wait_online(&self, interrupt: &Interrupt) -> Result<()> {
        let mut last = None;
        wait_for(
            || format!("all bricks of volume {} to come online", self.name),
            ONLINE_TIMEOUT,
            || match self.status() {
                _ if interrupt.is_set() => {
                    last = Some(Error::Interrupted {
                        next: format!("the bricks of volume {} came online", self.name),
                    });
                    Some(())
                }
                Ok(st) if st.iter().all(|s| s.online && s.port.is_some()) => Some(()),
                Ok(_) => None,
                Err(e) => {
                    last = Some(e);
                    None
                }
            },
        )
        .map_err(|e| last.take().unwrap_or(e))?;
        match last {
            Some(e @ Error::Interrupted { .. }) => Err(e),
            _ => Ok(()),
        }
    }
}

/// The `-S /var/run/gluster/HASH.socket` argument of brick process `pid` of `volume`.
pub(crate) fn brick_socket(volume: &str, pid: u32) -> Option<PathBuf> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let argv: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
    let id_prefix = format!("{volume}.");
    let ours = argv
        .windows(2)
        .any(|w| w[0] == b"--volfile-id" && w[1].starts_with(id_prefix.as_bytes()))
        && argv.iter().any(|a| *a == b"--brick-name");
    if !ours {
        return None;
    }
    let at = argv.iter().position(|a| *a == b"-S")?;
    let sock = PathBuf::from(String::from_utf8_lossy(argv.get(at + 1)?).into_owned());
    let in_run_dir = sock.starts_with(RUN_DIR) || sock.starts_with("/run/gluster");
    let is_socket = sock.extension().is_some_and(|e| e == "socket");
    (in_run_dir && is_socket).then_some(sock)
}

/// After `volume delete`, glusterd leaves the brick sockets and an empty
/// `/var/run/gluster/vols/NAME`; remove those of our volume (rmdir only if empty; a socket
/// only once no live process names it, e.g. a multiplexed brick serving other volumes).
pub(crate) fn remove_run_leftovers(volume: &str, sockets: &[PathBuf]) {
    for s in sockets {
        let want = s.to_string_lossy().into_owned();
        if procfs::pids_by_cmdline(|argv| argv.contains(&want)).is_empty() {
            let _ = fs::remove_file(s);
        }
    }
    let _ = fs::remove_dir(Path::new(RUN_DIR).join("vols").join(volume));
}

/// Removes the logs glusterd's brick processes wrote for these (our, uniquely named) bricks.
pub(crate) fn remove_brick_logs(bricks: &[PathBuf]) {
    for b in bricks {
        let log = Path::new(BRICK_LOG_DIR).join(gluster_log_name(b));
        let _ = fs::remove_file(log);
    }
}
