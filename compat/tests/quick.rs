//! The quick part of the differential suite (a representative dozen variants), run by
//! `make test` against the real glusterd, fio and the libglusterrs.so `cargo build`
//! made in this target directory. `make compat` runs the full list.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use glusterrs_compat::{report, run_suite, selected, Config};

/// target/<profile>/libglusterrs.so, next to target/<profile>/deps/<this test>.
fn engine_so() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let so = profile.join("libglusterrs.so");
    assert!(
        so.is_file(),
        "{} missing: `cargo build --workspace` (make test does) builds it",
        so.display()
    );
    so
}

#[test]
fn quick_variants_match_or_beat_gfapi_async() {
    let config = Config {
        engine_so: engine_so(),
        quick: true,
        only: Vec::new(),
        // The sync gfapi engine doubles the C-engine time; `make compat` runs it.
        gfapi: false,
        parallel: 4,
        timeout: Duration::from_secs(180),
        interrupt: Arc::new(AtomicBool::new(false)),
        progress: true,
    };
    let wanted = selected(&config).expect("variants");
    assert!(
        (10..=16).contains(&wanted.len()),
        "the quick part should be about a dozen variants, is {}",
        wanted.len()
    );
    let res = run_suite(&config).expect("suite ran");
    let table = report::text(&res);
    println!("{table}");
    assert_eq!(res.rows.len(), wanted.len(), "{table}");
    // Every run produced a report or a classified failure, and libglusterrs moved bytes
    // on every variant: the comparison rests on something.
    for r in &res.rows {
        let ours = &r.outcomes[&glusterrs_compat::run::Engine::Glusterrs];
        assert!(
            ours.bytes.iter().sum::<u64>() > 0,
            "{}: libglusterrs moved no bytes\n{table}",
            r.variant.name
        );
    }
    assert_eq!(res.failed(), 0, "{table}");
    assert!(table.trim_end().ends_with(&report::summary(&res)));
}
