//! The checked settings one job runs with: what identifies its connection
//! ([`ConnSpec`], with [`PosixSpec`] for rpc-bypass) and how it submits
//! ([`EngineOptions`]).

use std::fmt;
use std::path::PathBuf;

use super::Server;

/// rpc-bypass (`posix=`): a brick directory opened in-process.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PosixSpec {
    pub dir: PathBuf,
    /// performance/io-threads workers above posix (0: none).
    pub io_threads: u32,
    pub read_only: bool,
    pub force: bool,
}

impl fmt::Display for PosixSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "brick {} in-process (rpc-bypass", self.dir.display())?;
        if self.read_only {
            f.write_str(", read-only")?;
        }
        if self.io_threads > 0 {
            write!(f, ", io-threads {}", self.io_threads)?;
        }
        if self.force {
            f.write_str(", forced")?;
        }
        f.write_str(")")
    }
}

/// Everything that identifies one gfapi connection; jobs whose specs are
/// equal can share it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnSpec {
    pub volume: String,
    pub servers: Vec<Server>,
    pub volfile: Option<PathBuf>,
    pub logfile: PathBuf,
    pub loglevel: i32,
    /// `posix=`: no servers, no volfile.
    pub posix: Option<PosixSpec>,
    /// `io_timeout=`: ping-timeout set on the protocol/client translators (0: unset).
    pub io_timeout: u32,
    /// `client_io_threads=1`: leave the client's performance/io-threads
    /// translator active (default: pass-through, see the option's help).
    pub client_io_threads: bool,
    /// write-behind's aggregation turned off (`aggregate-size 0`).
    pub write_aggregation_off: bool,
}

impl ConnSpec {
    /// The volume this spec reaches, without the client-side tuning that
    /// only changes how (files laid out through one are there for all, and
    /// the writes of all count against one volume's free space).
    pub fn volume_key(&self) -> ConnSpec {
        ConnSpec {
            logfile: PathBuf::new(),
            loglevel: 0,
            io_timeout: 0,
            client_io_threads: false,
            write_aggregation_off: false,
            ..self.clone()
        }
    }
}

impl fmt::Display for ConnSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.posix {
            return write!(f, "{p}");
        }
        match &self.volfile {
            Some(v) => write!(f, "volume '{}' from volfile {}", self.volume, v.display()),
            None => {
                write!(f, "volume '{}' on ", self.volume)?;
                for (i, s) in self.servers.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{s}")?;
                }
                Ok(())
            }
        }
    }
}

/// Submission mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoMode {
    Async,
    Sync,
}

/// The checked settings of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    pub conn: ConnSpec,
    pub single_instance: bool,
    pub io_mode: IoMode,
    pub write_aggregation: WriteAggregation,
    /// `posix=` only: threads of the job's own [`gfapi::IoPool`] that run
    /// reads and writes (0: none). Per job, so not part of the `ConnSpec`.
    pub posix_pool: u32,
}

/// `write_aggregation=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteAggregation {
    Auto,
    On,
    Off,
}
