//! `compare BASELINE CURRENT...`: judges each setup's ratio to base within
//! the same run (so a faster or slower machine does not matter), not
//! absolute speed, with statistics instead of one threshold on two medians.
//!
//! For each (job, setup) the samples are the per-repeat ratios aggrb(setup) /
//! aggrb(base) of the same repeat, in the baseline and in the current runs
//! (several current runs pooled). The change is median(current) /
//! median(baseline) - 1; a seeded percentile bootstrap gives its 95 %
//! interval and a two-sided Mann-Whitney U test its p-value. A setup is
//! REGRESSED only when the whole interval lies below -tolerance and p is
//! below alpha: a fall that is both larger than the tolerance with 95 %
//! confidence and not a rank accident of a few repeats.

use std::fmt::Write as _;

use serde::Serialize;

use crate::report::{Report, Series, Status, BASE};
use crate::stats::{self, ChangeInterval, MannWhitney};

/// How verdicts are reached; printed with them and written to the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Settings {
    /// Allowed fall of a setup's ratio to base, as a fraction (0.15 = 15 %).
    pub tolerance: f64,
    /// Largest Mann-Whitney p-value that still counts as a shift.
    pub alpha: f64,
    /// Confidence level of the bootstrap interval.
    pub confidence: f64,
    pub resamples: usize,
    /// Seed of the bootstrap; each (job, setup) mixes in its own name.
    pub seed: u64,
}

impl Settings {
    pub fn with_tolerance(tolerance: f64) -> Self {
        Settings {
            tolerance,
            alpha: 0.05,
            confidence: 0.95,
            resamples: 10_000,
            seed: 0x676c_7573_7465_7273, // "glusters"
        }
    }
}

/// One (series, setup) judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub job: String,
    pub setup: String,
    /// Median per-repeat ratio to base in the baseline and now.
    pub baseline_ratio: Option<f64>,
    pub current_ratio: Option<f64>,
    /// current_ratio / baseline_ratio - 1.
    pub change: Option<f64>,
    pub interval: Option<ChangeInterval>,
    pub test: Option<MannWhitney>,
    /// The per-repeat ratios behind the medians.
    pub baseline_samples: Vec<f64>,
    pub current_samples: Vec<f64>,
    pub kind: VerdictKind,
    /// Why a setup was not judged, when it was not.
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    Ok,
    Improved,
    /// Ratio to base fell by more than the tolerance, with confidence.
    Regressed,
    /// Ran in the baseline, produces no numbers now.
    Broken,
    /// Not in the baseline, base missing on one side, or too few repeats
    /// for the test to ever reach alpha: reported, not judged.
    Unjudged,
}

impl VerdictKind {
    pub fn label(self) -> &'static str {
        match self {
            VerdictKind::Ok => "ok",
            VerdictKind::Improved => "improved",
            VerdictKind::Regressed => "REGRESSED",
            VerdictKind::Broken => "BROKEN (no numbers now)",
            VerdictKind::Unjudged => "not judged",
        }
    }
}

impl Verdict {
    pub fn is_failure(&self) -> bool {
        matches!(self.kind, VerdictKind::Regressed | VerdictKind::Broken)
    }
}

/// Smallest two-sided p the exact test can give for samples of n1 and n2
/// (all of one below all of the other): 2 / C(n1 + n2, n1).
fn smallest_p(n1: usize, n2: usize) -> f64 {
    let (n, k) = (n1 + n2, n1.min(n2));
    let mut c = 1.0f64;
    for i in 0..k {
        c = c * (n - i) as f64 / (i + 1) as f64;
    }
    (2.0 / c).min(1.0)
}

/// FNV-1a of the case's name, so each (job, setup) has its own bootstrap
/// stream whatever order the cases come in.
fn case_seed(seed: u64, job: &str, setup: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in job.bytes().chain([0]).chain(setup.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Judges one (job, setup) from its two sets of ratio samples.
fn judge(
    job: &str,
    setup: &str,
    baseline: Vec<f64>,
    current: Vec<f64>,
    broken: bool,
    cfg: &Settings,
) -> Verdict {
    let br = stats::median(&baseline);
    let cr = stats::median(&current);
    let change = match (br, cr) {
        (Some(b), Some(c)) if b > 0.0 => Some(c / b - 1.0),
        _ => None,
    };
    let test = stats::mann_whitney(&current, &baseline);
    let interval = stats::bootstrap_change(
        &baseline,
        &current,
        cfg.confidence,
        cfg.resamples,
        case_seed(cfg.seed, job, setup),
    );
    let mut note = String::new();
    let kind = match (change, interval, test) {
        (Some(_), Some(iv), Some(t)) => {
            let floor = smallest_p(baseline.len(), current.len());
            if floor > cfg.alpha {
                note = format!(
                    "{} baseline and {} current repeats cannot reach p < {} (smallest p {:.3})",
                    baseline.len(),
                    current.len(),
                    cfg.alpha,
                    floor
                );
                VerdictKind::Unjudged
            } else if iv.high < -cfg.tolerance && t.p < cfg.alpha {
                VerdictKind::Regressed
            } else if iv.low > cfg.tolerance && t.p < cfg.alpha {
                VerdictKind::Improved
            } else {
                VerdictKind::Ok
            }
        }
        _ if broken => VerdictKind::Broken,
        _ => {
            note = if baseline.is_empty() {
                "no ratio to base in the baseline".into()
            } else {
                "no ratio to base now".into()
            };
            VerdictKind::Unjudged
        }
    };
    Verdict {
        job: job.to_string(),
        setup: setup.to_string(),
        baseline_ratio: br,
        current_ratio: cr,
        change,
        interval,
        test,
        baseline_samples: baseline,
        current_samples: current,
        kind,
        note,
    }
}

/// Compares every setup (but base) of every series found in either run.
pub fn compare(baseline: &Report, current: &Report, cfg: &Settings) -> Vec<Verdict> {
    let bs = baseline.summarize();
    let cs = current.summarize();
    let find = |all: &[Series], s: &Series| {
        all.iter()
            .find(|x| x.job == s.job && x.group == s.group && x.ddir == s.ddir)
            .cloned()
    };
    let mut out = Vec::new();
    // Every series of either side, baseline first.
    let mut keys: Vec<Series> = bs.clone();
    for s in &cs {
        if find(&keys, s).is_none() {
            keys.push(s.clone());
        }
    }
    for key in &keys {
        let b = find(&bs, key);
        let c = find(&cs, key);
        let mut setups: Vec<String> = Vec::new();
        for s in b.iter().chain(c.iter()).flat_map(|s| s.setups.iter()) {
            if s.setup != BASE && !setups.contains(&s.setup) {
                setups.push(s.setup.clone());
            }
        }
        for setup in setups {
            let bsamples = b
                .as_ref()
                .map(|s| s.paired_ratios(&setup, BASE))
                .unwrap_or_default();
            let csamples = c
                .as_ref()
                .map(|s| s.paired_ratios(&setup, BASE))
                .unwrap_or_default();
            let current_ran = c
                .as_ref()
                .is_some_and(|s| s.get(&setup).is_some_and(|x| x.status == Status::Ok));
            let base_ran_now = c.as_ref().is_some_and(|s| s.get(BASE).is_some());
            let broken = !bsamples.is_empty() && !current_ran && base_ran_now;
            out.push(judge(&key.label, &setup, bsamples, csamples, broken, cfg));
        }
    }
    out
}

/// Judges several runs of the same code together against one baseline: their
/// repeats are pooled (renumbered so each run's setups still pair with that
/// run's base), so the samples hold every repeat. A confirming re-run thus
/// narrows the interval instead of merely voting: a real slowdown stays
/// flagged, a noisy first run is outweighed.
pub fn compare_pooled(baseline: &Report, currents: &[Report], cfg: &Settings) -> Vec<Verdict> {
    compare(baseline, &pool(currents), cfg)
}

/// One report holding every row of `runs`, repeats renumbered run after run.
pub fn pool(runs: &[Report]) -> Report {
    let mut rows = Vec::new();
    let mut offset = 0;
    for run in runs {
        let mut last = 0;
        for r in &run.rows {
            let mut r = r.clone();
            last = last.max(r.repeat);
            r.repeat += offset;
            rows.push(r);
        }
        offset += last;
    }
    Report {
        info: runs.first().map(|r| r.info.clone()).unwrap_or_default(),
        rows,
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |c| format!("{:+.1}%", c * 100.0))
}

fn interval_text(iv: Option<ChangeInterval>) -> String {
    iv.map_or_else(
        || "—".to_string(),
        |iv| format!("[{:+.1}%, {:+.1}%]", iv.low * 100.0, iv.high * 100.0),
    )
}

/// Human-readable table of the verdicts.
pub fn render(verdicts: &[Verdict], cfg: &Settings) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Ratios to base (per repeat: aggrb / base's aggrb in the same repeat; medians shown). \
         REGRESSED when the {:.0}% bootstrap interval of the change lies below -{:.0}% and \
         Mann-Whitney p < {}:",
        cfg.confidence * 100.0,
        cfg.tolerance * 100.0,
        cfg.alpha
    );
    let _ = writeln!(
        s,
        "{:<28} {:<14} {:>5} {:>9} {:>9} {:>8} {:>18} {:>7}  verdict",
        "job", "setup", "n", "baseline", "current", "change", "95% interval", "p"
    );
    let f = |r: Option<f64>| r.map_or_else(|| "—".to_string(), |r| format!("{r:.3}"));
    for v in verdicts {
        let note = if v.note.is_empty() {
            String::new()
        } else {
            format!(" ({})", v.note)
        };
        let _ = writeln!(
            s,
            "{:<28} {:<14} {:>5} {:>9} {:>9} {:>8} {:>18} {:>7}  {}{note}",
            v.job,
            v.setup,
            format!("{}/{}", v.baseline_samples.len(), v.current_samples.len()),
            f(v.baseline_ratio),
            f(v.current_ratio),
            pct(v.change),
            interval_text(v.interval),
            v.test
                .map_or_else(|| "—".to_string(), |t| format!("{:.4}", t.p)),
            v.kind.label(),
        );
    }
    s
}

/// One line per failure, for the end of the output.
pub fn failure_line(v: &Verdict) -> String {
    let f = |r: Option<f64>| r.map_or_else(|| "—".to_string(), |r| format!("{r:.3}"));
    match v.kind {
        VerdictKind::Broken => format!(
            "REGRESSION: {} / {}: ratio to base {} -> — (no numbers now)",
            v.job,
            v.setup,
            f(v.baseline_ratio)
        ),
        _ => format!(
            "REGRESSION: {} / {}: ratio to base {} -> {} ({}, 95% interval {}, p {})",
            v.job,
            v.setup,
            f(v.baseline_ratio),
            f(v.current_ratio),
            pct(v.change),
            interval_text(v.interval),
            v.test
                .map_or_else(|| "—".to_string(), |t| format!("{:.4}", t.p)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fio::{group_stats, FioOutput};
    use crate::report::tests::row;
    use crate::report::{Row, RunInfo};

    fn report(rows: Vec<Row>) -> Report {
        Report {
            info: RunInfo::default(),
            rows,
        }
    }

    fn cfg() -> Settings {
        Settings::with_tolerance(0.15)
    }

    /// A run shaped like the seed's table, `repeats` repeats with a few
    /// per cent of noise that differs between setups and repeats.
    fn seed_run(repeats: u32, scale: f64, slow_setup: Option<(&str, f64)>) -> Report {
        let mut rows = Vec::new();
        for (i, (setup, bw)) in [
            ("base", 63076.0),
            ("fuse", 29392.0),
            ("bypass", 53609.0),
            ("bypass-custom", 62968.0),
            ("rpc-bypass", 63505.0),
            ("gfapi_async", 31000.0),
        ]
        .into_iter()
        .enumerate()
        {
            let f = match slow_setup {
                Some((s, f)) if s == setup => f,
                _ => 1.0,
            };
            for rep in 1..=repeats {
                let noise = 1.0 + 0.03 * (f64::from(rep) * 1.7 + i as f64 * 2.3).sin();
                rows.push(row("seq-read", setup, rep, bw * scale * f * noise));
            }
        }
        report(rows)
    }

    #[test]
    fn unchanged_data_is_green() {
        let v = compare(&seed_run(9, 1.0, None), &seed_run(5, 1.0, None), &cfg());
        assert_eq!(v.len(), 5);
        assert!(v.iter().all(|v| v.kind == VerdictKind::Ok), "{v:?}");
        for v in &v {
            let iv = v.interval.unwrap();
            assert!(iv.low <= 0.05 && iv.high >= -0.05, "{v:?}");
            assert_eq!((v.baseline_samples.len(), v.current_samples.len()), (9, 5));
        }
    }

    #[test]
    fn a_faster_machine_is_not_a_regression() {
        // Everything 30% slower: ratios unchanged.
        let v = compare(&seed_run(9, 1.0, None), &seed_run(5, 0.7, None), &cfg());
        assert!(v.iter().all(|v| !v.is_failure()), "{v:?}");
    }

    #[test]
    fn deliberate_20_percent_slowdown_is_flagged_with_its_interval_and_p() {
        let v = compare(
            &seed_run(9, 1.0, None),
            &seed_run(5, 1.0, Some(("bypass", 0.8))),
            &cfg(),
        );
        let bad: Vec<_> = v.iter().filter(|v| v.is_failure()).collect();
        assert_eq!(bad.len(), 1, "{v:?}");
        assert_eq!(bad[0].setup, "bypass");
        assert_eq!(bad[0].job, "seq-read");
        let change = bad[0].change.unwrap();
        assert!((change + 0.2).abs() < 0.03, "{change}");
        let iv = bad[0].interval.unwrap();
        assert!(
            iv.low <= change && change <= iv.high && iv.high < -0.15,
            "{iv:?}"
        );
        // Every current sample below every baseline one: the exact test's
        // smallest p for 5 against 9, 2 / C(14, 5) = 2 / 2002.
        let t = bad[0].test.unwrap();
        assert_eq!(t.u, 0.0);
        assert!((t.p - 2.0 / 2002.0).abs() < 1e-12, "{t:?}");
        let text = render(&v, &cfg());
        assert!(
            text.contains("REGRESSED") && text.contains("0.0010"),
            "{text}"
        );
        assert!(failure_line(bad[0]).starts_with("REGRESSION: seq-read / bypass"));
    }

    #[test]
    fn a_fall_within_the_tolerance_is_not_flagged_even_when_certain() {
        // 8 % slower in every repeat: p is tiny, but the interval does not
        // lie beyond -15 %.
        let v = compare(
            &seed_run(9, 1.0, None),
            &seed_run(5, 1.0, Some(("bypass", 0.92))),
            &cfg(),
        );
        let b = v.iter().find(|v| v.setup == "bypass").unwrap();
        assert!(b.test.unwrap().p < 0.01, "{b:?}");
        assert_eq!(b.kind, VerdictKind::Ok, "{b:?}");
        // ... and is flagged at a 2 % tolerance (the interval here is
        // about [-13 %, -3 %]).
        let v = compare(
            &seed_run(9, 1.0, None),
            &seed_run(5, 1.0, Some(("bypass", 0.92))),
            &Settings::with_tolerance(0.02),
        );
        let b = v.iter().find(|v| v.setup == "bypass").unwrap();
        assert_eq!(b.kind, VerdictKind::Regressed, "{b:?}");
    }

    #[test]
    fn too_few_repeats_are_reported_not_judged() {
        // 2 against 2 repeats: the smallest two-sided p is 2 / 6.
        let v = compare(
            &seed_run(2, 1.0, None),
            &seed_run(2, 1.0, Some(("bypass", 0.5))),
            &cfg(),
        );
        let b = v.iter().find(|v| v.setup == "bypass").unwrap();
        assert_eq!(b.kind, VerdictKind::Unjudged, "{b:?}");
        assert!(b.note.contains("cannot reach p < 0.05"), "{}", b.note);
        assert!((smallest_p(2, 2) - 1.0 / 3.0).abs() < 1e-12);
        assert!((smallest_p(9, 5) - 2.0 / 2002.0).abs() < 1e-15);
    }

    #[test]
    fn verdicts_are_deterministic() {
        let a = compare(&seed_run(9, 1.0, None), &seed_run(5, 1.0, None), &cfg());
        let b = compare(&seed_run(9, 1.0, None), &seed_run(5, 1.0, None), &cfg());
        assert_eq!(a, b);
    }

    #[test]
    fn base_slowdown_shows_as_everyone_improving_not_failing() {
        let v = compare(
            &seed_run(9, 1.0, None),
            &seed_run(5, 1.0, Some(("base", 0.8))),
            &cfg(),
        );
        assert!(v.iter().all(|v| !v.is_failure()), "{v:?}");
        // Every ratio rose by 25 %; where the noise leaves the interval's
        // low end below +15 % the setup stays "ok", never worse.
        assert!(
            v.iter().all(|v| (v.change.unwrap() - 0.25).abs() < 0.01),
            "{v:?}"
        );
        let improved = v.iter().filter(|v| v.kind == VerdictKind::Improved).count();
        assert!(improved >= 3, "{v:?}");
    }

    #[test]
    fn setup_that_stopped_running_is_broken_and_new_setup_unjudged() {
        let base = seed_run(9, 1.0, None);
        let mut cur = seed_run(5, 1.0, None);
        cur.rows.retain(|r| r.setup != "fuse");
        cur.rows.push(Row::not_run(
            "seq-read",
            "fuse",
            Status::Failed,
            "mount failed",
        ));
        cur.rows.push(row("seq-read", "qemu", 1, 40000.0));
        let v = compare(&base, &cur, &cfg());
        let fuse = v.iter().find(|v| v.setup == "fuse").unwrap();
        assert_eq!(fuse.kind, VerdictKind::Broken);
        assert!(failure_line(fuse).contains("no numbers now"));
        let q = v.iter().find(|v| v.setup == "qemu").unwrap();
        assert_eq!(q.kind, VerdictKind::Unjudged);
        assert_eq!(q.note, "no ratio to base in the baseline");
    }

    #[test]
    fn pooled_runs_pair_each_setup_with_its_own_runs_base() {
        // Run 2 is on a machine twice as fast: every ratio is unchanged, and
        // pooling must not pair run 2's setups with run 1's base.
        let baseline = seed_run(9, 1.0, None);
        let v = compare_pooled(
            &baseline,
            &[seed_run(5, 1.0, None), seed_run(5, 2.0, None)],
            &cfg(),
        );
        assert_eq!(v.len(), 5);
        assert!(v.iter().all(|v| v.kind == VerdictKind::Ok), "{v:?}");
        assert!(v.iter().all(|v| v.current_samples.len() == 10));
        let pooled = pool(&[seed_run(3, 1.0, None), seed_run(3, 2.0, None)]);
        let mut reps: Vec<u32> = pooled.rows.iter().map(|r| r.repeat).collect();
        reps.sort_unstable();
        reps.dedup();
        assert_eq!(reps, [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn a_slowdown_in_both_runs_is_flagged_and_one_noisy_run_is_outweighed() {
        let baseline = seed_run(9, 1.0, None);
        let slow = || seed_run(5, 1.0, Some(("bypass", 0.8)));
        let v = compare_pooled(&baseline, &[slow(), slow()], &cfg());
        let bad: Vec<_> = v.iter().filter(|v| v.is_failure()).collect();
        assert_eq!(bad.len(), 1, "{v:?}");
        assert_eq!(bad[0].setup, "bypass");

        // One run at 80 %, then two clean ones: the pooled samples straddle
        // the baseline, so the interval reaches back above -15 %.
        let v = compare_pooled(
            &baseline,
            &[slow(), seed_run(5, 1.0, None), seed_run(5, 1.0, None)],
            &cfg(),
        );
        assert!(v.iter().all(|v| !v.is_failure()), "{v:?}");
    }

    /// On real captured fio numbers, each repeat a captured run scaled by
    /// a little noise: same data green, one setup at 80 % red.
    #[test]
    fn real_fio_captures() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let load = |name: &str| {
            let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
            group_stats(&FioOutput::parse(&text).unwrap()).remove(0)
        };
        let runs = |repeats: u32, fuse_factor: f64| {
            let mut rows = Vec::new();
            for rep in 1..=repeats {
                for (i, (setup, file)) in [
                    ("base", "seq-read-libaio"),
                    ("fuse", "seq-read-fuse"),
                    ("gfapi_async", "seq-read-gfapi_async"),
                ]
                .into_iter()
                .enumerate()
                {
                    let mut r = Row::from_group("seq-read", setup, rep, &load(file), 1.0);
                    let noise = 1.0 + 0.02 * (f64::from(rep) * 2.1 + i as f64).cos();
                    let f = if setup == "fuse" { fuse_factor } else { 1.0 };
                    r.aggrb_kbs = r.aggrb_kbs.map(|v| v * noise * f);
                    rows.push(r);
                }
            }
            report(rows)
        };
        let baseline = runs(9, 1.0);
        assert!(compare(&baseline, &runs(5, 1.0), &cfg())
            .iter()
            .all(|v| v.kind == VerdictKind::Ok));
        let v = compare(&baseline, &runs(5, 0.8), &cfg());
        let bad: Vec<_> = v.iter().filter(|v| v.is_failure()).collect();
        assert_eq!(bad.len(), 1, "{v:?}");
        assert_eq!(bad[0].setup, "fuse");
    }
}
