//! glusterrs-bench: runs fio jobs across GlusterFS setups and peers
//! (base, fuse, bypass, bypass-custom, rpc-bypass, gfapi, gfapi_async),
//! writes CSV, the seed-style table and plots, and compares runs.

mod cluster;
mod compare;
mod cpuacct;
mod export;
mod fio;
mod jobfile;
mod netns_cluster;
mod peers;
mod plot;
mod qemu;
mod report;
mod rpc_targets;
mod run;
mod setup;
mod sys;
mod volfile;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};

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
    /// Judge each setup's ratio to base in CURRENT against BASELINE (run
    /// directories or results.csv files); exits 1 naming any regression.
    /// Several CURRENT runs of the same code are judged together, their
    /// repeats pooled (a confirming re-run narrows the noise).
    Compare {
        baseline: PathBuf,
        #[arg(required = true)]
        current: Vec<PathBuf>,
        /// Allowed fall of a setup's ratio to base, as a fraction.
        #[arg(long, default_value_t = 0.15)]
        tolerance: f64,
    },
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
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<u8> {
    match Cli::parse().cmd {
        Cmd::Run(args) => Ok(run::run(*args)? as u8),
        Cmd::Compare {
            baseline,
            current,
            tolerance,
        } => {
            if !(tolerance > 0.0 && tolerance < 1.0) {
                anyhow::bail!("compare: --tolerance {tolerance} is not a fraction between 0 and 1 (0.15 means 15 %)");
            }
            let b = report::Report::load(&baseline)
                .with_context(|| format!("compare: baseline {}", baseline.display()))?;
            let c = current
                .iter()
                .map(|p| {
                    report::Report::load(p)
                        .with_context(|| format!("compare: current run {}", p.display()))
                })
                .collect::<Result<Vec<_>>>()?;
            let verdicts = compare::compare_pooled(&b, &c, tolerance);
            if c.len() > 1 {
                println!("{} runs of the current code, their repeats pooled", c.len());
            }
            print!("{}", compare::render(&verdicts, tolerance));
            let bad: Vec<_> = verdicts.iter().filter(|v| v.is_failure()).collect();
            if verdicts.is_empty() {
                eprintln!("compare: nothing to judge (no setup besides base in both runs)");
                return Ok(1);
            }
            if bad.is_empty() {
                println!("no regression");
                Ok(0)
            } else {
                for v in bad {
                    println!(
                        "REGRESSION: {} / {}: ratio to base {} -> {}{}",
                        v.job,
                        v.setup,
                        v.baseline_ratio.map_or("—".into(), |r| format!("{r:.3}")),
                        v.current_ratio.map_or("—".into(), |r| format!("{r:.3}")),
                        v.change().map_or(" (no numbers now)".into(), |c| format!(
                            " ({:+.1}%)",
                            c * 100.0
                        ))
                    );
                }
                Ok(1)
            }
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
