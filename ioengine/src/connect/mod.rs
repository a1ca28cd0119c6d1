//! The connection modes, the bottom of the engine: how one [`ConnSpec`]
//! becomes a gfapi instance ([`connect`]).
//!
//! * [`client`]: the network client, from a volfile server (`brick=`, with
//!   [`server_order`]: servers that answer go first) or from a custom
//!   volfile (`volfile=`, checked by [`volfile`] first).
//! * [`rpc_bypass`]: `posix=DIR`, the brick opened in-process
//!   (`gfapi::Volume::posix`).

pub mod client;
pub mod rpc_bypass;
pub mod server_order;
pub mod volfile;

use gfapi::Fs;

use crate::error::EngineError;
use crate::fio;
use crate::options::ConnSpec;

/// A new gfapi instance for `spec`, in the mode it names.
pub fn connect(spec: &ConnSpec) -> Result<Fs, EngineError> {
    fio::ignore_sigpipe();
    if let Some(p) = &spec.posix {
        return rpc_bypass::connect(spec, p);
    }
    if let Some(p) = &spec.volfile {
        volfile::check(p)?;
    }
    client::connect(spec)
}
