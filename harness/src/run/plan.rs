//! Planning a run: the arguments checked, the job files read, the run's
//! name, the engine to load, and which setups run each job (and how).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Result};

use crate::jobfile;
use crate::setup::{self, Availability, Env, JobPlan};

use super::args::RunArgs;

/// A job file: its name, its path and its text.
pub(super) type Job = (String, PathBuf, String);

/// Fills in the default job and refuses what cannot be run.
pub(super) fn check_args(args: &mut RunArgs) -> Result<()> {
    if args.jobs.is_empty() {
        args.jobs.push("jobs/seq-read.fio".into());
    }
    if args.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    for s in &args.setups {
        if !setup::ALL.contains(&s.as_str()) {
            bail!("unknown setup {s:?} (known: {})", setup::ALL.join(", "));
        }
    }
    Ok(())
}

/// The job files of the run, read.
pub(super) fn read_jobs(args: &RunArgs) -> Result<Vec<Job>> {
    args.jobs
        .iter()
        .map(|p| Ok((jobfile::job_name(p), p.clone(), jobfile::read(p)?)))
        .collect()
}

/// UTC `YYYYmmdd-HHMMSS`.
pub fn timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// A run name is a directory name under --results: any text but "", ".",
/// "..", "latest" (the link to the last run), a `/`, or a control character
/// (names end up in tables and logs line by line). Spaces, `;`, `$(...)`,
/// quotes are fine: nothing runs through a shell.
pub fn check_run_name(name: &str) -> Result<()> {
    let why = if name.is_empty() {
        Some("it is empty".to_string())
    } else if name == "." || name == ".." {
        Some(format!("{name:?} is not a directory of its own"))
    } else if name == "latest" || name.starts_with(".latest-") {
        Some("\"latest\" names the link to the last run".to_string())
    } else if name.contains('/') {
        Some("it contains '/' (the name is one directory under --results)".to_string())
    } else if let Some(c) = name.chars().find(|c| c.is_control()) {
        Some(format!("it contains the control character {c:?}"))
    } else if name.len() > 200 {
        Some(format!("it is {} bytes long (at most 200)", name.len()))
    } else {
        None
    };
    match why {
        Some(why) => bail!("unusable run name --name {name:?}: {why}"),
        None => Ok(()),
    }
}

/// libglusterrs.so: --engine, $GLUSTERRS_ENGINE, the release build in the
/// target directory this binary lives in, or the installed package's.
pub(super) fn find_engine(arg: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = arg {
        return if p.is_file() {
            Ok(p.canonicalize().unwrap_or_else(|_| p.to_path_buf()))
        } else {
            Err(format!("--engine {}: no such file", p.display()))
        };
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("GLUSTERRS_ENGINE") {
        candidates.push(p.into());
    }
    if let Ok(exe) = std::env::current_exe() {
        // The release build first, even when this binary is a debug build.
        let dirs: Vec<PathBuf> = exe
            .ancestors()
            .skip(1)
            .take(3)
            .map(Path::to_path_buf)
            .collect();
        candidates.extend(dirs.iter().map(|d| d.join("release/libglusterrs.so")));
        candidates.extend(dirs.iter().map(|d| d.join("libglusterrs.so")));
        // Installed (`make deb`): /usr/bin/glusterrs-bench, /usr/lib/<multiarch>/libglusterrs.so.
        if let Some(prefix) = dirs.get(1) {
            let multiarch = format!("{}-linux-gnu", std::env::consts::ARCH);
            candidates.push(prefix.join("lib").join(multiarch).join("libglusterrs.so"));
        }
    }
    candidates.push("target/release/libglusterrs.so".into());
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .map(|p| p.canonicalize().unwrap_or(p))
        .ok_or_else(|| {
            "libglusterrs.so not found: build it with `cargo build --release -p glusterrs` or pass --engine".into()
        })
}

/// Per job, each setup with what it does for that job (rpc-bypass depends on
/// whether the job writes).
pub(super) fn setup_plans(args: &RunArgs, env: &Env, jobs: &[Job]) -> Vec<Vec<(String, JobPlan)>> {
    let setups: Vec<(String, Availability)> = args
        .setups
        .iter()
        .map(|s| (s.clone(), setup::options(s, env)))
        .collect();
    jobs.iter()
        .map(|(_, _, text)| {
            let writes = jobfile::writes(text, &args.fio_opts);
            setups
                .iter()
                .map(|(s, a)| (s.clone(), setup::for_job(s, a.clone(), env, writes)))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(UNIX_EPOCH), "19700101-000000");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_734_555);
        assert_eq!(timestamp(t), "20261126-230915");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(timestamp(leap), "20000229-000000");
    }

    #[test]
    fn run_names() {
        for ok in [
            "20261127-101010",
            "a run",
            "x; touch y",
            "$(touch z)|&`q`",
            "..a",
            "a..",
            "ünï cödé",
        ] {
            check_run_name(ok).unwrap();
        }
        for (bad, says) in [
            ("", "empty"),
            (".", "not a directory"),
            ("..", "not a directory"),
            ("a/b", "'/'"),
            ("../up", "'/'"),
            ("/abs", "'/'"),
            ("latest", "latest"),
            ("new\nline", "control"),
            ("tab\t", "control"),
        ] {
            let e = check_run_name(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad:?}: {e}");
            assert!(e.contains(&format!("{bad:?}")), "{bad:?}: {e}");
        }
        assert!(check_run_name(&"x".repeat(201)).is_err());
    }
}
