//! `libglusterrs.so`: a fio external ioengine for GlusterFS volumes, built on
//! the `gfapi` crate.
//!
//! ```text
//! fio --ioengine=external:/path/libglusterrs.so --volume=VOL [--brick=HOST] ...
//! fio --enghelp=/path/libglusterrs.so          # lists the engine options
//! ```
//!
//! * [`fio`]: bindings generated from the fio source of the installed fio
//!   version, fio's exported helpers, the ops table and the C entry points
//!   (the only `unsafe` code).
//! * [`options`]: the option table (drop-in for fio's `gfapi` engine) and
//!   its checks.
//! * [`engine`]: connections, layout, open/close, async/sync I/O.
//! * [`rpc_bypass`]: `posix=DIR`, the brick opened in-process
//!   (`gfapi::Volume::posix`).
//! * [`server_order`]: volfile servers that answer go first (failover past an
//!   unreachable one).

pub mod engine;
pub mod fio;
pub mod options;
pub mod rpc_bypass;
pub mod server_order;
