// SPDX-License-Identifier: GPL-2.0-or-later
//! Resource hygiene over many init/cleanup cycles: fds, threads and RSS of
//! thread jobs (shared and private connections) and process jobs.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{self, tempdir};
use crate::fault_runner::{Case, Log};
use crate::fio::*;
use crate::volumes::*;

/// Resources.
pub fn cases() -> Vec<Case> {
    vec![
        Case::quick("resources_thread_jobs_shared_connection", res_shared_quick),
        Case::quick(
            "resources_thread_jobs_private_connections",
            res_private_quick,
        ),
        Case::quick("resources_process_jobs_parent", res_process_quick),
        Case::long("resources_1000_init_cleanup_cycles_shared", res_shared_long),
        Case::long(
            "resources_1000_init_cleanup_cycles_private",
            res_private_long,
        ),
        Case::long("resources_300_process_jobs_parent", res_process_long),
    ]
}

#[derive(Clone, Copy, Debug)]
struct Sample {
    fds: usize,
    threads: usize,
    rss_kib: u64,
}

fn sample(pid: u32) -> Option<Sample> {
    let fds = fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    let threads = fs::read_dir(format!("/proc/{pid}/task")).ok()?.count();
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())?;
    Some(Sample {
        fds,
        threads,
        rss_kib,
    })
}

/// Samples a running fio every 100 ms until it exits.
fn sample_run(mut fio: Fio, limit: Duration) -> (Outcome, Vec<Sample>) {
    let t0 = Instant::now();
    let pid = fio.pid();
    let mut samples = Vec::new();
    while fio.running() {
        if let Some(s) = sample(pid) {
            samples.push(s);
        }
        assert!(t0.elapsed() < limit, "fio still running after {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    (fio.wait(limit), samples)
}

/// Max and median of one measure over a slice of samples.
fn stats(s: &[Sample], f: impl Fn(&Sample) -> u64) -> (u64, u64) {
    let mut v: Vec<u64> = s.iter().map(f).collect();
    v.sort_unstable();
    (
        *v.last().unwrap_or(&0),
        v.get(v.len() / 2).copied().unwrap_or(0),
    )
}

/// A job file of `sections` stonewalled sections of `numjobs` thread (or
/// process) jobs each: every job is one engine init/cleanup cycle.
fn many_jobs_file(dir: &Path, head: &str, sections: usize) -> PathBuf {
    let mut t = String::from(head);
    for i in 0..sections {
        t.push_str(&format!("[s{i}]\n"));
    }
    let p = dir.join("many.fio");
    fs::write(&p, t).unwrap();
    p
}

struct Growth {
    fds: i64,
    threads: i64,
    rss_kib: i64,
}

/// Growth from the samples at 1/3-1/2 of the run to those of its last sixth
/// (steady state: the first third includes start-up and warm-up). The
/// windows' medians lie half the run apart.
fn growth(s: &[Sample]) -> Growth {
    let n = s.len();
    assert!(n >= 12, "too few samples ({n}): the run was too short");
    let (a, b) = (&s[n / 3..n / 2], &s[5 * n / 6..]);
    let (fa, _) = stats(a, |x| x.fds as u64);
    let (fb, _) = stats(b, |x| x.fds as u64);
    let (ta, _) = stats(a, |x| x.threads as u64);
    let (tb, _) = stats(b, |x| x.threads as u64);
    let (_, ra) = stats(a, |x| x.rss_kib);
    let (_, rb) = stats(b, |x| x.rss_kib);
    Growth {
        fds: fb as i64 - fa as i64,
        threads: tb as i64 - ta as i64,
        rss_kib: rb as i64 - ra as i64,
    }
}

/// `sections` x `numjobs` thread jobs (shared or private connections), and
/// the same job file with psync on a local directory as fio's own baseline.
/// fds and threads must not grow; RSS may grow no more than fio's own
/// baseline plus `rss_slack_kib` per cycle.
fn thread_cycles(
    log: &mut Log,
    sections: usize,
    numjobs: usize,
    private: bool,
    rss_slack_kib: f64,
) {
    let vol = volume();
    let dir = tempdir("fault-res");
    let local = tempdir("fault-res-local");
    let cycles = sections * numjobs;
    let common = format!(
        "[global]\nthread=1\nstonewall\nnumjobs={numjobs}\nrw=randrw\nbs=4k\nsize=64k\n\
         iodepth=4\nfilename_format=res.$jobnum\n"
    );
    let ours = format!(
        "{common}ioengine=external:{}\nvolume={}\nsingle-instance={}\n",
        common::engine_so().display(),
        vol.name(),
        if private { 0 } else { 1 }
    );
    log.say(format!(
        "tried: {cycles} engine init/cleanup cycles in one thread=1 fio ({sections} stonewalled \
         sections x {numjobs} jobs, {} connections), sampling fds, threads and RSS every 100 ms",
        if private {
            "private (single-instance=0)"
        } else {
            "one shared"
        }
    ));
    let job = many_jobs_file(&dir.0, &ours, sections);
    let limit = Duration::from_secs(60 + cycles as u64);
    let (r, s) = sample_run(
        spawn(&dir.0, false, As::Root, &[job.display().to_string()]),
        limit,
    );
    expect_success(log, "engine run", &r, &dir.0);
    let base_job = many_jobs_file(
        &local.0,
        &format!("{common}ioengine=psync\ndirectory={}\n", local.0.display()),
        sections,
    );
    let (rb, sb) = sample_run(
        spawn(&local.0, false, As::Root, &[base_job.display().to_string()]),
        limit,
    );
    expect_success(log, "baseline run (psync, local dir)", &rb, &local.0);
    let g = growth(&s);
    let gb = growth(&sb);
    let (fmax, _) = stats(&s, |x| x.fds as u64);
    let (tmax, _) = stats(&s, |x| x.threads as u64);
    let (rmax, _) = stats(&s, |x| x.rss_kib);
    let per = |kib: i64| kib as f64 / (cycles as f64 * 0.5);
    log.say(format!(
        "engine: {} samples over {:.0} s; max {fmax} fds, {tmax} threads, {} MiB RSS; growth \
         mid->end: fds {:+}, threads {:+}, RSS {:+} KiB ({:+.2} KiB/cycle)",
        s.len(),
        r.secs,
        rmax >> 10,
        g.fds,
        g.threads,
        g.rss_kib,
        per(g.rss_kib)
    ));
    log.say(format!(
        "fio+psync baseline: {} samples over {:.0} s; growth: fds {:+}, threads {:+}, RSS {:+} KiB \
         ({:+.2} KiB/cycle)",
        sb.len(),
        rb.secs,
        gb.fds,
        gb.threads,
        gb.rss_kib,
        per(gb.rss_kib)
    ));
    log.check();
    assert!(g.fds <= 1, "fds grew by {}", g.fds);
    // Job threads come and go within a sample; gfapi threads must not pile up.
    assert!(
        g.threads <= numjobs as i64 / 2 + 1,
        "threads grew by {}",
        g.threads
    );
    let excess = per(g.rss_kib) - per(gb.rss_kib).max(0.0);
    assert!(
        excess <= rss_slack_kib,
        "RSS grew {excess:.2} KiB per cycle more than fio's own baseline (allowed {rss_slack_kib})"
    );
}

// Quick runs are short enough for allocator warm-up to show; they catch
// gross leaks (before the fix a private connection left ~2.4 MiB, 4 fds and
// 9 threads behind per job). The long runs judge the steady state.
fn res_shared_quick(log: &mut Log) {
    thread_cycles(log, 40, 4, false, 16.0);
}

fn res_private_quick(log: &mut Log) {
    thread_cycles(log, 40, 4, true, 64.0);
}

fn res_shared_long(log: &mut Log) {
    thread_cycles(log, 250, 4, false, 3.0);
}

fn res_private_long(log: &mut Log) {
    thread_cycles(log, 250, 4, true, 3.0);
}

/// Process jobs: fio's parent runs setup/layout for each (through a forked
/// helper) and must not accumulate fds, threads or children.
fn process_jobs(log: &mut Log, sections: usize) {
    let vol = volume();
    let dir = tempdir("fault-proc");
    let head = format!(
        "[global]\nstonewall\nrw=randrw\nbs=4k\nsize=64k\niodepth=4\n\
         filename_format=proc.$jobname\nioengine=external:{}\nvolume={}\n",
        common::engine_so().display(),
        vol.name()
    );
    log.say(format!(
        "tried: {sections} process jobs in sequence, sampling fio's parent process"
    ));
    let job = many_jobs_file(&dir.0, &head, sections);
    let fio = spawn(&dir.0, false, As::Root, &[job.display().to_string()]);
    let (r, s) = sample_run(fio, Duration::from_secs(60 + 2 * sections as u64));
    expect_success(log, "fio", &r, &dir.0);
    let g = growth(&s);
    let (fmax, _) = stats(&s, |x| x.fds as u64);
    log.say(format!(
        "parent: {} samples over {:.0} s, max {fmax} fds; growth mid->end: fds {:+}, \
         threads {:+}, RSS {:+} KiB",
        s.len(),
        r.secs,
        g.fds,
        g.threads,
        g.rss_kib
    ));
    log.check();
    assert!(g.fds <= 1, "parent fds grew by {}", g.fds);
    assert!(g.threads <= 1, "parent threads grew by {}", g.threads);
    assert!(
        g.rss_kib <= (sections as i64) * 16 + 2048,
        "parent RSS grew by {} KiB",
        g.rss_kib
    );
}

fn res_process_quick(log: &mut Log) {
    process_jobs(log, 30);
}

fn res_process_long(log: &mut Log) {
    process_jobs(log, 300);
}
