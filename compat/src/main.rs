//! `glusterrs-compat`: runs the differential suite and prints its table.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use glusterrs_compat::{report, run_suite, selected, Config};

const USAGE: &str =
    "usage: glusterrs-compat [--quick] [--only NAME,...] [--no-gfapi] [--parallel N]
                        [--timeout SECS] [--engine PATH] [--markdown FILE] [--list]

  --quick          only the quick variants (the part `make test` runs)
  --only A,B       only these variants
  --no-gfapi       skip fio's sync gfapi engine (gfapi_async stays the oracle)
  --parallel N     fio runs at once (default 4; a C-engine run mostly sleeps)
  --timeout SECS   limit of one fio run; beyond it the run counts as a hang (default 180)
  --engine PATH    libglusterrs.so to test (default: next to this program)
  --markdown FILE  also write the table as Markdown (docs/compat.md)
  --list           print the variants and exit

Prints the table, then `N passed, N failed` on the last line; exits 1 when any failed.";

struct Args {
    config: Config,
    markdown: Option<PathBuf>,
    list: bool,
}

fn value<'a>(it: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<&'a String> {
    it.next()
        .with_context(|| format!("{flag} needs a value\n{USAGE}"))
}

fn default_engine() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating this program")?;
    let dir = exe.parent().context("this program's directory")?;
    Ok(dir.join("libglusterrs.so"))
}

fn parse(argv: &[String], interrupt: Arc<AtomicBool>) -> Result<Args> {
    let mut config = Config {
        engine_so: default_engine()?,
        quick: false,
        only: Vec::new(),
        gfapi: true,
        parallel: 4,
        timeout: Duration::from_secs(180),
        interrupt,
        progress: true,
    };
    let mut markdown = None;
    let mut list = false;
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => config.quick = true,
            "--no-gfapi" => config.gfapi = false,
            "--list" => list = true,
            "--only" => {
                config.only = value(&mut it, a)?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            }
            "--parallel" => {
                let v = value(&mut it, a)?;
                config.parallel = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .with_context(|| format!("--parallel {v:?}: want a count of at least 1"))?;
            }
            "--timeout" => {
                let v = value(&mut it, a)?;
                let secs: u64 = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .with_context(|| format!("--timeout {v:?}: want seconds, at least 1"))?;
                config.timeout = Duration::from_secs(secs);
            }
            "--engine" => {
                let p = PathBuf::from(value(&mut it, a)?);
                config.engine_so =
                    std::path::absolute(&p).with_context(|| format!("--engine {}", p.display()))?;
            }
            "--markdown" => markdown = Some(PathBuf::from(value(&mut it, a)?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(Args {
        config,
        markdown,
        list,
    })
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("glusterrs-compat: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<ExitCode> {
    let interrupt = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(sig, Arc::clone(&interrupt))
            .with_context(|| format!("installing the handler of signal {sig}"))?;
    }
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = parse(&argv, Arc::clone(&interrupt))?;
    if args.list {
        for v in selected(&args.config)? {
            let quick = if v.quick { " (quick)" } else { "" };
            println!("{}{quick}: {} {}", v.name, v.opts, v.cli);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let res = match run_suite(&args.config) {
        Ok(r) => r,
        Err(e) if interrupt.load(std::sync::atomic::Ordering::SeqCst) => {
            eprintln!("glusterrs-compat: {e:#} (volume and files removed)");
            return Ok(ExitCode::from(130));
        }
        Err(e) => return Err(e),
    };
    print!("{}", report::text(&res));
    if let Some(path) = &args.markdown {
        let command = std::iter::once("glusterrs-compat".to_string())
            .chain(argv.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let when = utc_now();
        std::fs::write(path, report::markdown(&res, &command, &when))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("glusterrs-compat: wrote {}", path.display());
    }
    Ok(if res.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The current time as `date -u` prints it, without a date crate.
fn utc_now() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "time unknown".into())
}
