//! Engine logic on safe types: connections, file layout, open/close, I/O
//! submission and completion.
//!
//! # Processes, threads and connections
//! gfapi's threads do not survive `fork()`, and fio (default
//! `create_serialize=1`) calls `setup` for every job in its parent process
//! before forking the jobs. So:
//! * `setup` in a process-mode parent never creates gfapi state there: it
//!   forks a short-lived helper that connects, stats the job's files, reports
//!   and `_exit`s (no fini). Bad settings (unknown volume, dead server,
//!   missing volfile) fail here, before any job starts.
//! * `init` runs in the job (process or thread) and takes its connection
//!   from a per-process registry: one connection per settings, shared by
//!   every job of the process (`thread=1`), unless `single-instance=0`.
//!   The registry remembers its pid; a forked child never uses (nor drops)
//!   an inherited connection.
//! * Connections are never `glfs_fini`ed (`Teardown::SkipFini`): by the time
//!   fio leaves, every file was closed — and so flushed — by `close_file`;
//!   the ~10 s fini would only delay the exit.
//!
//! # Layout
//! From the bottom: [`paths`] (a fio file's path on the volume, stat,
//! open-with-create), [`registry`] (the per-process connections), [`job`]
//! (the job's options and state: setup, init, cleanup), [`layout`] (laying
//! out files, `write_aggregation=auto`), [`files`] (open, close, unlink,
//! sizes), [`io`] (submission and completion). Connecting is
//! [`crate::connect`]'s; fio's structures are [`crate::fio`]'s.

pub mod files;
pub mod io;
pub mod job;
pub mod layout;
pub mod paths;
pub mod registry;

pub use files::{close_file, get_file_size, open_file, unlink_file, FileState};
pub use io::{event, getevents, queue, Queued};
pub use job::{cleanup, init, setup, Job};
pub use layout::prepopulate_file;
