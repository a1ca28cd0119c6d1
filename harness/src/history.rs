//! `history DIR...`: each setup's ratio to base across many runs, as a
//! trend table (`history.md`) and one plot per job (`history-<job>.{png,svg}`:
//! a panel per setup, one point per run at the median per-repeat ratio with
//! a min–max whisker, and the baseline's min–max band with its median), so a
//! slow drift that no single `compare` flags is visible.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::plot::{self, BLUE, GREY, ORANGE};
use crate::report::{Mmm, Report, BASE};

#[derive(clap::Args, Debug)]
pub struct HistoryArgs {
    /// Run directories, or directories holding run directories (searched
    /// recursively; `latest` links are skipped).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// The baseline run drawn as a band [default: DIR/baseline of the first
    /// DIR, when it exists]; it is not one of the trend's points.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Only runs whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    pub name_contains: Option<String>,
    /// Where history.md and the plots go [default: the first DIR].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip the PNG/SVG plots.
    #[arg(long)]
    pub no_plots: bool,
}

/// One run's ratios.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub run: String,
    pub started: String,
    pub size: String,
    pub repeats: usize,
    /// setup -> min / median / max of its per-repeat ratio to base.
    pub ratios: BTreeMap<String, Mmm>,
}

/// One job's trend.
#[derive(Debug, Clone, PartialEq)]
pub struct JobTrend {
    pub job: String,
    /// Setups in table order (base excluded).
    pub setups: Vec<String>,
    pub baseline: Option<Point>,
    pub points: Vec<Point>,
}

fn point(run: &str, report: &Report, job: &str) -> Option<(Point, Vec<String>)> {
    let series = report.summarize().into_iter().find(|s| s.label == job)?;
    let mut ratios = BTreeMap::new();
    let mut order = Vec::new();
    let mut repeats = 0;
    for x in series.setups.iter().filter(|x| x.setup != BASE) {
        let samples = series.paired_ratios(&x.setup, BASE);
        repeats = repeats.max(samples.len());
        if let Some(m) = Mmm::of(&samples) {
            ratios.insert(x.setup.clone(), m);
            order.push(x.setup.clone());
        }
    }
    let p = Point {
        run: run.to_string(),
        started: report.info.started.clone(),
        size: report.info.size.clone().unwrap_or_default(),
        repeats,
        ratios,
    };
    Some((p, order))
}

/// The trend of every job found in `runs` (given oldest first).
pub fn trend(baseline: Option<(&str, &Report)>, runs: &[(String, Report)]) -> Vec<JobTrend> {
    let mut jobs: Vec<String> = Vec::new();
    for (_, r) in runs {
        for s in r.summarize() {
            if !jobs.contains(&s.label) {
                jobs.push(s.label);
            }
        }
    }
    let mut out = Vec::new();
    for job in jobs {
        let mut setups: Vec<String> = Vec::new();
        let mut points = Vec::new();
        for (name, r) in runs {
            if let Some((p, order)) = point(name, r, &job) {
                for s in order {
                    if !setups.contains(&s) {
                        setups.push(s);
                    }
                }
                if !p.ratios.is_empty() {
                    points.push(p);
                }
            }
        }
        if points.is_empty() {
            continue;
        }
        let baseline = baseline.and_then(|(n, r)| point(n, r, &job).map(|(p, _)| p));
        out.push(JobTrend {
            job,
            setups,
            baseline,
            points,
        });
    }
    out
}

fn cell(m: Option<&Mmm>, base: Option<&Mmm>) -> String {
    let Some(m) = m else {
        return "—".into();
    };
    let mut s = format!("{:.3} ({:.3}–{:.3})", m.median, m.min, m.max);
    if let Some(b) = base.filter(|b| b.median > 0.0) {
        let _ = write!(s, " {:+.1}%", (m.median / b.median - 1.0) * 100.0);
    }
    s
}

/// The trend tables.
pub fn markdown(trends: &[JobTrend]) -> String {
    let mut s = String::from("# Ratio to base across runs\n\n");
    s.push_str(
        "Each cell: median of the per-repeat ratios aggrb / base's aggrb in the same repeat, \
         (min–max over repeats), change of the median against the baseline. Oldest run first, \
         numbered as on the plots (history-<job>.png).\n\n",
    );
    for t in trends {
        let _ = writeln!(s, "## {}\n", t.job);
        let _ = write!(s, "| # | run | started | size | repeats |");
        for setup in &t.setups {
            let _ = write!(s, " {setup} |");
        }
        s.push('\n');
        let _ = write!(s, "|--:|:--|:--|--:|--:|");
        for _ in &t.setups {
            s.push_str("--:|");
        }
        s.push('\n');
        let base = t.baseline.as_ref();
        let mut row = |p: &Point, number: String, label: String, with_change: bool| {
            let _ = write!(
                s,
                "| {number} | {label} | {} | {} | {} |",
                p.started, p.size, p.repeats
            );
            for setup in &t.setups {
                let b = if with_change {
                    base.and_then(|b| b.ratios.get(setup))
                } else {
                    None
                };
                let _ = write!(s, " {} |", cell(p.ratios.get(setup), b));
            }
            s.push('\n');
        };
        if let Some(b) = base {
            row(b, "—".into(), format!("**{}** (baseline)", b.run), false);
        }
        // Numbered as on the plots' x axis.
        for (i, p) in t.points.iter().enumerate() {
            row(p, (i + 1).to_string(), p.run.clone(), true);
        }
        s.push('\n');
    }
    s
}

/// Every directory holding a results.csv under `dir` (or `dir` itself).
fn find_runs(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if dir.join("results.csv").is_file() {
        out.push(dir.to_path_buf());
        return Ok(());
    }
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("history: reading {}", dir.display()))?;
    let mut subdirs: Vec<PathBuf> = Vec::new();
    for e in entries {
        let e = e?;
        let ty = e.file_type()?;
        // `latest` and other links point at runs found anyway.
        if ty.is_dir() && !ty.is_symlink() {
            subdirs.push(e.path());
        }
    }
    subdirs.sort();
    for d in subdirs {
        let name = d.file_name().unwrap_or_default();
        if name == "raw" || name == "jobs" || name == "plots" {
            continue;
        }
        find_runs(&d, out)?;
    }
    Ok(())
}

/// A run is named by its directory (run.json's name may predate a rename).
fn run_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

pub fn run(args: HistoryArgs) -> Result<u8> {
    let baseline_dir = args.baseline.clone().or_else(|| {
        let d = args.dirs[0].join("baseline");
        d.join("results.csv").is_file().then_some(d)
    });
    let mut dirs = Vec::new();
    for d in &args.dirs {
        if !d.exists() {
            bail!("history: {} does not exist", d.display());
        }
        find_runs(d, &mut dirs)?;
    }
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let baseline_canon = baseline_dir.as_deref().map(canon);
    dirs.retain(|d| Some(canon(d)) != baseline_canon);
    dirs.sort();
    dirs.dedup();

    let pb = ProgressBar::new(dirs.len() as u64).with_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30.cyan/blue}] {pos}/{len} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    pb.set_message("loading runs");
    let mut runs: Vec<(String, Report)> = Vec::new();
    for d in &dirs {
        let r = Report::load(d).with_context(|| format!("history: run {}", d.display()))?;
        let name = run_name(d);
        pb.inc(1);
        if let Some(t) = &args.name_contains {
            if !name.contains(t.as_str()) {
                continue;
            }
        }
        runs.push((name, r));
    }
    pb.finish_and_clear();
    // Oldest first; runs without a start time by name, after those with one.
    runs.sort_by(|a, b| {
        (a.1.info.started.is_empty(), &a.1.info.started, &a.0).cmp(&(
            b.1.info.started.is_empty(),
            &b.1.info.started,
            &b.0,
        ))
    });
    let baseline = match &baseline_dir {
        Some(d) => {
            let r =
                Report::load(d).with_context(|| format!("history: baseline {}", d.display()))?;
            Some((run_name(d), r))
        }
        None => None,
    };
    let trends = trend(baseline.as_ref().map(|(n, r)| (n.as_str(), r)), &runs);
    if trends.is_empty() {
        bail!(
            "history: no run with a ratio to base found under {}",
            args.dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let out = args.out.clone().unwrap_or_else(|| args.dirs[0].clone());
    std::fs::create_dir_all(&out)
        .with_context(|| format!("history: creating {}", out.display()))?;
    let md = markdown(&trends);
    let md_path = out.join("history.md");
    std::fs::write(&md_path, &md)
        .with_context(|| format!("history: writing {}", md_path.display()))?;
    print!("{md}");
    let mut written = vec![md_path];
    if !args.no_plots {
        plot::load_fonts()?;
        let pb = ProgressBar::new(trends.len() as u64 * 2).with_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30.cyan/blue}] {pos}/{len} {msg}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        pb.set_message("plotting");
        for t in &trends {
            let stem = format!("history-{}", plot::slug(&t.job));
            let png = out.join(format!("{stem}.png"));
            let svg = out.join(format!("{stem}.svg"));
            let h = PANEL_H * t.setups.len().max(1) as u32;
            {
                let root = BitMapBackend::new(&png, (W, h)).into_drawing_area();
                draw(&root, t).with_context(|| format!("drawing {}", png.display()))?;
                root.present().map_err(|e| anyhow!("{e:?}"))?;
            }
            pb.inc(1);
            {
                let root = SVGBackend::new(&svg, (W, h)).into_drawing_area();
                draw(&root, t).with_context(|| format!("drawing {}", svg.display()))?;
                root.present().map_err(|e| anyhow!("{e:?}"))?;
            }
            pb.inc(1);
            written.push(png);
            written.push(svg);
        }
        pb.finish_and_clear();
    }
    for p in &written {
        eprintln!("history: wrote {}", p.display());
    }
    Ok(0)
}

const W: u32 = 1280;
const PANEL_H: u32 = 300;

/// One panel per setup, stacked.
fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, t: &JobTrend) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e:?}");
    root.fill(&WHITE).map_err(e)?;
    let panels = root.split_evenly((t.setups.len().max(1), 1));
    let n = t.points.len();
    for (setup, area) in t.setups.iter().zip(panels.iter()) {
        let band = t.baseline.as_ref().and_then(|b| b.ratios.get(setup));
        let pts: Vec<(usize, Mmm)> = t
            .points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.ratios.get(setup).map(|m| (i, *m)))
            .collect();
        let hi = pts
            .iter()
            .map(|(_, m)| m.max)
            .chain(band.map(|b| b.max))
            .fold(0.0f64, f64::max);
        let lo = pts
            .iter()
            .map(|(_, m)| m.min)
            .chain(band.map(|b| b.min))
            .fold(f64::INFINITY, f64::min);
        let pad = ((hi - lo) * 0.1).max(hi * 0.02).max(1e-6);
        let (y0, y1) = ((lo - pad).max(0.0), hi + pad);
        let title = match band {
            Some(b) => format!(
                "{} / {setup}: ratio to base per run (whisker min–max; band = baseline {:.3}–{:.3}, line its median)",
                t.job, b.min, b.max
            ),
            None => format!("{} / {setup}: ratio to base per run (whisker min–max)", t.job),
        };
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 18).into_font().style(FontStyle::Bold))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5).max(0.5), y0..y1)
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(30))
            .x_label_formatter(&|v| {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    format!("{}", i as usize + 1)
                } else {
                    String::new()
                }
            })
            .x_desc("run (oldest first; history.md names them)")
            .y_desc("× base")
            .axis_desc_style(("sans-serif", 15))
            .label_style(("sans-serif", 14))
            .bold_line_style(BLACK.mix(0.12))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(e)?;
        if let Some(b) = band {
            let x = (-0.5, n as f64 - 0.5);
            chart
                .draw_series([Rectangle::new(
                    [(x.0, b.min), (x.1, b.max)],
                    ORANGE.mix(0.25).filled(),
                )])
                .map_err(e)?;
            chart
                .draw_series([PathElement::new(
                    vec![(x.0, b.median), (x.1, b.median)],
                    ORANGE.stroke_width(2),
                )])
                .map_err(e)?;
        }
        for (i, m) in &pts {
            let x = *i as f64;
            let style = GREY.stroke_width(2);
            chart
                .draw_series([
                    PathElement::new(vec![(x, m.min), (x, m.max)], style),
                    PathElement::new(vec![(x - 0.15, m.min), (x + 0.15, m.min)], style),
                    PathElement::new(vec![(x - 0.15, m.max), (x + 0.15, m.max)], style),
                ])
                .map_err(e)?;
        }
        chart
            .draw_series(
                pts.iter()
                    .map(|(i, m)| Circle::new((*i as f64, m.median), 5, BLUE.filled())),
            )
            .map_err(e)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::row;
    use crate::report::RunInfo;

    fn run(name: &str, started: &str, bypass: &[f64]) -> (String, Report) {
        let mut rows = Vec::new();
        for (i, b) in bypass.iter().enumerate() {
            let rep = i as u32 + 1;
            rows.push(row("j", "base", rep, 1000.0));
            rows.push(row("j", "bypass", rep, 1000.0 * b));
        }
        (
            name.to_string(),
            Report {
                info: RunInfo {
                    run: name.into(),
                    started: started.into(),
                    size: Some("256m".into()),
                    ..RunInfo::default()
                },
                rows,
            },
        )
    }

    #[test]
    fn trend_has_one_point_per_run_with_min_median_max() {
        let (bn, b) = run("baseline", "20260101-000000", &[0.25, 0.26, 0.24]);
        let runs = vec![
            run("r1", "20260102-000000", &[0.25, 0.27, 0.26]),
            run("r2", "20260103-000000", &[0.20, 0.21, 0.22]),
        ];
        let t = trend(Some((&bn, &b)), &runs);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].setups, ["bypass"]);
        assert_eq!(t[0].points.len(), 2);
        let m = t[0].points[1].ratios["bypass"];
        assert!((m.median - 0.21).abs() < 1e-12 && (m.min - 0.20).abs() < 1e-12);
        assert!((m.max - 0.22).abs() < 1e-12);
        let band = t[0].baseline.as_ref().unwrap().ratios["bypass"];
        assert!((band.median - 0.25).abs() < 1e-12);
        let md = markdown(&t);
        assert!(md.contains("| — | **baseline** (baseline) |"), "{md}");
        // r2: 0.21 / 0.25 - 1 = -16 %.
        assert!(
            md.contains("| 2 | r2 | 20260103-000000 | 256m | 3 | 0.210 (0.200–0.220) -16.0% |"),
            "{md}"
        );
    }

    #[test]
    fn plots_draw_into_svg() {
        let (bn, b) = run("baseline", "1", &[0.25, 0.26, 0.24]);
        let runs = vec![run("r1", "2", &[0.25, 0.27, 0.26])];
        let t = trend(Some((&bn, &b)), &runs);
        plot::load_fonts().unwrap();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (W, PANEL_H)).into_drawing_area();
            draw(&root, &t[0]).unwrap();
            root.present().unwrap();
        }
        assert!(svg.contains("<circle"), "no points drawn");
        assert!(svg.contains("bypass"), "no title");
    }
}
