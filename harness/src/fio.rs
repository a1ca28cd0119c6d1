//! Serde model of fio 3.33 `--output-format=json` / `json+` and the group
//! aggregation fio prints in its classic "Run status group" line.
//!
//! Only the fields the harness uses are modelled; everything else is ignored,
//! so newer fio versions that add fields still parse.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// The whole JSON document fio writes.
#[derive(Debug, Clone, Deserialize)]
#[allow(dead_code)] // the model documents fio's fields; not all are used
pub struct FioOutput {
    #[serde(rename = "fio version", default)]
    pub fio_version: String,
    #[serde(default)]
    pub timestamp: u64,
    #[serde(rename = "global options", default)]
    pub global_options: BTreeMap<String, String>,
    /// Local runs report `jobs`; client/server runs report `client_stats`
    /// (which adds an "All clients" summary entry, dropped by [`FioOutput::job_stats`]).
    #[serde(default)]
    pub jobs: Vec<JobStats>,
    #[serde(default)]
    pub client_stats: Vec<JobStats>,
}

/// One job (thread/process) of a run; with `group_reporting` one entry per group.
#[derive(Debug, Clone, Deserialize)]
#[allow(dead_code)] // the model documents fio's fields; not all are used
pub struct JobStats {
    pub jobname: String,
    pub groupid: u32,
    #[serde(default)]
    pub error: i64,
    pub read: DirStats,
    pub write: DirStats,
    pub trim: DirStats,
    /// Wall time of the job in ms (all directions).
    #[serde(default)]
    pub job_runtime: u64,
    /// Percent of `job_runtime`.
    #[serde(default)]
    pub usr_cpu: f64,
    #[serde(default)]
    pub sys_cpu: f64,
    /// Set in client/server mode.
    #[serde(default)]
    pub hostname: Option<String>,
}

/// Statistics for one data direction of one job.
#[derive(Debug, Clone, Default, Deserialize)]
#[allow(dead_code)] // the model documents fio's fields; not all are used
pub struct DirStats {
    pub io_bytes: u64,
    /// KiB/s.
    pub bw: u64,
    #[serde(default)]
    pub bw_bytes: u64,
    pub iops: f64,
    /// ms.
    pub runtime: u64,
    #[serde(default)]
    pub total_ios: u64,
    #[serde(default)]
    pub clat_ns: LatStats,
}

/// Completion latency distribution.
#[derive(Debug, Clone, Default, Deserialize)]
#[allow(dead_code)] // the model documents fio's fields; not all are used
pub struct LatStats {
    #[serde(default)]
    pub min: u64,
    #[serde(default)]
    pub max: u64,
    #[serde(default)]
    pub mean: f64,
    #[serde(rename = "N", default)]
    pub n: u64,
    /// "50.000000" -> ns.
    #[serde(default)]
    pub percentile: BTreeMap<String, u64>,
    /// Only with `json+`: latency (ns, as a string) -> count.
    #[serde(default)]
    pub bins: BTreeMap<String, u64>,
}

/// fio's data directions, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ddir {
    Read,
    Write,
    Trim,
}

impl Ddir {
    pub const ALL: [Ddir; 3] = [Ddir::Read, Ddir::Write, Ddir::Trim];

    pub fn as_str(self) -> &'static str {
        match self {
            Ddir::Read => "read",
            Ddir::Write => "write",
            Ddir::Trim => "trim",
        }
    }
}

impl std::str::FromStr for Ddir {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "read" => Ddir::Read,
            "write" => Ddir::Write,
            "trim" => Ddir::Trim,
            _ => bail!("unknown data direction {s:?}"),
        })
    }
}

impl JobStats {
    pub fn dir(&self, d: Ddir) -> &DirStats {
        match d {
            Ddir::Read => &self.read,
            Ddir::Write => &self.write,
            Ddir::Trim => &self.trim,
        }
    }

    /// CPU seconds fio accounted to this job (user + system).
    pub fn cpu_seconds(&self) -> f64 {
        (self.usr_cpu + self.sys_cpu) / 100.0 * self.job_runtime as f64 / 1000.0
    }
}

impl FioOutput {
    /// Parses fio's output file. Leading lines that are not JSON (fio prints
    /// notes such as `<host> note: ...` in client mode, or engines print to
    /// stdout) are skipped, as is anything after the JSON document.
    pub fn parse(text: &str) -> Result<FioOutput> {
        let start = json_start(text).context("no JSON object in fio output")?;
        let mut it = serde_json::Deserializer::from_str(&text[start..]).into_iter::<FioOutput>();
        let out = it
            .next()
            .context("empty fio JSON output")?
            .context("parsing fio JSON output")?;
        Ok(out)
    }

    /// Per-job statistics, whether fio ran locally or as a client
    /// (the "All clients" summary entry is dropped: it would count twice).
    pub fn job_stats(&self) -> impl Iterator<Item = &JobStats> {
        self.jobs.iter().chain(
            self.client_stats
                .iter()
                .filter(|j| j.jobname != "All clients"),
        )
    }
}

fn json_start(text: &str) -> Option<usize> {
    if text.starts_with('{') {
        return Some(0);
    }
    // A line that is exactly "{" starts fio's document; fall back to any '{'
    // at the start of a line.
    let mut pos = 0;
    let mut first_brace = None;
    for line in text.split_inclusive('\n') {
        let t = line.trim_end();
        if t == "{" {
            return Some(pos);
        }
        if first_brace.is_none() && t.starts_with('{') {
            first_brace = Some(pos);
        }
        pos += line.len();
    }
    first_brace
}

/// What fio's "Run status group N" line prints for one direction, plus the
/// harness's extras. Bandwidths are bytes/s computed with fio's integer maths.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupStats {
    pub groupid: u32,
    pub ddir: Ddir,
    pub jobs: usize,
    pub io_bytes: u64,
    /// Aggregate bandwidth: total bytes / slowest job's runtime.
    pub agg_bps: u64,
    pub min_bps: u64,
    pub max_bps: u64,
    /// ms
    pub min_run: u64,
    pub max_run: u64,
    /// Total I/Os / slowest job's runtime.
    pub iops: f64,
    /// Completion latency percentiles in ns over all I/Os of the group, when known.
    pub clat_p50_ns: Option<u64>,
    pub clat_p99_ns: Option<u64>,
    /// CPU seconds (user + system) fio accounted to the group's jobs.
    pub cpu_s: f64,
    /// First non-zero job error, if any.
    pub error: i64,
}

impl GroupStats {
    pub fn agg_kibs(&self) -> f64 {
        self.agg_bps as f64 / 1024.0
    }
    pub fn min_kibs(&self) -> f64 {
        self.min_bps as f64 / 1024.0
    }
    pub fn max_kibs(&self) -> f64 {
        self.max_bps as f64 / 1024.0
    }
}

/// Aggregates the jobs of one fio run per (group, direction), exactly as
/// fio's `__show_run_stats` does: a job counts in a direction when its
/// runtime there is non-zero; per-job bw = io_bytes*1000/runtime;
/// agg = sum(io_bytes)*1000/max(runtime).
pub fn group_stats(out: &FioOutput) -> Vec<GroupStats> {
    #[derive(Default)]
    struct Acc {
        jobs: usize,
        io_bytes: u64,
        total_ios: u64,
        min_bps: Option<u64>,
        max_bps: u64,
        min_run: Option<u64>,
        max_run: u64,
        bins: BTreeMap<u64, u64>,
        bins_complete: bool,
        p50_max: Option<u64>,
        p99_max: Option<u64>,
        cpu_s: f64,
        error: i64,
    }
    let mut accs: BTreeMap<(u32, Ddir), Acc> = BTreeMap::new();
    for job in out.job_stats() {
        for d in Ddir::ALL {
            let s = job.dir(d);
            if s.runtime == 0 {
                continue;
            }
            let a = accs.entry((job.groupid, d)).or_insert_with(|| Acc {
                bins_complete: true,
                ..Acc::default()
            });
            a.jobs += 1;
            a.io_bytes += s.io_bytes;
            a.total_ios += s.total_ios;
            let bw = s.io_bytes * 1000 / s.runtime;
            a.min_bps = Some(a.min_bps.map_or(bw, |m| m.min(bw)));
            a.max_bps = a.max_bps.max(bw);
            a.min_run = Some(a.min_run.map_or(s.runtime, |m| m.min(s.runtime)));
            a.max_run = a.max_run.max(s.runtime);
            if s.clat_ns.bins.is_empty() {
                a.bins_complete = false;
            } else {
                for (k, v) in &s.clat_ns.bins {
                    if let Ok(ns) = k.parse::<u64>() {
                        *a.bins.entry(ns).or_default() += v;
                    }
                }
            }
            let pct = |want: f64| {
                s.clat_ns
                    .percentile
                    .iter()
                    .find(|(k, _)| k.parse::<f64>().is_ok_and(|p| (p - want).abs() < 1e-6))
                    .map(|(_, v)| *v)
            };
            if let Some(v) = pct(50.0) {
                a.p50_max = Some(a.p50_max.map_or(v, |m| m.max(v)));
            }
            if let Some(v) = pct(99.0) {
                a.p99_max = Some(a.p99_max.map_or(v, |m| m.max(v)));
            }
            // CPU is per job, not per direction: count it once, on the job's
            // first active direction.
            if Ddir::ALL
                .iter()
                .find(|dd| job.dir(**dd).runtime > 0)
                .is_some_and(|first| *first == d)
            {
                a.cpu_s += job.cpu_seconds();
            }
            if a.error == 0 {
                a.error = job.error;
            }
        }
    }
    accs.into_iter()
        .map(|((groupid, ddir), a)| {
            let (p50, p99) = if a.bins_complete && !a.bins.is_empty() {
                (
                    histogram_percentile(&a.bins, 50.0),
                    histogram_percentile(&a.bins, 99.0),
                )
            } else {
                // Without json+ bins percentiles cannot be merged exactly:
                // report the worst job's.
                (a.p50_max, a.p99_max)
            };
            GroupStats {
                groupid,
                ddir,
                jobs: a.jobs,
                io_bytes: a.io_bytes,
                agg_bps: a.io_bytes * 1000 / a.max_run,
                min_bps: a.min_bps.unwrap_or(0),
                max_bps: a.max_bps,
                min_run: a.min_run.unwrap_or(0),
                max_run: a.max_run,
                iops: a.total_ios as f64 * 1000.0 / a.max_run as f64,
                clat_p50_ns: p50,
                clat_p99_ns: p99,
                cpu_s: a.cpu_s,
                error: a.error,
            }
        })
        .collect()
}

/// Smallest bin value v such that at least `pct`% of samples are <= v
/// (the same rank rule fio uses for its percentile list).
pub fn histogram_percentile(bins: &BTreeMap<u64, u64>, pct: f64) -> Option<u64> {
    let total: u64 = bins.values().sum();
    if total == 0 {
        return None;
    }
    let rank = ((pct / 100.0) * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (v, c) in bins {
        seen += c;
        if seen >= rank {
            return Some(*v);
        }
    }
    bins.keys().next_back().copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn data(name: &str) -> String {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// One parsed "Run status group" line of fio's normal output.
    #[derive(Debug)]
    struct Printed {
        group: u32,
        ddir: Ddir,
        agg: f64,
        min: f64,
        max: f64,
        mint: u64,
        maxt: u64,
    }

    /// fio prints e.g. `READ: bw=1208MiB/s (1266MB/s), 302MiB/s-1000MiB/s (...), io=64.0MiB (67.1MB), run=16-53msec`.
    fn parse_normal(text: &str) -> Vec<Printed> {
        fn bytes(v: &str) -> f64 {
            let v = v.trim_end_matches("/s");
            let (num, mul) = [
                ("KiB", 1024.0),
                ("MiB", 1024.0 * 1024.0),
                ("GiB", 1024.0 * 1024.0 * 1024.0),
                ("B", 1.0),
            ]
            .iter()
            .find_map(|(u, m)| v.strip_suffix(u).map(|n| (n, *m)))
            .unwrap();
            num.parse::<f64>().unwrap() * mul
        }
        let mut out = Vec::new();
        let mut group = 0;
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("Run status group ") {
                group = rest.split_whitespace().next().unwrap().parse().unwrap();
                continue;
            }
            let Some((dir, rest)) = line.split_once(": bw=") else {
                continue;
            };
            let ddir = dir.to_lowercase().parse().unwrap();
            let agg = bytes(rest.split_whitespace().next().unwrap());
            let range = rest
                .split(", ")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap();
            let (min, max) = range.split_once('-').unwrap();
            let run = rest.rsplit("run=").next().unwrap().trim_end_matches("msec");
            let (mint, maxt) = run.split_once('-').unwrap();
            out.push(Printed {
                group,
                ddir,
                agg,
                min: bytes(min),
                max: bytes(max),
                mint: mint.parse().unwrap(),
                maxt: maxt.parse().unwrap(),
            });
        }
        out
    }

    /// fio's num2str keeps 3-4 significant figures: compare within 0.5%.
    fn close(ours: u64, printed: f64) -> bool {
        ((ours as f64 - printed) / printed).abs() < 0.005
    }

    fn check_against_fio(name: &str) -> Vec<GroupStats> {
        let out = FioOutput::parse(&data(&format!("{name}.json"))).unwrap();
        assert_eq!(out.fio_version, "fio-3.33");
        let groups = group_stats(&out);
        let printed = parse_normal(&data(&format!("{name}.txt")));
        assert!(!printed.is_empty(), "{name}: no run status lines");
        assert_eq!(
            groups.len(),
            printed.len(),
            "{name}: {groups:?} vs {printed:?}"
        );
        for (g, p) in groups.iter().zip(&printed) {
            assert_eq!((g.groupid, g.ddir), (p.group, p.ddir), "{name}");
            assert!(
                close(g.agg_bps, p.agg),
                "{name} aggrb {} vs {}",
                g.agg_bps,
                p.agg
            );
            assert!(
                close(g.min_bps, p.min),
                "{name} minb {} vs {}",
                g.min_bps,
                p.min
            );
            assert!(
                close(g.max_bps, p.max),
                "{name} maxb {} vs {}",
                g.max_bps,
                p.max
            );
            assert_eq!((g.min_run, g.max_run), (p.mint, p.maxt), "{name}");
            assert_eq!(g.error, 0);
            assert!(g.iops > 0.0 && g.cpu_s >= 0.0);
            let (p50, p99) = (g.clat_p50_ns.unwrap(), g.clat_p99_ns.unwrap());
            assert!(p50 > 0 && p50 <= p99, "{name}: p50 {p50} p99 {p99}");
        }
        groups
    }

    #[test]
    fn seed_job_libaio_matches_fio_run_status() {
        let g = check_against_fio("seq-read-libaio");
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].jobs, 4);
        assert_eq!(g[0].io_bytes, 64 << 20);
    }

    #[test]
    fn all_captures_match_fio_run_status() {
        for name in [
            "rand-read-4k-libaio",
            "seq-write-libaio",
            "seq-read-gfapi_async",
            "seq-read-fuse",
            "rand-read-4k-gfapi_async",
            "client-seq-read-libaio",
        ] {
            check_against_fio(name);
        }
    }

    #[test]
    fn stonewalled_groups_are_separate() {
        let g = check_against_fio("two-groups-libaio");
        assert_eq!(
            g.iter().map(|g| (g.groupid, g.ddir)).collect::<Vec<_>>(),
            vec![(0, Ddir::Read), (1, Ddir::Write)]
        );
    }

    #[test]
    fn client_mode_drops_all_clients_entry() {
        let out = FioOutput::parse(&data("client-seq-read-libaio.json")).unwrap();
        assert!(out.jobs.is_empty());
        assert_eq!(out.client_stats.len(), 5);
        assert_eq!(out.job_stats().count(), 4);
        assert!(out.job_stats().all(|j| j.hostname.is_some()));
    }

    #[test]
    fn parse_skips_leading_notes_and_trailing_text() {
        let body = data("rand-read-4k-libaio.json");
        let noisy = format!("<vm> note: something\nthe async interface is still very experimental...\n{body}\nRun status group 0 (all jobs):\n");
        let out = FioOutput::parse(&noisy).unwrap();
        assert_eq!(out.jobs.len(), 1);
        assert_eq!(
            out.global_options.get("rw").map(String::as_str),
            Some("randread")
        );
    }

    #[test]
    fn merged_histogram_percentiles_match_single_job_fio_percentiles() {
        // With one job the merged histogram must reproduce fio's own list
        // (fio reports the bin value at the same rank).
        for name in ["rand-read-4k-libaio", "rand-read-4k-gfapi_async"] {
            let out = FioOutput::parse(&data(&format!("{name}.json"))).unwrap();
            let j = &out.jobs[0];
            let bins: BTreeMap<u64, u64> = j
                .read
                .clat_ns
                .bins
                .iter()
                .map(|(k, v)| (k.parse().unwrap(), *v))
                .collect();
            for (key, pct) in [("50.000000", 50.0), ("99.000000", 99.0)] {
                let fio = j.read.clat_ns.percentile[key];
                let ours = histogram_percentile(&bins, pct).unwrap();
                assert_eq!(ours, fio, "{name} p{pct}");
            }
        }
    }

    #[test]
    fn percentile_fallback_without_bins_uses_worst_job() {
        let mut out = FioOutput::parse(&data("seq-read-libaio.json")).unwrap();
        for j in &mut out.jobs {
            j.read.clat_ns.bins.clear();
        }
        let g = &group_stats(&out)[0];
        let worst = out
            .jobs
            .iter()
            .map(|j| j.read.clat_ns.percentile["99.000000"])
            .max()
            .unwrap();
        assert_eq!(g.clat_p99_ns, Some(worst));
    }

    #[test]
    fn histogram_percentile_edges() {
        let bins: BTreeMap<u64, u64> = [(10, 1), (20, 98), (30, 1)].into_iter().collect();
        assert_eq!(histogram_percentile(&bins, 50.0), Some(20));
        assert_eq!(histogram_percentile(&bins, 99.0), Some(20));
        assert_eq!(histogram_percentile(&bins, 100.0), Some(30));
        assert_eq!(histogram_percentile(&BTreeMap::new(), 50.0), None);
    }
}
