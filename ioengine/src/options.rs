//! The engine's fio options: the C layout fio stores them in, the table fio
//! parses and prints (`fio --enghelp=/abs/path/libglusterrs.so`), and the
//! conversion into checked Rust settings.
//!
//! Drop-in compatible with fio's `gfapi`/`gfapi_async` engines (`volume`,
//! `brick`, `single-instance`), plus `port`, several servers, `transport`,
//! `volfile`, `logfile`, `loglevel` and `io_mode`. File names may also be
//! QEMU-style URLs: `gluster[+tcp|+rdma|+unix]://[host[:port]]/volume/path`.
//!
//! rpc-bypass: `posix=DIR` opens a brick directory in-process
//! (`gfapi::Volume::posix`: storage/posix inside fio, no glusterd, no brick
//! process, no network), with `posix_io_threads`, `posix_read_only` and
//! `posix_force`.

use std::ffi::{c_char, c_uint, c_void};
use std::fmt;
use std::mem::offset_of;
use std::path::{Path, PathBuf};

use gfapi::{log_level, DEFAULT_LOG_FILE};
pub use gfapi::{Server, Transport, DEFAULT_HOST, DEFAULT_PORT};

/// The engine option struct as fio allocates and fills it (`td->eo`).
/// fio stores the `thread_data` pointer in the first, pointer-sized member.
#[repr(C)]
pub struct RawOptions {
    pub pad: *mut c_void,
    pub volume: *mut c_char,
    pub brick: *mut c_char,
    pub single_instance: c_uint,
    pub port: c_uint,
    pub transport: c_uint,
    pub loglevel: c_uint,
    pub io_mode: c_uint,
    pub volfile: *mut c_char,
    pub logfile: *mut c_char,
    pub posix: *mut c_char,
    pub posix_io_threads: *mut c_char,
    pub posix_read_only: c_uint,
    pub posix_force: c_uint,
    pub io_timeout: c_uint,
    pub client_io_threads: c_uint,
    /// `write_aggregation=`; `prepopulate_file` turns `auto` into `off`
    /// here when the job's writes could fill the volume (fio's parent does
    /// this before it forks the job, so `init` sees the decision).
    pub write_aggregation: c_uint,
    pub posix_pool: *mut c_char,
}

/// What the option strings of one job hold, copied out of [`RawOptions`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptionValues {
    pub volume: Option<String>,
    pub brick: Option<String>,
    pub single_instance: bool,
    pub port: u32,
    pub transport: u32,
    pub loglevel: u32,
    pub io_mode: u32,
    pub volfile: Option<String>,
    pub logfile: Option<String>,
    pub posix: Option<String>,
    pub posix_io_threads: Option<String>,
    pub posix_read_only: bool,
    pub posix_force: bool,
    /// `io_timeout=` seconds (0: keep gluster's ping-timeout).
    pub io_timeout: u32,
    /// `client_io_threads=1`: keep the client-side performance/io-threads hop.
    pub client_io_threads: bool,
    /// `write_aggregation=` (`WRITE_AGGREGATION_*`).
    pub write_aggregation: u32,
    /// `posix_pool=`: `auto` or a thread count.
    pub posix_pool: Option<String>,
    /// The job's `iodepth` (a fio option, not an engine one): the default of
    /// `posix_io_threads` depends on it. 0 counts as 1.
    pub iodepth: u32,
    /// The job reads and writes through the page cache (`direct=0`): the
    /// default of `posix_io_threads` depends on it too.
    pub buffered: bool,
}

/// How fio parses and stores one option.
#[derive(Debug, Clone, Copy)]
pub enum OptKind {
    /// `FIO_OPT_STR_STORE`: a strdup'd string.
    Str,
    /// `FIO_OPT_BOOL`.
    Bool,
    /// `FIO_OPT_INT` within `min..=max`.
    Int { min: i32, max: u64 },
    /// `FIO_OPT_STR` with possible values `(value, stored number, help)`.
    Choice(&'static [(&'static str, u32, &'static str)]),
}

/// One row of the option table handed to fio.
#[derive(Debug, Clone, Copy)]
pub struct OptSpec {
    pub name: &'static str,
    pub lname: &'static str,
    pub alias: Option<&'static str>,
    pub kind: OptKind,
    pub offset: usize,
    pub help: &'static str,
    pub def: Option<&'static str>,
}

pub const TRANSPORT_TCP: u32 = 0;
pub const TRANSPORT_UNIX: u32 = 1;
pub const TRANSPORT_RDMA: u32 = 2;
pub const IO_MODE_ASYNC: u32 = 0;
pub const IO_MODE_SYNC: u32 = 1;
pub const WRITE_AGGREGATION_AUTO: u32 = 0;
pub const WRITE_AGGREGATION_ON: u32 = 1;
pub const WRITE_AGGREGATION_OFF: u32 = 2;
/// Largest `io_timeout=`: gluster's own ping-timeout maximum (the engine sets 40%).
pub const MAX_IO_TIMEOUT: u32 = 1013;
/// `posix_io_threads=auto` with iodepth > 1 (and io_mode=async): gluster's
/// default thread count, the best of 2..32 measured for async depth 32 on
/// the reference VM (docs/rpc-bypass.md).
pub const POSIX_AUTO_IO_THREADS: u32 = 16;
/// statfs `f_type` of the memory-backed file systems (linux/magic.h).
const TMPFS_MAGIC: i64 = 0x0102_1994;
const RAMFS_MAGIC: i64 = 0x8584_58f6;

/// `posix_io_threads=auto` at iodepth > 1 for a brick in `dir`. On a tmpfs
/// or ramfs brick no read waits on a device, and a buffered job's reads are
/// mostly page-cache hits: there any hand-off to a thread costs more than
/// the read, so auto gives 0 and posix serves each request inside fio's own
/// call (synchronous submission). 4 KiB random reads at depth 32 on tmpfs:
/// 188-212 k IOPS inline against 112-136 k with 2 io-threads and 47-78 k
/// with 16; buffered on a disk brick with the cache warm, 212-219 k against
/// 99-158 k with 2 (issue 12, results/PERFORMANCE.md). Fio's libaio reads
/// buffered files synchronously too, so a cold cache costs inline no more
/// than it costs base. Direct I/O on a disk keeps 16: there the threads are
/// the queue depth the device sees (2 threads: half the IOPS of 16).
pub fn auto_io_threads(dir: &Path, buffered: bool) -> u32 {
    if buffered || memory_backed(dir) {
        0
    } else {
        POSIX_AUTO_IO_THREADS
    }
}

/// Whether `dir` is on tmpfs or ramfs (a failed statfs says no).
fn memory_backed(dir: &Path) -> bool {
    rustix::fs::statfs(dir).is_ok_and(|s| {
        #[allow(clippy::unnecessary_cast)] // the field's type differs by libc
        let t = s.f_type as i64;
        t == TMPFS_MAGIC || t == RAMFS_MAGIC
    })
}
/// io-threads' own limit (`thread-count`, IOT_MAX_THREADS in gluster 10).
pub const POSIX_MAX_IO_THREADS: u32 = 64;
/// Largest `posix_pool=` (the gfapi crate's pool limit).
pub const POSIX_MAX_POOL_THREADS: u32 = 256;

const TRANSPORTS: &[(&str, u32, &str)] = &[
    ("tcp", TRANSPORT_TCP, "TCP to glusterd and the bricks"),
    (
        "unix",
        TRANSPORT_UNIX,
        "Unix socket to glusterd (brick= is the socket path)",
    ),
    (
        "rdma",
        TRANSPORT_RDMA,
        "RDMA (needs an rdma-enabled volume)",
    ),
];

const IO_MODES: &[(&str, u32, &str)] = &[
    (
        "async",
        IO_MODE_ASYNC,
        "Submit with gfapi async calls, up to iodepth in flight",
    ),
    (
        "sync",
        IO_MODE_SYNC,
        "Blocking gfapi calls, one I/O at a time (for comparison)",
    ),
];

const WRITE_AGGREGATIONS: &[(&str, u32, &str)] = &[
    (
        "auto",
        WRITE_AGGREGATION_AUTO,
        "off when the job's writes could fill the volume, else as the volume says",
    ),
    (
        "on",
        WRITE_AGGREGATION_ON,
        "as the volume says (performance.aggregate-size)",
    ),
    ("off", WRITE_AGGREGATION_OFF, "never copy writes together"),
];

/// gluster's levels (`gfapi::log_level`), stored as fio's unsigned choice.
const LOG_LEVELS: &[(&str, u32, &str)] = &[
    ("none", log_level::NONE as u32, "No logging"),
    ("emerg", log_level::EMERG as u32, "Emergencies"),
    ("alert", log_level::ALERT as u32, "Alerts"),
    ("critical", log_level::CRITICAL as u32, "Critical errors"),
    ("error", log_level::ERROR as u32, "Errors"),
    ("warning", log_level::WARNING as u32, "Warnings"),
    ("notice", log_level::NOTICE as u32, "Notices"),
    ("info", log_level::INFO as u32, "Informational"),
    ("debug", log_level::DEBUG as u32, "Debug"),
    ("trace", log_level::TRACE as u32, "Trace"),
];

/// The option table, in the order `--enghelp` shows it.
pub fn option_specs() -> &'static [OptSpec] {
    const SPECS: &[OptSpec] = &[
        OptSpec {
            name: "volume",
            lname: "Glusterfs volume",
            alias: None,
            kind: OptKind::Str,
            offset: offset_of!(RawOptions, volume),
            help: "Name of the GlusterFS volume (optional with volfile= or gluster:// file names)",
            def: None,
        },
        OptSpec {
            name: "brick",
            lname: "Glusterfs volfile servers",
            alias: Some("servers"),
            kind: OptKind::Str,
            offset: offset_of!(RawOptions, brick),
            help: "Volfile server(s) to connect to: host[:port][,host[:port]...], tried in order \
                   (alias servers=; with transport=unix the glusterd socket path). Default localhost",
            def: None,
        },
        OptSpec {
            name: "single-instance",
            lname: "Single glusterfs instance",
            alias: None,
            kind: OptKind::Bool,
            offset: offset_of!(RawOptions, single_instance),
            help: "Share one connection among the jobs of a process that use the same settings \
                   (thread=1); 0 gives each job its own connection",
            def: Some("1"),
        },
        OptSpec {
            name: "port",
            lname: "Glusterd port",
            alias: None,
            kind: OptKind::Int {
                min: 1,
                max: 65535,
            },
            offset: offset_of!(RawOptions, port),
            help: "Port of glusterd for servers given without :port",
            def: Some("24007"),
        },
        OptSpec {
            name: "transport",
            lname: "Glusterfs transport",
            alias: None,
            kind: OptKind::Choice(TRANSPORTS),
            offset: offset_of!(RawOptions, transport),
            help: "Transport to the volfile server",
            def: Some("tcp"),
        },
        OptSpec {
            name: "volfile",
            lname: "Glusterfs client volfile",
            alias: None,
            kind: OptKind::Str,
            offset: offset_of!(RawOptions, volfile),
            help: "Path of a client volfile to use instead of fetching the volume's from glusterd",
            def: None,
        },
        OptSpec {
            name: "posix",
            lname: "Glusterfs brick directory (rpc-bypass)",
            alias: None,
            kind: OptKind::Str,
            offset: offset_of!(RawOptions, posix),
            help: "rpc-bypass: open this brick directory in-process (storage/posix inside fio: no \
                   glusterd, no brick process, no network). File names are paths in the brick. \
                   Excludes brick=/volfile=; volume= optional. Needs root. Refused while a brick \
                   process serves the directory or its volume is started, unless \
                   posix_read_only=1 or posix_force=1. Never write this way to one brick of a \
                   replicated or dispersed volume",
            def: None,
        },
        OptSpec {
            name: "posix_io_threads",
            lname: "rpc-bypass io-threads",
            alias: None,
            kind: OptKind::Str,
            offset: offset_of!(RawOptions, posix_io_threads),
            help: "With posix=: worker threads of a performance/io-threads translator above posix, \
                   auto or 0-64. 0: none; posix then completes every I/O inside the submit call, \
                   so I/O is submitted synchronously (as io_mode=sync, one at a time). auto: 0 (for \
                   buffered jobs and on a tmpfs or ramfs brick a hand-off to a thread costs more \
                   than the read; with direct=1 on a disk brick posix_pool runs the I/O), or 16 \
                   where posix_pool=0 and iodepth > 1 with io_mode=async on a disk brick",
            def: Some("auto"),
        },
        OptSpec {
            name: "posix_pool",
            lname: "rpc-bypass engine threads",
            alias: None,
            kind: OptKind::Str,
            offset: offset_of!(RawOptions, posix_pool),
            help: "With posix=: threads of the engine's own that run posix's reads and writes \
                   synchronously and hand the completions back to fio (instead of gluster's \
                   performance/io-threads, whose queue and wake-ups cost more per I/O), auto or \
                   0-256. auto: min(iodepth, 16) when posix_io_threads= is not given and \
                   posix_io_threads=auto would start io-threads (iodepth > 1, io_mode=async, \
                   direct=1 on a disk brick), else 0. Excludes posix_io_threads > 0",
            def: Some("auto"),
        },
        OptSpec {
            name: "posix_read_only",
            lname: "rpc-bypass read-only",
            alias: None,
            kind: OptKind::Bool,
            offset: offset_of!(RawOptions, posix_read_only),
            help: "With posix=: open the brick read-only (modifications fail with EROFS); allowed \
                   on a brick that a running brick process serves. The files must exist",
            def: Some("0"),
        },
        OptSpec {
            name: "posix_force",
            lname: "rpc-bypass force",
            alias: None,
            kind: OptKind::Bool,
            offset: offset_of!(RawOptions, posix_force),
            help: "With posix=: open the brick even if a brick process (or another process's \
                   posix instance, or a started volume) uses it. Can corrupt the volume; for \
                   scratch bricks only",
            def: Some("0"),
        },
        OptSpec {
            name: "logfile",
            lname: "Glusterfs log file",
            alias: None,
            kind: OptKind::Str,
            offset: offset_of!(RawOptions, logfile),
            help: "File gfapi logs to",
            def: Some("/dev/null"),
        },
        OptSpec {
            name: "loglevel",
            lname: "Glusterfs log level",
            alias: None,
            kind: OptKind::Choice(LOG_LEVELS),
            offset: offset_of!(RawOptions, loglevel),
            help: "gfapi log level",
            def: Some("warning"),
        },
        OptSpec {
            name: "io_mode",
            lname: "Glusterfs submission mode",
            alias: None,
            kind: OptKind::Choice(IO_MODES),
            offset: offset_of!(RawOptions, io_mode),
            help: "How I/O is submitted to gfapi",
            def: Some("async"),
        },
        OptSpec {
            name: "io_timeout",
            lname: "Glusterfs brick timeout",
            alias: None,
            kind: OptKind::Int {
                min: 0,
                max: MAX_IO_TIMEOUT as u64,
            },
            offset: offset_of!(RawOptions, io_timeout),
            help: "I/O pending on a brick that stopped answering (hung or unreachable server) \
                   fails with ENOTCONN within this many seconds: the ping-timeout of every \
                   protocol/client translator is set to 40% of it (a ping may go unanswered \
                   for up to two intervals before the connection is dropped). A killed brick \
                   fails I/O at once regardless. Connecting gives up after 80% of it. 0 keeps \
                   the volume's network.ping-timeout (gluster's default 42 s, i.e. up to ~90 s) \
                   and gfapi's 10 s connect timeout",
            def: Some("10"),
        },
        OptSpec {
            name: "client_io_threads",
            lname: "Glusterfs client io-threads",
            alias: None,
            kind: OptKind::Bool,
            offset: offset_of!(RawOptions, client_io_threads),
            help: "Keep the client-side performance/io-threads translator of the volume's \
                   graph active. 0 (default) sets it to pass-through: fio already keeps \
                   iodepth requests in flight, and the extra thread hop per request costs \
                   ~17-25 us of client CPU per 4 KiB read on a 2-core machine",
            def: Some("0"),
        },
        OptSpec {
            name: "write_aggregation",
            lname: "Glusterfs write-behind aggregation",
            alias: None,
            kind: OptKind::Choice(WRITE_AGGREGATIONS),
            offset: offset_of!(RawOptions, write_aggregation),
            help: "Whether the client's write-behind may copy small sequential writes into one \
                   buffer (aggregate-size). GlusterFS 10.3 overruns that buffer when a brick \
                   returns a short write, i.e. when it runs out of space, and the process \
                   crashes or corrupts its memory. auto (default) turns it off, and says so, for a \
                   job whose writes could fill the volume: when its files are laid out, what \
                   it may still allocate (with that of the run's earlier jobs) reaches 90% of \
                   the free space. off costs up to ~6x on small buffered sequential writes",
            def: Some("auto"),
        },
    ];
    SPECS
}

/// The transport fio stored for `transport=` (its `TRANSPORT_*` code).
fn transport_from_code(code: u32) -> Result<Transport, OptionError> {
    match code {
        TRANSPORT_TCP => Ok(Transport::Tcp),
        TRANSPORT_UNIX => Ok(Transport::Unix),
        TRANSPORT_RDMA => Ok(Transport::Rdma),
        other => Err(OptionError(format!("invalid transport code {other}"))),
    }
}

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

/// An invalid combination or value of engine options.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OptionError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, OptionError> {
    Err(OptionError(msg.into()))
}

/// A parsed `gluster://` file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlusterUrl {
    /// `None` when the URL names no host (`gluster:///vol/path`).
    pub server: Option<Server>,
    pub volume: String,
    /// Absolute path inside the volume.
    pub path: String,
}

/// Whether `name` starts like a gluster URL scheme (`gluster:`, `gluster+tcp:` ...).
fn url_scheme(name: &str) -> Option<(Transport, &str)> {
    let (scheme, rest) = name.split_once("://")?;
    let t = match scheme {
        "gluster" | "gluster+tcp" => Transport::Tcp,
        "gluster+unix" => Transport::Unix,
        "gluster+rdma" => Transport::Rdma,
        _ => return None,
    };
    Some((t, rest))
}

/// Parses `gluster[+tcp|+unix|+rdma]://[host[:port]]/volume/path[?socket=/sock]`.
/// Returns `Ok(None)` for names that are not gluster URLs.
pub fn parse_gluster_url(name: &str, default_port: u16) -> Result<Option<GlusterUrl>, OptionError> {
    let Some((transport, rest)) = url_scheme(name) else {
        if name.starts_with("gluster") && name.contains("://") {
            return err(format!(
                "unknown URL scheme in '{name}' (use gluster://, gluster+tcp://, gluster+unix:// or gluster+rdma://)"
            ));
        }
        return Ok(None);
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => return err(format!("'{name}': missing /volume/path after the server")),
    };
    let path = path.trim_start_matches('/');
    let (volume, file) = match path.split_once('/') {
        Some((v, f)) => (v, f),
        None => return err(format!("'{name}': missing file path after the volume name")),
    };
    if volume.is_empty() {
        return err(format!("'{name}': empty volume name"));
    }
    let file = file.trim_start_matches('/');
    if file.is_empty() {
        return err(format!("'{name}': empty file path"));
    }
    let server = match transport {
        Transport::Unix => {
            if !authority.is_empty() {
                return err(format!(
                    "'{name}': gluster+unix:// takes no host; give the socket as ?socket=/path"
                ));
            }
            let socket = query
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("socket=")))
                .filter(|s| !s.is_empty());
            match socket {
                Some(s) => Some(Server {
                    transport,
                    host: s.to_string(),
                    port: 0,
                }),
                None => return err(format!("'{name}': gluster+unix:// needs ?socket=/path")),
            }
        }
        _ => {
            if let Some(q) = query {
                return err(format!("'{name}': unexpected query '?{q}'"));
            }
            if authority.is_empty() {
                None
            } else {
                Some(parse_host_port(authority, transport, default_port)?)
            }
        }
    };
    Ok(Some(GlusterUrl {
        server,
        volume: volume.to_string(),
        path: format!("/{file}"),
    }))
}

/// `host`, `host:port`, `[v6addr]` or `[v6addr]:port`.
fn parse_host_port(
    s: &str,
    transport: Transport,
    default_port: u16,
) -> Result<Server, OptionError> {
    let s = s.trim();
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, "")) => (h, None),
            Some((h, p)) => match p.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None => return err(format!("bad server '{s}'")),
            },
            None => return err(format!("bad server '{s}': missing ']'")),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => (s, None), // bare IPv6 address
            None => (s, None),
        }
    };
    if host.is_empty() {
        return err(format!("bad server '{s}': empty host"));
    }
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => return err(format!("bad port '{p}' in server '{s}' (1-65535)")),
        },
    };
    Ok(Server {
        transport,
        host: host.to_string(),
        port,
    })
}

/// fio splits `filename=` at every unescaped ':', so `gluster://h:24007/v/f`
/// reaches the engine as `gluster`, `//h`, `24007/v/f`. Glues such pieces back
/// together; returns `None` when nothing needs gluing.
pub fn merge_split_urls(names: &[String]) -> Option<Vec<String>> {
    // Any gluster+SCHEME, so that a misspelt one is glued back and then
    // reported by parse_gluster_url instead of becoming two file names.
    let is_scheme = |s: &str| s == "gluster" || s.starts_with("gluster+");
    let mut out = Vec::with_capacity(names.len());
    let mut changed = false;
    let mut i = 0;
    while i < names.len() {
        let cur = &names[i];
        if is_scheme(cur) && names.get(i + 1).is_some_and(|n| n.starts_with("//")) {
            let mut url = format!("{cur}:{}", names[i + 1]);
            i += 2;
            // "//host" alone means a ":port/volume/path" piece follows.
            let authority_only = !url["gluster".len()..]
                .split_once("//")
                .map(|(_, r)| r.contains('/'))
                .unwrap_or(false);
            if authority_only {
                if let Some(next) = names.get(i) {
                    let digits = next.bytes().take_while(u8::is_ascii_digit).count();
                    if digits > 0 && next.as_bytes().get(digits) == Some(&b'/') {
                        url.push(':');
                        url.push_str(next);
                        i += 1;
                    }
                }
            }
            out.push(url);
            changed = true;
        } else {
            out.push(cur.clone());
            i += 1;
        }
    }
    changed.then_some(out)
}

/// Splits a `brick=`/`servers=` list.
fn parse_servers(list: &str, transport: Transport, port: u16) -> Result<Vec<Server>, OptionError> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match transport {
            Transport::Unix => out.push(Server {
                transport,
                host: item.to_string(),
                port: 0,
            }),
            _ => out.push(parse_host_port(item, transport, port)?),
        }
    }
    if out.is_empty() {
        return err(format!("brick='{list}' names no server"));
    }
    Ok(out)
}

impl EngineOptions {
    /// Checks the option values of a job together with the gluster URLs among
    /// its file names (`urls`, already parsed).
    pub fn resolve(v: &OptionValues, urls: &[GlusterUrl]) -> Result<EngineOptions, OptionError> {
        let transport = transport_from_code(v.transport)?;
        let port = match u16::try_from(v.port) {
            Ok(p) if p > 0 => p,
            _ => return err(format!("port={} is out of range (1-65535)", v.port)),
        };
        let loglevel = match i32::try_from(v.loglevel) {
            Ok(l) if l <= log_level::TRACE => l,
            _ => return err(format!("loglevel={} is out of range", v.loglevel)),
        };
        if v.io_timeout > MAX_IO_TIMEOUT {
            // fio stores io_timeout=-1 as 4294967295 (its range check skips min 0).
            return err(format!(
                "io_timeout={} is out of range (0-{MAX_IO_TIMEOUT} seconds)",
                v.io_timeout as i32
            ));
        }
        let io_mode = match v.io_mode {
            IO_MODE_ASYNC => IoMode::Async,
            IO_MODE_SYNC => IoMode::Sync,
            other => return err(format!("invalid io_mode code {other}")),
        };
        let write_aggregation = match v.write_aggregation {
            WRITE_AGGREGATION_AUTO => WriteAggregation::Auto,
            WRITE_AGGREGATION_ON => WriteAggregation::On,
            WRITE_AGGREGATION_OFF => WriteAggregation::Off,
            other => return err(format!("invalid write_aggregation code {other}")),
        };
        if let Some(dir) = nonempty(&v.posix) {
            return resolve_posix(v, urls, dir, transport, port, loglevel, io_mode);
        }
        if v.posix_read_only || v.posix_force || posix_threads_given(v) {
            return err(
                "posix_io_threads=, posix_pool=, posix_read_only= and posix_force= need posix=DIR",
            );
        }

        // All URLs of a job must name one volume and one server.
        let mut url_volume: Option<&str> = None;
        let mut url_server: Option<&Server> = None;
        for u in urls {
            match url_volume {
                Some(vol) if vol != u.volume => {
                    return err(format!(
                        "gluster:// file names of one job name different volumes ('{vol}', '{}')",
                        u.volume
                    ))
                }
                _ => url_volume = Some(&u.volume),
            }
            if let Some(s) = &u.server {
                match url_server {
                    Some(prev) if prev != s => {
                        return err(format!(
                            "gluster:// file names of one job name different servers ({prev}, {s})"
                        ))
                    }
                    _ => url_server = Some(s),
                }
            }
        }

        let volfile = nonempty(&v.volfile).map(PathBuf::from);
        let volume = match (nonempty(&v.volume), url_volume) {
            (Some(opt), Some(url)) if opt != url => {
                return err(format!(
                    "volume={opt} conflicts with volume '{url}' of the gluster:// file name"
                ))
            }
            (Some(opt), _) => opt.to_string(),
            (None, Some(url)) => url.to_string(),
            (None, None) => match &volfile {
                // glfs_new() wants a name; a custom volfile carries the graph.
                Some(p) => p
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "volfile".to_string()),
                None => {
                    return err("no volume given: set volume=NAME (or volfile=PATH, or use \
                         filename=gluster://host/VOLUME/path)")
                }
            },
        };

        let mut servers = match nonempty(&v.brick) {
            Some(list) => parse_servers(list, transport, port)?,
            None => Vec::new(),
        };
        if let Some(s) = url_server {
            if servers.is_empty() {
                servers.push(s.clone());
            } else if !servers.contains(s) {
                return err(format!(
                    "brick={} conflicts with server {s} of the gluster:// file name",
                    nonempty(&v.brick).unwrap_or_default()
                ));
            }
        }
        if servers.is_empty() && volfile.is_none() {
            if transport == Transport::Unix {
                return err("transport=unix needs brick=/path/to/glusterd.socket");
            }
            servers.push(Server {
                transport,
                host: DEFAULT_HOST.to_string(),
                port,
            });
        }
        if volfile.is_some() && !servers.is_empty() && nonempty(&v.brick).is_some() {
            return err("volfile= and brick= exclude each other: the volfile names the bricks");
        }
        if volfile.is_some() {
            servers.clear();
        }
        let logfile = nonempty(&v.logfile).unwrap_or(DEFAULT_LOG_FILE).into();
        Ok(EngineOptions {
            conn: ConnSpec {
                volume,
                servers,
                volfile,
                logfile,
                loglevel,
                posix: None,
                io_timeout: v.io_timeout,
                client_io_threads: v.client_io_threads,
                write_aggregation_off: write_aggregation == WriteAggregation::Off,
            },
            single_instance: v.single_instance,
            io_mode,
            write_aggregation,
            posix_pool: 0,
        })
    }
}

/// Was `posix_io_threads` (or `posix_pool`) set to something other than
/// its default `auto`?
fn posix_threads_given(v: &OptionValues) -> bool {
    let given = |o: &Option<String>| nonempty(o).is_some_and(|s| !s.eq_ignore_ascii_case("auto"));
    given(&v.posix_io_threads) || given(&v.posix_pool)
}

/// A thread count option: `None` for unset or `auto`.
fn thread_count(name: &str, value: &Option<String>, max: u32) -> Result<Option<u32>, OptionError> {
    match nonempty(value) {
        None => Ok(None),
        Some(s) if s.eq_ignore_ascii_case("auto") => Ok(None),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if n <= max => Ok(Some(n)),
            _ => err(format!("{name}={s}: expected auto or 0-{max}")),
        },
    }
}

/// The `posix=DIR` (rpc-bypass) branch of [`EngineOptions::resolve`].
fn resolve_posix(
    v: &OptionValues,
    urls: &[GlusterUrl],
    dir: &str,
    transport: Transport,
    port: u16,
    loglevel: i32,
    io_mode: IoMode,
) -> Result<EngineOptions, OptionError> {
    let conflict = |what: &str| {
        err(format!(
            "posix= and {what} exclude each other: posix= opens the brick directory in-process, \
             without glusterd or servers"
        ))
    };
    if nonempty(&v.brick).is_some() {
        return conflict("brick=");
    }
    if nonempty(&v.volfile).is_some() {
        return conflict("volfile=");
    }
    if !urls.is_empty() {
        return conflict("gluster:// file names (use paths inside the brick)");
    }
    if transport != Transport::Tcp {
        return conflict("transport=");
    }
    if port != DEFAULT_PORT {
        return conflict("port=");
    }
    let io_threads = thread_count(
        "posix_io_threads",
        &v.posix_io_threads,
        POSIX_MAX_IO_THREADS,
    )?;
    let pool = thread_count("posix_pool", &v.posix_pool, POSIX_MAX_POOL_THREADS)?;
    if let (Some(t), Some(p)) = (io_threads, pool) {
        if t > 0 && p > 0 {
            return err(format!(
                "posix_io_threads={t} and posix_pool={p} exclude each other: reads and writes \
                 run either on io-threads or on the engine's own threads"
            ));
        }
    }
    if pool.is_some_and(|p| p > 0) && io_mode == IoMode::Sync {
        return err(
            "posix_pool= needs io_mode=async (io_mode=sync runs every I/O in fio's thread)",
        );
    }
    // auto: what io-threads would have been, on the engine's own threads
    // instead, unless io-threads were asked for by name.
    let auto = || {
        if io_mode == IoMode::Async && v.iodepth > 1 {
            auto_io_threads(Path::new(dir), v.buffered)
        } else {
            0
        }
    };
    let pool = pool.unwrap_or(if io_threads.is_none() {
        auto().min(v.iodepth)
    } else {
        0
    });
    let io_threads = io_threads.unwrap_or(if pool > 0 { 0 } else { auto() });
    // Without io-threads or a pool, posix runs every request to completion
    // inside the submitting call, async ones included (the completion is
    // delivered before glfs_*_async returns). Async submission would then
    // only add its overhead (~3% at 4 KiB cached reads) and make fio book
    // the whole I/O time as submission latency (clat ~0): submit
    // synchronously.
    let io_mode = if io_threads == 0 && pool == 0 {
        IoMode::Sync
    } else {
        io_mode
    };
    let dir = PathBuf::from(dir);
    let volume = nonempty(&v.volume)
        .map(str::to_string)
        .unwrap_or_else(|| dir.display().to_string());
    Ok(EngineOptions {
        conn: ConnSpec {
            volume,
            servers: Vec::new(),
            volfile: None,
            logfile: nonempty(&v.logfile).unwrap_or(DEFAULT_LOG_FILE).into(),
            loglevel,
            posix: Some(PosixSpec {
                dir,
                io_threads,
                read_only: v.posix_read_only,
                force: v.posix_force,
            }),
            io_timeout: 0,
            client_io_threads: false,
            write_aggregation_off: false,
        },
        single_instance: v.single_instance,
        io_mode,
        // No write-behind in an rpc-bypass graph.
        write_aggregation: WriteAggregation::On,
        posix_pool: pool,
    })
}

fn nonempty(o: &Option<String>) -> Option<&str> {
    o.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The path inside the volume that a fio file name denotes.
pub fn volume_path(file_name: &str, url: Option<&GlusterUrl>) -> String {
    match url {
        Some(u) => u.path.clone(),
        None if file_name.starts_with('/') => file_name.to_string(),
        None => format!("/{file_name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> OptionValues {
        OptionValues {
            volume: Some("vol".into()),
            port: 24007,
            loglevel: 5,
            single_instance: true,
            ..Default::default()
        }
    }

    #[test]
    fn defaults_to_localhost() {
        let o = EngineOptions::resolve(&values(), &[]).unwrap();
        assert_eq!(o.conn.volume, "vol");
        assert_eq!(
            o.conn.servers,
            vec![Server {
                transport: Transport::Tcp,
                host: "localhost".into(),
                port: 24007
            }]
        );
        assert_eq!(o.io_mode, IoMode::Async);
        assert_eq!(o.conn.logfile, PathBuf::from("/dev/null"));
    }

    #[test]
    fn volume_key_ignores_client_side_tuning_only() {
        let a = EngineOptions::resolve(&values(), &[]).unwrap().conn;
        let mut v = values();
        v.loglevel = 7;
        v.logfile = Some("/tmp/x.log".into());
        v.io_timeout = 5;
        v.client_io_threads = true;
        v.write_aggregation = WRITE_AGGREGATION_OFF;
        let tuned = EngineOptions::resolve(&v, &[]).unwrap().conn;
        assert_ne!(a, tuned);
        assert_eq!(a.volume_key(), tuned.volume_key());
        v.volume = Some("other".into());
        let other = EngineOptions::resolve(&v, &[]).unwrap().conn;
        assert_ne!(a.volume_key(), other.volume_key());
        let mut v = values();
        v.brick = Some("elsewhere".into());
        let elsewhere = EngineOptions::resolve(&v, &[]).unwrap().conn;
        assert_ne!(a.volume_key(), elsewhere.volume_key());
    }

    #[test]
    fn several_servers_and_ports() {
        let mut v = values();
        v.brick = Some("a, b:24010,[::1]:5,[fe80::1]".into());
        v.port = 1234;
        let o = EngineOptions::resolve(&v, &[]).unwrap();
        let got: Vec<_> = o
            .conn
            .servers
            .iter()
            .map(|s| (s.host.as_str(), s.port))
            .collect();
        assert_eq!(
            got,
            vec![("a", 1234), ("b", 24010), ("::1", 5), ("fe80::1", 1234)]
        );
        v.brick = Some("a:0".into());
        assert!(EngineOptions::resolve(&v, &[]).is_err());
        v.brick = Some("a:x".into());
        assert!(EngineOptions::resolve(&v, &[]).is_err());
        v.brick = Some(" , ".into());
        assert!(EngineOptions::resolve(&v, &[]).is_err());
    }

    #[test]
    fn missing_volume_is_an_error() {
        let mut v = values();
        v.volume = None;
        let e = EngineOptions::resolve(&v, &[]).unwrap_err();
        assert!(e.0.contains("volume="), "{e}");
        v.volfile = Some("/tmp/x.vol".into());
        let o = EngineOptions::resolve(&v, &[]).unwrap();
        assert_eq!(o.conn.volume, "x");
        assert!(o.conn.servers.is_empty());
    }

    #[test]
    fn unix_transport() {
        let mut v = values();
        v.transport = TRANSPORT_UNIX;
        assert!(EngineOptions::resolve(&v, &[]).is_err());
        v.brick = Some("/run/glusterd.socket".into());
        let o = EngineOptions::resolve(&v, &[]).unwrap();
        assert_eq!(o.conn.servers[0].transport, Transport::Unix);
        assert_eq!(o.conn.servers[0].host, "/run/glusterd.socket");
    }

    #[test]
    fn urls() {
        let u = parse_gluster_url("gluster://h:24008/vol/dir/f", 24007)
            .unwrap()
            .unwrap();
        assert_eq!(u.volume, "vol");
        assert_eq!(u.path, "/dir/f");
        assert_eq!(u.server.as_ref().unwrap().port, 24008);
        let u = parse_gluster_url("gluster:///vol/f", 24007)
            .unwrap()
            .unwrap();
        assert_eq!(u.server, None);
        let u = parse_gluster_url("gluster+unix:///vol/f?socket=/s", 24007)
            .unwrap()
            .unwrap();
        assert_eq!(u.server.unwrap().host, "/s");
        assert_eq!(parse_gluster_url("plain/file", 24007).unwrap(), None);
        assert!(parse_gluster_url("gluster://h/vol", 24007).is_err());
        assert!(parse_gluster_url("gluster://h/vol/", 24007).is_err());
        assert!(parse_gluster_url("gluster+foo://h/vol/f", 24007).is_err());
        assert!(parse_gluster_url("gluster+unix:///vol/f", 24007).is_err());
    }

    #[test]
    fn url_and_options_combine() {
        let u = parse_gluster_url("gluster://h/vol/f", 24007)
            .unwrap()
            .unwrap();
        let mut v = values();
        v.volume = None;
        let o = EngineOptions::resolve(&v, std::slice::from_ref(&u)).unwrap();
        assert_eq!(o.conn.volume, "vol");
        assert_eq!(o.conn.servers[0].host, "h");
        v.volume = Some("other".into());
        assert!(EngineOptions::resolve(&v, std::slice::from_ref(&u)).is_err());
        let u2 = parse_gluster_url("gluster://h2/vol/g", 24007)
            .unwrap()
            .unwrap();
        v.volume = None;
        assert!(EngineOptions::resolve(&v, &[u, u2]).is_err());
    }

    #[test]
    fn merges_split_urls() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(merge_split_urls(&s(&["a", "b"])), None);
        assert_eq!(
            merge_split_urls(&s(&["gluster", "//h/vol/f"])),
            Some(s(&["gluster://h/vol/f"]))
        );
        assert_eq!(
            merge_split_urls(&s(&[
                "gluster",
                "//h",
                "24007/vol/f",
                "x",
                "gluster",
                "///v/g"
            ])),
            Some(s(&["gluster://h:24007/vol/f", "x", "gluster:///v/g"]))
        );
        assert_eq!(
            merge_split_urls(&s(&["gluster+unix", "///v/f?socket=/s"])),
            Some(s(&["gluster+unix:///v/f?socket=/s"]))
        );
    }

    #[test]
    fn paths() {
        assert_eq!(volume_path("f.0.0", None), "/f.0.0");
        assert_eq!(volume_path("/d/f", None), "/d/f");
    }

    #[test]
    fn auto_io_threads_follow_the_medium() {
        // Real directories: /dev/shm is a tmpfs, the crate's own directory is not.
        let shm = Path::new("/dev/shm");
        let disk = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(memory_backed(shm), "/dev/shm is not a tmpfs here");
        assert!(!memory_backed(disk));
        // auto: inline (no io-threads) on tmpfs and for buffered jobs.
        let inline = 0;
        assert_eq!(auto_io_threads(shm, false), inline);
        assert_eq!(auto_io_threads(disk, false), POSIX_AUTO_IO_THREADS);
        assert_eq!(auto_io_threads(disk, true), inline);
        // Through the options: auto on a tmpfs brick; an explicit count wins.
        let mut v = values();
        v.volume = None;
        v.posix = Some("/dev/shm".into());
        v.iodepth = 32;
        let o = EngineOptions::resolve(&v, &[]).unwrap();
        assert_eq!(o.conn.posix.unwrap().io_threads, inline);
        assert_eq!(
            o.io_mode,
            IoMode::Sync,
            "inline posix submits synchronously"
        );
        assert_eq!(o.posix_pool, 0);
        // Direct I/O on a disk: the engine's own threads instead of io-threads.
        v.posix = Some(disk.display().to_string());
        let o = EngineOptions::resolve(&v, &[]).unwrap();
        assert_eq!(o.conn.posix.unwrap().io_threads, 0);
        assert_eq!(o.posix_pool, POSIX_AUTO_IO_THREADS);
        assert_eq!(o.io_mode, IoMode::Async);
        v.iodepth = 4;
        assert_eq!(
            EngineOptions::resolve(&v, &[]).unwrap().posix_pool,
            4,
            "no more than iodepth"
        );
        v.iodepth = 32;
        v.buffered = true;
        let o = EngineOptions::resolve(&v, &[]).unwrap();
        assert_eq!(o.conn.posix.unwrap().io_threads, inline);
        assert_eq!(o.posix_pool, 0);
        v.posix_io_threads = Some("16".into());
        let o = EngineOptions::resolve(&v, &[]).unwrap();
        assert_eq!(o.conn.posix.unwrap().io_threads, 16);
        assert_eq!(o.posix_pool, 0, "io-threads by name: no pool");
    }

    #[test]
    fn posix_pool_option() {
        let mut v = values();
        v.volume = None;
        v.posix = Some("/dev/shm".into());
        v.iodepth = 8;
        v.posix_pool = Some("3".into());
        let o = EngineOptions::resolve(&v, &[]).unwrap();
        assert_eq!((o.posix_pool, o.io_mode), (3, IoMode::Async));
        assert_eq!(o.conn.posix.clone().unwrap().io_threads, 0);
        // The pool is the job's, not the connection's: same ConnSpec.
        v.posix_pool = Some("0".into());
        let none = EngineOptions::resolve(&v, &[]).unwrap();
        assert_eq!((none.posix_pool, none.io_mode), (0, IoMode::Sync));
        assert_eq!(none.conn, o.conn);
        v.posix_pool = Some("2".into());
        v.posix_io_threads = Some("4".into());
        let e = EngineOptions::resolve(&v, &[]).unwrap_err();
        assert!(e.0.contains("exclude each other"), "{e}");
        v.posix_io_threads = Some("0".into());
        assert_eq!(EngineOptions::resolve(&v, &[]).unwrap().posix_pool, 2);
        v.posix_io_threads = None;
        v.io_mode = IO_MODE_SYNC;
        let e = EngineOptions::resolve(&v, &[]).unwrap_err();
        assert!(e.0.contains("io_mode=async"), "{e}");
        v.io_mode = IO_MODE_ASYNC;
        for bad in ["257", "-1", "many"] {
            v.posix_pool = Some(bad.into());
            let e = EngineOptions::resolve(&v, &[]).unwrap_err();
            assert!(e.0.contains("posix_pool") && e.0.contains(bad), "{e}");
        }
        // Without posix= it is refused like the other posix_ options.
        let mut w = values();
        w.posix_pool = Some("2".into());
        let e = EngineOptions::resolve(&w, &[]).unwrap_err();
        assert!(e.0.contains("need posix=DIR"), "{e}");
    }

    #[test]
    fn posix_mode() {
        let mut v = values();
        v.volume = None;
        v.posix = Some("/b/brick".into());
        v.posix_io_threads = Some("auto".into());
        v.iodepth = 32;
        let o = EngineOptions::resolve(&v, &[]).unwrap();
        let p = o.conn.posix.clone().unwrap();
        assert_eq!(p.dir, PathBuf::from("/b/brick"));
        // A disk brick, direct I/O: auto runs reads on the engine's pool.
        assert_eq!((p.io_threads, o.posix_pool), (0, POSIX_AUTO_IO_THREADS));
        assert!(!p.read_only && !p.force);
        assert!(o.conn.servers.is_empty() && o.conn.volfile.is_none());
        assert_eq!(o.conn.volume, "/b/brick");
        assert!(o.conn.to_string().contains("brick /b/brick in-process"));
        assert_eq!(o.io_mode, IoMode::Async);
        // auto: none at depth 1 or in sync mode; without io-threads the
        // engine submits synchronously.
        v.iodepth = 1;
        let o = EngineOptions::resolve(&v, &[]).unwrap();
        assert_eq!((o.conn.posix.unwrap().io_threads, o.posix_pool), (0, 0));
        assert_eq!(o.io_mode, IoMode::Sync);
        v.iodepth = 8;
        v.io_mode = IO_MODE_SYNC;
        assert_eq!(
            EngineOptions::resolve(&v, &[])
                .unwrap()
                .conn
                .posix
                .unwrap()
                .io_threads,
            0
        );
        v.io_mode = IO_MODE_ASYNC;
        v.posix_io_threads = Some("4".into());
        v.posix_read_only = true;
        v.volume = Some("label".into());
        let o = EngineOptions::resolve(&v, &[]).unwrap();
        let p = o.conn.posix.clone().unwrap();
        assert_eq!((p.io_threads, p.read_only), (4, true));
        assert_eq!(o.conn.volume, "label");
        // The full spec keys sharing: another thread count is another connection.
        v.posix_io_threads = Some("0".into());
        assert_ne!(EngineOptions::resolve(&v, &[]).unwrap().conn, o.conn);
        for bad in ["65", "-1", "lots"] {
            v.posix_io_threads = Some(bad.into());
            let e = EngineOptions::resolve(&v, &[]).unwrap_err();
            assert!(e.0.contains("posix_io_threads"), "{e}");
        }
    }

    #[test]
    fn posix_conflicts() {
        let mut v = values();
        v.posix = Some("/b".into());
        type Set = fn(&mut OptionValues);
        let cases: [(&str, Set); 4] = [
            ("brick=", |v| v.brick = Some("h".into())),
            ("volfile=", |v| v.volfile = Some("/x.vol".into())),
            ("transport=", |v| v.transport = TRANSPORT_RDMA),
            ("port=", |v| v.port = 24008),
        ];
        for (what, set) in cases {
            let mut w = v.clone();
            set(&mut w);
            let e = EngineOptions::resolve(&w, &[]).unwrap_err();
            assert!(e.0.contains(what) && e.0.contains("posix="), "{e}");
        }
        let u = parse_gluster_url("gluster://h/vol/f", 24007)
            .unwrap()
            .unwrap();
        assert!(EngineOptions::resolve(&v, &[u]).is_err());
        // posix_* without posix=.
        v.posix = None;
        v.posix_io_threads = Some("auto".into());
        assert!(EngineOptions::resolve(&v, &[]).is_ok());
        for set in [
            |v: &mut OptionValues| v.posix_read_only = true,
            |v: &mut OptionValues| v.posix_force = true,
            |v: &mut OptionValues| v.posix_io_threads = Some("16".into()),
        ] {
            let mut w = v.clone();
            set(&mut w);
            let e = EngineOptions::resolve(&w, &[]).unwrap_err();
            assert!(e.0.contains("need posix=DIR"), "{e}");
        }
    }

    #[test]
    fn table_is_consistent() {
        let specs = option_specs();
        let mut names: Vec<_> = specs.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), specs.len());
        for s in specs {
            assert!(s.offset >= std::mem::size_of::<*mut c_void>(), "{}", s.name);
            assert!(!s.help.is_empty());
        }
    }
}
