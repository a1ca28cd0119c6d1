// SPDX-License-Identifier: GPL-2.0-or-later
//! The engine's fault suite (issue 6), run through the real fio 3.33 against
//! real volumes: bricks killed or hung mid-run, unreachable or wrong servers,
//! bad volfiles, missing files, permissions, a full brick, abused options,
//! and resource hygiene (fds, threads, RSS over many init/cleanup cycles;
//! valgrind). Every case prints what it tried and what happened; the runner
//! prints the tally at the end (see fault_runner).
//!
//! `cargo test -p glusterrs --test faults` runs the quick part (also part of
//! `make test`); `GLUSTERRS_FAULTS=long` (or `-- --include-ignored`, as
//! `make faults` does) adds the long cases.
//!
//! "glusterd stopped" is simulated without touching the shared glusterd
//! (every test on the machine uses it): a glusterd that died leaves its unix
//! socket behind with nothing listening, and its TCP port refuses
//! connections; both are reproduced on a private socket and port.
//!
//! One file per area, each with its table of cases (`cases()`): brick_loss,
//! connect, files_and_space, options_abuse, resources, valgrind; helpers in
//! fio.rs and volumes.rs; the runner is ../fault_runner (shared with the
//! harness's suite).

#[path = "../common/mod.rs"]
mod common;
#[path = "../fault_runner/mod.rs"]
mod fault_runner;

mod brick_loss;
mod connect;
mod files_and_space;
mod fio;
mod options_abuse;
mod resources;
mod valgrind;
mod volumes;

use fault_runner::Case;
use glusterrs_cluster::Glusterd;
use volumes::{cleanup_stale_tmpfs, ABUSE_VOLUME};

/// Bound for failures that involve no network timeout.
pub const FAST: f64 = 2.0;
/// Bound for failures that wait for a network timeout, and the default
/// bound for a brick that dies or hangs mid-run.
pub const NETWORK: f64 = 10.0;
pub const MIB: u64 = 1 << 20;

fn main() {
    let cases: Vec<Case> = [
        brick_loss::cases(),
        connect::cases(),
        files_and_space::cases(),
        options_abuse::cases(),
        resources::cases(),
        valgrind::cases(),
    ]
    .into_iter()
    .flatten()
    .collect();
    fault_runner::main("engine", setup, teardown, cases)
}

fn teardown() {
    if let Some(m) = ABUSE_VOLUME.get() {
        drop(m.lock().unwrap_or_else(|e| e.into_inner()).take());
    }
}

fn setup() {
    Glusterd::ensure().expect("glusterd");
    cleanup_stale_tmpfs();
    // Built once here so the cases do not race on the engine path.
    let _ = common::engine_arg();
}
