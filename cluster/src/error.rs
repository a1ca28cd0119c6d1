//! Typed errors of the crate.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while bringing GlusterFS pieces up or down.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The program could not be started at all (not installed, not executable, ...).
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        /// Program that failed to start.
        program: String,
        /// Underlying OS error.
        #[source]
        source: io::Error,
    },
    /// The command ran and exited unsuccessfully.
    #[error("`{command}` failed ({status}): {detail}")]
    Command {
        /// The command line, for humans (arguments quoted when needed).
        command: String,
        /// Exit status as text (`exit status: 1`, `signal: 9`).
        status: String,
        /// What the command said (stderr, or stdout when stderr is empty).
        detail: String,
    },
    /// The command did not finish in time and was killed.
    #[error("`{command}` did not finish within {timeout:?} (killed)")]
    CommandTimeout {
        /// The command line, for humans.
        command: String,
        /// The limit that was exceeded.
        timeout: Duration,
    },
    /// Waiting for a condition (daemon answering, mount appearing, ...) timed out.
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long we waited.
        timeout: Duration,
    },
    /// A filesystem operation failed.
    #[error("{op} {path:?}: {source}")]
    Io {
        /// The operation (`create dir`, `remove dir`, `write`, ...).
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// Underlying OS error.
        #[source]
        source: io::Error,
    },
    /// A caller-supplied value cannot be used (bad volume name, brick path with spaces, ...).
    #[error("invalid {what} {value:?}: {reason}")]
    Invalid {
        /// Kind of value (`volume name`, `brick path`, ...).
        what: &'static str,
        /// The offending value.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// The caller's [`crate::Interrupt`] was set; what was done has been undone.
    #[error("interrupted before {next} (what was done is undone)")]
    Interrupted {
        /// The step that was not taken.
        next: String,
    },
    /// The machine lacks something a [`crate::Cluster`] needs (network namespaces, bridge
    /// or veth support, a tool).
    #[error("cannot build a cluster here: {missing} is missing: {detail}")]
    Unsupported {
        /// What is missing.
        missing: String,
        /// How that showed.
        detail: String,
    },
    /// A command answered with output we could not understand.
    #[error("unexpected output from `{command}`: {detail}")]
    Parse {
        /// The command line, for humans.
        command: String,
        /// What was wrong.
        detail: String,
    },
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(
        what: &'static str,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Error {
        Error::Invalid {
            what,
            value: value.into(),
            reason: reason.into(),
        }
    }
}
