//! The engine's fio options: the C layout fio stores them in, the table fio
//! parses and prints (`fio --enghelp=/abs/path/libglusterrs.so`), and the
//! conversion into checked Rust settings.
//!
//! Drop-in compatible with fio's `gfapi`/`gfapi_async` engines (`volume`,
//! `brick`, `single-instance`), plus `port`, several servers, `transport`,
//! `volfile`, `logfile`, `loglevel` and `io_mode`. File names may also be
//! QEMU-style URLs: `gluster[+tcp|+rdma|+unix]://[host[:port]]/volume/path`.

use std::ffi::{c_char, c_uint, c_void};
use std::fmt;
use std::mem::offset_of;
use std::path::PathBuf;

/// Default glusterd management port.
pub const DEFAULT_PORT: u16 = 24007;
/// Default volfile server.
pub const DEFAULT_HOST: &str = "localhost";

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

const LOG_LEVELS: &[(&str, u32, &str)] = &[
    ("none", 0, "No logging"),
    ("emerg", 1, "Emergencies"),
    ("alert", 2, "Alerts"),
    ("critical", 3, "Critical errors"),
    ("error", 4, "Errors"),
    ("warning", 5, "Warnings"),
    ("notice", 6, "Notices"),
    ("info", 7, "Informational"),
    ("debug", 8, "Debug"),
    ("trace", 9, "Trace"),
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
    ];
    SPECS
}

/// Transport of one volfile server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Unix,
    Rdma,
}

impl Transport {
    fn from_code(code: u32) -> Result<Transport, OptionError> {
        match code {
            TRANSPORT_TCP => Ok(Transport::Tcp),
            TRANSPORT_UNIX => Ok(Transport::Unix),
            TRANSPORT_RDMA => Ok(Transport::Rdma),
            other => Err(OptionError(format!("invalid transport code {other}"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Unix => "unix",
            Transport::Rdma => "rdma",
        }
    }
}

/// One volfile server: a host and port (tcp, rdma) or a socket path (unix).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Server {
    pub transport: Transport,
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.transport {
            Transport::Unix => write!(f, "unix:{}", self.host),
            Transport::Tcp => write!(f, "{}:{}", self.host, self.port),
            Transport::Rdma => write!(f, "rdma:{}:{}", self.host, self.port),
        }
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
}

impl fmt::Display for ConnSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
    let is_scheme = |s: &str| {
        matches!(
            s,
            "gluster" | "gluster+tcp" | "gluster+unix" | "gluster+rdma"
        )
    };
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
        let transport = Transport::from_code(v.transport)?;
        let port = match u16::try_from(v.port) {
            Ok(p) if p > 0 => p,
            _ => return err(format!("port={} is out of range (1-65535)", v.port)),
        };
        let loglevel = match i32::try_from(v.loglevel) {
            Ok(l) if l <= 9 => l,
            _ => return err(format!("loglevel={} is out of range", v.loglevel)),
        };
        let io_mode = match v.io_mode {
            IO_MODE_ASYNC => IoMode::Async,
            IO_MODE_SYNC => IoMode::Sync,
            other => return err(format!("invalid io_mode code {other}")),
        };

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
        let logfile = nonempty(&v.logfile).unwrap_or("/dev/null").into();
        Ok(EngineOptions {
            conn: ConnSpec {
                volume,
                servers,
                volfile,
                logfile,
                loglevel,
            },
            single_instance: v.single_instance,
            io_mode,
        })
    }
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
