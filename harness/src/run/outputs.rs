//! Reporting a run: its directory, how it was made (`RunInfo`, run.json's
//! content, with the notes that explain the numbers), the exporters' files,
//! and the `latest` link.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{bail, Context, Result};

use crate::export;
use crate::jobfile;
use crate::netns_cluster::NetnsCluster;
use crate::report::{available_cpus, Report, RunInfo};
use crate::sys;

use super::args::{RunArgs, ENGINE_SETUPS};
use super::bringup::Bringup;
use super::plan::{self, Job};

/// Creates `results/<run_name>/` with its `raw/` and `jobs/`; refuses a run
/// directory that exists.
pub(super) fn create_run_dir(results: &Path, run_name: &str) -> Result<PathBuf> {
    let run_dir = results.join(run_name);
    std::fs::create_dir_all(results).with_context(|| format!("creating {}", results.display()))?;
    // create_dir, not _all: the run directory is new, so all of it is ours.
    match std::fs::create_dir(&run_dir) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("{} exists: choose another --name", run_dir.display())
        }
        r => r.with_context(|| format!("creating {}", run_dir.display()))?,
    }
    std::fs::create_dir(run_dir.join("raw"))?;
    std::fs::create_dir(run_dir.join("jobs"))?;
    Ok(run_dir)
}

/// What run.json records of the run, notes included; measuring adds to it.
pub(super) fn run_info(
    args: &RunArgs,
    run_name: &str,
    started: SystemTime,
    jobs: &[Job],
    up: &Bringup,
    nodes: Option<&NetnsCluster>,
    drop_caches: bool,
) -> RunInfo {
    let mut info = RunInfo {
        run: run_name.to_string(),
        started: plan::timestamp(started),
        host: hostname(),
        fio_version: fio_version(&args.fio),
        size: args.size.clone(),
        repeat: args.repeat,
        drop_caches,
        volume: up.env.volume.clone(),
        server: up.server.clone(),
        bricks: up.bricks.clone(),
        replica: args.replica,
        volume_options: up.info_volume_options.clone(),
        clients: args.clients.clone(),
        jobs: jobs.iter().map(|j| j.0.clone()).collect(),
        setups: args.setups.clone(),
        job_descriptions: jobs
            .iter()
            .filter_map(|(n, _, t)| jobfile::description(t).map(|d| (n.clone(), d)))
            .collect(),
        notes: up.notes.clone(),
        cpus: available_cpus(),
    };
    if !args.fio_opts.is_empty() {
        info.notes.push(format!(
            "extra fio options on every setup: {}",
            key_values(&args.fio_opts)
        ));
    }
    if !args.engine_opts.is_empty() {
        info.notes.push(format!(
            "extra libglusterrs options on {}: {}",
            ENGINE_SETUPS.join(", "),
            key_values(&args.engine_opts)
        ));
    }
    if let Ok(e) = &up.env.engine {
        info.notes
            .push(format!("libglusterrs engine: {}", e.display()));
        if e.components().any(|c| c.as_os_str() == "debug") {
            info.notes.push(
                "WARNING: the engine is a debug build; numbers are not representative".into(),
            );
        }
    }
    if args.setups.iter().any(|s| s == "rpc-bypass") {
        if let Ok(b) = &up.env.posix_brick {
            info.notes.push(format!(
                "rpc-bypass: libglusterrs posix={} (the brick in-process); jobs that only read \
                 open it read-only (posix_read_only=1) while the volume runs; {}",
                b.display(),
                match &up.env.posix_writes {
                    Ok(()) => "jobs that write run with the volume stopped (gluster volume \
                               stop before, start after each run)"
                        .to_string(),
                    Err(why) => format!("jobs that write are not run: {why}"),
                }
            ));
        }
    }
    if let Some(n) = nodes {
        info.notes.push(n.describe());
        if let Some(k) = args.client_namespaces {
            info.notes.push(format!(
                "fio client/server mode: fio --server in {k} client namespaces on the cluster's \
                 bridge ({})",
                args.clients.join(", ")
            ));
        }
    }
    info
}

/// `KEY=VALUE KEY=VALUE ...`, as the options were given.
fn key_values(opts: &[(String, String)]) -> String {
    opts.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

fn fio_version(fio: &Path) -> String {
    let mut c = sys::command(fio);
    c.arg("--version");
    sys::output(c)
        .map(|o| o.stdout.trim().to_string())
        .unwrap_or_default()
}

pub fn write_outputs(report: &Report, dir: &Path, plots: bool) -> Result<()> {
    for ex in export::all() {
        if !plots && ex.name() == "plots" {
            continue;
        }
        match ex.export(report, dir) {
            Ok(_) => {}
            // Plots are a convenience: a missing font must not lose the numbers.
            Err(e) if ex.name() == "plots" => eprintln!("warning: plots not written: {e:#}"),
            Err(e) => return Err(e.context(format!("{} export", ex.name()))),
        }
    }
    Ok(())
}

/// Points `results/latest` at `run` (relative link, replaced atomically).
pub fn update_latest(results: &Path, run: &str) -> Result<()> {
    let tmp = results.join(format!(".latest-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(run, &tmp)?;
    std::fs::rename(&tmp, results.join("latest")).context("updating results/latest")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_symlink_is_replaced() {
        let dir = std::env::temp_dir().join(format!("gb-latest-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::create_dir_all(dir.join("b")).unwrap();
        update_latest(&dir, "a").unwrap();
        update_latest(&dir, "b").unwrap();
        assert_eq!(
            std::fs::read_link(dir.join("latest")).unwrap(),
            Path::new("b")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
