//! Exporters, hyperfine style: each turns a [`Report`] into files in the
//! run directory. The charts themselves are drawn by [`crate::plot`], which
//! knows nothing of exporters.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::plot;
use crate::report::{Mmm, Report, Series, Status, BASE, PEER};

pub trait Exporter {
    /// Short name for messages.
    fn name(&self) -> &'static str;
    /// Writes the export under `dir`; returns the files written.
    fn export(&self, report: &Report, dir: &Path) -> Result<Vec<PathBuf>>;
}

/// Every exporter the `run` and `report` commands use.
pub fn all() -> Vec<Box<dyn Exporter>> {
    vec![
        Box::new(CsvExporter),
        Box::new(RunInfoExporter),
        Box::new(MarkdownExporter),
        Box::new(PlotExporter),
    ]
}

/// `results.csv`: one row per (job, group, direction, setup, repeat).
pub struct CsvExporter;

impl Exporter for CsvExporter {
    fn name(&self) -> &'static str {
        "csv"
    }
    fn export(&self, report: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
        let path = dir.join("results.csv");
        let mut w = csv::Writer::from_path(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        for r in &report.rows {
            w.serialize(r)?;
        }
        w.flush()?;
        Ok(vec![path])
    }
}

/// `run.json`: how the run was made (volume options, sizes, hosts).
pub struct RunInfoExporter;

impl Exporter for RunInfoExporter {
    fn name(&self) -> &'static str {
        "run.json"
    }
    fn export(&self, report: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
        let path = dir.join("run.json");
        std::fs::write(&path, serde_json::to_string_pretty(&report.info)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(vec![path])
    }
}

/// `plots/`: bandwidth and runtime charts per series (see [`plot::write_plots`]).
pub struct PlotExporter;

impl Exporter for PlotExporter {
    fn name(&self) -> &'static str {
        "plots"
    }
    fn export(&self, report: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
        plot::write_plots(report, dir)
    }
}

/// `summary.md`: the seed-style table per job.
pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn name(&self) -> &'static str {
        "markdown"
    }
    fn export(&self, report: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
        let path = dir.join("summary.md");
        std::fs::write(&path, markdown(report))
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(vec![path])
    }
}

fn med(m: Option<Mmm>, digits: usize) -> String {
    m.map_or_else(|| "—".to_string(), |m| format!("{:.*}", digits, m.median))
}

/// A figure of the fallback kind (fio's job-thread CPU), marked.
fn star(s: String) -> String {
    if s == "—" {
        s
    } else {
        format!("{s}*")
    }
}

fn ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "—".to_string(), |r| format!("{r:.2}"))
}

/// Escapes a free-text cell for a Markdown table.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The seed-style tables for all series.
pub fn markdown(report: &Report) -> String {
    let i = &report.info;
    let mut s = String::new();
    let _ = writeln!(s, "# glusterrs benchmark {}\n", i.run);
    let mut facts = Vec::new();
    if !i.started.is_empty() {
        facts.push(format!("started {}", i.started));
    }
    if !i.host.is_empty() {
        facts.push(format!("host {}", i.host));
    }
    if !i.fio_version.is_empty() {
        facts.push(i.fio_version.clone());
    }
    if let Some(sz) = &i.size {
        facts.push(format!("size {sz} per job"));
    }
    if i.repeat > 0 {
        facts.push(format!(
            "{} repeat{}",
            i.repeat,
            if i.repeat == 1 { "" } else { "s" }
        ));
    }
    facts.push(if i.drop_caches {
        "caches dropped before each run".into()
    } else {
        "caches not dropped".into()
    });
    if !i.volume.is_empty() {
        facts.push(format!("volume `{}` on {}", i.volume, i.server));
    }
    if !i.bricks.is_empty() {
        facts.push(format!("bricks {}", i.bricks.join(", ")));
    }
    if let Some(r) = i.replica {
        facts.push(format!("replica {r}"));
    }
    if !i.clients.is_empty() {
        facts.push(format!("fio clients {}", i.clients.join(", ")));
    }
    let _ = writeln!(s, "{}\n", facts.join(" · "));
    if !i.volume_options.is_empty() {
        let opts: Vec<_> = i
            .volume_options
            .iter()
            .map(|(k, v)| format!("`{k}={v}`"))
            .collect();
        let _ = writeln!(s, "Volume options: {}\n", opts.join(", "));
    }
    for n in &i.notes {
        let _ = writeln!(s, "- {n}");
    }
    if !i.notes.is_empty() {
        s.push('\n');
    }
    for series in report.summarize() {
        s.push_str(&series_table(&series, i.job_descriptions.get(&series.job)));
        s.push('\n');
    }
    s
}

fn series_table(series: &Series, description: Option<&String>) -> String {
    let mut s = String::new();
    let repeats = series
        .setups
        .iter()
        .map(|x| x.runs.len())
        .max()
        .unwrap_or(0);
    let _ = writeln!(s, "## {}\n", series.label);
    if let Some(d) = description {
        let _ = writeln!(s, "_{}_\n", d);
    }
    let _ = writeln!(
        s,
        "Medians of {repeats} run(s). aggrb, minb, maxb in KiB/s (fio's KB/s); mint, maxt in ms; \
         aggrb range is min–max over runs; clat in µs; CPU is user+system seconds per GiB of the whole fio (or qemu-img) process tree, every thread (gfapi's included), or fio's own job-thread figure (marked *) where that was not measured; wall is the fio process's start-to-exit time in s.\n"
    );
    let _ = writeln!(
        s,
        "| setup | aggrb | minb | maxb | mint | maxt | aggrb range | IOPS | clat p50 | clat p99 | CPU s/GiB | wall s | × {BASE} | × {PEER} | note |"
    );
    let _ = writeln!(
        s,
        "|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:--|"
    );
    for x in &series.setups {
        if x.status != Status::Ok {
            let what = if x.status == Status::Failed {
                "failed"
            } else {
                "not run"
            };
            let _ = writeln!(
                s,
                "| {} | — | — | — | — | — | — | — | — | — | — | — | — | — | {what}: {} |",
                x.setup,
                cell(&x.notes.join("; "))
            );
            continue;
        }
        let range = x
            .aggrb()
            .map_or_else(|| "—".into(), |m| format!("{:.0}–{:.0}", m.min, m.max));
        let note = if x.notes.is_empty() {
            String::new()
        } else {
            format!("some runs failed: {}", cell(&x.notes.join("; ")))
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            x.setup,
            med(x.aggrb(), 0),
            med(x.minb(), 0),
            med(x.maxb(), 0),
            med(x.mint(), 0),
            med(x.maxt(), 0),
            range,
            med(x.iops(), 0),
            med(x.p50(), 0),
            med(x.p99(), 0),
            x.proc_cpu_per_gib().map_or_else(
                || star(med(x.cpu_per_gib(), 2)),
                |m| format!("{:.2}", m.median)
            ),
            med(x.wall(), 1),
            ratio(series.ratio(&x.setup, BASE)),
            ratio(series.ratio(&x.setup, PEER)),
            note
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::row;
    use crate::report::{Row, RunInfo};

    fn report() -> Report {
        let mut rows = Vec::new();
        for rep in 1..=3 {
            rows.push(row("seq-read", "base", rep, 63076.0 + rep as f64));
            rows.push(row("seq-read", "fuse", rep, 29392.0));
            rows.push(row("seq-read", "gfapi_async", rep, 31538.0));
        }
        rows.push(Row::not_run(
            "seq-read",
            "rpc-bypass",
            Status::Failed,
            "engine option 'posix' | unknown",
        ));
        Report {
            info: RunInfo {
                run: "r1".into(),
                repeat: 3,
                volume: "v".into(),
                server: "localhost:24007".into(),
                volume_options: [("performance.strict-o-direct".into(), "on".into())]
                    .into_iter()
                    .collect(),
                ..RunInfo::default()
            },
            rows,
        }
    }

    #[test]
    fn markdown_has_seed_columns_ratios_and_reasons() {
        let md = markdown(&report());
        assert!(
            md.contains("| setup | aggrb | minb | maxb | mint | maxt |"),
            "{md}"
        );
        assert!(md.contains("| base | 63078 |"), "{md}");
        // fuse / base = 29392 / 63078
        assert!(md.contains("| 0.47 | 0.93 |"), "{md}");
        assert!(md.contains("| rpc-bypass | — |"), "{md}");
        assert!(
            md.contains("failed: engine option 'posix' \\| unknown"),
            "{md}"
        );
        assert!(md.contains("`performance.strict-o-direct=on`"), "{md}");
    }

    #[test]
    fn csv_and_runinfo_export() {
        let dir = std::env::temp_dir().join(format!("gb-exp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rep = report();
        CsvExporter.export(&rep, &dir).unwrap();
        RunInfoExporter.export(&rep, &dir).unwrap();
        let back = Report::load(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(back.rows, rep.rows);
        assert_eq!(back.info, rep.info);
    }
}
