//! `peers`: the performance targets of issue 7 (libglusterrs against fio's
//! gfapi engines, QEMU's gluster driver, FUSE and the brick itself) as a
//! pass/fail table, from runs made by `run`.
//!
//! Every figure is a ratio (or a comparison) of medians within one run, so
//! that runs on a loaded or different machine stay comparable.

use std::fmt::Write as _;

use crate::report::{available_cpus, Mmm, Report, Series, SetupSummary, Status};

/// Which jobs of a run hold which measurement.
#[derive(Debug, Clone)]
pub struct PeerJobs {
    /// The seed job (sequential 128k reads, four jobs at different depths).
    pub seq: String,
    /// 4k random reads at iodepth 32.
    pub rand: String,
    /// A job doing one block: its wall time is the per-job fixed cost.
    pub fixed: String,
}

impl Default for PeerJobs {
    fn default() -> Self {
        PeerJobs {
            seq: "seq-read".into(),
            rand: "rand-read-4k".into(),
            fixed: "one-block".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// Not measured (setup or job missing): says why in `measured`.
    Missing,
    /// Reported for context; no target.
    Info,
}

impl Verdict {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Missing => "n/a",
            Verdict::Info => "info",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Target {
    pub what: String,
    pub goal: String,
    pub measured: String,
    pub verdict: Verdict,
}

/// Medians of one setup of one job, or why there are none.
pub(crate) fn summary<'a>(
    series: Option<&'a Series>,
    job: &str,
    setup: &str,
) -> Result<&'a SetupSummary, String> {
    let Some(s) = series else {
        return Err(format!("job {job} not in this run"));
    };
    match s.setups.iter().find(|x| x.setup == setup) {
        Some(x) if x.status == Status::Ok => Ok(x),
        Some(x) => Err(format!(
            "{setup} {}: {}",
            if x.status == Status::Failed {
                "failed"
            } else {
                "not run"
            },
            x.notes.join("; ")
        )),
        None => Err(format!("{setup} not run on {job}")),
    }
}

pub(crate) fn median(m: Option<Mmm>) -> Option<f64> {
    m.map(|m| m.median)
}

/// `a / b >= goal` on medians.
pub(crate) fn ratio_target(
    what: String,
    goal: f64,
    a: Result<Option<f64>, String>,
    b: Result<Option<f64>, String>,
    unit: &str,
) -> Target {
    let goal_s = format!("≥ {goal:.2}");
    match (a, b) {
        (Ok(Some(a)), Ok(Some(b))) if b > 0.0 => {
            let r = a / b;
            Target {
                what,
                goal: goal_s,
                measured: format!("{r:.2} ({a:.0} / {b:.0} {unit})"),
                verdict: if r >= goal {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                },
            }
        }
        (Err(e), _) | (_, Err(e)) => missing(what, goal_s, e),
        _ => missing(what, goal_s, "no numbers".into()),
    }
}

pub(crate) fn missing(what: String, goal: String, why: String) -> Target {
    Target {
        what,
        goal,
        measured: why,
        verdict: Verdict::Missing,
    }
}

/// The targets, evaluated on one run.
pub fn evaluate(rep: &Report, jobs: &PeerJobs) -> Vec<Target> {
    let series = rep.summarize();
    let find = |job: &str| series.iter().find(|s| s.job == job);
    let (seq, rand, fixed) = (find(&jobs.seq), find(&jobs.rand), find(&jobs.fixed));
    let bw = |s: Option<&Series>, job: &str, setup: &str| {
        summary(s, job, setup).map(|x| median(x.aggrb()))
    };
    let iops = |s: Option<&Series>, job: &str, setup: &str| {
        summary(s, job, setup).map(|x| median(x.iops()))
    };
    let mut out = Vec::new();
    let sj = jobs.seq.as_str();
    let rj = jobs.rand.as_str();
    let fj = jobs.fixed.as_str();
    if seq.is_some() {
        seq_targets(&mut out, sj, seq, &bw);
    }
    if rand.is_some() {
        rand_targets(&mut out, rj, rand, &iops);
    }
    if fixed.is_some() {
        out.push(fixed_target(fj, fixed));
    }
    for (job, series_of) in [(sj, seq), (rj, rand)] {
        if series_of.is_some() {
            out.push(cpu_target(job, series_of));
        }
    }
    for (job, s, metric) in [(sj, seq, "aggrb"), (rj, rand, "IOPS")] {
        if s.is_some() {
            context_rows(&mut out, job, s, metric);
        }
    }
    if seq.is_some() {
        out.extend(seq_ceiling(sj, seq));
    }
    // A run recorded before run.json had `cpus`: assume the machine reading it.
    let cpus = rep.info.cpus.or_else(available_cpus);
    for (job, s) in [(sj, seq), (rj, rand)] {
        if s.is_some() {
            out.extend(cpu_ceiling((job, s), (fj, fixed), cpus));
        }
    }
    out
}

type Metric<'a> = dyn Fn(Option<&Series>, &str, &str) -> Result<Option<f64>, String> + 'a;

fn seq_targets(out: &mut Vec<Target>, sj: &str, seq: Option<&Series>, bw: &Metric) {
    for (setup, goal) in [
        ("bypass", 0.85),
        ("bypass-custom", 0.90),
        ("rpc-bypass", 0.98),
    ] {
        out.push(ratio_target(
            format!("{sj}: {setup} / base (aggrb)"),
            goal,
            bw(seq, sj, setup),
            bw(seq, sj, "base"),
            "KiB/s",
        ));
    }
    out.push(ratio_target(
        format!("{sj}: bypass / gfapi_async (aggrb)"),
        1.5,
        bw(seq, sj, "bypass"),
        bw(seq, sj, "gfapi_async"),
        "KiB/s",
    ));
}

fn rand_targets(out: &mut Vec<Target>, rj: &str, rand: Option<&Series>, iops: &Metric) {
    out.push(ratio_target(
        format!("{rj}: bypass / gfapi_async (IOPS)"),
        2.0,
        iops(rand, rj, "bypass"),
        iops(rand, rj, "gfapi_async"),
        "IOPS",
    ));
    let p99 = |setup: &str| summary(rand, rj, setup).map(|x| median(x.p99()));
    let what = format!("{rj}: bypass p99 clat below gfapi_async's");
    out.push(match (p99("bypass"), p99("gfapi_async")) {
        (Ok(Some(a)), Ok(Some(b))) => Target {
            what,
            goal: "lower".into(),
            measured: format!("{:.2} ms vs {:.2} ms", a / 1000.0, b / 1000.0),
            verdict: if a < b { Verdict::Pass } else { Verdict::Fail },
        },
        (Err(e), _) | (_, Err(e)) => missing(what, "lower".into(), e),
        _ => missing(what, "lower".into(), "no latency numbers".into()),
    });
}

fn fixed_target(fj: &str, fixed: Option<&Series>) -> Target {
    let wall = |setup: &str| summary(fixed, fj, setup).map(|x| median(x.wall()));
    let what = format!("{fj}: bypass start-to-exit wall time");
    match wall("bypass") {
        Ok(Some(w)) => {
            let mut m = format!("{w:.2} s");
            let others: Vec<String> = ["base", "gfapi_async", "qemu"]
                .iter()
                .filter_map(|s| match wall(s) {
                    Ok(Some(v)) => Some(format!("{s} {v:.2} s")),
                    _ => None,
                })
                .collect();
            if !others.is_empty() {
                let _ = write!(m, " ({})", others.join(", "));
            }
            // The same fio start-up, same caches: what the engine adds.
            if let Ok(Some(b)) = wall("base") {
                let _ = write!(m, "; engine adds {:+.2} s over base", w - b);
            }
            Target {
                what,
                goal: "≤ 0.30 s".into(),
                measured: m,
                verdict: if w <= 0.3 {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                },
            }
        }
        Ok(None) => missing(what, "≤ 0.30 s".into(), "no wall time".into()),
        Err(e) => missing(what, "≤ 0.30 s".into(), e),
    }
}

fn cpu_target(job: &str, series_of: Option<&Series>) -> Target {
    let cpu = |setup: &str| summary(series_of, job, setup).map(|x| median(x.proc_cpu_per_gib()));
    let brick = |setup: &str| {
        summary(series_of, job, setup)
            .ok()
            .and_then(|x| median(x.brick_cpu_per_gib()))
    };
    let what = format!("{job}: CPU s/GiB, bypass vs gfapi_async (process tree)");
    match (cpu("bypass"), cpu("gfapi_async")) {
        (Ok(Some(a)), Ok(Some(b))) => {
            let mut m = format!("{a:.2} vs {b:.2}");
            if let (Some(ba), Some(bb)) = (brick("bypass"), brick("gfapi_async")) {
                let _ = write!(m, " (brick {ba:.2} vs {bb:.2})");
            }
            Target {
                what,
                goal: "≤".into(),
                measured: m,
                verdict: if a <= b { Verdict::Pass } else { Verdict::Fail },
            }
        }
        (Err(e), _) | (_, Err(e)) => missing(what, "≤".into(), e),
        _ => missing(
            what,
            "≤".into(),
            "process CPU not measured (no cpuacct cgroup?)".into(),
        ),
    }
}

/// Context: the other peers (no target).
fn context_rows(out: &mut Vec<Target>, job: &str, s: Option<&Series>, metric: &str) {
    let get = |setup: &str| {
        summary(s, job, setup).map(|x| {
            if metric == "IOPS" {
                median(x.iops())
            } else {
                median(x.aggrb())
            }
        })
    };
    let unit = if metric == "IOPS" { "IOPS" } else { "KiB/s" };
    for (a, b) in [
        ("qemu", "base"),
        ("bypass", "qemu"),
        ("fuse", "base"),
        ("gfapi_async", "base"),
    ] {
        out.extend(info_ratio(
            format!("{job}: {a} / {b} ({metric})"),
            get(a),
            get(b),
            unit,
        ));
    }
}

/// `a / b` as an `info` row (no target), or nothing when either is missing.
pub(crate) fn info_ratio(
    what: String,
    a: Result<Option<f64>, String>,
    b: Result<Option<f64>, String>,
    unit: &str,
) -> Option<Target> {
    let t = ratio_target(what, 0.0, a, b, unit);
    (t.verdict != Verdict::Missing).then(|| Target {
        goal: "—".into(),
        verdict: Verdict::Info,
        ..t
    })
}

/// No O_DIRECT reader passes the brick's own disk, so base / gfapi_async is
/// the most that bypass / gfapi_async can reach in the run.
fn seq_ceiling(sj: &str, seq: Option<&Series>) -> Option<Target> {
    let bw = |setup: &str| summary(seq, sj, setup).map(|x| median(x.aggrb()));
    info_ratio(
        format!("{sj}: base / gfapi_async (aggrb), the ceiling of bypass / gfapi_async"),
        bw("base"),
        bw("gfapi_async"),
        "KiB/s",
    )
}

/// fio, the client and the brick share the run's CPUs, so bypass can do at
/// most `cpus / (client + brick CPU per I/O)` reads a second, whatever the
/// disk could do: that bound against gfapi_async's measured IOPS shows how far
/// the ratio could go on this machine. The CPU a job spends starting and
/// stopping (the one-block job's, when the run has it) is not per I/O, so it
/// comes off first.
fn cpu_ceiling(
    (job, series): (&str, Option<&Series>),
    (fj, fixed): (&str, Option<&Series>),
    cpus: Option<u32>,
) -> Option<Target> {
    let bypass = summary(series, job, "bypass").ok()?;
    let peer_iops = median(summary(series, job, "gfapi_async").ok()?.iops())?;
    let iops = median(bypass.iops())?;
    let kib_per_io = median(bypass.aggrb())? / iops;
    let ios = median(bypass.io_mib())? * 1024.0 / kib_per_io;
    let start = summary(fixed, fj, "bypass").ok();
    let start_client = start.and_then(|s| median(s.proc_cpu()));
    let start_brick = start.and_then(|s| median(s.brick_cpu()));
    let per_io_us = |total: f64, start: Option<f64>| (total - start.unwrap_or(0.0)) / ios * 1e6;
    let client_us = per_io_us(median(bypass.proc_cpu())?, start_client);
    let brick_us = per_io_us(median(bypass.brick_cpu())?, start_brick);
    let cpus = cpus?;
    if !(ios > 0.0 && peer_iops > 0.0 && client_us > 0.0 && brick_us > 0.0) {
        return None;
    }
    let bound = f64::from(cpus) * 1e6 / (client_us + brick_us);
    let start_up = if start_client.is_some() {
        format!("{fj}'s start-up CPU taken off")
    } else {
        "start-up CPU included".into()
    };
    Some(Target {
        what: format!(
            "{job}: bypass with every CPU busy / gfapi_async (IOPS, estimate), \
             CPUs / (client + brick CPU per I/O)"
        ),
        goal: "—".into(),
        measured: format!(
            "{:.2} ({cpus} / ({client_us:.1} + {brick_us:.1} µs) = {bound:.0} / {peer_iops:.0} IOPS; \
             bypass measured {iops:.0}; {start_up})",
            bound / peer_iops
        ),
        verdict: Verdict::Info,
    })
}

/// One Markdown section for a run.
pub fn render(rep: &Report, targets: &[Target]) -> String {
    let i = &rep.info;
    let mut s = String::new();
    let _ = writeln!(s, "## peers: run {}\n", i.run);
    let mut facts = Vec::new();
    if !i.bricks.is_empty() {
        facts.push(format!("bricks {}", i.bricks.join(", ")));
    }
    if let Some(sz) = &i.size {
        facts.push(format!("size {sz}"));
    }
    facts.push(format!("medians of {} repeats", i.repeat));
    let _ = writeln!(s, "{}\n", facts.join(" · "));
    let _ = writeln!(s, "| target | goal | measured | verdict |");
    let _ = writeln!(s, "|:--|:--|:--|:--|");
    for t in targets {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            t.what,
            t.goal,
            t.measured.replace('|', "\\|").replace('\n', " "),
            t.verdict.as_str()
        );
    }
    let pass = targets
        .iter()
        .filter(|t| t.verdict == Verdict::Pass)
        .count();
    let fail = targets
        .iter()
        .filter(|t| t.verdict == Verdict::Fail)
        .count();
    let na = targets
        .iter()
        .filter(|t| t.verdict == Verdict::Missing)
        .count();
    let _ = writeln!(s, "\n{pass} passed, {fail} failed, {na} not measured\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::row;
    use crate::report::{Row, RunInfo};

    fn rep() -> Report {
        let mut rows = Vec::new();
        for r in 1..=3 {
            for (setup, bw) in [
                ("base", 1000.0),
                ("bypass", 900.0),
                ("bypass-custom", 950.0),
                ("gfapi_async", 500.0),
            ] {
                let mut x = row("seq-read", setup, r, bw);
                x.proc_cpu_s = Some(if setup == "bypass" { 0.5 } else { 0.8 });
                rows.push(x);
            }
            for (setup, bw, p99) in [
                ("bypass", 80000.0, 4000.0),
                ("gfapi_async", 50000.0, 9000.0),
            ] {
                let mut x = row("rand-read-4k", setup, r, bw);
                x.clat_p99_us = Some(p99);
                x.iops = Some(bw / 4.0);
                x.io_mib = Some(256.0);
                if setup == "bypass" {
                    // 8 s/GiB in the process tree, 12 s/GiB in the brick.
                    x.proc_cpu_s = Some(2.0);
                    x.brick_cpu_s = Some(3.0);
                }
                rows.push(x);
            }
            for (setup, wall) in [("bypass", 0.29), ("base", 0.28), ("gfapi_async", 10.3)] {
                let mut x = row("one-block", setup, r, 1.0);
                x.wall_s = Some(wall);
                if setup == "bypass" {
                    x.proc_cpu_s = Some(0.2);
                    x.brick_cpu_s = Some(0.05);
                }
                rows.push(x);
            }
        }
        rows.push(Row::not_run(
            "seq-read",
            "rpc-bypass",
            Status::Skipped,
            "no single brick",
        ));
        Report {
            info: RunInfo {
                run: "r".into(),
                repeat: 3,
                cpus: Some(2),
                ..RunInfo::default()
            },
            rows,
        }
    }

    fn get<'a>(t: &'a [Target], what: &str) -> &'a Target {
        t.iter().find(|t| t.what.contains(what)).unwrap()
    }

    #[test]
    fn targets_from_medians() {
        let r = rep();
        let t = evaluate(&r, &PeerJobs::default());
        assert_eq!(get(&t, "seq-read: bypass / base").verdict, Verdict::Pass);
        assert!(get(&t, "seq-read: bypass / base")
            .measured
            .starts_with("0.90"));
        assert_eq!(get(&t, "bypass-custom / base").verdict, Verdict::Pass);
        let rpc = get(&t, "rpc-bypass / base");
        assert_eq!(rpc.verdict, Verdict::Missing);
        assert!(rpc.measured.contains("no single brick"), "{}", rpc.measured);
        assert_eq!(
            get(&t, "seq-read: bypass / gfapi_async").verdict,
            Verdict::Pass
        );
        // 80/50 = 1.6 < 2
        assert_eq!(get(&t, "(IOPS)").verdict, Verdict::Fail);
        let seq_ceiling = get(&t, "seq-read: base / gfapi_async");
        assert_eq!(seq_ceiling.verdict, Verdict::Info);
        assert!(
            seq_ceiling.measured.starts_with("2.00"),
            "{}",
            seq_ceiling.measured
        );
        // The seed job's bypass has no brick CPU figure: no CPU ceiling for it.
        assert!(!t
            .iter()
            .any(|t| t.what.starts_with("seq-read: bypass with every CPU")));
        // 65536 reads of 4 KiB: (2.0 - 0.2) s is 27.5 µs each, (3.0 - 0.05) s
        // 45.0 µs; 2 CPUs / 72.5 µs = 27594 IOPS, 2.21 × gfapi_async's 12500.
        let rand_ceiling = get(&t, "rand-read-4k: bypass with every CPU busy");
        assert_eq!(rand_ceiling.verdict, Verdict::Info);
        assert_eq!(
            rand_ceiling.measured,
            "2.21 (2 / (27.5 + 45.0 µs) = 27594 / 12500 IOPS; bypass measured 20000; \
             one-block's start-up CPU taken off)"
        );
        assert_eq!(get(&t, "p99").verdict, Verdict::Pass);
        let w = get(&t, "wall time");
        assert_eq!(w.verdict, Verdict::Pass);
        assert!(w.measured.contains("gfapi_async 10.30 s"), "{}", w.measured);
        assert_eq!(get(&t, "seq-read: CPU").verdict, Verdict::Pass);
        assert_eq!(get(&t, "rand-read-4k: CPU").verdict, Verdict::Missing);
        let md = render(&r, &t);
        assert!(
            md.contains(
                "| seq-read: bypass / base (aggrb) | ≥ 0.85 | 0.90 (900 / 1000 KiB/s) | PASS |"
            ),
            "{md}"
        );
        assert!(md.contains("failed"));
    }

    #[test]
    fn jobs_absent_from_a_run_are_left_out_and_missing_setups_say_why() {
        let r = Report {
            info: RunInfo::default(),
            rows: vec![row("seq-read", "base", 1, 1.0)],
        };
        let t = evaluate(&r, &PeerJobs::default());
        assert!(!t.iter().any(|t| t.what.contains("wall time")));
        assert!(
            !t.iter()
                .any(|t| t.what.contains("ceiling") || t.what.contains("every CPU busy")),
            "no gfapi_async, no ceiling"
        );
        assert!(!t.iter().any(|t| t.what.contains("rand-read-4k")));
        let b = get(&t, "seq-read: bypass / base");
        assert_eq!(b.verdict, Verdict::Missing);
        assert!(
            b.measured.contains("bypass not run on seq-read"),
            "{}",
            b.measured
        );
    }
}
