//! Executing the setups: per job, the files laid out once, then every repeat
//! of every setup that can run (its derived job file, caches dropped, the
//! volume stopped around rpc-bypass writes), a row per fio group or a reason.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cluster::ClusterOps;
use crate::jobfile;
use crate::report::{Row, RunInfo, Status};
use crate::setup::Availability;
use crate::sys;

use super::args::ENGINE_SETUPS;
use super::bringup::Bringup;
use super::cpu::CpuMeter;
use super::exec::{Ctx, FioResult};
use super::plan::{self, Job};

/// Runs every (job, setup, repeat) of the plan, appending to `rows` (and to
/// `info`'s notes when the page cache cannot be dropped).
pub(super) fn measure(
    ctx: &Ctx,
    ops: &dyn ClusterOps,
    jobs: &[Job],
    up: &Bringup,
    drop_caches: bool,
    rows: &mut Vec<Row>,
    info: &mut RunInfo,
) -> Result<()> {
    let args = &ctx.args;
    let plans = plan::setup_plans(args, &up.env, jobs);
    let runnable: usize = plans
        .iter()
        .flatten()
        .filter(|(_, p)| matches!(p.availability, Availability::Run(_)))
        .count();
    let total = runnable as u64 * u64::from(args.repeat);
    let posix_bricks: Vec<PathBuf> = up.env.posix_brick.iter().cloned().collect();
    let mount = up.env.mount.as_ref().ok().map(PathBuf::as_path);
    let pb = ProgressBar::new(total).with_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30.cyan/blue}] {pos}/{len} {msg} (eta {eta})",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    let ctx = Ctx {
        args: ctx.args.clone(),
        run_dir: ctx.run_dir.clone(),
        pb,
        commands: ctx.commands.try_clone()?,
        cpu: CpuMeter {
            group: ctx.cpu.group.clone(),
            // "host:/path" of this machine's volume (none with --server).
            bricks: if args.server.is_some() {
                Vec::new()
            } else {
                up.bricks
                    .iter()
                    .filter_map(|b| b.split_once(':'))
                    .map(|(_, p)| PathBuf::from(p))
                    .collect()
            },
        },
    };
    let mut caches_ok = drop_caches;
    for ((job, _path, text), plan) in jobs.iter().zip(&plans) {
        sys::check_interrupted()?;
        let raw = ctx.run_dir.join("raw").join(job);
        std::fs::create_dir_all(&raw)?;
        for (setup, p) in plan {
            match &p.availability {
                Availability::Run(_) => {}
                Availability::Skip(why) => {
                    rows.push(Row::not_run(job, setup, Status::Skipped, why.clone()))
                }
                Availability::Fail(why) => {
                    rows.push(Row::not_run(job, setup, Status::Failed, why.clone()))
                }
            }
        }
        // Lay the files out once, through the mount, so every setup reads
        // the same files (created by gluster, with their gfids).
        for dir in &up.layout_dirs {
            ctx.pb
                .set_message(format!("{job}: laying out files in {}", dir.display()));
            let opts = vec![
                ("ioengine".to_string(), "psync".to_string()),
                ("directory".to_string(), dir.display().to_string()),
                ("create_only".to_string(), "1".to_string()),
            ];
            let derived = ctx.run_dir.join("jobs").join(format!("{job}-layout.fio"));
            std::fs::write(&derived, jobfile::derive(text, &opts, args.size.as_deref()))?;
            let log = raw.join("layout.log");
            if let FioResult::Failed(why) = ctx.fio(&derived, None, &log)? {
                ctx.log(format!(
                    "warning: {job}: layout in {} failed: {why}",
                    dir.display()
                ));
            }
        }
        let mut failed: BTreeMap<&str, String> = BTreeMap::new();
        for rep in 1..=args.repeat {
            for (setup, p) in plan {
                let Availability::Run(opts) = &p.availability else {
                    continue;
                };
                sys::check_interrupted()?;
                ctx.pb
                    .set_message(format!("{job} · {setup} · run {rep}/{}", args.repeat));
                if failed.contains_key(setup.as_str()) {
                    ctx.pb.inc(1);
                    continue;
                }
                if caches_ok {
                    if let Err(e) = sys::drop_caches() {
                        ctx.log(format!(
                            "warning: cannot drop caches ({e:#}); continuing without"
                        ));
                        info.notes.push(format!("caches NOT dropped: {e:#}"));
                        info.drop_caches = false;
                        caches_ok = false;
                    }
                }
                let derived = ctx.run_dir.join("jobs").join(format!("{job}-{setup}.fio"));
                if rep == 1 {
                    let mut opts = opts.clone();
                    opts.extend(args.fio_opts.iter().cloned());
                    if ENGINE_SETUPS.contains(&setup.as_str()) {
                        opts.extend(args.engine_opts.iter().cloned());
                    }
                    std::fs::write(&derived, jobfile::derive(text, &opts, args.size.as_deref()))?;
                }
                let out = raw.join(format!("{setup}-r{rep}.json"));
                let log = raw.join(format!("{setup}-r{rep}.log"));
                let mut stop_failed = None;
                if p.stop_volume {
                    ctx.pb.set_message(format!(
                        "{job} · {setup} · run {rep}/{} · stopping volume {}",
                        args.repeat, up.env.volume
                    ));
                    if let Err(e) = ops.stop_volume(&up.env.volume, &posix_bricks) {
                        stop_failed = Some(format!("could not stop the volume: {e:#}"));
                    }
                }
                let result = match stop_failed {
                    Some(why) => Ok(FioResult::Failed(why)),
                    None if setup == "qemu" => {
                        ctx.qemu(opts, &derived, &raw, &format!("{setup}-r{rep}"))
                    }
                    None => ctx.fio(&derived, Some(&out), &log),
                };
                if p.stop_volume {
                    // Always (even when interrupted): later setups need the volume.
                    ctx.pb.set_message(format!(
                        "{job} · {setup} · run {rep}/{} · starting volume {}",
                        args.repeat, up.env.volume
                    ));
                    ops.start_volume(&up.env.volume, &posix_bricks, mount)
                        .context("restarting the volume after an rpc-bypass run")?;
                }
                match result? {
                    FioResult::Done {
                        groups,
                        wall_s,
                        cpu,
                    } => {
                        let mut errs = Vec::new();
                        for g in &groups {
                            let mut r = Row::from_group(job, setup, rep, g, wall_s);
                            cpu.apply(&mut r);
                            if r.status != Status::Ok {
                                errs.push(r.note.clone());
                            }
                            rows.push(r);
                        }
                        let g = &groups[0];
                        ctx.log(format!(
                            "{job:<14} {setup:<14} run {rep}: aggrb {:>9.0} KiB/s  mint {:>6} ms  maxt {:>6} ms  ({wall_s:.1} s)",
                            g.agg_kibs(),
                            g.min_run,
                            g.max_run
                        ));
                        if !errs.is_empty() {
                            failed.insert(setup, errs.join("; "));
                        }
                    }
                    FioResult::Failed(why) => {
                        ctx.log(format!("{job:<14} {setup:<14} run {rep}: FAILED: {why}"));
                        let mut r = Row::not_run(job, setup, Status::Failed, why.clone());
                        r.repeat = rep;
                        rows.push(r);
                        failed.insert(setup, why);
                    }
                }
                ctx.pb.inc(1);
            }
        }
    }
    ctx.pb.finish_and_clear();
    Ok(())
}
