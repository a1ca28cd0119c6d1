//! `compare BASELINE CURRENT`: judges each setup's ratio to base within the
//! same run (so a faster or slower machine does not matter), not absolute
//! speed.

use std::fmt::Write as _;

use crate::report::{Report, Series, Status, BASE};

/// One (series, setup) judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub job: String,
    pub setup: String,
    pub baseline_ratio: Option<f64>,
    pub current_ratio: Option<f64>,
    pub kind: VerdictKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictKind {
    Ok,
    Improved,
    /// Ratio to base fell by more than the tolerance.
    Regressed,
    /// Ran in the baseline, produces no numbers now.
    Broken,
    /// Not in the baseline (or base missing on one side): reported, not judged.
    Unjudged,
}

impl Verdict {
    /// current / baseline ratio, minus 1.
    pub fn change(&self) -> Option<f64> {
        Some(self.current_ratio? / self.baseline_ratio? - 1.0)
    }
    pub fn is_failure(&self) -> bool {
        matches!(self.kind, VerdictKind::Regressed | VerdictKind::Broken)
    }
}

/// Compares every setup (but base) of every series found in the baseline.
/// `tolerance` is a fraction: 0.15 flags a setup whose ratio to base fell by
/// more than 15 %.
pub fn compare(baseline: &Report, current: &Report, tolerance: f64) -> Vec<Verdict> {
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
            let br = b.as_ref().and_then(|s| s.paired_ratio(&setup, BASE));
            let cr = c.as_ref().and_then(|s| s.paired_ratio(&setup, BASE));
            let current_ran = c
                .as_ref()
                .is_some_and(|s| s.get(&setup).is_some_and(|x| x.status == Status::Ok));
            let base_ran_now = c.as_ref().is_some_and(|s| s.get(BASE).is_some());
            let kind = match (br, cr) {
                (Some(br), Some(cr)) => {
                    let change = cr / br - 1.0;
                    if change < -tolerance {
                        VerdictKind::Regressed
                    } else if change > tolerance {
                        VerdictKind::Improved
                    } else {
                        VerdictKind::Ok
                    }
                }
                (Some(_), None) if !current_ran && base_ran_now => VerdictKind::Broken,
                _ => VerdictKind::Unjudged,
            };
            out.push(Verdict {
                job: key.label.clone(),
                setup,
                baseline_ratio: br,
                current_ratio: cr,
                kind,
            });
        }
    }
    out
}

/// Judges several runs of the same code together against one baseline: their
/// repeats are pooled (renumbered so each run's setups still pair with that
/// run's base), so the medians rest on every repeat. A confirming re-run
/// thus narrows the noise instead of merely voting: a real slowdown stays
/// flagged, a noisy first run is outweighed.
pub fn compare_pooled(baseline: &Report, currents: &[Report], tolerance: f64) -> Vec<Verdict> {
    compare(baseline, &pool(currents), tolerance)
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

/// Human-readable table of the verdicts.
pub fn render(verdicts: &[Verdict], tolerance: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Ratios to base (median over repeats of aggrb / base's aggrb in the same repeat), tolerance {:.0}%:",
        tolerance * 100.0
    );
    let _ = writeln!(
        s,
        "{:<28} {:<14} {:>9} {:>9} {:>8}  verdict",
        "job", "setup", "baseline", "current", "change"
    );
    let f = |r: Option<f64>| r.map_or_else(|| "—".to_string(), |r| format!("{r:.3}"));
    for v in verdicts {
        let verdict = match v.kind {
            VerdictKind::Ok => "ok",
            VerdictKind::Improved => "improved",
            VerdictKind::Regressed => "REGRESSED",
            VerdictKind::Broken => "BROKEN (no numbers now)",
            VerdictKind::Unjudged => "not judged",
        };
        let _ = writeln!(
            s,
            "{:<28} {:<14} {:>9} {:>9} {:>8}  {verdict}",
            v.job,
            v.setup,
            f(v.baseline_ratio),
            f(v.current_ratio),
            v.change()
                .map_or_else(|| "—".to_string(), |c| format!("{:+.1}%", c * 100.0)),
        );
    }
    s
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

    /// A run shaped like the seed's table, with small repeat noise.
    fn seed_run(scale: f64, slow_setup: Option<(&str, f64)>) -> Report {
        let mut rows = Vec::new();
        for (setup, bw) in [
            ("base", 63076.0),
            ("fuse", 29392.0),
            ("bypass", 53609.0),
            ("bypass-custom", 62968.0),
            ("rpc-bypass", 63505.0),
            ("gfapi_async", 31000.0),
        ] {
            let f = match slow_setup {
                Some((s, f)) if s == setup => f,
                _ => 1.0,
            };
            for (rep, noise) in [(1, 0.97), (2, 1.0), (3, 1.04)] {
                rows.push(row("seq-read", setup, rep, bw * scale * f * noise));
            }
        }
        report(rows)
    }

    #[test]
    fn unchanged_data_is_green() {
        let v = compare(&seed_run(1.0, None), &seed_run(1.0, None), 0.15);
        assert_eq!(v.len(), 5);
        assert!(v.iter().all(|v| v.kind == VerdictKind::Ok), "{v:?}");
    }

    #[test]
    fn a_faster_machine_is_not_a_regression() {
        // Everything 30% slower: ratios unchanged.
        let v = compare(&seed_run(1.0, None), &seed_run(0.7, None), 0.15);
        assert!(v.iter().all(|v| !v.is_failure()), "{v:?}");
    }

    #[test]
    fn deliberate_20_percent_slowdown_is_flagged() {
        let v = compare(
            &seed_run(1.0, None),
            &seed_run(1.0, Some(("bypass", 0.8))),
            0.15,
        );
        let bad: Vec<_> = v.iter().filter(|v| v.is_failure()).collect();
        assert_eq!(bad.len(), 1, "{v:?}");
        assert_eq!(bad[0].setup, "bypass");
        assert_eq!(bad[0].job, "seq-read");
        assert!((bad[0].change().unwrap() + 0.2).abs() < 1e-9);
        let text = render(&v, 0.15);
        assert!(
            text.contains("REGRESSED") && text.contains("-20.0%"),
            "{text}"
        );
    }

    #[test]
    fn base_slowdown_shows_as_everyone_improving_not_failing() {
        let v = compare(
            &seed_run(1.0, None),
            &seed_run(1.0, Some(("base", 0.8))),
            0.15,
        );
        assert!(v.iter().all(|v| !v.is_failure()), "{v:?}");
        assert!(v.iter().all(|v| v.kind == VerdictKind::Improved));
    }

    #[test]
    fn setup_that_stopped_running_is_broken_and_new_setup_unjudged() {
        let base = seed_run(1.0, None);
        let mut cur = seed_run(1.0, None);
        cur.rows.retain(|r| r.setup != "fuse");
        cur.rows.push(Row::not_run(
            "seq-read",
            "fuse",
            Status::Failed,
            "mount failed",
        ));
        cur.rows.push(row("seq-read", "qemu", 1, 40000.0));
        let v = compare(&base, &cur, 0.15);
        let fuse = v.iter().find(|v| v.setup == "fuse").unwrap();
        assert_eq!(fuse.kind, VerdictKind::Broken);
        let q = v.iter().find(|v| v.setup == "qemu").unwrap();
        assert_eq!(q.kind, VerdictKind::Unjudged);
    }

    #[test]
    fn pooled_runs_pair_each_setup_with_its_own_runs_base() {
        // Run 2 is on a machine twice as fast: every ratio is unchanged, and
        // pooling must not pair run 2's setups with run 1's base.
        let baseline = seed_run(1.0, None);
        let v = compare_pooled(&baseline, &[seed_run(1.0, None), seed_run(2.0, None)], 0.15);
        assert_eq!(v.len(), 5);
        assert!(v.iter().all(|v| v.kind == VerdictKind::Ok), "{v:?}");
        let pooled = pool(&[seed_run(1.0, None), seed_run(2.0, None)]);
        let mut reps: Vec<u32> = pooled.rows.iter().map(|r| r.repeat).collect();
        reps.sort_unstable();
        reps.dedup();
        assert_eq!(reps, [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn a_slowdown_in_both_runs_is_flagged_and_one_noisy_run_is_outweighed() {
        let baseline = seed_run(1.0, None);
        let slow = || seed_run(1.0, Some(("bypass", 0.8)));
        let v = compare_pooled(&baseline, &[slow(), slow()], 0.15);
        let bad: Vec<_> = v.iter().filter(|v| v.is_failure()).collect();
        assert_eq!(bad.len(), 1, "{v:?}");
        assert_eq!(bad[0].setup, "bypass");

        // One run at 80 %, then two clean ones: the pooled median is clean.
        let v = compare_pooled(
            &baseline,
            &[slow(), seed_run(1.0, None), seed_run(1.0, None)],
            0.15,
        );
        assert!(v.iter().all(|v| !v.is_failure()), "{v:?}");
    }

    /// On real captured fio numbers: same data green, one setup at 80% red.
    #[test]
    fn real_fio_captures() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let load = |name: &str| {
            let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
            group_stats(&FioOutput::parse(&text).unwrap()).remove(0)
        };
        let mut rows = Vec::new();
        for (setup, file) in [
            ("base", "seq-read-libaio"),
            ("fuse", "seq-read-fuse"),
            ("gfapi_async", "seq-read-gfapi_async"),
        ] {
            rows.push(Row::from_group("seq-read", setup, 1, &load(file), 1.0));
        }
        let baseline = report(rows.clone());
        assert!(compare(&baseline, &baseline, 0.15)
            .iter()
            .all(|v| v.kind == VerdictKind::Ok));
        for r in &mut rows {
            if r.setup == "fuse" {
                r.aggrb_kbs = r.aggrb_kbs.map(|v| v * 0.8);
            }
        }
        let v = compare(&baseline, &report(rows), 0.15);
        let bad: Vec<_> = v.iter().filter(|v| v.is_failure()).collect();
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].setup, "fuse");
    }
}
