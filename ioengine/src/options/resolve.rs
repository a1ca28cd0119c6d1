//! [`EngineOptions::resolve`]: the checks that turn a job's option values
//! and `gluster://` file names into its settings (volfile server or custom
//! volfile; the `posix=` branch is in [`super::posix`]).

use std::path::PathBuf;

use gfapi::{log_level, DEFAULT_LOG_FILE};

use super::posix::resolve_posix;
use super::table::*;
use super::url::parse_servers;
use super::{err, nonempty, OptionError, Server, Transport, DEFAULT_HOST};
use super::{ConnSpec, EngineOptions, GlusterUrl, IoMode, WriteAggregation};

/// The transport fio stored for `transport=` (its `TRANSPORT_*` code).
fn transport_from_code(code: u32) -> Result<Transport, OptionError> {
    match code {
        TRANSPORT_TCP => Ok(Transport::Tcp),
        TRANSPORT_UNIX => Ok(Transport::Unix),
        TRANSPORT_RDMA => Ok(Transport::Rdma),
        other => Err(OptionError(format!("invalid transport code {other}"))),
    }
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
