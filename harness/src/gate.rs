//! The `compare` command as CI runs it: loads the runs, prints the verdicts,
//! writes them as JSON and JUnit XML, and turns them into the exit code
//! (0 no regression, 1 regression, 2 bad input — [`crate::main`] maps every
//! error to 2).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use serde::Serialize;

use crate::compare::{self, Settings, Verdict, VerdictKind};
use crate::report::Report;

/// Exit code: every judged setup is within the tolerance.
pub const EXIT_OK: u8 = 0;
/// Exit code: a setup regressed or stopped producing numbers.
pub const EXIT_REGRESSION: u8 = 1;
/// Exit code: the input could not be judged (missing or malformed run,
/// bad option, nothing in common); also every other error.
pub const EXIT_BAD_INPUT: u8 = 2;

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Run directory (or its results.csv) holding the reference numbers.
    pub baseline: PathBuf,
    /// Run directories (or results.csv files) of the code under test;
    /// several are pooled.
    #[arg(required = true)]
    pub current: Vec<PathBuf>,
    /// Allowed fall of a setup's ratio to base, as a fraction: REGRESSED
    /// only when the whole 95 % interval of the change lies below -tolerance.
    #[arg(long, default_value_t = 0.15)]
    pub tolerance: f64,
    /// Mann-Whitney p-value below which a shift counts.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Write every verdict and number to this JSON file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a JUnit XML report (one test case per job and setup).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// What `--json` writes.
#[derive(Serialize)]
struct JsonReport<'a> {
    settings: &'a Settings,
    baseline: String,
    current: Vec<String>,
    verdicts: &'a [Verdict],
    regressions: usize,
    exit_code: u8,
}

pub fn run(args: CompareArgs) -> Result<u8> {
    if !(args.tolerance > 0.0 && args.tolerance < 1.0) {
        bail!(
            "compare: --tolerance {} is not a fraction between 0 and 1 (0.15 means 15 %)",
            args.tolerance
        );
    }
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        bail!(
            "compare: --alpha {} is not a probability between 0 and 1",
            args.alpha
        );
    }
    let cfg = Settings {
        alpha: args.alpha,
        ..Settings::with_tolerance(args.tolerance)
    };
    let b = Report::load(&args.baseline)
        .with_context(|| format!("compare: baseline {}", args.baseline.display()))?;
    let c = args
        .current
        .iter()
        .map(|p| Report::load(p).with_context(|| format!("compare: current run {}", p.display())))
        .collect::<Result<Vec<_>>>()?;
    let verdicts = compare::compare_pooled(&b, &c, &cfg);
    if c.len() > 1 {
        println!("{} runs of the current code, their repeats pooled", c.len());
    }
    print!("{}", compare::render(&verdicts, &cfg));
    // A gate that judged nothing must not pass.
    if verdicts.iter().all(|v| v.kind == VerdictKind::Unjudged) {
        bail!(
            "compare: nothing to judge: {} and the current runs share no (job, setup) with \
             enough repeats on both sides (see the notes above)",
            args.baseline.display()
        );
    }
    let bad: Vec<&Verdict> = verdicts.iter().filter(|v| v.is_failure()).collect();
    let code = if bad.is_empty() {
        EXIT_OK
    } else {
        EXIT_REGRESSION
    };
    if let Some(path) = &args.json {
        let doc = JsonReport {
            settings: &cfg,
            baseline: args.baseline.display().to_string(),
            current: args
                .current
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            verdicts: &verdicts,
            regressions: bad.len(),
            exit_code: code,
        };
        write_file(path, &(serde_json::to_string_pretty(&doc)? + "\n"))?;
    }
    if let Some(path) = &args.junit {
        write_file(path, &junit(&verdicts, &cfg))?;
    }
    if bad.is_empty() {
        println!("no regression");
    } else {
        for v in bad {
            println!("{}", compare::failure_line(v));
        }
    }
    Ok(code)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("compare: creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("compare: writing {}", path.display()))
}

/// Escapes text for an XML attribute or element.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 allows no other control characters.
            c if c.is_control() && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one test suite, one test case per (job, setup) named
/// `job / setup` in class `glusterrs-bench.compare.<job>`; a regression or
/// a broken setup is a `<failure>`, an unjudged one `<skipped>`.
pub fn junit(verdicts: &[Verdict], cfg: &Settings) -> String {
    let failures = verdicts.iter().filter(|v| v.is_failure()).count();
    let skipped = verdicts
        .iter()
        .filter(|v| v.kind == VerdictKind::Unjudged)
        .count();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"glusterrs-bench compare\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
        verdicts.len()
    );
    let _ = writeln!(
        s,
        "  <testsuite name=\"performance gate (tolerance {:.0}%, alpha {})\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" errors=\"0\">",
        cfg.tolerance * 100.0,
        cfg.alpha,
        verdicts.len()
    );
    for v in verdicts {
        let _ = write!(
            s,
            "    <testcase classname=\"{}\" name=\"{}\"",
            xml(&format!("glusterrs-bench.compare.{}", v.job)),
            xml(&format!("{} / {}", v.job, v.setup))
        );
        let detail = compare::render(std::slice::from_ref(v), cfg);
        match v.kind {
            VerdictKind::Regressed | VerdictKind::Broken => {
                let _ = writeln!(
                    s,
                    ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                    xml(&compare::failure_line(v)),
                    if v.kind == VerdictKind::Broken {
                        "broken"
                    } else {
                        "regressed"
                    },
                    xml(&detail)
                );
            }
            VerdictKind::Unjudged => {
                let _ = writeln!(
                    s,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    xml(&v.note)
                );
            }
            VerdictKind::Ok | VerdictKind::Improved => {
                let _ = writeln!(
                    s,
                    ">\n      <system-out>{}</system-out>\n    </testcase>",
                    xml(&detail)
                );
            }
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::row;
    use crate::report::{Report, RunInfo};

    fn run(repeats: u32, bypass: f64) -> Report {
        let mut rows = Vec::new();
        for rep in 1..=repeats {
            let noise = 1.0 + 0.02 * f64::from(rep).sin();
            rows.push(row("j<1>", "base", rep, 1000.0));
            rows.push(row("j<1>", "fuse", rep, 500.0 * noise));
            rows.push(row("j<1>", "bypass", rep, 800.0 * noise * bypass));
        }
        Report {
            info: RunInfo::default(),
            rows,
        }
    }

    #[test]
    fn junit_has_one_case_per_setup_and_a_failure_for_the_regression() {
        let cfg = Settings::with_tolerance(0.15);
        let v = compare::compare(&run(9, 1.0), &run(5, 0.7), &cfg);
        let x = junit(&v, &cfg);
        assert!(x.starts_with("<?xml version=\"1.0\""));
        assert_eq!(x.matches("<testcase ").count(), 2, "{x}");
        assert_eq!(x.matches("<failure ").count(), 1, "{x}");
        assert!(
            x.contains("tests=\"2\" failures=\"1\" skipped=\"0\""),
            "{x}"
        );
        // The job name is escaped.
        assert!(x.contains("name=\"j&lt;1&gt; / bypass\""), "{x}");
        assert!(!x.contains("j<1>"), "{x}");
        assert!(x.contains("type=\"regressed\""), "{x}");
    }

    #[test]
    fn xml_escapes_markup_and_drops_control_characters() {
        assert_eq!(
            xml("a&b<\"c\">'\u{1}"),
            "a&amp;b&lt;&quot;c&quot;&gt;&apos;"
        );
    }
}
