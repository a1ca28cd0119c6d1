//! `libglusterrs.so`: a fio external ioengine for GlusterFS volumes, built on
//! the `gfapi` crate.
//!
//! ```text
//! fio --ioengine=external:/path/libglusterrs.so --volume=VOL [--brick=HOST] ...
//! fio --enghelp=/path/libglusterrs.so          # lists the engine options
//! ```
//!
//! The modules form layers; each uses only the ones below it
//! (`scripts/check-layout`):
//!
//! * [`ops`]: the top of the fio glue: the `ioengine_ops` and option tables
//!   fio loads (`get_ioengine`) and the `extern "C"` entry points, each
//!   behind a panic fence; they call the engine.
//! * [`engine`]: the engine's state machine on safe types: connection
//!   registry, the job's life (setup, init, cleanup), file layout,
//!   open/close, async/sync I/O.
//! * [`connect`]: the connection modes: volfile server, custom volfile,
//!   rpc-bypass (`posix=DIR`, the brick opened in-process); volfile servers
//!   that answer go first.
//! * [`fio`]: the bottom of the fio glue: bindings generated from the fio
//!   source of the installed fio version, fio's exported helpers, safe views
//!   of `thread_data`/`fio_file`/`io_u`, process helpers. With [`ops`] the
//!   only `unsafe` code.
//! * [`error`]: [`error::EngineError`], an errno and a message for fio.
//! * [`options`]: the option table (drop-in for fio's `gfapi` engine) as
//!   data, file-name parsing, and the checks that resolve a job's settings.

pub mod connect;
pub mod engine;
pub mod error;
pub mod fio;
pub mod ops;
pub mod options;
