//! The harness's result model: one CSV row per (job, group, direction,
//! setup, repeat), the run's metadata, and the per-setup summary
//! (min/median/max over repeats, ratios to base and to gfapi_async).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::fio::GroupStats;

/// The setups in the order the seed's table lists them, then the peers.
pub const SETUP_ORDER: &[&str] = &[
    "base",
    "fuse",
    "bypass",
    "bypass-custom",
    "rpc-bypass",
    "gfapi",
    "gfapi_async",
    "qemu",
];
pub const BASE: &str = "base";
pub const PEER: &str = "gfapi_async";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// fio ran and reported numbers.
    Ok,
    /// The setup was attempted and failed (fio error, engine missing...).
    Failed,
    /// The setup does not apply to this configuration (e.g. no local brick).
    Skipped,
}

/// One line of `results.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub job: String,
    pub group: u32,
    pub ddir: String,
    pub setup: String,
    pub repeat: u32,
    pub status: Status,
    /// KiB/s, as fio's classic group line.
    pub aggrb_kbs: Option<f64>,
    pub minb_kbs: Option<f64>,
    pub maxb_kbs: Option<f64>,
    /// ms
    pub mint_ms: Option<u64>,
    pub maxt_ms: Option<u64>,
    pub iops: Option<f64>,
    /// Completion latency percentiles over all I/Os of the group, µs.
    pub clat_p50_us: Option<f64>,
    pub clat_p99_us: Option<f64>,
    /// CPU seconds (user+system) fio accounted to the jobs.
    pub cpu_s: Option<f64>,
    pub io_mib: Option<f64>,
    /// Wall time of the whole fio process (start-up and teardown included), s.
    pub wall_s: Option<f64>,
    /// Why a setup failed or was skipped; fio's error otherwise empty.
    pub note: String,
    /// CPU seconds (user + system) of the whole measured process tree:
    /// every thread of fio (or qemu-img) and its children, gfapi's threads
    /// included, from a cgroup (fio's `cpu_s` counts only its job thread).
    /// Per run: the same value on every group row of that run.
    #[serde(default)]
    pub proc_cpu_s: Option<f64>,
    /// CPU seconds the brick processes (glusterfsd) used during the run.
    #[serde(default)]
    pub brick_cpu_s: Option<f64>,
}

impl Row {
    pub fn from_group(job: &str, setup: &str, repeat: u32, g: &GroupStats, wall_s: f64) -> Row {
        Row {
            job: job.to_string(),
            group: g.groupid,
            ddir: g.ddir.as_str().to_string(),
            setup: setup.to_string(),
            repeat,
            status: if g.error == 0 {
                Status::Ok
            } else {
                Status::Failed
            },
            aggrb_kbs: Some(g.agg_kibs()),
            minb_kbs: Some(g.min_kibs()),
            maxb_kbs: Some(g.max_kibs()),
            mint_ms: Some(g.min_run),
            maxt_ms: Some(g.max_run),
            iops: Some(g.iops),
            clat_p50_us: g.clat_p50_ns.map(|n| n as f64 / 1000.0),
            clat_p99_us: g.clat_p99_ns.map(|n| n as f64 / 1000.0),
            cpu_s: Some(g.cpu_s),
            io_mib: Some(g.io_bytes as f64 / (1024.0 * 1024.0)),
            wall_s: Some(wall_s),
            note: if g.error == 0 {
                String::new()
            } else {
                format!("fio job error {}", g.error)
            },
            proc_cpu_s: None,
            brick_cpu_s: None,
        }
    }

    /// A row for a (job, setup) that produced no numbers.
    pub fn not_run(job: &str, setup: &str, status: Status, note: impl Into<String>) -> Row {
        Row {
            job: job.to_string(),
            group: 0,
            ddir: String::new(),
            setup: setup.to_string(),
            repeat: 0,
            status,
            aggrb_kbs: None,
            minb_kbs: None,
            maxb_kbs: None,
            mint_ms: None,
            maxt_ms: None,
            iops: None,
            clat_p50_us: None,
            clat_p99_us: None,
            cpu_s: None,
            io_mib: None,
            wall_s: None,
            note: note.into(),
            proc_cpu_s: None,
            brick_cpu_s: None,
        }
    }
}

/// What the run was: written as `run.json` next to the CSV.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub run: String,
    pub started: String,
    pub host: String,
    pub fio_version: String,
    pub size: Option<String>,
    pub repeat: u32,
    pub drop_caches: bool,
    pub volume: String,
    pub server: String,
    pub bricks: Vec<String>,
    pub replica: Option<u32>,
    pub volume_options: BTreeMap<String, String>,
    pub clients: Vec<String>,
    pub jobs: Vec<String>,
    pub setups: Vec<String>,
    /// Job name -> the job file's first comment line.
    #[serde(default)]
    pub job_descriptions: BTreeMap<String, String>,
    /// Free-form notes (e.g. how the files were laid out).
    pub notes: Vec<String>,
    /// CPUs the run had, shared by fio, the client and the brick.
    #[serde(default)]
    pub cpus: Option<u32>,
}

/// The CPUs this process may run on.
pub fn available_cpus() -> Option<u32> {
    std::thread::available_parallelism()
        .ok()
        .and_then(|n| u32::try_from(n.get()).ok())
}

/// A run's results: what exporters consume.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub info: RunInfo,
    pub rows: Vec<Row>,
}

impl Report {
    pub fn read_csv(path: &Path) -> Result<Vec<Row>> {
        let mut rd =
            csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
        rd.deserialize()
            .collect::<std::result::Result<Vec<Row>, _>>()
            .with_context(|| format!("parsing {}", path.display()))
    }

    /// Loads `results.csv` (and `run.json` when present) from a run
    /// directory, or a bare CSV file.
    pub fn load(path: &Path) -> Result<Report> {
        let (csv_path, info_path) = if path.is_dir() {
            (path.join("results.csv"), Some(path.join("run.json")))
        } else {
            (
                path.to_path_buf(),
                path.parent().map(|p| p.join("run.json")),
            )
        };
        let rows = Self::read_csv(&csv_path)?;
        let info = match info_path.filter(|p| p.is_file()) {
            Some(p) => serde_json::from_slice(&std::fs::read(&p)?)
                .with_context(|| format!("parsing {}", p.display()))?,
            None => RunInfo::default(),
        };
        Ok(Report { info, rows })
    }

    /// Groups rows into series (job, group, ddir) with one summary per setup,
    /// setups in [`SETUP_ORDER`] then first-seen order.
    pub fn summarize(&self) -> Vec<Series> {
        let mut series: Vec<Series> = Vec::new();
        // Rows that produced no numbers carry no group/ddir: attach them to
        // every series of their job (or make one if the job never ran).
        let (ran, not_ran): (Vec<&Row>, Vec<&Row>) =
            self.rows.iter().partition(|r| r.status == Status::Ok);
        for r in &ran {
            let s = match series
                .iter_mut()
                .find(|s| s.job == r.job && s.group == r.group && s.ddir == r.ddir)
            {
                Some(s) => s,
                None => {
                    series.push(Series {
                        job: r.job.clone(),
                        group: r.group,
                        ddir: r.ddir.clone(),
                        label: String::new(),
                        setups: Vec::new(),
                    });
                    series.last_mut().unwrap()
                }
            };
            s.add_ok(r);
        }
        for r in &not_ran {
            // Failures of some repeats of an otherwise working setup are
            // recorded as notes on that setup.
            let mut attached = false;
            for s in series.iter_mut().filter(|s| s.job == r.job) {
                s.add_not_run(r);
                attached = true;
            }
            if !attached {
                let mut s = Series {
                    job: r.job.clone(),
                    group: 0,
                    ddir: String::new(),
                    label: String::new(),
                    setups: Vec::new(),
                };
                s.add_not_run(r);
                series.push(s);
            }
        }
        // Labels: the job name, qualified when a job has several series.
        let counts = series
            .iter()
            .fold(BTreeMap::<String, usize>::new(), |mut m, s| {
                *m.entry(s.job.clone()).or_default() += 1;
                m
            });
        for s in &mut series {
            s.label = if counts[&s.job] > 1 {
                format!("{} (group {} {})", s.job, s.group, s.ddir)
            } else {
                s.job.clone()
            };
            s.setups.sort_by_key(|x| setup_rank(&x.setup));
        }
        series
    }
}

fn setup_rank(s: &str) -> (usize, String) {
    (
        SETUP_ORDER
            .iter()
            .position(|x| *x == s)
            .unwrap_or(SETUP_ORDER.len()),
        s.to_string(),
    )
}

/// min / median / max of one metric over repeats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mmm {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Mmm {
    pub fn of(values: &[f64]) -> Option<Mmm> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Mmm {
            min: v[0],
            median,
            max: v[n - 1],
        })
    }
}

/// One (job, group, direction): the unit of the seed's table.
#[derive(Debug, Clone)]
pub struct Series {
    pub job: String,
    pub group: u32,
    pub ddir: String,
    pub label: String,
    pub setups: Vec<SetupSummary>,
}

#[derive(Debug, Clone)]
pub struct SetupSummary {
    pub setup: String,
    pub runs: Vec<Row>,
    /// Why it has no numbers (or why some repeats failed).
    pub notes: Vec<String>,
    pub status: Status,
}

impl Series {
    fn entry(&mut self, setup: &str) -> &mut SetupSummary {
        if let Some(i) = self.setups.iter().position(|s| s.setup == setup) {
            return &mut self.setups[i];
        }
        self.setups.push(SetupSummary {
            setup: setup.to_string(),
            runs: Vec::new(),
            notes: Vec::new(),
            status: Status::Skipped,
        });
        self.setups.last_mut().unwrap()
    }

    fn add_ok(&mut self, r: &Row) {
        let e = self.entry(&r.setup);
        e.status = Status::Ok;
        e.runs.push(r.clone());
    }

    fn add_not_run(&mut self, r: &Row) {
        let e = self.entry(&r.setup);
        if e.status != Status::Ok {
            e.status = r.status;
        }
        if !r.note.is_empty() && !e.notes.contains(&r.note) {
            e.notes.push(r.note.clone());
        }
    }

    pub fn get(&self, setup: &str) -> Option<&SetupSummary> {
        self.setups
            .iter()
            .find(|s| s.setup == setup && s.status == Status::Ok)
    }

    /// Median aggrb of `setup` divided by the median aggrb of `reference`.
    pub fn ratio(&self, setup: &str, reference: &str) -> Option<f64> {
        let a = self.get(setup)?.aggrb()?.median;
        let b = self.get(reference)?.aggrb()?.median;
        (b > 0.0).then(|| a / b)
    }

    /// aggrb of `setup` / aggrb of `reference` in the same repeat, one per
    /// repeat in which both produced numbers (in `setup`'s repeat order).
    /// Setups of a repeat run back to back, so a moment when the whole
    /// machine (or the host's disk cache) is faster or slower moves both
    /// sides of one quotient alike; [`Series::ratio`] of the medians would
    /// let it move just one of them.
    pub fn paired_ratios(&self, setup: &str, reference: &str) -> Vec<f64> {
        let (Some(a), Some(b)) = (self.get(setup), self.get(reference)) else {
            return Vec::new();
        };
        a.runs
            .iter()
            .filter_map(|ra| {
                let rb = b.runs.iter().find(|rb| rb.repeat == ra.repeat)?;
                let (x, y) = (ra.aggrb_kbs?, rb.aggrb_kbs?);
                (y > 0.0).then(|| x / y)
            })
            .collect()
    }
}

impl SetupSummary {
    fn metric(&self, f: impl Fn(&Row) -> Option<f64>) -> Option<Mmm> {
        Mmm::of(&self.runs.iter().filter_map(f).collect::<Vec<_>>())
    }
    pub fn aggrb(&self) -> Option<Mmm> {
        self.metric(|r| r.aggrb_kbs)
    }
    pub fn minb(&self) -> Option<Mmm> {
        self.metric(|r| r.minb_kbs)
    }
    pub fn maxb(&self) -> Option<Mmm> {
        self.metric(|r| r.maxb_kbs)
    }
    pub fn mint(&self) -> Option<Mmm> {
        self.metric(|r| r.mint_ms.map(|v| v as f64))
    }
    pub fn maxt(&self) -> Option<Mmm> {
        self.metric(|r| r.maxt_ms.map(|v| v as f64))
    }
    pub fn iops(&self) -> Option<Mmm> {
        self.metric(|r| r.iops)
    }
    pub fn p50(&self) -> Option<Mmm> {
        self.metric(|r| r.clat_p50_us)
    }
    pub fn p99(&self) -> Option<Mmm> {
        self.metric(|r| r.clat_p99_us)
    }
    /// CPU seconds per GiB moved.
    pub fn cpu_per_gib(&self) -> Option<Mmm> {
        self.metric(|r| match (r.cpu_s, r.io_mib) {
            (Some(c), Some(m)) if m > 0.0 => Some(c / (m / 1024.0)),
            _ => None,
        })
    }
    pub fn wall(&self) -> Option<Mmm> {
        self.metric(|r| r.wall_s)
    }
    /// CPU seconds per GiB of the whole process tree (all threads), when
    /// measured; see [`Row::proc_cpu_s`].
    pub fn proc_cpu_per_gib(&self) -> Option<Mmm> {
        self.metric(|r| match (r.proc_cpu_s, r.io_mib) {
            (Some(c), Some(m)) if m > 0.0 => Some(c / (m / 1024.0)),
            _ => None,
        })
    }
    /// CPU seconds of the whole process tree in one run, when measured.
    pub fn proc_cpu(&self) -> Option<Mmm> {
        self.metric(|r| r.proc_cpu_s)
    }
    /// Brick CPU seconds in one run, when measured.
    pub fn brick_cpu(&self) -> Option<Mmm> {
        self.metric(|r| r.brick_cpu_s)
    }
    /// MiB moved in one run.
    pub fn io_mib(&self) -> Option<Mmm> {
        self.metric(|r| r.io_mib)
    }
    /// Brick CPU seconds per GiB, when measured.
    pub fn brick_cpu_per_gib(&self) -> Option<Mmm> {
        self.metric(|r| match (r.brick_cpu_s, r.io_mib) {
            (Some(c), Some(m)) if m > 0.0 => Some(c / (m / 1024.0)),
            _ => None,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A synthetic OK row.
    pub fn row(job: &str, setup: &str, repeat: u32, aggrb: f64) -> Row {
        Row {
            job: job.into(),
            group: 0,
            ddir: "read".into(),
            setup: setup.into(),
            repeat,
            status: Status::Ok,
            aggrb_kbs: Some(aggrb),
            minb_kbs: Some(aggrb / 4.5),
            maxb_kbs: Some(aggrb / 3.5),
            mint_ms: Some(1000),
            maxt_ms: Some(1200),
            iops: Some(aggrb / 128.0),
            clat_p50_us: Some(500.0),
            clat_p99_us: Some(900.0),
            cpu_s: Some(0.5),
            io_mib: Some(2048.0),
            wall_s: Some(1.5),
            note: String::new(),
            proc_cpu_s: None,
            brick_cpu_s: None,
        }
    }

    #[test]
    fn mmm_odd_even() {
        let m = Mmm::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((m.min, m.median, m.max), (1.0, 2.0, 3.0));
        let m = Mmm::of(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(m.median, 2.5);
        assert!(Mmm::of(&[]).is_none());
    }

    #[test]
    fn summary_orders_setups_and_keeps_failures_with_reason() {
        let mut rows = vec![
            row("seq-read", "gfapi_async", 1, 500.0),
            row("seq-read", "base", 1, 1000.0),
            row("seq-read", "base", 2, 1100.0),
            row("seq-read", "base", 3, 900.0),
            row("seq-read", "gfapi_async", 2, 520.0),
            row("seq-read", "gfapi_async", 3, 480.0),
        ];
        rows.push(Row::not_run(
            "seq-read",
            "rpc-bypass",
            Status::Failed,
            "fio exited 1: engine option posix unknown",
        ));
        let rep = Report {
            info: RunInfo::default(),
            rows,
        };
        let s = rep.summarize();
        assert_eq!(s.len(), 1);
        let names: Vec<_> = s[0].setups.iter().map(|x| x.setup.as_str()).collect();
        assert_eq!(names, ["base", "rpc-bypass", "gfapi_async"]);
        assert_eq!(s[0].setups[1].status, Status::Failed);
        assert!(s[0].setups[1].notes[0].contains("posix"));
        assert_eq!(s[0].ratio("gfapi_async", "base"), Some(0.5));
        assert_eq!(s[0].ratio("rpc-bypass", "base"), None);
        assert_eq!(s[0].label, "seq-read");
    }

    #[test]
    fn csv_roundtrip_including_empty_fields() {
        let rows = vec![
            row("j", "base", 1, 1.5),
            Row::not_run(
                "j",
                "fuse",
                Status::Skipped,
                "no mount, with \"quotes\", commas",
            ),
        ];
        let dir = std::env::temp_dir().join(format!("gb-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("results.csv");
        let mut w = csv::Writer::from_path(&p).unwrap();
        for r in &rows {
            w.serialize(r).unwrap();
        }
        w.flush().unwrap();
        drop(w);
        let back = Report::read_csv(&p).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(back, rows);
    }
}
