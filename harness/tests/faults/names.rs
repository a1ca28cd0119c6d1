// SPDX-License-Identifier: GPL-2.0-or-later
//! Names with spaces, `;` and `$(...)` do no harm; unusable names are
//! refused up front.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::bench::*;
use crate::fault_runner::{Case, Log};
use crate::scratch::*;

/// Names.
pub fn cases() -> Vec<Case> {
    vec![
        Case::quick("names_with_spaces_semicolons_and_dollars", odd_names),
        Case::quick("bad_names_refused_cleanly", bad_names),
    ]
}

/// Spaces, `;` and `$(...)` in the run name, results dir, job file path and
/// a fio option: a small complete run must work and run nothing.
fn odd_names(log: &mut Log) {
    let s = Scratch::new("names");
    let results = s.0.join("res dir; touch canary-a");
    let job_dir = s.0.join("job dir;$(touch canary-b)");
    std::fs::create_dir_all(&job_dir).unwrap();
    let job = job_dir.join("seq read; touch canary-c.fio");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../jobs/seq-read.fio"),
        &job,
    )
    .unwrap();
    let volume = volume_name("");
    let gd = glusterd_pids();
    // The run name is the directory under --results as given; the work dir
    // holding bricks and mount gets a gluster-safe form of it.
    let name = "run one; touch canary-d; $(touch canary-e)|x&y `touch canary-f`";
    let args: Vec<String> = vec![
        "run".into(),
        "--size".into(),
        "4m".into(),
        "--repeat".into(),
        "1".into(),
        "--setups".into(),
        "base,fuse,bypass".into(),
        "--no-plots".into(),
        "--name".into(),
        name.into(),
        "--volume".into(),
        volume.clone(),
        "--brick-dir".into(),
        s.bricks().display().to_string(),
        "--results".into(),
        results.display().to_string(),
        "--fio-opt".into(),
        "description=x; touch canary-g $(touch canary-h)".into(),
        job.display().to_string(),
    ];
    log.say(format!(
        "tried: run name {name:?}, results dir {:?}, job file {:?}, --fio-opt with ; and $()",
        results.display().to_string(),
        job.display().to_string()
    ));
    let b = start_bench(&s.0, &args);
    let bench_pid = b.pid();
    let (st, text, secs) = b.wait(Duration::from_secs(300));
    log.say(format!("run ended with {st} in {secs:.1} s"));
    log.check();
    assert!(st.success(), "{text}");
    assert!(
        results.join(name).join("results.csv").is_file(),
        "no results in {}\n{text}",
        results.join(name).display()
    );
    // The FUSE client logged into the run's directory, not /var/log/glusterfs.
    let fuse_log = results.join(name).join("raw").join("fuse-client.log");
    let fuse_log_len = std::fs::metadata(&fuse_log).map_or(0, |m| m.len());
    log.say(format!(
        "FUSE client log: {} ({fuse_log_len} bytes)",
        fuse_log.display()
    ));
    log.check();
    assert!(
        fuse_log_len > 0,
        "no FUSE client log in the run dir\n{text}"
    );
    let mut canaries = Vec::new();
    for d in [
        s.0.clone(),
        s.bricks(),
        std::env::temp_dir(),
        PathBuf::from("/"),
    ] {
        for c in ["a", "b", "c", "d", "e", "f", "g", "h"] {
            let p = d.join(format!("canary-{c}"));
            if p.exists() {
                canaries.push(p.display().to_string());
            }
        }
    }
    log.say(if canaries.is_empty() {
        "results written under the odd names; no command ran".to_string()
    } else {
        format!("COMMANDS RAN: {canaries:?}")
    });
    log.check();
    assert!(canaries.is_empty(), "{canaries:?}");
    let left = leftovers(&volume, &s, &gd, bench_pid);
    assert!(left.is_empty(), "{left:#?}");
}

/// Names GlusterFS cannot take are refused up front, leaving nothing.
fn bad_names(log: &mut Log) {
    let s = Scratch::new("bad");
    let gd = glusterd_pids();
    let space_dir = s.0.join("brick dir");
    std::fs::create_dir_all(&space_dir).unwrap();
    let job = Path::new(env!("CARGO_MANIFEST_DIR")).join("../jobs/seq-read.fio");
    let cases = [
        (
            "volume name with ';'",
            "gbench-fault;x".to_string(),
            s.bricks(),
            "bad",
        ),
        (
            "volume name with a space",
            "gbench fault x".to_string(),
            s.bricks(),
            "bad",
        ),
        (
            "brick directory with a space",
            volume_name("sp"),
            space_dir.clone(),
            "bad",
        ),
        // The run name is one directory under --results.
        ("run name with '/'", volume_name("rn"), s.bricks(), "a/b"),
        ("run name '..'", volume_name("rn"), s.bricks(), ".."),
        ("empty run name", volume_name("rn"), s.bricks(), ""),
    ];
    for (what, volume, brick_dir, name) in cases {
        let results =
            s.0.join(format!("results-{}", SEQ.fetch_add(1, Ordering::SeqCst)));
        let args: Vec<String> = vec![
            "run".into(),
            "--size".into(),
            "4m".into(),
            "--repeat".into(),
            "1".into(),
            "--setups".into(),
            "base,fuse".into(),
            "--no-plots".into(),
            "--name".into(),
            name.into(),
            "--volume".into(),
            volume.clone(),
            "--brick-dir".into(),
            brick_dir.display().to_string(),
            "--results".into(),
            results.display().to_string(),
            job.display().to_string(),
        ];
        let b = start_bench(&s.0, &args);
        let bench_pid = b.pid();
        let (st, text, secs) = b.wait(Duration::from_secs(120));
        let msg = text
            .lines()
            .find(|l| l.contains("error"))
            .unwrap_or("")
            .to_string();
        log.say(format!("{what}: {st} after {secs:.1} s: {msg}"));
        log.check();
        assert!(!st.success() && st.code().is_some(), "{what}: {st}\n{text}");
        assert!(!msg.is_empty(), "{what}: no error message\n{text}");
        if what.contains("run name") {
            assert!(
                msg.contains(&format!("{name:?}")),
                "{what}: the error does not name {name:?}: {msg}"
            );
        }
        assert!(secs < 30.0, "{what}: took {secs:.1} s");
        let mut left = leftovers(&volume, &s, &gd, bench_pid);
        // Nothing in the brick dir, and no (empty) run directory either.
        for d in [&brick_dir, &results] {
            for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                left.push(format!("{}", e.path().display()));
            }
        }
        assert!(left.is_empty(), "{what}: left {left:#?}\n{text}");
    }
}
