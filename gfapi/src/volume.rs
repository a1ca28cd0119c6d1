// SPDX-License-Identifier: GPL-2.0-or-later
//! [`Volume`]: how to reach a volume, and `init()`.

use std::ffi::CString;
use std::fmt;
use std::io::{self, Read};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{errno_error, Error, Result};
use crate::fs::{background_begin, background_end, Fs, RawGlfs};
use crate::raw;
use crate::volfile;

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
    name: String,
    servers: Vec<Server>,
    volfile: Option<PathBuf>,
    log_file: PathBuf,
    log_level: i32,
    init_timeout: Duration,
    xlator_options: Vec<(String, String, String)>,
    /// rpc-bypass settings (see `posix_bypass.rs`).
    pub(crate) posix: crate::posix_bypass::PosixConfig,
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

    fn effective_servers(&self) -> Vec<Server> {
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

    /// Connect: create the gfapi instance, fetch the volfile, build the
    /// client graph and connect to the bricks.
    ///
    /// Errors are specific and fast:
    ///
    /// * [`Error::Volfile`] — `"cannot read volfile /p: ..."` (checked before
    ///   gfapi is involved);
    /// * [`Error::InvalidVolfile`] — `"invalid volfile /p, line 3: ..."`
    ///   (syntax checked before gfapi is involved, because a volfile that
    ///   fails to parse breaks gfapi's parser for the rest of the process);
    /// * [`Error::VolumeNotFound`] — `"volume 'x' not found on localhost:24007"`;
    /// * [`Error::ServerUnreachable`] — nothing listening, unknown host,
    ///   missing unix socket (milliseconds);
    /// * [`Error::InitTimeout`] — the server accepted but never answered
    ///   within [`init_timeout`](Volume::init_timeout);
    /// * [`Error::Init`] — anything else (e.g. volume not started), with errno
    ///   and a hint.
    ///
    /// A failed instance is finalised on a background thread (on GlusterFS 10
    /// that can take ~10 s), so the error returns at once.
    ///
    /// ```no_run
    /// match gfapi::Volume::new("nosuchvol").init() {
    ///     Err(gfapi::Error::VolumeNotFound { volume, servers }) => {
    ///         eprintln!("no volume {volume} on {servers}")
    ///     }
    ///     Err(e) => eprintln!("{e}"),
    ///     Ok(_fs) => {}
    /// }
    /// ```
    pub fn init(self) -> Result<Fs> {
        if self.posix.is_set() {
            return crate::posix_bypass::init(
                &self.posix,
                &self.name,
                self.volfile.is_some() || !self.servers.is_empty(),
                &self.log_file,
                self.log_level,
                &self.xlator_options,
            );
        }
        let cfg = self.validate()?;
        if let Some(p) = &self.volfile {
            check_volfile(p)?;
        }
        let via = self.describe_source();
        let init_err = |detail: String, source: io::Error| Error::Init {
            volume: self.name.clone(),
            via: via.clone(),
            detail,
            source,
        };

        // SAFETY: cfg.name is a valid NUL-terminated string.
        let raw = unsafe { raw::glfs_new(cfg.name.as_ptr()) };
        let Some(raw) = NonNull::new(raw) else {
            return Err(init_err(
                "glfs_new failed".into(),
                crate::error::last_errno_error(),
            ));
        };
        // From here on the instance must be finalised on every error path.
        let guard = FailGuard(Some(RawGlfs(raw)));

        // The setters below all operate on `raw`, a fresh, not yet
        // initialised glfs_t owned by this function, with C strings from
        // `cfg` that outlive the calls.
        if let Some(vf) = &cfg.volfile {
            // SAFETY: see above.
            if unsafe { raw::glfs_set_volfile(raw.as_ptr(), vf.as_ptr()) } != 0 {
                return Err(init_err(
                    "glfs_set_volfile failed".into(),
                    crate::error::last_errno_error(),
                ));
            }
        } else {
            for (t, host, port) in &cfg.servers {
                // SAFETY: see above.
                let rc = unsafe {
                    raw::glfs_set_volfile_server(raw.as_ptr(), t.as_ptr(), host.as_ptr(), *port)
                };
                if rc != 0 {
                    return Err(init_err(
                        format!("glfs_set_volfile_server({host:?}) failed"),
                        crate::error::last_errno_error(),
                    ));
                }
            }
        }
        // SAFETY: see above.
        if unsafe { raw::glfs_set_logging(raw.as_ptr(), cfg.log_file.as_ptr(), self.log_level) }
            != 0
        {
            return Err(init_err(
                format!("cannot set up logging to {}", self.log_file.display()),
                crate::error::last_errno_error(),
            ));
        }
        for (x, k, v) in &cfg.xlator_options {
            // SAFETY: see above.
            let rc = unsafe {
                raw::glfs_set_xlator_option(raw.as_ptr(), x.as_ptr(), k.as_ptr(), v.as_ptr())
            };
            if rc != 0 {
                return Err(init_err(
                    format!("glfs_set_xlator_option({x:?}, {k:?}, {v:?}) failed"),
                    crate::error::last_errno_error(),
                ));
            }
        }

        let guard = match run_init(guard, self.init_timeout) {
            InitOutcome::Ok(guard) => guard,
            InitOutcome::Failed(guard, errno) => {
                // Classify first (cheap), then the guard finalises the
                // instance in the background as it drops.
                let e = self.classify(errno, &via);
                drop(guard);
                return Err(e);
            }
            InitOutcome::TimedOut => {
                return Err(Error::InitTimeout {
                    volume: self.name.clone(),
                    via,
                    timeout: self.init_timeout,
                })
            }
        };
        let raw = guard.disarm();
        Ok(Fs::from_raw(raw.0, self.name))
    }

    /// Turn a `glfs_init` errno into the most specific error we can justify.
    fn classify(&self, errno: i32, via: &str) -> Error {
        let init = |detail: &str, source: io::Error| Error::Init {
            volume: self.name.clone(),
            via: via.to_string(),
            detail: detail.to_string(),
            source,
        };
        if self.volfile.is_some() {
            return if errno == 0 {
                init(
                    "gfapi could not build a client graph from the volfile; set log_file() \
                     for details",
                    io::Error::from(io::ErrorKind::InvalidData),
                )
            } else {
                init("", errno_error(errno))
            };
        }
        match errno {
            libc::ENOENT => Error::VolumeNotFound {
                volume: self.name.clone(),
                servers: via.to_string(),
            },
            libc::ENOTCONN
            | libc::ECONNREFUSED
            | libc::EHOSTUNREACH
            | libc::ENETUNREACH
            | libc::ETIMEDOUT => match probe_servers(&self.effective_servers()) {
                Err(source) => Error::ServerUnreachable {
                    volume: self.name.clone(),
                    servers: via.to_string(),
                    source,
                },
                Ok(()) => init(
                    "the volfile server is reachable but the volume's bricks are not; are \
                     the brick processes running?",
                    errno_error(errno),
                ),
            },
            libc::EIO => init(
                "no brick of the volume could be reached; is the volume started?",
                errno_error(errno),
            ),
            0 => init(
                "gfapi reported no errno; set log_file() for details",
                errno_error(0),
            ),
            _ => init("", errno_error(errno)),
        }
    }

    fn validate(&self) -> Result<CConfig> {
        let c = |what: &str, s: &[u8]| {
            CString::new(s).map_err(|_| Error::InvalidConfig(format!("{what} contains a NUL byte")))
        };
        if self.name.is_empty() {
            return Err(Error::InvalidConfig("empty volume name".into()));
        }
        if self.volfile.is_some() && !self.servers.is_empty() {
            return Err(Error::InvalidConfig(
                "a custom volfile cannot be combined with volfile servers".into(),
            ));
        }
        let servers = self
            .effective_servers()
            .iter()
            .map(|s| {
                Ok((
                    c("transport", s.transport.as_str().as_bytes())?,
                    c("server host", s.host.as_bytes())?,
                    i32::from(s.port),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let volfile = match &self.volfile {
            Some(p) => Some(c("volfile path", p.as_os_str().as_bytes())?),
            None => None,
        };
        let xlator_options = self
            .xlator_options
            .iter()
            .map(|(x, k, v)| {
                Ok((
                    c("xlator name", x.as_bytes())?,
                    c("xlator option key", k.as_bytes())?,
                    c("xlator option value", v.as_bytes())?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CConfig {
            name: c("volume name", self.name.as_bytes())?,
            servers,
            volfile,
            log_file: c("log file path", self.log_file.as_os_str().as_bytes())?,
            xlator_options,
        })
    }
}

struct CConfig {
    name: CString,
    servers: Vec<(CString, CString, i32)>,
    volfile: Option<CString>,
    log_file: CString,
    xlator_options: Vec<(CString, CString, CString)>,
}

/// The volfile must be a readable regular file (gfapi's own error for a
/// missing one is a bare `ENOENT`) with valid syntax (see `volfile.rs` for
/// why gfapi must never see a broken one).
fn check_volfile(p: &Path) -> Result<()> {
    let err = |source| Error::Volfile {
        path: p.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(p).map_err(err)?;
    let md = f.metadata().map_err(err)?;
    if md.is_dir() {
        return Err(err(io::Error::from_raw_os_error(libc::EISDIR)));
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(err)?;
    let text = String::from_utf8_lossy(&bytes);
    volfile::check(&text, volfile::xlator_dir()).map_err(|pb| Error::InvalidVolfile {
        path: p.to_path_buf(),
        line: pb.line,
        reason: pb.msg,
    })
}

/// Finalises an instance on drop (in the background), unless disarmed.
struct FailGuard(Option<RawGlfs>);

impl FailGuard {
    fn disarm(mut self) -> RawGlfs {
        self.0.take().expect("FailGuard already disarmed")
    }
}

impl Drop for FailGuard {
    fn drop(&mut self) {
        if let Some(raw) = self.0.take() {
            raw.fini_in_background();
        }
    }
}

enum InitOutcome {
    Ok(FailGuard),
    Failed(FailGuard, i32),
    TimedOut,
}

enum Handoff {
    Pending,
    Done(i32, i32),
    Abandoned,
}

/// Run `glfs_init` on a helper thread and wait at most `timeout` for it.
///
/// If the wait times out, ownership of the instance passes to the helper
/// thread, which finalises it when (if ever) `glfs_init` returns; it is
/// counted as a background teardown meanwhile.
fn run_init(guard: FailGuard, timeout: Duration) -> InitOutcome {
    let raw = guard.0.as_ref().expect("armed guard").0;
    let shared = Arc::new((Mutex::new(Handoff::Pending), Condvar::new()));
    let thread_shared = Arc::clone(&shared);
    let thread_raw = RawGlfs(raw);
    let spawned = std::thread::Builder::new()
        .name("gfapi-init".into())
        .spawn(move || {
            let raw = thread_raw;
            // SAFETY: raw is a configured, not yet initialised glfs_t. The
            // waiting thread does not touch it until we report back, and
            // if it has given up (Abandoned) we own it.
            let rc = unsafe { raw::glfs_init(raw.0.as_ptr()) };
            let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
            let (lock, cond) = &*thread_shared;
            let mut st = lock.lock().unwrap_or_else(PoisonError::into_inner);
            if matches!(*st, Handoff::Abandoned) {
                drop(st);
                raw.fini();
                background_end();
            } else {
                *st = Handoff::Done(rc, errno);
                cond.notify_one();
            }
        });
    let handle = match spawned {
        Ok(h) => h,
        Err(_) => {
            // No thread available: run init inline, without a timeout.
            // SAFETY: as above, on this thread.
            let rc = unsafe { raw::glfs_init(raw.as_ptr()) };
            let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
            return if rc == 0 {
                InitOutcome::Ok(guard)
            } else {
                InitOutcome::Failed(guard, errno)
            };
        }
    };
    let deadline = Instant::now().checked_add(timeout);
    let (lock, cond) = &*shared;
    let mut st = lock.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if let Handoff::Done(rc, errno) = *st {
            drop(st);
            // The helper is about to exit; join it so it is gone for good.
            let _ = handle.join();
            return if rc == 0 {
                InitOutcome::Ok(guard)
            } else {
                InitOutcome::Failed(guard, errno)
            };
        }
        let left = match deadline {
            None => None,
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    // Give up: the helper now owns the instance.
                    *st = Handoff::Abandoned;
                    background_begin();
                    drop(st);
                    let mut guard = guard;
                    guard.0 = None; // do not finalise it here
                    return InitOutcome::TimedOut;
                }
                Some(d - now)
            }
        };
        st = match left {
            None => cond.wait(st).unwrap_or_else(PoisonError::into_inner),
            Some(d) => {
                cond.wait_timeout(st, d)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        };
    }
}

/// After a connection-type failure: can we reach any volfile server at all?
/// `Ok(())` if one accepts a connection; otherwise the last error. Bounded to
/// about 3 s in total.
fn probe_servers(servers: &[Server]) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut last = io::Error::new(io::ErrorKind::NotConnected, "no volfile server to try");
    for s in servers {
        let r = match s.transport {
            Transport::Unix => UnixStream::connect(&s.host).map(drop),
            Transport::Tcp | Transport::Rdma => probe_tcp(&s.host, s.port, deadline),
        };
        match r {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn probe_tcp(host: &str, port: u16, deadline: Instant) -> io::Result<()> {
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot resolve host '{host}': {e}")))?;
    let mut last = io::Error::new(
        io::ErrorKind::NotFound,
        format!("host '{host}' has no addresses"),
    );
    for a in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connect probe timed out",
            ));
        }
        match TcpStream::connect_timeout(&a, left.min(Duration::from_secs(1))) {
            Ok(_) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
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

    #[test]
    fn invalid_configs_are_rejected_before_gfapi() {
        let e = Volume::new("a\0b").init().unwrap_err();
        assert!(matches!(e, Error::InvalidConfig(_)), "{e}");
        let e = Volume::volfile("v", "/x.vol")
            .server("h", 1)
            .init()
            .unwrap_err();
        assert!(e.to_string().contains("cannot be combined"), "{e}");
        let e = Volume::new("").init().unwrap_err();
        assert!(matches!(e, Error::InvalidConfig(_)), "{e}");
    }

    #[test]
    fn missing_volfile_is_reported_without_gfapi() {
        let t = Instant::now();
        let e = Volume::volfile("v", "/nonexistent/grs.vol")
            .init()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot read volfile /nonexistent/grs.vol: No such file or directory (os error 2)"
        );
        let e = Volume::volfile("v", "/").init().unwrap_err();
        assert!(e.to_string().starts_with("cannot read volfile /: "), "{e}");
        assert!(t.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn probe_reports_refused_and_unresolvable() {
        // Bind then drop to find a port with nothing listening.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let s = Server {
            transport: Transport::Tcp,
            host: "127.0.0.1".into(),
            port,
        };
        let e = probe_servers(&[s]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        let s = Server {
            transport: Transport::Unix,
            host: "/nonexistent/grs.socket".into(),
            port: 0,
        };
        assert_eq!(
            probe_servers(&[s]).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let s = Server {
            transport: Transport::Tcp,
            host: "127.0.0.1".into(),
            port: l.local_addr().unwrap().port(),
        };
        probe_servers(&[s]).unwrap();
    }
}
