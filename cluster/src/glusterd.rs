//! The management daemon: make sure one runs, remember whether we started it.

use std::time::Duration;

use crate::cmd::{wait_for, Cmd};
use crate::error::{Error, Result};
use crate::procfs::{pid_alive, pids_by_comm};

/// Port glusterd serves volfiles on.
pub const GLUSTERD_PORT: u16 = 24007;
/// Host clients use to reach the local glusterd.
pub const SERVER_HOST: &str = "localhost";

/// How long glusterd may take to answer the CLI after it was started.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `stop` waits for glusterd to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A running glusterd, and whether this process started it.
///
/// Dropping it does nothing: glusterd is shared by every test and tool on the machine.
/// Call [`Glusterd::stop`] to stop it, which only acts if we started it.
#[derive(Debug)]
pub struct Glusterd {
    pid: Option<u32>,
    started_by_us: bool,
}

impl Glusterd {
    /// Makes sure glusterd runs and answers `gluster volume list`; starts `glusterd` if no
    /// process of that name exists. Waits at most 30 s for it to answer.
    pub fn ensure() -> Result<Glusterd> {
        if !Self::is_running() {
            let started = Cmd::new("glusterd").timeout(ANSWER_TIMEOUT).run();
            if let Err(e) = started {
                // Someone else may have started it at the same moment.
                if !Self::is_running() {
                    return Err(e);
                }
            } else {
                wait_answering()?;
                return Ok(Glusterd {
                    pid: pids_by_comm("glusterd").first().copied(),
                    started_by_us: true,
                });
            }
        }
        wait_answering()?;
        Ok(Glusterd {
            pid: pids_by_comm("glusterd").first().copied(),
            started_by_us: false,
        })
    }

    /// True when a process named `glusterd` runs (like `pgrep -x glusterd`).
    pub fn is_running() -> bool {
        !pids_by_comm("glusterd").is_empty()
    }

    /// True when [`Glusterd::ensure`] had to start the daemon.
    pub fn started_by_us(&self) -> bool {
        self.started_by_us
    }

    /// Pid of the daemon, when it could be found.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Stops glusterd (SIGTERM, waits up to 15 s) if, and only if, we started it.
    /// Brick processes of volumes are not touched; destroy volumes first.
    pub fn stop(self) -> Result<()> {
        if !self.started_by_us {
            return Ok(());
        }
        let Some(pid) = self.pid.filter(|p| pid_alive(*p)) else {
            return Ok(());
        };
        Cmd::new("kill")
            .args(["-s", "TERM", &pid.to_string()])
            .timeout(Duration::from_secs(10))
            .run()?;
        wait_for(
            || format!("glusterd (pid {pid}) to exit"),
            STOP_TIMEOUT,
            || (!pid_alive(pid)).then_some(()),
        )
    }
}

/// Starts glusterd if needed; see [`Glusterd::ensure`].
pub fn ensure_glusterd() -> Result<Glusterd> {
    Glusterd::ensure()
}

fn wait_answering() -> Result<()> {
    let probe = Cmd::new("gluster")
        .args(["--mode=script", "volume", "list"])
        .timeout(Duration::from_secs(10));
    let mut last = String::new();
    let res = wait_for(
        || "glusterd to answer `gluster volume list`".to_string(),
        ANSWER_TIMEOUT,
        || match probe.output() {
            Ok(out) if out.status.success() => Some(()),
            Ok(out) => {
                last = out.detail();
                None
            }
            Err(e) => {
                last = e.to_string();
                None
            }
        },
    );
    res.map_err(|e| match e {
        Error::Timeout { what, timeout } => Error::Timeout {
            what: format!("{what} (last answer: {last:?}; see /var/log/glusterfs/glusterd.log)"),
            timeout,
        },
        other => other,
    })
}
