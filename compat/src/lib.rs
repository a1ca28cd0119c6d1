//! glusterrs-compat: a differential suite with fio's own C engines (`gfapi_async`, and
//! `gfapi`) as the oracle for libglusterrs over fio's job options.
//!
//! Each [`variants::Variant`] is one fio job. [`run_suite`] creates one volume
//! (glusterrs-cluster, removed afterwards, also when interrupted), FUSE-mounts it, and
//! runs every variant once per engine, each on files of its own (the job name starts
//! with the engine's tag): fio's `gfapi_async` and `gfapi`, libglusterrs.so through
//! `ioengine=external:`, and fio's `psync` on the FUSE mount as a referee. It compares
//! exit status, error class, bytes per direction from fio's JSON report, and the files
//! left on the brick and in fio's working directory ([`compare`]).
#![forbid(unsafe_code)]

pub mod compare;
pub mod report;
pub mod run;
pub mod variants;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use glusterrs_cluster::{Glusterd, Interrupt, Volume, VolumeSpec};

use compare::Verdict;
use run::{Engine, Outcome, Setup};
use variants::Variant;

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Absolute path of libglusterrs.so.
    pub engine_so: PathBuf,
    /// Only the quick variants.
    pub quick: bool,
    /// Only these variants (by name), when not empty.
    pub only: Vec<String>,
    /// Also run fio's sync `gfapi` engine.
    pub gfapi: bool,
    /// fio runs at once (a C-engine run mostly sleeps: ≥ 12 s, little CPU).
    pub parallel: usize,
    /// Time limit of one fio run.
    pub timeout: Duration,
    /// Set by a signal handler: stop, clean up, return an error.
    pub interrupt: Arc<AtomicBool>,
    /// Print one line per finished run to stderr.
    pub progress: bool,
}

/// One variant's outcomes and verdict.
#[derive(Debug, Clone)]
pub struct Row {
    /// The variant.
    pub variant: Variant,
    /// Outcome per engine that ran.
    pub outcomes: BTreeMap<Engine, Outcome>,
    /// The verdict on libglusterrs.
    pub verdict: Verdict,
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct SuiteResult {
    /// Rows in table order.
    pub rows: Vec<Row>,
    /// Wall time.
    pub secs: f64,
    /// Whether gfapi ran.
    pub gfapi: bool,
}

impl SuiteResult {
    /// Variants that passed.
    pub fn passed(&self) -> usize {
        self.rows.iter().filter(|r| r.verdict.passed()).count()
    }
    /// Variants that failed.
    pub fn failed(&self) -> usize {
        self.rows.len() - self.passed()
    }
}

/// The variants `config` selects; unknown names in `only` are an error.
pub fn selected(config: &Config) -> Result<Vec<Variant>> {
    let all = variants::all();
    for name in &config.only {
        if !all.iter().any(|v| v.name == name) {
            bail!("no variant named {name:?} (see --list)");
        }
    }
    Ok(all
        .into_iter()
        .filter(|v| !config.quick || v.quick)
        .filter(|v| config.only.is_empty() || config.only.iter().any(|n| n == v.name))
        .collect())
}

/// Creates the volume and mount, runs the selected variants, removes it all.
pub fn run_suite(config: &Config) -> Result<SuiteResult> {
    let variants = selected(config)?;
    if !config.engine_so.is_absolute() || !config.engine_so.is_file() {
        bail!(
            "engine {} is not an existing file given by an absolute path (build it: cargo build)",
            config.engine_so.display()
        );
    }
    let started = Instant::now();
    let _glusterd = Glusterd::ensure().context("glusterd")?;
    let volume = Volume::create(
        VolumeSpec::new().interrupt(Interrupt::from_flag(Arc::clone(&config.interrupt))),
    )
    .context("creating the suite's volume")?;
    let mount = volume
        .mount_fuse()
        .context("FUSE-mounting the suite's volume")?;
    let work = std::env::temp_dir().join(format!("{}-compat-work", volume.name()));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let setup = Setup {
        volume: volume.name().to_string(),
        brick: volume.bricks()[0].clone(),
        fuse_dir: mount.path().to_path_buf(),
        engine_so: config.engine_so.clone(),
        work: work.clone(),
        timeout: config.timeout,
        interrupt: Arc::clone(&config.interrupt),
    };
    let res = run_all(config, &setup, &variants);
    let _ = std::fs::remove_dir_all(&work);
    drop(mount);
    volume.destroy().context("removing the suite's volume")?;
    let rows = res?;
    Ok(SuiteResult {
        rows,
        secs: started.elapsed().as_secs_f64(),
        gfapi: config.gfapi,
    })
}

fn engines(config: &Config) -> Vec<Engine> {
    let mut e = vec![Engine::GfapiAsync];
    if config.gfapi {
        e.push(Engine::Gfapi);
    }
    e.extend([Engine::Glusterrs, Engine::FusePsync]);
    e
}

fn run_all(config: &Config, setup: &Setup, variants: &[Variant]) -> Result<Vec<Row>> {
    // The slow C-engine runs first, so the fast ones fill the gaps at the end.
    let mut tasks: Vec<(usize, Engine)> = Vec::new();
    for e in engines(config) {
        tasks.extend((0..variants.len()).map(|i| (i, e)));
    }
    let total = tasks.len();
    let queue = Mutex::new(VecDeque::from(tasks));
    let results: Mutex<BTreeMap<(usize, Engine), Outcome>> = Mutex::new(BTreeMap::new());
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let done = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..config.parallel.max(1) {
            s.spawn(|| loop {
                if config.interrupt.load(Ordering::SeqCst) {
                    return;
                }
                let Some((i, engine)) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
                else {
                    return;
                };
                let v = &variants[i];
                match run::run(setup, v, engine) {
                    Ok(o) => {
                        let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                        if config.progress {
                            eprintln!(
                                "[{n}/{total}] {} {}: {} ({:.1} s)",
                                v.name,
                                engine.title(),
                                compare::cell(&o),
                                o.secs
                            );
                        }
                        results
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert((i, engine), o);
                    }
                    Err(e) => {
                        let e = e.context(format!("{} with {}", v.name, engine.title()));
                        first_error
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(e);
                        config.interrupt.store(true, Ordering::SeqCst);
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    if config.interrupt.load(Ordering::SeqCst) {
        bail!("interrupted");
    }
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut rows = Vec::new();
    for (i, v) in variants.iter().enumerate() {
        let mut outcomes = BTreeMap::new();
        for e in engines(config) {
            let o = results
                .remove(&(i, e))
                .with_context(|| format!("{} with {}: no outcome", v.name, e.title()))?;
            outcomes.insert(e, o);
        }
        let verdict = compare::verdict(
            v,
            &outcomes[&Engine::Glusterrs],
            &outcomes[&Engine::GfapiAsync],
            outcomes.get(&Engine::Gfapi),
            outcomes.get(&Engine::FusePsync),
        );
        rows.push(Row {
            variant: v.clone(),
            outcomes,
            verdict,
        });
    }
    Ok(rows)
}
