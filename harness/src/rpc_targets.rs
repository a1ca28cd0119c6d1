//! `rpc`: the targets of issue 12 (rpc-bypass, storage/posix inside fio,
//! against fio's libaio on the same brick files) as a pass/fail table, from
//! runs made by `run` (`make bench-rpc`: a disk brick and a tmpfs brick, each
//! with the direct jobs after a cache drop and the buffered jobs warm).
//!
//! Every figure is a ratio of medians within one run. Beside a target that
//! fails stands the ceiling the run's own numbers put on it: the CPUs the run
//! had over rpc-bypass's CPU per I/O (the whole fio process tree: posix and
//! io-threads run inside fio), against base's measured rate.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::peers::{info_ratio, median, missing, ratio_target, summary, Target, Verdict};
use crate::report::{available_cpus, Mmm, Report, Series};

pub const SETUP: &str = "rpc-bypass";
pub const BASE: &str = "base";

/// Which jobs of a run hold which measurement.
#[derive(Debug, Clone)]
pub struct RpcJobs {
    /// The seed job (`jobs/seq-read.fio`, direct=1).
    pub seq: String,
    /// 4 KiB random reads, iodepth 32, direct=1.
    pub rand: String,
    /// The seed job with direct=0, page cache warm.
    pub seq_buffered: String,
    /// The random reads with direct=0, page cache warm.
    pub rand_buffered: String,
    /// A one-block job whose CPU is the per-run start-up (taken off the
    /// per-I/O figures when a run has it).
    pub fixed: String,
}

impl Default for RpcJobs {
    fn default() -> Self {
        RpcJobs {
            seq: "seq-read".into(),
            rand: "rand-read-4k".into(),
            seq_buffered: "seq-read-buffered".into(),
            rand_buffered: "rand-read-4k-buffered".into(),
            fixed: "one-block".into(),
        }
    }
}

/// One target of one run, and what limits it when it fails.
#[derive(Debug, Clone)]
pub struct RpcTarget {
    pub target: Target,
    /// The measured ceiling or cause, for targets that fail (and for context
    /// rows, when the run has the data).
    pub ceiling: Option<String>,
}

/// The goals of issue 12.
pub const SEQ_GOAL: f64 = 0.98;
pub const RAND_IOPS_GOAL: f64 = 0.90;
pub const RAND_P99_LIMIT: f64 = 1.5;
pub const BUFFERED_GOAL: f64 = 0.80;

/// CPU a setup spends per I/O in one job of a run, from medians.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuPerIo {
    /// Process-tree CPU µs per I/O (start-up taken off when known).
    pub us: f64,
    /// Median IOPS measured.
    pub iops: f64,
    pub start_up_taken_off: bool,
}

fn cpu_per_io(
    (job, series): (&str, Option<&Series>),
    (fj, fixed): (&str, Option<&Series>),
    setup: &str,
) -> Option<CpuPerIo> {
    let s = summary(series, job, setup).ok()?;
    let iops = median(s.iops())?;
    let kib_per_io = median(s.aggrb())? / iops;
    let ios = median(s.io_mib())? * 1024.0 / kib_per_io;
    let start = summary(fixed, fj, setup)
        .ok()
        .and_then(|f| median(f.proc_cpu()));
    let us = (median(s.proc_cpu())? - start.unwrap_or(0.0)) / ios * 1e6;
    (ios > 0.0 && iops > 0.0 && us > 0.0).then_some(CpuPerIo {
        us,
        iops,
        start_up_taken_off: start.is_some(),
    })
}

/// The most I/Os a second the run's CPUs allow at `c`'s CPU per I/O.
fn cpu_bound(c: CpuPerIo, cpus: u32) -> f64 {
    f64::from(cpus) * 1e6 / c.us
}

/// What caps rpc-bypass's rate against base in this job: its CPU per I/O
/// over every CPU of the run, as a ratio to base's measured IOPS, next to
/// how much of that bound rpc-bypass used and what the goal would need.
fn throughput_ceiling(
    job: (&str, Option<&Series>),
    fixed: (&str, Option<&Series>),
    cpus: Option<u32>,
    goal: f64,
) -> Option<String> {
    let rpc = cpu_per_io(job, fixed, SETUP)?;
    let base = cpu_per_io(job, fixed, BASE)?;
    let cpus = cpus?;
    let bound = cpu_bound(rpc, cpus);
    let ratio = bound / base.iops;
    let needed_us = f64::from(cpus) * 1e6 / (goal * base.iops);
    let used = rpc.iops / bound;
    let verdict = if ratio < goal {
        format!("CPU-bound: {goal:.2} × base needs ≤ {needed_us:.1} µs per I/O on {cpus} CPUs")
    } else if used >= 0.9 {
        "at the CPU bound, though the bound allows the goal (start-up CPU inflates the figure?)"
            .to_string()
    } else {
        format!(
            "not CPU-bound (rpc-bypass ran at {:.0} % of that bound): it waits, on the \
             medium or on hand-offs",
            used * 100.0
        )
    };
    Some(format!(
        "CPU ceiling {ratio:.2} × base: {cpus} CPUs / {:.1} µs per I/O = {bound:.0} IOPS vs \
         base {:.0} IOPS ({:.1} µs per I/O){}; {verdict}",
        rpc.us,
        base.iops,
        base.us,
        if rpc.start_up_taken_off {
            ""
        } else {
            ", start-up CPU included"
        }
    ))
}

/// At a fixed iodepth the mean latency is iodepth / IOPS (Little's law), so
/// a lower rate alone raises latency by base IOPS / rpc-bypass IOPS.
fn latency_ceiling(series: Option<&Series>, job: &str) -> Option<String> {
    let iops = |setup: &str| {
        summary(series, job, setup)
            .ok()
            .and_then(|s| median(s.iops()))
    };
    let p50 = |setup: &str| {
        summary(series, job, setup)
            .ok()
            .and_then(|s| median(s.p50()))
    };
    let (ri, bi) = (iops(SETUP)?, iops(BASE)?);
    let mut m = format!(
        "from the rate alone (Little's law, same iodepth): {:.2} × base's latency",
        bi / ri
    );
    if let (Some(a), Some(b)) = (p50(SETUP), p50(BASE)) {
        if b > 0.0 {
            let _ = write!(m, "; p50 {:.2} × base's ({a:.0} / {b:.0} µs)", a / b);
        }
    }
    Some(m)
}

/// `p99(rpc-bypass) / p99(base) <= limit` on medians.
fn p99_target(series: Option<&Series>, job: &str, limit: f64) -> Target {
    let what = format!("{job}: {SETUP} p99 clat / base's");
    let goal = format!("≤ {limit:.2}");
    let p99 = |setup: &str| summary(series, job, setup).map(|x| median(x.p99()));
    match (p99(SETUP), p99(BASE)) {
        (Ok(Some(a)), Ok(Some(b))) if b > 0.0 => {
            let r = a / b;
            Target {
                what,
                goal,
                measured: format!("{r:.2} ({:.3} / {:.3} ms)", a / 1000.0, b / 1000.0),
                verdict: if r <= limit {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                },
            }
        }
        (Err(e), _) | (_, Err(e)) => missing(what, goal, e),
        _ => missing(what, goal, "no latency numbers".into()),
    }
}

/// The targets of one run: those of the jobs it holds.
pub fn evaluate(rep: &Report, jobs: &RpcJobs) -> Vec<RpcTarget> {
    let series = rep.summarize();
    let find = |job: &str| series.iter().find(|s| s.job == job);
    let fixed = (jobs.fixed.as_str(), find(&jobs.fixed));
    // A run recorded before run.json had `cpus`: assume the machine reading it.
    let cpus = rep.info.cpus.or_else(available_cpus);
    let mut out = Vec::new();
    let throughput = [
        (&jobs.seq, SEQ_GOAL, false),
        (&jobs.rand, RAND_IOPS_GOAL, false),
        (&jobs.seq_buffered, BUFFERED_GOAL, true),
        (&jobs.rand_buffered, BUFFERED_GOAL, true),
    ];
    for (job, goal, buffered) in throughput {
        let Some(s) = find(job) else { continue };
        let rate = |setup: &str| summary(Some(s), job, setup).map(|x| median(x.iops()));
        let mut t = ratio_target(
            format!("{job}: {SETUP} / {BASE} (IOPS)"),
            goal,
            rate(SETUP),
            rate(BASE),
            "IOPS",
        );
        if let Some(p) = Mmm::of(&s.paired_ratios(SETUP, BASE)).map(|m| m.median) {
            let _ = write!(t.measured, "; per repeat, paired: {p:.2}");
        }
        // A cold cache or a disk served from the host's cache shows as a
        // wide range of base's repeats.
        if let Some(m) = summary(Some(s), job, BASE).ok().and_then(|b| b.iops()) {
            let _ = write!(
                t.measured,
                "; base {:.0}–{:.0} IOPS over repeats",
                m.min, m.max
            );
        }
        if buffered && rep.info.drop_caches {
            t.measured
                .push_str("; WARNING: caches were dropped before each run (not warm)");
        }
        let ceiling = (t.verdict == Verdict::Fail)
            .then(|| throughput_ceiling((job, Some(s)), fixed, cpus, goal))
            .flatten();
        out.push(RpcTarget { target: t, ceiling });
        if job == &jobs.rand {
            let t = p99_target(Some(s), job, RAND_P99_LIMIT);
            let ceiling = (t.verdict == Verdict::Fail)
                .then(|| latency_ceiling(Some(s), job))
                .flatten();
            out.push(RpcTarget { target: t, ceiling });
        }
        // Context: the RPC path the issue wants rpc-bypass to beat.
        let bw = |setup: &str| summary(Some(s), job, setup).map(|x| median(x.iops()));
        if let Some(t) = info_ratio(
            format!("{job}: {SETUP} / bypass (IOPS)"),
            bw(SETUP),
            bw("bypass"),
            "IOPS",
        ) {
            out.push(RpcTarget {
                target: t,
                ceiling: None,
            });
        }
    }
    out
}

/// The medium under a run's brick, judged now from the brick's nearest
/// existing ancestor (the brick itself is gone after the run).
fn medium(rep: &Report) -> String {
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    let Some(brick) = rep.info.bricks.first() else {
        return "brick unknown".into();
    };
    let path = Path::new(brick.split_once(':').map_or(brick.as_str(), |(_, p)| p));
    let fs = path
        .ancestors()
        .find_map(|p| rustix::fs::statfs(p).ok())
        .map(|s| {
            #[allow(clippy::unnecessary_cast)] // the field's type differs by libc
            let t = s.f_type as i64;
            if t == TMPFS_MAGIC {
                "tmpfs"
            } else {
                "disk"
            }
        });
    format!("{} ({})", fs.unwrap_or("?"), path.display())
}

/// The report for several runs: one table, each target with its run's
/// medium, and the ceilings of the failing ones.
pub fn render(runs: &[(&Report, Vec<RpcTarget>)]) -> String {
    let mut s = String::from("## rpc-bypass at the medium's speed (issue 12)\n\n");
    for (rep, _) in runs {
        let i = &rep.info;
        let _ = writeln!(
            s,
            "- run `{}`: brick {} · {} · medians of {} repeats{} · {} CPUs",
            i.run,
            medium(rep),
            if i.drop_caches {
                "caches dropped before each run"
            } else {
                "caches warm (not dropped)"
            },
            i.repeat,
            if i.repeat < 5 {
                " (fewer than the 5 the issue asks)"
            } else {
                ""
            },
            i.cpus
                .or_else(available_cpus)
                .map_or("?".into(), |c| c.to_string())
        );
    }
    let _ = writeln!(
        s,
        "\n| target | brick | goal | measured | verdict | ceiling |"
    );
    let _ = writeln!(s, "|:--|:--|:--|:--|:--|:--|");
    let cell = |x: &str| x.replace('|', "\\|").replace('\n', " ");
    let (mut pass, mut fail, mut na) = (0, 0, 0);
    for (rep, targets) in runs {
        let m = medium(rep);
        let m = m.split(' ').next().unwrap_or("");
        for t in targets {
            match t.target.verdict {
                Verdict::Pass => pass += 1,
                Verdict::Fail => fail += 1,
                Verdict::Missing => na += 1,
                Verdict::Info => {}
            }
            let _ = writeln!(
                s,
                "| {} | {m} | {} | {} | {} | {} |",
                cell(&t.target.what),
                t.target.goal,
                cell(&t.target.measured),
                t.target.verdict.as_str(),
                cell(t.ceiling.as_deref().unwrap_or(""))
            );
        }
    }
    let _ = writeln!(s, "\n{pass} passed, {fail} failed, {na} not measured\n");
    s
}

/// `glusterrs-bench rpc RUN_DIR...`: prints the table and writes it to
/// `rpc.md` in each run directory. Exit 1 with `strict` when a target fails
/// or is not measured.
pub fn cli(runs: &[PathBuf], strict: bool) -> Result<u8> {
    if runs.is_empty() {
        bail!("rpc: give at least one run directory (e.g. the four of `make bench-rpc`)");
    }
    let jobs = RpcJobs::default();
    let reports = runs
        .iter()
        .map(|d| Report::load(d))
        .collect::<Result<Vec<_>>>()?;
    let evaluated: Vec<(&Report, Vec<RpcTarget>)> =
        reports.iter().map(|r| (r, evaluate(r, &jobs))).collect();
    if evaluated.iter().all(|(_, t)| t.is_empty()) {
        bail!(
            "rpc: none of the runs holds the jobs {}, {}, {} or {}",
            jobs.seq,
            jobs.rand,
            jobs.seq_buffered,
            jobs.rand_buffered
        );
    }
    let md = render(&evaluated);
    for dir in runs.iter().filter(|d| d.is_dir()) {
        std::fs::write(dir.join("rpc.md"), &md)?;
    }
    println!("{md}");
    let bad = evaluated
        .iter()
        .flat_map(|(_, t)| t)
        .any(|t| matches!(t.target.verdict, Verdict::Fail | Verdict::Missing));
    Ok(u8::from(strict && bad))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::row;
    use crate::report::RunInfo;

    fn get<'a>(t: &'a [RpcTarget], what: &str) -> &'a RpcTarget {
        t.iter()
            .find(|t| t.target.what.contains(what))
            .unwrap_or_else(|| panic!("no target {what}"))
    }

    /// base and rpc-bypass on the four jobs, 5 repeats, with rpc-bypass at
    /// `scale` × base's rate and `p99_scale` × its p99.
    fn constructed(scale: f64, p99_scale: f64, drop_caches: bool) -> Report {
        let mut rows = Vec::new();
        for r in 1..=5u32 {
            let wobble = 1.0 + f64::from(r) / 100.0;
            for (job, kib_per_io) in [
                ("seq-read", 128.0),
                ("rand-read-4k", 4.0),
                ("seq-read-buffered", 128.0),
                ("rand-read-4k-buffered", 4.0),
            ] {
                for (setup, f, p99) in [("base", 1.0, 100.0), (SETUP, scale, 100.0 * p99_scale)] {
                    let bw = 400_000.0 * f * wobble;
                    let mut x = row(job, setup, r, bw);
                    x.iops = Some(bw / kib_per_io);
                    x.io_mib = Some(256.0);
                    x.clat_p99_us = Some(p99 * wobble);
                    x.clat_p50_us = Some(p99 / 2.0 * wobble);
                    // base: 2 µs per I/O; rpc-bypass: 10 µs per I/O.
                    let ios = 256.0 * 1024.0 / kib_per_io;
                    x.proc_cpu_s = Some(ios * if setup == BASE { 2e-6 } else { 10e-6 });
                    rows.push(x);
                }
            }
        }
        Report {
            info: RunInfo {
                run: "c".into(),
                repeat: 5,
                cpus: Some(2),
                drop_caches,
                ..RunInfo::default()
            },
            rows,
        }
    }

    #[test]
    fn verdicts_follow_the_ratio_of_medians() {
        // 0.95 × base: fails seq (0.98), passes randread (0.90) and buffered (0.80).
        let t = evaluate(&constructed(0.95, 1.2, false), &RpcJobs::default());
        let seq = get(&t, "seq-read: rpc-bypass / base");
        assert_eq!(seq.target.verdict, Verdict::Fail);
        assert!(
            seq.target.measured.starts_with("0.95 "),
            "{}",
            seq.target.measured
        );
        assert!(seq.target.measured.contains("paired: 0.95"));
        assert_eq!(
            get(&t, "rand-read-4k: rpc-bypass / base").target.verdict,
            Verdict::Pass
        );
        assert_eq!(get(&t, "p99").target.verdict, Verdict::Pass);
        assert!(get(&t, "p99").target.measured.starts_with("1.20 "));
        for job in ["seq-read-buffered", "rand-read-4k-buffered"] {
            let b = get(&t, &format!("{job}: rpc-bypass / base"));
            assert_eq!(b.target.verdict, Verdict::Pass, "{job}");
            assert_eq!(b.target.goal, "≥ 0.80");
            assert!(b.ceiling.is_none());
        }
        // Only the failing target carries a ceiling.
        assert!(get(&t, "rand-read-4k: rpc-bypass / base").ceiling.is_none());
        assert!(seq.ceiling.is_some());
    }

    #[test]
    fn ceiling_is_the_cpus_over_cpu_per_io_against_base() {
        // 0.5 × base fails everything; p99 3 × base's.
        let rep = constructed(0.5, 3.0, false);
        let t = evaluate(&rep, &RpcJobs::default());
        let rand = get(&t, "rand-read-4k: rpc-bypass / base");
        assert_eq!(rand.target.verdict, Verdict::Fail);
        // Independently: median base IOPS and 2 CPUs / 10 µs per I/O.
        let series = rep.summarize();
        let s = series.iter().find(|s| s.job == "rand-read-4k").unwrap();
        let base_iops = s.get(BASE).unwrap().iops().unwrap().median;
        let bound = 2.0 * 1e6 / 10.0;
        let c = rand.ceiling.as_deref().unwrap();
        assert!(
            c.starts_with(&format!("CPU ceiling {:.2} × base", bound / base_iops)),
            "{c}"
        );
        assert!(c.contains("2 CPUs / 10.0 µs per I/O = 200000 IOPS"), "{c}");
        assert!(c.contains("(2.0 µs per I/O)"), "{c}");
        assert!(c.contains("start-up CPU included"), "{c}");
        // 200000 / 101000-ish > 0.9: the CPUs would allow the goal.
        assert!(c.contains("not CPU-bound"), "{c}");
        let p99 = get(&t, "p99");
        assert_eq!(p99.target.verdict, Verdict::Fail);
        let c = p99.ceiling.as_deref().unwrap();
        assert!(c.contains("2.00 × base's latency"), "{c}");
        assert!(c.contains("p50 3.00 × base's"), "{c}");
    }

    #[test]
    fn cpu_bound_shortfall_says_what_the_goal_needs() {
        // rpc-bypass at 20 µs per I/O and base at ~103 k IOPS: with 1 CPU,
        // 1e6 / 20 µs = 50 k IOPS < 0.9 × base.
        let mut rep = constructed(0.5, 1.0, false);
        rep.info.cpus = Some(1);
        for r in rep.rows.iter_mut().filter(|r| r.setup == SETUP) {
            r.proc_cpu_s = r.proc_cpu_s.map(|c| c * 2.0);
        }
        let t = evaluate(&rep, &RpcJobs::default());
        let c = get(&t, "rand-read-4k: rpc-bypass / base")
            .ceiling
            .clone()
            .unwrap();
        let series = rep.summarize();
        let s = series.iter().find(|s| s.job == "rand-read-4k").unwrap();
        let base_iops = s.get(BASE).unwrap().iops().unwrap().median;
        let needed = 1e6 / (0.9 * base_iops);
        assert!(
            c.contains(&format!(
                "CPU-bound: 0.90 × base needs ≤ {needed:.1} µs per I/O on 1 CPUs"
            )),
            "{c}"
        );
    }

    #[test]
    fn start_up_cpu_comes_off_when_the_run_has_a_one_block_job() {
        let mut rep = constructed(0.5, 1.0, false);
        for r in 1..=5 {
            for setup in [BASE, SETUP] {
                let mut x = row("one-block", setup, r, 1.0);
                x.proc_cpu_s = Some(0.1);
                rep.rows.push(x);
            }
        }
        let t = evaluate(&rep, &RpcJobs::default());
        // 2048 reads of 128 KiB: 20.48 ms - 0.1 s is negative, so no figure
        // (rather than a wrong one); rand: 65536 × 10 µs = 0.655 s - 0.1 s.
        assert!(get(&t, "seq-read: rpc-bypass / base").ceiling.is_none());
        let rc = get(&t, "rand-read-4k: rpc-bypass / base")
            .ceiling
            .clone()
            .unwrap();
        let us = (65536.0 * 10e-6 - 0.1) / 65536.0 * 1e6;
        assert!(rc.contains(&format!("/ {us:.1} µs per I/O")), "{rc}");
        assert!(!rc.contains("start-up CPU included"), "{rc}");
    }

    #[test]
    fn buffered_jobs_after_a_cache_drop_are_flagged_and_missing_setups_say_why() {
        let mut rep = constructed(1.0, 1.0, true);
        rep.rows
            .retain(|r| !(r.job == "rand-read-4k" && r.setup == SETUP));
        let t = evaluate(&rep, &RpcJobs::default());
        assert!(get(&t, "seq-read-buffered: rpc-bypass")
            .target
            .measured
            .contains("not warm"));
        assert!(!get(&t, "seq-read: rpc-bypass")
            .target
            .measured
            .contains("not warm"));
        let r = get(&t, "rand-read-4k: rpc-bypass / base");
        assert_eq!(r.target.verdict, Verdict::Missing);
        assert!(
            r.target.measured.contains("rpc-bypass not run"),
            "{}",
            r.target.measured
        );
        let md = render(&[(&rep, t)]);
        assert!(
            md.contains("| rand-read-4k: rpc-bypass / base (IOPS) |"),
            "{md}"
        );
        assert!(md.contains("not measured"));
    }

    /// A run captured by issue 7's `make bench-peers` (disk and tmpfs):
    /// the verdicts agree with medians computed here from its CSV.
    #[test]
    fn captured_peers_runs() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../results/issue7/runs");
        for run in [
            "peers-disk-20261127T094256Z",
            "peers-tmpfs-20261127T094256Z",
        ] {
            let rep = Report::load(&dir.join(run)).unwrap();
            let t = evaluate(&rep, &RpcJobs::default());
            for (job, goal) in [("seq-read", SEQ_GOAL), ("rand-read-4k", RAND_IOPS_GOAL)] {
                let med = |setup: &str| {
                    let v: Vec<f64> = rep
                        .rows
                        .iter()
                        .filter(|r| r.job == job && r.setup == setup)
                        .filter_map(|r| r.iops)
                        .collect();
                    Mmm::of(&v).unwrap().median
                };
                let ratio = med(SETUP) / med(BASE);
                let x = get(&t, &format!("{job}: rpc-bypass / base"));
                assert!(
                    x.target.measured.starts_with(&format!("{ratio:.2} ")),
                    "{run} {job}: {} vs {ratio}",
                    x.target.measured
                );
                assert_eq!(
                    x.target.verdict == Verdict::Pass,
                    ratio >= goal,
                    "{run} {job}"
                );
                // These runs measured process CPU: a failure has its ceiling.
                assert_eq!(x.ceiling.is_some(), ratio < goal, "{run} {job}");
            }
            // No buffered jobs in issue 7's runs: no rows for them.
            assert!(!t.iter().any(|x| x.target.what.contains("buffered")));
        }
    }
}
