//! The option table as data: the C struct fio stores the values in
//! ([`RawOptions`]), the values copied out of it ([`OptionValues`]), the
//! stored codes of the choice options, and the rows fio parses and
//! `--enghelp` prints ([`option_specs`]).

use std::ffi::{c_char, c_uint, c_void};
use std::mem::offset_of;

use gfapi::log_level;

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
/// io-threads' own limit (`thread-count`, IOT_MAX_THREADS in gluster 10).
pub const POSIX_MAX_IO_THREADS: u32 = 64;
/// Largest `posix_pool=` (the gfapi crate's pool limit).
pub const POSIX_MAX_POOL_THREADS: u32 = 256;
/// Most threads `posix_pool=auto` starts (one per I/O in flight up to this).
pub const POSIX_AUTO_POOL_MAX: u32 = 64;

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
                   0-256. auto: min(iodepth, 64) when posix_io_threads= is not given and \
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
