//! `run`: bring up what is needed, run every (job, setup) `--repeat` times
//! with caches dropped in between, write the results, tear everything down.
//!
//! This file holds the order of those steps; each step lives in a module of
//! its own, each using only the ones listed before it:
//! - `args`: the command line ([`RunArgs`]);
//! - `plan`: arguments checked, jobs read, run name, engine, setups per job;
//! - `cpu`: the CPU of each measured process tree and of the bricks;
//! - `bringup`: work directory, volume, mount, volfile, the setups' `Env`;
//! - `exec`: the run's context and one measured fio or qemu-img run;
//! - `measure`: every (job, setup, repeat), a row each;
//! - `outputs`: run directory, run.json's notes, exports, `results/latest`.

mod args;
mod bringup;
mod cpu;
mod exec;
mod measure;
mod outputs;
mod plan;

use std::fs::File;
use std::time::SystemTime;

use anyhow::{bail, Result};
use indicatif::ProgressBar;

use crate::cluster::{ClusterOps, GlusterCluster};
use crate::export;
use crate::report::Report;
use crate::sys::{self, Teardown};

pub use args::RunArgs;
pub use outputs::write_outputs;

use cpu::CpuMeter;
use exec::Ctx;

pub fn run(args: RunArgs) -> Result<i32> {
    sys::install_signal_handlers()?;
    let mut args = args;
    plan::check_args(&mut args)?;
    let jobs = plan::read_jobs(&args)?;
    let started = SystemTime::now();
    let run_name = args
        .name
        .clone()
        .unwrap_or_else(|| plan::timestamp(started));
    plan::check_run_name(&run_name)?;
    let run_dir = outputs::create_run_dir(&args.results, &run_name)?;
    let drop_caches = !args.no_drop_caches;

    let mut td = Teardown::default();
    td.verbose = true;
    let pb = ProgressBar::hidden();
    let cpu = CpuMeter::create(&mut td);
    let ctx = Ctx {
        commands: File::create(run_dir.join("commands.txt"))?,
        args: args.clone(),
        run_dir: run_dir.clone(),
        pb,
        cpu,
    };
    let gluster_ops = GlusterCluster {
        remote_host: args
            .server
            .as_ref()
            .map(|s| s.rsplit_once(':').map_or(s.clone(), |(h, _)| h.to_string())),
        interrupt: glusterrs_cluster::Interrupt::from_flag(sys::interrupt_flag()),
    };
    let mut nodes_args = args.clone();
    let nodes = match bringup::bring_up_nodes(&mut nodes_args, &run_dir, &mut td) {
        Ok(n) => n,
        Err(e) => {
            let _ = td.run();
            drop(ctx);
            let _ = std::fs::remove_dir_all(&run_dir);
            return Err(e);
        }
    };
    let args = nodes_args;
    let mut ctx = ctx;
    ctx.args = args.clone();
    let ops: &dyn ClusterOps = match &nodes {
        Some(n) => n,
        None => &gluster_ops,
    };
    ctx.log(format!(
        "glusterrs-bench: run {run_name} -> {}",
        run_dir.display()
    ));
    let up = match bringup::bring_up(&args, ops, &run_name, &run_dir, &mut td) {
        Ok(up) => up,
        Err(e) => {
            let teardown_errors = td.run();
            drop(ctx);
            // Nothing was measured; the directory is new (see above): all ours.
            if teardown_errors.is_empty() {
                let _ = std::fs::remove_dir_all(&run_dir);
            }
            if sys::interrupted() {
                // A step that failed because of the signal says so itself;
                // anything else is worth showing.
                if !is_interruption(&e) {
                    eprintln!("after the interrupt: {e:#}");
                }
                eprintln!(
                    "{} during bring-up: torn down, nothing measured",
                    sys::Interrupted
                );
                return Ok(sys::interrupted_exit_code());
            }
            return Err(e);
        }
    };
    let mut info = outputs::run_info(
        &args,
        &run_name,
        started,
        &jobs,
        &up,
        nodes.as_ref(),
        drop_caches,
    );
    let mut rows = Vec::new();
    let result = measure::measure(&ctx, ops, &jobs, &up, drop_caches, &mut rows, &mut info);
    // Tear down before writing: the results do not depend on the cluster.
    ctx.pb.finish_and_clear();
    let teardown_errors = td.run();
    let report = Report { info, rows };
    write_outputs(&report, &run_dir, !args.no_plots)?;
    outputs::update_latest(&args.results, &run_name)?;
    match result {
        Ok(()) => {
            println!("{}", export::markdown(&report));
            eprintln!("results in {}", run_dir.display());
            if sys::interrupted() {
                // The signal came after the last measurement (during the
                // teardown, which is not cut short): the results are complete,
                // but the caller asked to stop, so a script must see it.
                eprintln!(
                    "{} after the last measurement: results complete",
                    sys::Interrupted
                );
                return Ok(sys::interrupted_exit_code());
            }
            if !teardown_errors.is_empty() {
                bail!("teardown failed: {teardown_errors:?}");
            }
            Ok(0)
        }
        // Whatever failed after SIGINT/SIGTERM (a step cut short by it), the
        // run was interrupted: 128 + signal, as a shell reports it.
        Err(e) if sys::interrupted() => {
            if !is_interruption(&e) {
                eprintln!("after the interrupt: {e:#}");
            }
            eprintln!(
                "{}: torn down; partial results in {}",
                sys::Interrupted,
                run_dir.display()
            );
            Ok(sys::interrupted_exit_code())
        }
        Err(e) => Err(e),
    }
}

/// The error is the interrupt itself (the harness's or the cluster crate's).
fn is_interruption(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<sys::Interrupted>()
            || matches!(
                c.downcast_ref::<glusterrs_cluster::Error>(),
                Some(glusterrs_cluster::Error::Interrupted { .. })
            )
    })
}
