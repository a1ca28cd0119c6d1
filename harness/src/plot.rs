//! Grouped bar charts (PNG and SVG) with plotters: per series, bandwidth
//! (aggrb/minb/maxb per setup, with the aggrb min–max over repeats as a
//! whisker) and runtime (mint/maxt per setup).
//!
//! PNG text needs a real font: DejaVu Sans is loaded at run time from
//! `/usr/share/fonts/truetype/dejavu/` (Debian's `fonts-dejavu-core`), or
//! from `$GLUSTERRS_FONT_DIR`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::{Mmm, Report, Series, SetupSummary, Status, BASE};

/// Writes `plots/<series>-{bw,runtime}.{png,svg}` under `dir` for every
/// series with at least one measured setup; returns the files written.
pub fn write_plots(report: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
    load_fonts()?;
    let out = dir.join("plots");
    std::fs::create_dir_all(&out)?;
    let mut files = Vec::new();
    for s in report.summarize() {
        if s.setups.iter().all(|x| x.status != Status::Ok) {
            continue;
        }
        let stem = slug(&s.label);
        for kind in [Kind::Bandwidth, Kind::Runtime] {
            let name = format!("{stem}-{}", kind.suffix());
            let png = out.join(format!("{name}.png"));
            let svg = out.join(format!("{name}.svg"));
            {
                let root = BitMapBackend::new(&png, (W, H)).into_drawing_area();
                draw(&root, &s, kind).with_context(|| format!("drawing {}", png.display()))?;
                root.present().map_err(|e| anyhow!("{e:?}"))?;
            }
            {
                let root = SVGBackend::new(&svg, (W, H)).into_drawing_area();
                draw(&root, &s, kind).with_context(|| format!("drawing {}", svg.display()))?;
                root.present().map_err(|e| anyhow!("{e:?}"))?;
            }
            files.push(png);
            files.push(svg);
        }
    }
    Ok(files)
}

const W: u32 = 1280;
const H: u32 = 720;

const FONT_DIRS: &[&str] = &["/usr/share/fonts/truetype/dejavu"];

/// Registers DejaVu Sans (regular and bold) as plotters' sans-serif, once.
pub fn load_fonts() -> Result<()> {
    static LOADED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let dirs: Vec<PathBuf> = std::env::var_os("GLUSTERRS_FONT_DIR")
                .map(PathBuf::from)
                .into_iter()
                .chain(FONT_DIRS.iter().map(PathBuf::from))
                .collect();
            let find = |file: &str| dirs.iter().map(|d| d.join(file)).find(|p| p.is_file());
            let regular = find("DejaVuSans.ttf").ok_or_else(|| {
                format!(
                    "font DejaVuSans.ttf not found in {:?}: install fonts-dejavu-core (scripts/deps.sh) or set GLUSTERRS_FONT_DIR",
                    dirs
                )
            })?;
            let bold = find("DejaVuSans-Bold.ttf").unwrap_or_else(|| regular.clone());
            for (path, style) in [(regular, FontStyle::Normal), (bold, FontStyle::Bold)] {
                let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                // plotters keeps fonts for the life of the process.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                plotters::style::register_font("sans-serif", style, bytes)
                    .map_err(|_| format!("{}: not a usable font", path.display()))?;
            }
            Ok(())
        })
        .clone()
        .map_err(|e| anyhow!(e))
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Bandwidth,
    Runtime,
}

impl Kind {
    fn suffix(self) -> &'static str {
        match self {
            Kind::Bandwidth => "bw",
            Kind::Runtime => "runtime",
        }
    }
}

pub(crate) fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

// Colour-blind-safe palette (Okabe–Ito).
pub(crate) const BLUE: RGBColor = RGBColor(0, 114, 178);
pub(crate) const ORANGE: RGBColor = RGBColor(230, 159, 0);
pub(crate) const GREEN: RGBColor = RGBColor(0, 158, 115);
pub(crate) const VERMILION: RGBColor = RGBColor(213, 94, 0);
pub(crate) const SKY: RGBColor = RGBColor(86, 180, 233);
pub(crate) const GREY: RGBColor = RGBColor(90, 90, 90);

type Metric = (&'static str, RGBColor, fn(&SetupSummary) -> Option<Mmm>);

fn metrics(kind: Kind) -> Vec<Metric> {
    match kind {
        Kind::Bandwidth => vec![
            ("aggrb", BLUE, |x| x.aggrb().map(mib)),
            ("minb", ORANGE, |x| x.minb().map(mib)),
            ("maxb", GREEN, |x| x.maxb().map(mib)),
        ],
        Kind::Runtime => vec![
            ("mint", SKY, |x| x.mint()),
            ("maxt", VERMILION, |x| x.maxt()),
        ],
    }
}

fn mib(m: Mmm) -> Mmm {
    Mmm {
        min: m.min / 1024.0,
        median: m.median / 1024.0,
        max: m.max / 1024.0,
    }
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, s: &Series, kind: Kind) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e:?}");
    root.fill(&WHITE).map_err(e)?;
    let metrics = metrics(kind);
    let n = s.setups.len();
    if n == 0 {
        bail!("no setups");
    }
    let repeats = s.setups.iter().map(|x| x.runs.len()).max().unwrap_or(0);
    // Headroom above the tallest whisker for the ratio labels and legend.
    let top = s
        .setups
        .iter()
        .flat_map(|x| metrics.iter().filter_map(move |(_, _, f)| f(x)))
        .map(|m| m.max)
        .fold(0.0f64, f64::max);
    let top = if top > 0.0 { top * 1.25 } else { 1.0 };
    let (title, ydesc) = match kind {
        Kind::Bandwidth => (
            if repeats > 1 {
                format!(
                    "{}: bandwidth per setup (median of {repeats}, whisker = aggrb min–max)",
                    s.label
                )
            } else {
                format!("{}: bandwidth per setup (1 run)", s.label)
            },
            "MiB/s",
        ),
        Kind::Runtime => (
            if repeats > 1 {
                format!(
                    "{}: job runtime per setup (median of {repeats}, whisker = mint min–max)",
                    s.label
                )
            } else {
                format!("{}: job runtime per setup (1 run)", s.label)
            },
            "ms",
        ),
    };
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 26).into_font().style(FontStyle::Bold))
        .margin(20)
        .margin_bottom(10)
        .x_label_area_size(70)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..n as f64, 0f64..top)
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(10)
        .y_desc(ydesc)
        .x_desc("setup")
        .axis_desc_style(("sans-serif", 20))
        .label_style(("sans-serif", 18))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .y_label_formatter(&|v| format_num(*v))
        .draw()
        .map_err(e)?;

    let k = metrics.len() as f64;
    let group_w = 0.8;
    let bar_w = group_w / k;
    for (mi, (name, color, f)) in metrics.iter().enumerate() {
        let bars: Vec<_> = s
            .setups
            .iter()
            .enumerate()
            .filter_map(|(i, x)| f(x).map(|m| (i, m)))
            .collect();
        let x0 = |i: usize| i as f64 + (1.0 - group_w) / 2.0 + mi as f64 * bar_w;
        chart
            .draw_series(bars.iter().map(|(i, m)| {
                let l = x0(*i) + bar_w * 0.06;
                let r = x0(*i) + bar_w * 0.94;
                Rectangle::new([(l, 0.0), (r, m.median)], color.filled())
            }))
            .map_err(e)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 7), (x + 18, y + 7)], color.filled()));
        // Whiskers: min–max over repeats, on the first metric (aggrb / mint).
        if mi == 0 && repeats > 1 {
            for (i, m) in bars.iter().filter(|(_, m)| m.max > m.min) {
                let c = x0(*i) + bar_w / 2.0;
                let cap = bar_w * 0.2;
                let style = BLACK.stroke_width(2);
                chart
                    .draw_series([
                        PathElement::new(vec![(c, m.min), (c, m.max)], style),
                        PathElement::new(vec![(c - cap, m.min), (c + cap, m.min)], style),
                        PathElement::new(vec![(c - cap, m.max), (c + cap, m.max)], style),
                    ])
                    .map_err(e)?;
            }
        }
    }

    // Setup names under each group, ratio to base above bandwidth groups,
    // and "not run" markers, drawn in pixel space on the root area.
    let label_font = ("sans-serif", 20).into_font().color(&BLACK);
    let small = ("sans-serif", 16).into_font();
    for (i, x) in s.setups.iter().enumerate() {
        let center = i as f64 + 0.5;
        let (px, py) = chart.backend_coord(&(center, 0.0));
        root.draw(&Text::new(
            x.setup.clone(),
            (px, py + 10),
            label_font.clone().pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(e)?;
        if x.status != Status::Ok {
            let why = if x.status == Status::Failed {
                "failed"
            } else {
                "not run"
            };
            let (_, mid) = chart.backend_coord(&(center, top * 0.08));
            root.draw(&Text::new(
                why,
                (px, mid),
                small
                    .clone()
                    .color(&GREY)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            ))
            .map_err(e)?;
            continue;
        }
        if kind == Kind::Bandwidth && x.setup != BASE {
            if let Some(r) = s.ratio(&x.setup, BASE) {
                let peak = metrics
                    .iter()
                    .filter_map(|(_, _, f)| f(x))
                    .map(|m| m.max)
                    .fold(0.0f64, f64::max);
                let (_, y) = chart.backend_coord(&(center, peak));
                root.draw(&Text::new(
                    format!("{r:.2}× base"),
                    (px, y - 6),
                    small
                        .clone()
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                ))
                .map_err(e)?;
            }
        }
    }

    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 18))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .margin(12)
        .draw()
        .map_err(e)?;
    Ok(())
}

fn format_num(v: f64) -> String {
    if v.fract() == 0.0 || v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::row;
    use crate::report::{Row, RunInfo};

    #[test]
    fn slugs() {
        assert_eq!(slug("seq-read"), "seq-read");
        assert_eq!(slug("two (group 1 write)"), "two-group-1-write");
    }

    #[test]
    fn writes_png_and_svg() {
        let mut rows = Vec::new();
        for (setup, bw) in [
            ("base", 1_300_000.0),
            ("fuse", 480_000.0),
            ("bypass", 1_100_000.0),
            ("bypass-custom", 1_200_000.0),
            ("gfapi", 400_000.0),
            ("gfapi_async", 570_000.0),
        ] {
            for rep in 1..=3 {
                rows.push(row("seq-read", setup, rep, bw * (1.0 + rep as f64 * 0.02)));
            }
        }
        rows.push(Row::not_run(
            "seq-read",
            "rpc-bypass",
            Status::Failed,
            "not yet",
        ));
        let rep = Report {
            info: RunInfo::default(),
            rows,
        };
        let dir = std::env::temp_dir().join(format!("gb-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = write_plots(&rep, &dir).unwrap();
        assert_eq!(files.len(), 4);
        for f in &files {
            let len = std::fs::metadata(f).unwrap().len();
            assert!(len > 3_000, "{} is {len} bytes", f.display());
        }
        let svg = std::fs::read_to_string(dir.join("plots/seq-read-bw.svg")).unwrap();
        assert!(svg.contains("bypass-custom") && svg.contains("aggrb") && svg.contains("failed"));
        if std::env::var_os("GLUSTERRS_KEEP_PLOTS").is_none() {
            std::fs::remove_dir_all(&dir).unwrap();
        } else {
            eprintln!("plots kept in {}", dir.display());
        }
    }
}
