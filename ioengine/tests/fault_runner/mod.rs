// SPDX-License-Identifier: GPL-2.0-or-later
//! A small test runner for the fault suites (`harness = false` test targets;
//! shared by gfapi/tests/faults.rs, ioengine/tests/faults/ and
//! harness/tests/faults/).
//!
//! Each case is a function that panics when a promise breaks (plain
//! `assert!`s) and reports what it tried and what happened through [`Log`].
//! The runner prints every case's report when it ends, then a summary: cases
//! tried, passed, failed, and the long cases left out. Exit status 1 if any
//! case failed.
//!
//! Command line (what `cargo test -- ARGS` passes on): positional filters
//! (substring of `faults::NAME`, like libtest), `--exact`, `--skip F`,
//! `--list`, `--ignored` (long cases only), `--include-ignored` (all cases),
//! `--test-threads N`. Other libtest flags are accepted and ignored. Long
//! cases also run with `GLUSTERRS_FAULTS=long` in the environment.
//!
//! The summary line is also appended to `target/tmp/fault-suite-summary.txt`
//! (`make test` and `make faults` print that file at the end).
#![allow(dead_code)]

use std::cell::RefCell;
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// In cargo's target/tmp: every suite appends its summary line.
pub const SUMMARY_FILE: &str = "fault-suite-summary.txt";

/// One fault case.
pub struct Case {
    pub name: &'static str,
    /// Only with `GLUSTERRS_FAULTS=long` / `--include-ignored` / `--ignored`.
    pub long: bool,
    pub run: fn(&mut Log),
}

impl Case {
    pub const fn quick(name: &'static str, run: fn(&mut Log)) -> Case {
        Case {
            name,
            long: false,
            run,
        }
    }

    pub const fn long(name: &'static str, run: fn(&mut Log)) -> Case {
        Case {
            name,
            long: true,
            run,
        }
    }
}

/// What a case tried and saw, printed as one block when it ends.
#[derive(Default)]
pub struct Log {
    lines: Vec<String>,
    checks: usize,
}

impl Log {
    /// A line of the report.
    pub fn say(&mut self, msg: impl Into<String>) {
        for l in msg.into().lines() {
            self.lines.push(l.to_string());
        }
    }

    /// Counts one checked promise (a case may check several).
    pub fn check(&mut self) {
        self.checks += 1;
    }
}

thread_local! {
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

struct Outcome {
    name: &'static str,
    ok: bool,
    secs: f64,
    checks: usize,
}

struct Options {
    filters: Vec<String>,
    skips: Vec<String>,
    exact: bool,
    list: bool,
    only_long: bool,
    long: bool,
    threads: usize,
}

fn parse_args() -> Options {
    let env_threads = std::env::var("RUST_TEST_THREADS")
        .ok()
        .and_then(|v| v.parse().ok());
    let mut o = Options {
        filters: Vec::new(),
        skips: Vec::new(),
        exact: false,
        list: false,
        only_long: false,
        long: std::env::var("GLUSTERRS_FAULTS").is_ok_and(|v| v == "long"),
        threads: env_threads.unwrap_or(2),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--list" => o.list = true,
            "--exact" => o.exact = true,
            "--ignored" => o.only_long = true,
            "--include-ignored" => o.long = true,
            "--skip" => o.skips.extend(args.next()),
            "--test-threads" => {
                if let Some(n) = args.next().and_then(|n| n.parse().ok()) {
                    o.threads = n;
                }
            }
            // Flags with a separate value that we ignore.
            "--format" | "--color" | "-Z" | "--logfile" | "--report-time" => {
                let _ = args.next();
            }
            s if s.starts_with("--test-threads=") => {
                if let Ok(n) = s["--test-threads=".len()..].parse() {
                    o.threads = n;
                }
            }
            s if s.starts_with('-') => {}
            s => o.filters.push(s.to_string()),
        }
    }
    if o.only_long {
        o.long = true;
    }
    o.threads = o.threads.max(1);
    o
}

fn selected(o: &Options, c: &Case) -> bool {
    let full = format!("faults::{}", c.name);
    let hit = |f: &String| {
        if o.exact {
            *f == full || f == c.name
        } else {
            full.contains(f.as_str())
        }
    };
    (o.filters.is_empty() || o.filters.iter().any(hit))
        && !o.skips.iter().any(|s| full.contains(s.as_str()))
        && (!o.only_long || c.long)
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// Runs `cases` (see the module docs) and exits.
/// `setup` runs before the first case, `teardown` after the last.
pub fn main(suite: &str, setup: fn(), teardown: fn(), cases: Vec<Case>) -> ! {
    let o = parse_args();
    if o.list {
        for c in cases.iter().filter(|c| selected(&o, c)) {
            println!("faults::{}: test", c.name);
        }
        std::process::exit(0);
    }
    let chosen: Vec<&Case> = cases
        .iter()
        .filter(|c| selected(&o, c) && (o.long || !c.long))
        .collect();
    let left_out = cases
        .iter()
        .filter(|c| selected(&o, c) && c.long && !o.long)
        .count();
    println!(
        "\nfault suite ({suite}): {} case(s), {} at a time{}",
        chosen.len(),
        o.threads.min(chosen.len().max(1)),
        if left_out > 0 {
            format!("; {left_out} long case(s) left out (GLUSTERRS_FAULTS=long runs them)")
        } else {
            String::new()
        }
    );
    if chosen.is_empty() {
        println!("fault suite ({suite}): 0 cases tried, 0 passed, 0 failed");
        std::process::exit(0);
    }
    std::panic::set_hook(Box::new(|info| {
        let msg = match info.location() {
            Some(l) => format!(
                "{} (at {}:{})",
                panic_text(info.payload()),
                l.file(),
                l.line()
            ),
            None => panic_text(info.payload()),
        };
        PANIC.with(|p| *p.borrow_mut() = Some(msg));
    }));
    setup();
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let out = Mutex::new(Vec::<Outcome>::new());
    std::thread::scope(|s| {
        for _ in 0..o.threads.min(chosen.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = chosen.get(i) else { break };
                let mut log = Log::default();
                let t = Instant::now();
                PANIC.with(|p| *p.borrow_mut() = None);
                let r = catch_unwind(AssertUnwindSafe(|| (case.run)(&mut log)));
                let secs = t.elapsed().as_secs_f64();
                let ok = r.is_ok();
                let why = r.err().map(|p| {
                    PANIC
                        .with(|m| m.borrow_mut().take())
                        .unwrap_or(panic_text(&*p))
                });
                let checks = log.checks.max(1);
                let mut text = format!(
                    "\n--- {} {} ({secs:.1} s{})\n",
                    if ok { "PASS" } else { "FAIL" },
                    case.name,
                    if checks > 1 {
                        format!(", {checks} checks")
                    } else {
                        String::new()
                    }
                );
                for l in &log.lines {
                    text.push_str("    ");
                    text.push_str(l);
                    text.push('\n');
                }
                if let Some(w) = why {
                    text.push_str("    BROKEN PROMISE: ");
                    text.push_str(&w.replace('\n', "\n      "));
                    text.push('\n');
                }
                {
                    let mut so = std::io::stdout().lock();
                    let _ = so.write_all(text.as_bytes());
                    let _ = so.flush();
                }
                out.lock().unwrap_or_else(|e| e.into_inner()).push(Outcome {
                    name: case.name,
                    ok,
                    secs,
                    checks,
                });
            });
        }
    });
    teardown();
    let mut results = out.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|r| chosen.iter().position(|c| c.name == r.name));
    let failed: Vec<&Outcome> = results.iter().filter(|r| !r.ok).collect();
    let checks: usize = results.iter().map(|r| r.checks).sum();
    println!("\n=== fault suite ({suite}) summary ===");
    for r in &results {
        println!(
            "  {:<4} {:>6.1} s  {}",
            if r.ok { "ok" } else { "FAIL" },
            r.secs,
            r.name
        );
    }
    let mut line = format!(
        "fault suite ({suite}): {} cases tried ({checks} checks), {} passed, {} failed{}",
        results.len(),
        results.len() - failed.len(),
        failed.len(),
        if left_out > 0 {
            format!(", {left_out} long cases not run")
        } else {
            String::new()
        }
    );
    println!("{line} in {:.0} s", started.elapsed().as_secs_f64());
    if !failed.is_empty() {
        let names: Vec<&str> = failed.iter().map(|r| r.name).collect();
        println!("failed: {}", names.join(", "));
        line.push_str(&format!(" [failed: {}]", names.join(", ")));
    }
    // One line per suite for `make test` / `make faults` to print at the end.
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(SUMMARY_FILE);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
    {
        let _ = writeln!(f, "{line}");
    }
    let _ = std::io::stdout().flush();
    std::process::exit(if failed.is_empty() { 0 } else { 1 });
}

/// Polls `f` every 50 ms until it returns `Some` or `timeout` passes.
pub fn poll<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
