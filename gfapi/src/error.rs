// SPDX-License-Identifier: GPL-2.0-or-later
//! Typed errors for every fallible call in this crate.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, with enough context to act on it.
///
/// Initialisation problems have their own variants so callers can tell a typo
/// in the volume name from a dead server; every file-system operation failure
/// is an [`Error::Io`] carrying the gfapi call, the path (if any) and the
/// `errno` as a [`std::io::Error`].
///
/// ```
/// use gfapi::Error;
///
/// let e = Error::Io {
///     op: "glfs_open",
///     path: Some("/missing".into()),
///     source: std::io::Error::from_raw_os_error(libc::ENOENT),
/// };
/// assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
/// assert!(e.to_string().starts_with("glfs_open /missing: "));
/// // Converting to std::io::Error keeps the kind and the message.
/// let io: std::io::Error = e.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// glusterd answered but does not serve a volume with this name.
    #[error("volume '{volume}' not found on {servers}")]
    VolumeNotFound {
        /// Volume name given to [`crate::Volume::new`].
        volume: String,
        /// The volfile servers that were asked, e.g. `localhost:24007`.
        servers: String,
    },

    /// None of the volfile servers could be reached (nothing listening,
    /// unresolvable host, missing unix socket, ...).
    #[error("cannot reach volfile server {servers} for volume '{volume}': {source}")]
    ServerUnreachable {
        /// Volume name.
        volume: String,
        /// The volfile servers that were tried.
        servers: String,
        /// Why the last server could not be reached.
        source: io::Error,
    },

    /// The client volfile given to [`crate::Volume::volfile`] cannot be read.
    #[error("cannot read volfile {}: {source}", .path.display())]
    Volfile {
        /// Path of the volfile.
        path: PathBuf,
        /// Why it cannot be read.
        source: io::Error,
    },

    /// The custom volfile was read but is not a valid client volfile. It was
    /// rejected before gfapi saw it: libglusterfs 10.x leaves its (global)
    /// volfile parser broken after a parse failure, making every later
    /// `glfs_init` in the process fail.
    #[error("invalid volfile {}, line {line}: {reason}", .path.display())]
    InvalidVolfile {
        /// Path of the volfile.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong.
        reason: String,
    },

    /// `glfs_init` did not return within the configured
    /// [`crate::Volume::init_timeout`] (the server accepts connections but does
    /// not answer). The half-initialised instance is torn down in the
    /// background once gfapi gives up; see [`crate::wait_background_teardowns`].
    #[error("init of volume '{volume}' via {via} did not finish within {timeout:?} (server not responding?)")]
    InitTimeout {
        /// Volume name.
        volume: String,
        /// Volfile servers or volfile path.
        via: String,
        /// The timeout that expired.
        timeout: Duration,
    },

    /// `glfs_new`/`glfs_init` (or one of the setters before it) failed for any
    /// other reason; `detail` says what is known, `source` carries errno.
    #[error("init of volume '{volume}' via {via} failed{}: {source}", Detail(.detail))]
    Init {
        /// Volume name.
        volume: String,
        /// Volfile servers or volfile path.
        via: String,
        /// Likely cause or failing step (may be empty).
        detail: String,
        /// errno as an [`io::Error`].
        source: io::Error,
    },

    /// The [`crate::Volume`] description cannot be used as given (NUL byte in a
    /// string, both a volfile and servers, ...).
    #[error("invalid volume configuration: {0}")]
    InvalidConfig(String),

    /// A gfapi operation failed.
    #[error("{op}{}: {source}", OptPath(.path))]
    Io {
        /// The gfapi call, e.g. `"glfs_pwrite"`.
        op: &'static str,
        /// Path of the file or directory involved, if any.
        path: Option<PathBuf>,
        /// errno as an [`io::Error`] (`raw_os_error()` is set).
        source: io::Error,
    },

    /// [`crate::Fs::shutdown`] was called while other handles ([`crate::Fs`]
    /// clones or open [`crate::File`]s) still use the instance. Nothing was torn
    /// down yet; the last handle to go away does it (per [`crate::Teardown`]).
    #[error("shutdown: {others} other handle(s) (Fs clones or open Files) still use this volume")]
    InUse {
        /// Number of other strong references.
        others: usize,
    },

    /// rpc-bypass ([`crate::Volume::posix`]) refused a brick directory that a
    /// brick process (or another posix instance, or a started volume)
    /// serves; see [`crate::brick_users`].
    #[error("refusing to open brick {} in rpc-bypass mode: {detail}", .dir.display())]
    BrickInUse {
        /// The brick directory (canonical).
        dir: PathBuf,
        /// Who serves it and what to do.
        detail: String,
    },

    /// Not available with the installed GlusterFS (e.g. rpc-bypass on a
    /// version whose internals were not verified).
    #[error("unsupported: {0}")]
    Unsupported(String),
}

struct OptPath<'a>(&'a Option<PathBuf>);

impl fmt::Display for OptPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(p) => write!(f, " {}", p.display()),
            None => Ok(()),
        }
    }
}

struct Detail<'a>(&'a str);

impl fmt::Display for Detail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, " ({})", self.0)
        }
    }
}

impl Error {
    /// Build an [`Error::Io`] from the current thread's `errno`.
    pub(crate) fn last_os(op: &'static str, path: Option<&Path>) -> Error {
        Error::Io {
            op,
            path: path.map(Path::to_path_buf),
            source: last_errno_error(),
        }
    }

    /// Build an [`Error::Io`] with an explicit cause.
    pub(crate) fn io(op: &'static str, path: Option<&Path>, source: io::Error) -> Error {
        Error::Io {
            op,
            path: path.map(Path::to_path_buf),
            source,
        }
    }

    /// The OS error number behind this error, if there is one.
    ///
    /// ```
    /// let e = gfapi::Error::InUse { others: 1 };
    /// assert_eq!(e.raw_os_error(), None);
    /// ```
    pub fn raw_os_error(&self) -> Option<i32> {
        self.io_source().and_then(io::Error::raw_os_error)
    }

    /// The [`io::ErrorKind`] that best describes this error.
    ///
    /// ```
    /// let e = gfapi::Error::VolumeNotFound { volume: "x".into(), servers: "localhost:24007".into() };
    /// assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            Error::VolumeNotFound { .. } => io::ErrorKind::NotFound,
            Error::InitTimeout { .. } => io::ErrorKind::TimedOut,
            Error::InvalidConfig(_) => io::ErrorKind::InvalidInput,
            Error::InvalidVolfile { .. } => io::ErrorKind::InvalidData,
            Error::InUse { .. } | Error::BrickInUse { .. } => io::ErrorKind::Other,
            Error::Unsupported(_) => io::ErrorKind::Unsupported,
            Error::ServerUnreachable { source, .. }
            | Error::Volfile { source, .. }
            | Error::Init { source, .. }
            | Error::Io { source, .. } => source.kind(),
        }
    }

    /// The gfapi operation that failed, for [`Error::Io`].
    pub fn op(&self) -> Option<&'static str> {
        match self {
            Error::Io { op, .. } => Some(op),
            _ => None,
        }
    }

    /// The path involved, for [`Error::Io`], [`Error::Volfile`] and
    /// [`Error::InvalidVolfile`].
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::Io { path, .. } => path.as_deref(),
            Error::Volfile { path, .. } | Error::InvalidVolfile { path, .. } => Some(path),
            _ => None,
        }
    }

    fn io_source(&self) -> Option<&io::Error> {
        match self {
            Error::ServerUnreachable { source, .. }
            | Error::Volfile { source, .. }
            | Error::Init { source, .. }
            | Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Wraps the error in an [`io::Error`] of the same [`kind`](Error::kind) whose
/// message is the full context (`"glfs_open /f: No such file ..."`). The
/// original [`Error`] is available through [`io::Error::get_ref`] and
/// downcasting; use [`Error::raw_os_error`] *before* converting if you need the
/// errno number.
impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        io::Error::new(e.kind(), e)
    }
}

/// `errno` of the calling thread as an `io::Error`; `EIO` if errno is 0
/// (gfapi sometimes fails without setting it).
pub(crate) fn last_errno_error() -> io::Error {
    errno_error(io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

/// `io::Error` for `errno`, mapping the meaningless 0 to `EIO`.
pub(crate) fn errno_error(errno: i32) -> io::Error {
    io::Error::from_raw_os_error(if errno > 0 { errno } else { libc::EIO })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_formats() {
        let e = Error::VolumeNotFound {
            volume: "x".into(),
            servers: "localhost:24007".into(),
        };
        assert_eq!(e.to_string(), "volume 'x' not found on localhost:24007");

        let e = Error::Volfile {
            path: "/p".into(),
            source: io::Error::from_raw_os_error(libc::ENOENT),
        };
        assert!(e.to_string().starts_with("cannot read volfile /p: "));
        assert_eq!(e.path(), Some(Path::new("/p")));

        let e = Error::io("glfs_fsync", None, errno_error(0));
        assert!(e.to_string().starts_with("glfs_fsync: "), "{e}");
        assert_eq!(e.raw_os_error(), Some(libc::EIO));
        assert_eq!(e.op(), Some("glfs_fsync"));
    }

    #[test]
    fn into_io_error_keeps_kind_and_context() {
        let e = Error::io(
            "glfs_open",
            Some(Path::new("/a")),
            io::Error::from_raw_os_error(libc::EACCES),
        );
        let io: io::Error = e.into();
        assert_eq!(io.kind(), io::ErrorKind::PermissionDenied);
        assert!(io.to_string().contains("glfs_open /a"));
        let inner = io.get_ref().unwrap().downcast_ref::<Error>().unwrap();
        assert_eq!(inner.raw_os_error(), Some(libc::EACCES));
    }
}
