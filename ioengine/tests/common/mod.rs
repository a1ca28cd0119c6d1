//! Helpers for the engine tests: locate libglusterrs.so, run the real fio,
//! bring up a volume (glusterrs-cluster).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub use glusterrs_cluster::{Glusterd, Volume, VolumeSpec};

/// The cdylib cargo built next to this test binary (target/<profile>/).
pub fn engine_so() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let so = profile_dir.join("libglusterrs.so");
    assert!(
        so.is_file(),
        "{} missing: cargo test builds it with the rlib",
        so.display()
    );
    so
}

pub fn engine_arg() -> String {
    format!("--ioengine=external:{}", engine_so().display())
}

/// Every engine option, listed by hand: `fio_engine` checks that
/// `fio --enghelp` shows each with its help, and the fault suite abuses each
/// (`options_every_engine_option_is_covered` fails until a new option joins).
pub const ENGINE_OPTIONS: &[&str] = &[
    "volume",
    "brick",
    "single-instance",
    "port",
    "transport",
    "volfile",
    "posix",
    "posix_io_threads",
    "posix_pool",
    "posix_read_only",
    "posix_force",
    "logfile",
    "loglevel",
    "io_mode",
    "io_timeout",
    "client_io_threads",
    "write_aggregation",
];

/// A started volume on this machine, removed (with its bricks) on drop.
pub fn volume() -> Volume {
    Glusterd::ensure().expect("glusterd");
    Volume::create(VolumeSpec::new()).expect("create volume")
}

/// The single brick directory of `vol`.
pub fn brick(vol: &Volume) -> PathBuf {
    vol.bricks()[0].clone()
}

pub struct Run {
    pub out: Output,
    pub secs: f64,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.out.status.success()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout(), self.stderr())
    }
    #[track_caller]
    pub fn assert_ok(&self) {
        assert!(
            self.ok(),
            "fio failed ({:?}):\n{}",
            self.out.status,
            self.text()
        );
        // fio reports job errors as "err= N" per job; all must be 0.
        for l in self.stdout().lines().filter(|l| l.contains("err=")) {
            assert!(l.contains("err= 0"), "job error: {l}\n{}", self.text());
        }
    }
}

/// Runs the real fio binary through the engine in `dir`, with `args`.
pub fn fio(dir: &Path, args: &[String]) -> Run {
    run(Command::new("fio")
        .current_dir(dir)
        .arg(engine_arg())
        .args(args))
}

/// `fio` without the engine (e.g. to verify through FUSE with psync).
pub fn fio_plain(dir: &Path, args: &[String]) -> Run {
    run(Command::new("fio").current_dir(dir).args(args))
}

fn run(cmd: &mut Command) -> Run {
    let start = Instant::now();
    let out = cmd.output().expect("run fio");
    Run {
        out,
        secs: start.elapsed().as_secs_f64(),
    }
}

pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

pub fn tempdir(tag: &str) -> TempDir {
    let p = std::env::temp_dir().join(format!(
        "grsio-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&p).expect("mkdir temp");
    TempDir(p)
}

pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}
