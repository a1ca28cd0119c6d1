// SPDX-License-Identifier: GPL-2.0-or-later
//! [`Volume`]: the description of what to open (a volume name and its
//! volfile servers, a custom volfile, or a brick directory for rpc-bypass)
//! and its builder. It only describes; [`Volume::init`] (in `init.rs`) opens.

use std::ffi::CString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

/// gluster log levels for [`Volume::log_level`] (`gf_loglevel_t`).
pub mod log_level {
    /// No logging.
    pub const NONE: i32 = 0;
    /// System is unusable.
    pub const EMERG: i32 = 1;
    /// Action must be taken immediately.
    pub const ALERT: i32 = 2;
    /// Fatal errors.
    pub const CRITICAL: i32 = 3;
    /// Major failures (default of this crate).
    pub const ERROR: i32 = 4;
    /// Warnings.
    pub const WARNING: i32 = 5;
    /// Normal but significant.
    pub const NOTICE: i32 = 6;
    /// Informational (gluster's own default).
    pub const INFO: i32 = 7;
    /// Debugging.
    pub const DEBUG: i32 = 8;
    /// Full trace.
    pub const TRACE: i32 = 9;
}

/// Transport used to talk to a volfile server (glusterd).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TCP (`host`, `port`; port 24007 is glusterd's default).
    Tcp,
    /// Unix domain socket (`host` is the socket path, port unused).
    Unix,
    /// RDMA (removed from GlusterFS 10; kept for older servers).
    Rdma,
}

impl Transport {
    /// The name gfapi expects: `"tcp"`, `"unix"` or `"rdma"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Unix => "unix",
            Transport::Rdma => "rdma",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One volfile server: a host and port (TCP, RDMA) or a socket path (Unix).
///
/// Displayed as gfapi's error messages name it: `host:port`, `unix:/path`
/// or `rdma:host:port`.
///
/// ```
/// use gfapi::{Server, Transport};
/// let s = Server { transport: Transport::Tcp, host: "gl1".into(), port: 24007 };
/// assert_eq!(s.to_string(), "gl1:24007");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Server {
    /// How the server is reached.
    pub transport: Transport,
    /// Host name or address; for [`Transport::Unix`] the socket path.
    pub host: String,
    /// glusterd's port ([`DEFAULT_PORT`] by default); unused for Unix sockets.
    pub port: u16,
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.transport {
            Transport::Tcp => write!(f, "{}:{}", self.host, self.port),
            Transport::Unix => write!(f, "unix:{}", self.host),
            Transport::Rdma => write!(f, "rdma:{}:{}", self.host, self.port),
        }
    }
}

/// glusterd's default management port, where volfiles are served.
pub const DEFAULT_PORT: u16 = 24007;
/// The volfile server used when none is given.
pub const DEFAULT_HOST: &str = "localhost";
/// Default log file: gfapi's own documented default. Nothing is written to
/// disk unless [`Volume::log_file`] says otherwise.
pub const DEFAULT_LOG_FILE: &str = "/dev/null";
/// Default log level ([`log_level::ERROR`]).
pub const DEFAULT_LOG_LEVEL: i32 = log_level::ERROR;
/// Default bound on `glfs_init` (see [`Volume::init_timeout`]).
pub const DEFAULT_INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach a volume: a builder consumed by [`init`](Volume::init).
///
/// Either a volume name served by one or more volfile servers (glusterd; with
/// no server given, `localhost:24007` over TCP), or a custom client volfile.
///
/// Defaults: log file [`DEFAULT_LOG_FILE`] (`/dev/null`), level
/// [`DEFAULT_LOG_LEVEL`] (errors), init timeout [`DEFAULT_INIT_TIMEOUT`].
///
/// ```no_run
/// use gfapi::{Transport, Volume};
///
/// // glusterd on this machine:
/// let fs = Volume::new("myvol").init()?;
///
/// // Two volfile servers (failover), with a log file for debugging:
/// let fs2 = Volume::new("myvol")
///     .server("gl1.example.com", 24007)
///     .server("gl2.example.com", 24007)
///     .log_file("/tmp/gfapi-myvol.log")
///     .log_level(gfapi::log_level::INFO)
///     .init()?;
///
/// // glusterd's unix socket:
/// let fs3 = Volume::new("myvol").unix_socket("/var/run/glusterd.socket").init()?;
/// # Ok::<(), gfapi::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Volume {
    pub(crate) name: String,
    pub(crate) servers: Vec<Server>,
    pub(crate) volfile: Option<PathBuf>,
    pub(crate) log_file: PathBuf,
    pub(crate) log_level: i32,
    pub(crate) init_timeout: Duration,
    pub(crate) xlator_options: Vec<(String, String, String)>,
    /// rpc-bypass settings (see `posix_bypass/`).
    pub(crate) posix: PosixConfig,
}

/// rpc-bypass settings carried by a [`Volume`].
#[derive(Debug, Clone, Default)]
pub(crate) struct PosixConfig {
    pub(crate) dir: Option<PathBuf>,
    pub(crate) read_only: bool,
    pub(crate) force: bool,
    pub(crate) io_threads: u32,
}

impl PosixConfig {
    /// Was any rpc-bypass setting used?
    pub(crate) fn is_set(&self) -> bool {
        self.dir.is_some() || self.read_only || self.force || self.io_threads > 0
    }
}

impl Volume {
    /// A volume served by glusterd. Without [`server`](Volume::server) calls
    /// it is fetched from `localhost:24007` over TCP.
    ///
    /// ```
    /// let v = gfapi::Volume::new("myvol");
    /// assert_eq!(v.name(), "myvol");
    /// assert_eq!(v.describe_source(), "localhost:24007");
    /// ```
    pub fn new(name: impl Into<String>) -> Volume {
        Volume {
            name: name.into(),
            servers: Vec::new(),
            volfile: None,
            log_file: PathBuf::from(DEFAULT_LOG_FILE),
            log_level: DEFAULT_LOG_LEVEL,
            init_timeout: DEFAULT_INIT_TIMEOUT,
            xlator_options: Vec::new(),
            posix: Default::default(),
        }
    }

    /// Add a TCP volfile server. Call several times for failover (tried in
    /// order). Port 24007 is glusterd's default.
    ///
    /// ```
    /// let v = gfapi::Volume::new("v").server("a", 24007).server("b", 24008);
    /// assert_eq!(v.describe_source(), "a:24007, b:24008");
    /// ```
    pub fn server(self, host: impl Into<String>, port: u16) -> Volume {
        self.transport_server(Transport::Tcp, host, port)
    }

    /// Add a volfile server with an explicit transport. For
    /// [`Transport::Unix`], `host` is the socket path and `port` is ignored.
    pub fn transport_server(mut self, t: Transport, host: impl Into<String>, port: u16) -> Volume {
        self.servers.push(Server {
            transport: t,
            host: host.into(),
            port: if t == Transport::Unix { 0 } else { port },
        });
        self
    }

    /// Add glusterd's unix socket (e.g. `/var/run/glusterd.socket`) as a
    /// volfile server.
    ///
    /// ```
    /// let v = gfapi::Volume::new("v").unix_socket("/var/run/glusterd.socket");
    /// assert_eq!(v.describe_source(), "unix:/var/run/glusterd.socket");
    /// ```
    pub fn unix_socket(self, path: impl AsRef<Path>) -> Volume {
        let p = path.as_ref().to_string_lossy().into_owned();
        self.transport_server(Transport::Unix, p, 0)
    }

    /// Use a custom client volfile instead of asking glusterd
    /// (`glfs_set_volfile`). `name` is the volume name to report (and the
    /// name passed to `glfs_new`). Cannot be combined with servers.
    ///
    /// ```
    /// let v = gfapi::Volume::volfile("myvol", "/etc/glusterfs/myvol.vol");
    /// assert_eq!(v.describe_source(), "volfile /etc/glusterfs/myvol.vol");
    /// ```
    pub fn volfile(name: impl Into<String>, path: impl AsRef<Path>) -> Volume {
        let mut v = Volume::new(name);
        v.volfile = Some(path.as_ref().to_path_buf());
        v
    }

    /// Where gfapi writes its log (default `/dev/null`). gfapi creates the
    /// file if needed; an unwritable path makes `init` fail.
    pub fn log_file(mut self, path: impl AsRef<Path>) -> Volume {
        self.log_file = path.as_ref().to_path_buf();
        self
    }

    /// gluster log level, see [`log_level`] (default `ERROR`).
    pub fn log_level(mut self, level: i32) -> Volume {
        self.log_level = level;
        self
    }

    /// Upper bound on `glfs_init` (default 10 s).
    ///
    /// `glfs_init` fails within milliseconds when nothing listens on the
    /// server port or the volume does not exist, but blocks indefinitely if
    /// the server accepts the connection and never answers. `init` therefore
    /// runs it on a helper thread and gives up after this long with
    /// [`Error::InitTimeout`]; the abandoned instance is finalised in the
    /// background whenever gfapi returns (see
    /// [`crate::wait_background_teardowns`]).
    pub fn init_timeout(mut self, timeout: Duration) -> Volume {
        self.init_timeout = timeout;
        self
    }

    /// Set a translator option before init (`glfs_set_xlator_option`), e.g.
    /// `("*-write-behind", "flush-behind", "off")`. Can be called repeatedly.
    pub fn xlator_option(
        mut self,
        xlator: impl Into<String>,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Volume {
        self.xlator_options
            .push((xlator.into(), key.into(), value.into()));
        self
    }

    /// The volume name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Human-readable description of where the volume comes from, as used in
    /// error messages: `"localhost:24007"`, `"a:24007, unix:/run/x.socket"`
    /// or `"volfile /path"`.
    pub fn describe_source(&self) -> String {
        if let Some(d) = &self.posix.dir {
            let mut extra = String::new();
            if self.posix.read_only {
                extra.push_str(" (read-only)");
            }
            if self.posix.io_threads > 0 {
                extra.push_str(&format!(" (io-threads {})", self.posix.io_threads));
            }
            return format!("rpc-bypass {}{extra}", d.display());
        }
        if let Some(p) = &self.volfile {
            return format!("volfile {}", p.display());
        }
        self.effective_servers()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub(crate) fn effective_servers(&self) -> Vec<Server> {
        if self.servers.is_empty() {
            vec![Server {
                transport: Transport::Tcp,
                host: DEFAULT_HOST.into(),
                port: DEFAULT_PORT,
            }]
        } else {
            self.servers.clone()
        }
    }
}

impl Volume {
    /// rpc-bypass: open the brick directory `dir` in-process through a
    /// generated volfile holding only `storage/posix` — no glusterd, no
    /// brick process, no network.
    ///
    /// `dir` is a brick root: an existing directory on a filesystem with
    /// extended attributes; a fresh empty directory becomes a valid brick
    /// (root `trusted.gfid`, `.glusterfs/`) exactly as a brick process would
    /// make it. Needs root. Supported only on GlusterFS versions whose
    /// internals were verified (10.3); elsewhere `init` returns
    /// [`Error::Unsupported`].
    ///
    /// `init` refuses ([`Error::BrickInUse`]) a directory that a running
    /// brick process or another process's posix instance serves, or that is
    /// a brick of a started volume, unless [`read_only`](Volume::read_only)
    /// or [`force`](Volume::force) is set. Teardown takes milliseconds.
    ///
    /// ```no_run
    /// let fs = gfapi::Volume::posix("/srv/brick1").init()?;
    /// let f = fs.create("/data", libc::O_RDWR | libc::O_TRUNC, 0o644)?;
    /// f.write_at(b"hello", 0)?;
    /// f.close()?;
    /// fs.shutdown()?; // ~2 ms
    /// # Ok::<(), gfapi::Error>(())
    /// ```
    pub fn posix(dir: impl AsRef<Path>) -> Volume {
        let dir = dir.as_ref();
        let mut v = Volume::new(dir.display().to_string());
        v.posix.dir = Some(dir.to_path_buf());
        v
    }

    /// rpc-bypass only: open read-only. A `features/read-only` translator
    /// makes every modifying operation fail with `EROFS`. Allowed on a
    /// directory a brick process serves (reads only; posix's periodic
    /// landfill clean-up is pushed out to 24 h).
    ///
    /// ```
    /// let v = gfapi::Volume::posix("/srv/brick1").read_only(true);
    /// assert_eq!(v.describe_source(), "rpc-bypass /srv/brick1 (read-only)");
    /// ```
    pub fn read_only(mut self, on: bool) -> Volume {
        self.posix.read_only = on;
        self
    }

    /// rpc-bypass only: put `performance/io-threads` (with `threads` worker
    /// threads; 0 = none, the default) between posix and gfapi.
    ///
    /// Without it every operation — including `*_async` ones — runs to
    /// completion inside the calling thread (the async completion is
    /// delivered before the submit call returns), so a single submitter gets
    /// no I/O parallelism. Measured on the reference VM (2 vCPU, virtio
    /// disk; see `docs/rpc-bypass.md`): io-threads adds ~46 µs per
    /// operation (cached 4 KiB reads 4.8 → 50 µs; O_DIRECT 4 KiB random
    /// reads at depth 1: 16.6k → 13.1k IOPS) but lifts async depth-32
    /// O_DIRECT reads from 16.7k to 56k IOPS (4 KiB random) and from 846 to
    /// ~1200–1600 MiB/s (128 KiB sequential). Use it for queue depth > 1
    /// (16 threads is gluster's default and was best here), not for
    /// synchronous I/O.
    ///
    /// ```
    /// let v = gfapi::Volume::posix("/srv/brick1").io_threads(16);
    /// assert_eq!(v.describe_source(), "rpc-bypass /srv/brick1 (io-threads 16)");
    /// ```
    pub fn io_threads(mut self, threads: u32) -> Volume {
        self.posix.io_threads = threads;
        self
    }

    /// rpc-bypass only: open even if a brick process or another posix
    /// instance serves the directory. This can corrupt the volume (two
    /// translators caching the same inodes, writes that bypass the brick's
    /// changelog/index/quota bookkeeping); meant for experiments on scratch
    /// bricks.
    pub fn force(mut self, on: bool) -> Volume {
        self.posix.force = on;
        self
    }
}

/// `s` as a C string for gfapi; `what` names it if it holds a NUL byte.
pub(crate) fn c_string(what: &str, s: &[u8]) -> Result<CString> {
    CString::new(s).map_err(|_| Error::InvalidConfig(format!("{what} contains a NUL byte")))
}

/// [`Volume::xlator_option`]s as C strings, for `glfs_set_xlator_option`.
pub(crate) fn c_xlator_options(
    options: &[(String, String, String)],
) -> Result<Vec<(CString, CString, CString)>> {
    options
        .iter()
        .map(|(x, k, v)| {
            Ok((
                c_string("xlator name", x.as_bytes())?,
                c_string("xlator option key", k.as_bytes())?,
                c_string("xlator option value", v.as_bytes())?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_sources() {
        assert_eq!(Volume::new("v").describe_source(), "localhost:24007");
        assert_eq!(
            Volume::new("v")
                .server("h", 1)
                .transport_server(Transport::Rdma, "r", 2)
                .unix_socket("/s")
                .describe_source(),
            "h:1, rdma:r:2, unix:/s"
        );
        assert_eq!(
            Volume::volfile("v", "/x.vol").describe_source(),
            "volfile /x.vol"
        );
    }
}
