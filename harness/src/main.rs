//! glusterrs-bench: runs fio jobs across GlusterFS setups and peers
//! (base, fuse, bypass, bypass-custom, rpc-bypass, gfapi, gfapi_async),
//! writes CSV, the seed-style table and plots, and compares runs.
//!
//! # Layout
//!
//! The modules form layers; each uses only the layers before it
//! (`scripts/check-layout` checks that there is no cycle):
//!
//! 1. plain pieces: `sys` (signals, commands without a shell, the teardown
//!    stack), `fio` (fio's JSON output), `jobfile`, `volfile`, `stats`, `manpage`;
//! 2. the result model and what runs the measured processes: `report` (rows,
//!    run info, per-setup summaries), `cpuacct`, `qemu`, `cluster` (the cluster
//!    operations behind a trait);
//! 3. what is built on those: `setup` (each setup's fio options),
//!    `netns_cluster` (`--nodes`), `plot` (charts of a report), `compare` (the
//!    statistics of a verdict), `peers`;
//! 4. the outputs and commands over runs: `export` (CSV, run.json,
//!    summary.md, plots), `history`, `gate` (`compare` as CI runs it),
//!    `rpc_targets`;
//! 5. `run/`, the `run` command, in layers of its own (see its module comment):
//!    `args` -> `plan` -> `cpu` -> `bringup` -> `exec` -> `measure` -> `outputs`,
//!    their order in `run/mod.rs`.

mod cluster;
mod compare;
mod cpuacct;
mod export;
mod fio;
mod gate;
mod history;
mod jobfile;
mod manpage;
mod netns_cluster;
mod peers;
mod plot;
mod qemu;
mod report;
mod rpc_targets;
mod run;
mod setup;
mod stats;
mod sys;
mod volfile;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{CommandFactory as _, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "glusterrs-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Bring up a volume (or use --server), run the jobs on every setup, write
    /// results/<run>/{results.csv,summary.md,run.json,plots/,raw/} and results/latest.
    Run(Box<run::RunArgs>),
    /// Judge each setup's ratio to base against a baseline (the CI gate).
    ///
    /// Compares each setup's per-repeat ratios to base in CURRENT with those
    /// in BASELINE (run directories or results.csv files) with a
    /// Mann-Whitney U test and a bootstrap interval of the change. Several
    /// CURRENT runs of the same code are judged together, their repeats
    /// pooled. Exit status: 0 no regression, 1 a setup regressed or stopped
    /// producing numbers, 2 bad input.
    Compare(gate::CompareArgs),
    /// Each setup's ratio to base across many runs (trend table and plots).
    ///
    /// Writes history.md and history-<job>.{png,svg} (one panel per setup,
    /// a point per run with its min–max whisker, the baseline as a band)
    /// for the run directories under DIR...
    History(history::HistoryArgs),
    /// The libglusterrs performance targets (issue 7) as a pass/fail table,
    /// from run directories holding the seq-read, rand-read-4k and one-block
    /// jobs; writes peers.md into each.
    Peers {
        runs: Vec<PathBuf>,
        /// Job holding the seed measurement.
        #[arg(long, default_value = "seq-read")]
        seq_job: String,
        /// Job holding the 4k random reads.
        #[arg(long, default_value = "rand-read-4k")]
        rand_job: String,
        /// Job whose wall time is the per-job fixed cost.
        #[arg(long, default_value = "one-block")]
        fixed_job: String,
        /// Exit 1 when a target fails or is not measured.
        #[arg(long)]
        strict: bool,
    },
    /// Write the man pages (glusterrs-bench.1, one per subcommand) into DIR
    /// (`make deb` packages them).
    #[command(hide = true)]
    Manpages { dir: PathBuf },
    /// The rpc-bypass targets (issue 12) as a pass/fail table with the ceiling
    /// of each failing one, from the runs of `make bench-rpc`; writes rpc.md into each.
    Rpc {
        runs: Vec<PathBuf>,
        /// Exit 1 when a target fails or is not measured.
        #[arg(long)]
        strict: bool,
    },
    /// Re-write summary.md and plots of a run directory from its results.csv.
    Report {
        dir: PathBuf,
        #[arg(long)]
        no_plots: bool,
    },
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("glusterrs-bench: error: {e:#}");
            ExitCode::from(gate::EXIT_BAD_INPUT)
        }
    }
}

fn real_main() -> Result<u8> {
    match Cli::parse().cmd {
        Cmd::Run(args) => Ok(run::run(*args)? as u8),
        Cmd::Compare(args) => gate::run(args),
        Cmd::History(args) => history::run(args),
        Cmd::Manpages { dir } => {
            for f in manpage::write_all(Cli::command(), &dir)? {
                println!("{}", f.display());
            }
            Ok(0)
        }
        Cmd::Peers {
            runs,
            seq_job,
            rand_job,
            fixed_job,
            strict,
        } => {
            if runs.is_empty() {
                anyhow::bail!("peers: give at least one run directory");
            }
            let jobs = peers::PeerJobs {
                seq: seq_job,
                rand: rand_job,
                fixed: fixed_job,
            };
            let mut bad = false;
            for dir in &runs {
                let rep = report::Report::load(dir)?;
                let targets = peers::evaluate(&rep, &jobs);
                bad |= targets
                    .iter()
                    .any(|t| matches!(t.verdict, peers::Verdict::Fail | peers::Verdict::Missing));
                let md = peers::render(&rep, &targets);
                if dir.is_dir() {
                    std::fs::write(dir.join("peers.md"), &md)?;
                }
                println!("{md}");
            }
            Ok(u8::from(strict && bad))
        }
        Cmd::Rpc { runs, strict } => rpc_targets::cli(&runs, strict),
        Cmd::Report { dir, no_plots } => {
            let rep = report::Report::load(&dir)?;
            run::write_outputs(&rep, &dir, !no_plots)?;
            println!("{}", export::markdown(&rep));
            Ok(0)
        }
    }
}
