//! The CI files stay in step with the Makefile and with `.ci/run`: every
//! `make X` in .github/workflows/perf.yml and docs/ci-gitlab.md is a Makefile
//! target, and both run each command `.ci/run` runs (its `step` lines).

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Targets the Makefile defines: lines `name[ name...]:` outside recipes.
fn makefile_targets() -> Vec<String> {
    let mut out = Vec::new();
    for line in read("Makefile").lines() {
        if line.starts_with('\t') || line.starts_with('#') || line.contains(":=") {
            continue;
        }
        if let Some((names, _)) = line.split_once(':') {
            if names.contains('=') || names.contains('$') {
                continue;
            }
            out.extend(names.split_whitespace().map(String::from));
        }
    }
    out
}

/// Every `make TARGET` (first non-option word after `make`) in `text`.
fn make_calls(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == '`' || c == '"' || c == '\'')
        .filter(|w| !w.is_empty())
        .collect();
    for (i, w) in words.iter().enumerate() {
        if *w == "make" {
            if let Some(t) = words[i + 1..]
                .iter()
                .find(|w| !w.starts_with('-') && !w.contains('='))
            {
                let t = t.trim_end_matches([',', '.', ';', ')', ':']);
                if t.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                {
                    out.push(t.to_string());
                }
            }
        }
    }
    out
}

/// The commands `.ci/run` runs: the text of each `step "..."` line.
fn ci_run_steps() -> Vec<String> {
    read(".ci/run")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("step \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|s| *s != "done")
        .map(String::from)
        .collect()
}

#[test]
fn every_make_target_the_ci_files_call_exists() {
    let targets = makefile_targets();
    for t in ["build", "test", "bench-smoke", "deb", "deb-test", "deps"] {
        assert!(
            targets.contains(&t.to_string()),
            "parser missed {t}: {targets:?}"
        );
    }
    for file in [".github/workflows/perf.yml", "docs/ci-gitlab.md", ".ci/run"] {
        let calls = make_calls(&read(file));
        assert!(!calls.is_empty(), "{file}: no make calls found");
        for c in calls {
            assert!(
                targets.contains(&c),
                "{file} runs `make {c}`, which the Makefile does not define"
            );
        }
    }
}

#[test]
fn the_workflows_run_what_ci_run_runs() {
    let steps = ci_run_steps();
    assert!(steps.len() >= 5, "{steps:?}");
    assert!(steps.iter().any(|s| s == "make bench-smoke"), "{steps:?}");
    for file in [".github/workflows/perf.yml", "docs/ci-gitlab.md"] {
        let text = read(file);
        for s in &steps {
            assert!(
                text.contains(s.as_str()),
                "{file} does not run `{s}`, which .ci/run runs"
            );
        }
    }
    let wf = read(".github/workflows/perf.yml");
    assert!(
        wf.contains("self-hosted"),
        "perf.yml must run on the self-hosted runner"
    );
    assert!(wf.contains("actions/upload-artifact") && wf.contains("path: results/"));
    assert!(
        wf.contains("if: always()"),
        "results/ must be uploaded on failure too"
    );
}

#[test]
fn make_call_parser() {
    assert_eq!(
        make_calls("run: timeout 25m make test\n- make -j2 V=1 bench-smoke; `make deb`"),
        ["test", "bench-smoke", "deb"]
    );
}
