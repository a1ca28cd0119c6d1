//! `glusterrs-bench history` on the repository's own recorded run
//! directories (results/): the trend table names every run with a ratio to
//! base, the plots are written, bad input exits 2.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_glusterrs-bench")
}

fn results() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../results")
}

/// Run directories (holding results.csv) under `dir`, as the test sees them.
fn run_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.join("results.csv").is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            run_dirs(&e.path(), out);
        }
    }
}

#[test]
fn history_of_the_recorded_runs() {
    let out = std::env::temp_dir().join(format!("gb-history-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = Command::new(bin())
        .arg("history")
        .arg(results())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let md = std::fs::read_to_string(out.join("history.md")).unwrap();
    // The recorded baseline is the band, and every other run with a
    // rand-read-4k ratio to base is a row of that job's table.
    assert!(md.contains("(baseline) |"), "{md}");
    let mut dirs = Vec::new();
    run_dirs(&results(), &mut dirs);
    assert!(dirs.len() >= 2, "{dirs:?}");
    for d in dirs.iter().filter(|d| !d.ends_with("baseline")) {
        let csv = std::fs::read_to_string(d.join("results.csv")).unwrap();
        let has_ratio = csv.lines().any(|l| l.contains(",base,"))
            && csv.lines().filter(|l| l.contains(",ok,")).count() > 1;
        if has_ratio {
            let name = d.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                md.contains(&format!(" | {name} | ")),
                "{name} missing:\n{md}"
            );
        }
    }
    let png = out.join("history-rand-read-4k.png");
    assert!(
        std::fs::metadata(&png).unwrap().len() > 10_000,
        "{}",
        png.display()
    );
    assert!(out.join("history-rand-read-4k.svg").is_file());
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn history_of_a_missing_directory_is_exit_2() {
    let o = Command::new(bin())
        .args(["history", "/nonexistent/glusterrs-results"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/glusterrs-results"));
}
