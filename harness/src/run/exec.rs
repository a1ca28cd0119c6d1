//! Executing one measured step: the run's context ([`Ctx`]: arguments, run
//! directory, progress bar, commands.txt, CPU meter) and one fio or qemu-img
//! run under it, with its timeout, wall time, CPU and outcome.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::ProgressBar;

use crate::fio::{group_stats, FioOutput, GroupStats};
use crate::jobfile;
use crate::qemu;
use crate::sys::{self, Ended};

use super::args::RunArgs;
use super::cpu::{CpuMeter, RunCpu};

/// What every measured step of the run uses.
pub(super) struct Ctx {
    pub args: RunArgs,
    pub run_dir: PathBuf,
    pub pb: ProgressBar,
    /// commands.txt: every fio and qemu-img command line, as run.
    pub commands: File,
    pub cpu: CpuMeter,
}

/// How one fio (or qemu-img) run ended: its numbers, or why there are none.
pub(super) enum FioResult {
    Done {
        groups: Vec<GroupStats>,
        wall_s: f64,
        cpu: RunCpu,
    },
    Failed(String),
}

/// The first meaningful lines of a fio log (where fio states the cause),
/// as a one-line reason.
fn failure_reason(log: &str, ended: &str) -> String {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.contains("async interface is still very experimental")
                && !l.starts_with("Did you mean")
                && !l.starts_with("fio-")
        })
        .take(3)
        .collect();
    let head = lines.join(" / ");
    let mut s = if head.is_empty() {
        ended.to_string()
    } else {
        format!("{ended}: {head}")
    };
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// `host:port` -> fio's `host,port`.
fn fio_client(h: &str) -> String {
    match h.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => {
            format!("{host},{port}")
        }
        _ => h.to_string(),
    }
}

impl Ctx {
    pub(super) fn log(&self, msg: impl AsRef<str>) {
        if self.pb.is_hidden() {
            eprintln!("{}", msg.as_ref());
        } else {
            self.pb.println(msg.as_ref());
        }
    }

    /// Runs fio on a derived job file; `json_out` None runs for side
    /// effects (layout) with normal output into the log.
    pub(super) fn fio(&self, job: &Path, json_out: Option<&Path>, log: &Path) -> Result<FioResult> {
        let mut fio_args: Vec<String> = Vec::new();
        if let Some(out) = json_out {
            fio_args.push("--output-format=json+".into());
            fio_args.push(format!("--output={}", out.display()));
        }
        if self.args.clients.is_empty() {
            fio_args.push(job.display().to_string());
        } else {
            for h in &self.args.clients {
                fio_args.push(format!("--client={}", fio_client(h)));
                fio_args.push(job.display().to_string());
            }
        }
        let mut line = format!("{}", self.args.fio.display());
        for a in &fio_args {
            line.push(' ');
            line.push_str(a);
        }
        writeln!(&self.commands, "{line}")?;
        // Local runs join the CPU cgroup (fio's client mode runs elsewhere).
        let counted = self.args.clients.is_empty() && json_out.is_some();
        let mut c = self.cpu.command(counted, &self.args.fio, &fio_args);
        let cpu0 = self.cpu.now(counted);
        let logf = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        c.stdout(Stdio::from(logf.try_clone()?))
            .stderr(Stdio::from(logf));
        let start = Instant::now();
        let mut child = c
            .spawn()
            .with_context(|| format!("starting {}", self.args.fio.display()))?;
        let ended = sys::watch(
            &mut child,
            Some(Duration::from_secs(self.args.fio_timeout)),
            Duration::from_secs(20),
        )?;
        let wall_s = start.elapsed().as_secs_f64();
        let cpu = self.cpu.now(counted).since(cpu0);
        let log_text = std::fs::read_to_string(log).unwrap_or_default();
        match ended {
            Ended::Interrupted => Err(sys::Interrupted.into()),
            Ended::TimedOut => Ok(FioResult::Failed(failure_reason(
                &log_text,
                &format!("timed out after {} s", self.args.fio_timeout),
            ))),
            Ended::Exited(st) if !st.success() => Ok(FioResult::Failed(failure_reason(
                &log_text,
                &format!("fio {st}"),
            ))),
            Ended::Exited(_) => {
                let Some(out) = json_out else {
                    return Ok(FioResult::Done {
                        groups: Vec::new(),
                        wall_s,
                        cpu,
                    });
                };
                let text = std::fs::read_to_string(out).unwrap_or_default();
                match FioOutput::parse(&text) {
                    Ok(o) => {
                        let groups = group_stats(&o);
                        if groups.is_empty() {
                            Ok(FioResult::Failed(failure_reason(
                                &log_text,
                                "fio did no I/O",
                            )))
                        } else {
                            Ok(FioResult::Done {
                                groups,
                                wall_s,
                                cpu,
                            })
                        }
                    }
                    Err(e) => Ok(FioResult::Failed(failure_reason(
                        &log_text,
                        &format!("unreadable fio output ({e:#})"),
                    ))),
                }
            }
        }
    }

    /// The `qemu` setup: one `qemu-img bench` per job section of the
    /// derived job file, on `url/FILE` (see [`crate::qemu`]).
    pub(super) fn qemu(
        &self,
        opts: &jobfile::Options,
        derived: &Path,
        raw: &Path,
        tag: &str,
    ) -> Result<FioResult> {
        let get = |k: &str| opts.iter().find(|(k2, _)| k2 == k).map(|(_, v)| v.clone());
        let (Some(bin), Some(url)) = (get("qemu-img"), get("url")) else {
            return Ok(FioResult::Failed("qemu setup without qemu-img/url".into()));
        };
        let text = jobfile::read(derived)?;
        let jobs = match qemu::plan(&text) {
            Ok(j) => j,
            Err(e) => return Ok(FioResult::Failed(format!("{e:#}"))),
        };
        let wrap = |p: &Path, a: &[String]| self.cpu.command(true, p, a);
        let cpu0 = self.cpu.now(true);
        let mut commands = &self.commands;
        let outcome = qemu::run(
            Path::new(&bin),
            &jobs,
            &url,
            &|j| raw.join(format!("{tag}-{}.log", j.name)),
            &wrap,
            Duration::from_secs(self.args.fio_timeout),
            &mut commands,
        )?;
        let used = self.cpu.now(true).since(cpu0);
        Ok(match outcome {
            qemu::Outcome::Failed(why) => FioResult::Failed(why),
            qemu::Outcome::Done { outs, wall_s } => FioResult::Done {
                groups: vec![qemu::group_stats(&jobs, &outs, used.proc_s.unwrap_or(0.0))],
                wall_s,
                cpu: used,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_host_port() {
        assert_eq!(fio_client("h1:8766"), "h1,8766");
        assert_eq!(fio_client("h1"), "h1");
    }

    #[test]
    fn failure_reason_keeps_the_cause_and_drops_noise() {
        let log = "the async interface is still very experimental...\nfio: engine libglusterrs not loadable\nfio: failed to load engine\nBad option <volume=v>\nDid you mean block?\nfio: job global dropped\n";
        assert_eq!(
            failure_reason(log, "fio exit status: 1"),
            "fio exit status: 1: fio: engine libglusterrs not loadable / fio: failed to load engine / Bad option <volume=v>"
        );
        assert_eq!(failure_reason("", "timed out"), "timed out");
    }
}
