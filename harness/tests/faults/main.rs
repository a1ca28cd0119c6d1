//! The harness's fault suite (issue 6): SIGINT/SIGTERM at each stage of a
//! run (bring-up, layout, measurement, teardown), sent to the harness or to
//! its whole process group (a terminal's Ctrl-C), must end the run with
//! 128 + signal (130, 143), leave no FUSE mount, glusterd, brick process,
//! volume, directory or log file it created, and touch nothing it did not
//! create (a foreign volume, mount, directory and earlier results are set up
//! first and checked after). Names with spaces, `;` and `$(...)` must do no
//! harm; unusable names are refused up front. The glusterd case runs the harness in private
//! namespaces (mount, network, pid) with their own glusterd, so the shared
//! glusterd is never stopped.
//!
//! `cargo test -p glusterrs-harness --test faults` runs the quick part;
//! `GLUSTERRS_FAULTS=long` (or `-- --include-ignored`) adds the full signal x
//! stage x target matrix. Needs root, glusterd, fio, /dev/fuse.
//!
//! One file per area, each with its table of cases (`cases()`): signals,
//! foreign, names, sandbox; helpers in scratch.rs and bench.rs; the runner
//! is ioengine/tests/fault_runner (shared with the engine's suite).

#[path = "../../../ioengine/tests/fault_runner/mod.rs"]
mod fault_runner;

mod bench;
mod foreign;
mod names;
mod sandbox;
mod scratch;
mod signals;

use std::path::Path;

use fault_runner::Case;
use glusterrs_cluster::Glusterd;

pub const BIN: &str = env!("CARGO_BIN_EXE_glusterrs-bench");
/// Set (to "STAGE:SIGNAL") when this binary runs as the sandbox's payload.
pub const SANDBOX_ENV: &str = "GLUSTERRS_FAULTS_SANDBOX";

fn main() {
    if let Ok(spec) = std::env::var(SANDBOX_ENV) {
        std::process::exit(sandbox::sandbox_payload(&spec));
    }
    let cases: Vec<Case> = [
        signals::cases(),
        foreign::cases(),
        names::cases(),
        sandbox::cases(),
    ]
    .into_iter()
    .flatten()
    .collect();
    fault_runner::main("harness", setup, || {}, cases)
}

fn setup() {
    Glusterd::ensure().expect("glusterd");
    let _ = glusterrs_cluster::cleanup_stale("gbench-fault");
    let _ = glusterrs_cluster::cleanup_stale("grs-fault");
    assert!(Path::new(BIN).is_file(), "{BIN} missing");
}
