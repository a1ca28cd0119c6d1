//! Measuring CPU: the cgroup that counts every measured process tree (fio's
//! or qemu-img's, every thread), the local brick processes' CPU, and what a
//! run used between two readings.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use crate::cpuacct::{self, CpuGroup};
use crate::report::Row;
use crate::sys::{self, Teardown};

/// What counts the CPU of the measured runs.
pub(super) struct CpuMeter {
    /// cgroup counting the CPU of every measured process tree (None: not
    /// available here; rows then carry fio's own CPU figure only).
    pub group: Option<Arc<CpuGroup>>,
    /// Local brick directories whose glusterfsd CPU is read around each run.
    pub bricks: Vec<PathBuf>,
}

impl CpuMeter {
    /// Creates the cgroup (its removal on `td`); without one, warns and
    /// measures the bricks only.
    pub(super) fn create(td: &mut Teardown) -> CpuMeter {
        let group = match CpuGroup::create() {
            Ok(g) => Some(Arc::new(g)),
            Err(why) => {
                eprintln!("warning: process CPU not measured: {why}");
                None
            }
        };
        if let Some(g) = &group {
            let g = Arc::clone(g);
            td.push("remove the CPU accounting cgroup", move || g.remove());
        }
        CpuMeter {
            group,
            bricks: Vec::new(),
        }
    }

    /// The cgroup, when the process runs on this machine and is measured
    /// (`counted`).
    fn group(&self, counted: bool) -> Option<&CpuGroup> {
        self.group.as_deref().filter(|_| counted)
    }

    /// `program args`, in the cgroup when `counted`.
    pub(super) fn command(&self, counted: bool, program: &Path, args: &[String]) -> Command {
        match self.group(counted) {
            Some(g) => g.command(program, args),
            None => {
                let mut c = sys::command(program);
                c.args(args);
                c
            }
        }
    }

    /// The counters now: the cgroup's when `counted`, the bricks' always.
    pub(super) fn now(&self, counted: bool) -> CpuSnap {
        CpuSnap {
            proc_s: self.group(counted).and_then(|g| g.usage_s().ok()),
            brick_s: cpuacct::bricks_cpu_s(&self.bricks),
        }
    }
}

/// CPU used during one measured run; see [`Row::proc_cpu_s`].
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RunCpu {
    pub proc_s: Option<f64>,
    pub brick_s: Option<f64>,
}

impl RunCpu {
    pub(super) fn apply(self, r: &mut Row) {
        r.proc_cpu_s = self.proc_s;
        r.brick_cpu_s = self.brick_s;
    }
}

/// CPU counters at one instant (see [`CpuMeter::now`]).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CpuSnap {
    proc_s: Option<f64>,
    brick_s: Option<f64>,
}

impl CpuSnap {
    pub(super) fn since(self, before: CpuSnap) -> RunCpu {
        let d = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if a >= b => Some(a - b),
            _ => None,
        };
        RunCpu {
            proc_s: d(self.proc_s, before.proc_s),
            brick_s: d(self.brick_s, before.brick_s),
        }
    }
}
