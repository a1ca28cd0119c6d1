//! The engine's fio options, in layers: the table fio parses and prints
//! ([`table`]: the C layout, `fio --enghelp=/abs/path/libglusterrs.so`),
//! `gluster://` file names and server lists ([`url`]), the checked settings
//! a job runs with ([`spec`]), and the checks that turn one into the other
//! ([`resolve`], with the `posix=` branch in [`posix`]).
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

pub mod posix;
pub mod resolve;
pub mod spec;
pub mod table;
pub mod url;

pub use gfapi::{Server, Transport, DEFAULT_HOST, DEFAULT_PORT};
pub use posix::{auto_io_threads, POSIX_AUTO_IO_THREADS};
pub use spec::{ConnSpec, EngineOptions, IoMode, PosixSpec, WriteAggregation};
pub use table::*;
pub use url::{merge_split_urls, parse_gluster_url, volume_path, GlusterUrl};

/// An invalid combination or value of engine options.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OptionError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, OptionError> {
    Err(OptionError(msg.into()))
}

/// The trimmed value of a string option, `None` when unset or blank.
fn nonempty(o: &Option<String>) -> Option<&str> {
    o.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests;
