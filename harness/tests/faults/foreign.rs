// SPDX-License-Identifier: GPL-2.0-or-later
//! Things the harness did not create (a foreign volume, mount, directory
//! and earlier results; an existing volume it is pointed at) survive an
//! interrupted run untouched.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bench::*;
use crate::fault_runner::{Case, Log};
use crate::scratch::*;
use crate::signals::{Sig, Stage, Target};
use glusterrs_cluster::{Volume, VolumeSpec};

/// Foreign objects.
pub fn cases() -> Vec<Case> {
    vec![
        Case::quick(
            "sigint_during_measurement_foreign_objects_survive",
            foreign_objects_survive,
        ),
        Case::quick("existing_volume_sigint_during_measurement", existing_volume),
    ]
}

struct Foreign {
    vol: Volume,
    mount: glusterrs_cluster::FuseMount,
    dir: PathBuf,
    old_run: PathBuf,
}

const CANARY: &str = "canary-of-the-fault-suite";

fn foreign(s: &Scratch) -> Foreign {
    let vol = Volume::create(VolumeSpec::new().prefix("grs-fault")).expect("foreign volume");
    let mount = vol.mount_fuse().expect("foreign mount");
    std::fs::write(mount.path().join("canary"), CANARY).expect("canary through FUSE");
    // A directory named like the harness's own work directories.
    let dir = s.bricks().join("glusterrs-bench-not-mine");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("keep"), CANARY).unwrap();
    // An earlier run in the results directory.
    let old_run = s.results().join("earlier-run");
    std::fs::create_dir_all(&old_run).unwrap();
    std::fs::write(old_run.join("results.csv"), CANARY).unwrap();
    Foreign {
        vol,
        mount,
        dir,
        old_run,
    }
}

fn check_foreign(log: &mut Log, f: &Foreign) {
    let mut broken = Vec::new();
    if !volumes().iter().any(|v| v == f.vol.name()) {
        broken.push(format!("foreign volume {} deleted", f.vol.name()));
    } else if !volume_started(f.vol.name()) {
        broken.push(format!("foreign volume {} stopped", f.vol.name()));
    }
    let mp = f.mount.path().to_string_lossy().to_string();
    if !mounts().iter().any(|(_, m, _)| *m == mp) {
        broken.push(format!("foreign mount {mp} unmounted"));
    } else if std::fs::read_to_string(f.mount.path().join("canary"))
        .ok()
        .as_deref()
        != Some(CANARY)
    {
        broken.push("canary on the foreign mount gone".into());
    }
    if std::fs::read_to_string(f.dir.join("keep")).ok().as_deref() != Some(CANARY) {
        broken.push(format!("foreign directory {} touched", f.dir.display()));
    }
    if std::fs::read_to_string(f.old_run.join("results.csv"))
        .ok()
        .as_deref()
        != Some(CANARY)
    {
        broken.push(format!("earlier results {} touched", f.old_run.display()));
    }
    log.say(if broken.is_empty() {
        format!(
            "foreign volume {} (started, mounted, canary intact), directory and earlier results all survived",
            f.vol.name()
        )
    } else {
        format!("FOREIGN OBJECTS HARMED: {broken:?}")
    });
    log.check();
    assert!(broken.is_empty(), "{broken:?}");
}

fn foreign_objects_survive(log: &mut Log) {
    let s = Scratch::new("foreign");
    let f = foreign(&s);
    log.say(format!(
        "set up first: volume {} FUSE-mounted at {}, directory {}, earlier run {}",
        f.vol.name(),
        f.mount.path().display(),
        f.dir.display(),
        f.old_run.display()
    ));
    let volume = volume_name("");
    let gd = glusterd_pids();
    let mut b = start_bench(&s.0, &run_args(&s, &volume, "fg"));
    let bench_pid = b.pid();
    assert!(wait_stage(&mut b, Stage::Measure, &volume), "{}", b.log());
    b.signal(Sig::Int, Target::Pid);
    let (st, text, secs) = b.wait(Duration::from_secs(120));
    log.say(format!(
        "SIGINT during measurement: ended {secs:.1} s later with {st}"
    ));
    log.check();
    assert_eq!(st.code(), Some(130), "{text}");
    let mut left = leftovers(&volume, &s, &gd, bench_pid);
    // The foreign objects are checked below.
    left.retain(|l| !l.contains(f.vol.name()) && !l.contains("glusterrs-bench-not-mine"));
    log.say(if left.is_empty() {
        "nothing of the run left behind".to_string()
    } else {
        format!("LEFT BEHIND: {left:?}")
    });
    log.check();
    assert!(left.is_empty(), "{left:#?}\n{text}");
    check_foreign(log, &f);
}

/// `--server localhost --volume FOREIGN`: the harness creates nothing on the
/// cluster; interrupted mid-measurement, the volume stays, started, with its
/// data, and only the harness's own mount goes.
fn existing_volume(log: &mut Log) {
    let s = Scratch::new("existing");
    let vol = Volume::create(VolumeSpec::new().prefix("grs-fault")).expect("volume");
    let brick = vol.bricks()[0].clone();
    std::fs::write(brick.join("keep-me"), CANARY).unwrap();
    let gd = glusterd_pids();
    let jobs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../jobs/seq-read.fio");
    let args: Vec<String> = [
        "run",
        "--size",
        "64m",
        "--repeat",
        "3",
        "--setups",
        "base,fuse,bypass,rpc-bypass",
        "--no-plots",
        "--name",
        "ex",
        "--server",
        "localhost",
        "--volume",
        vol.name(),
    ]
    .iter()
    .map(|x| x.to_string())
    .chain([
        "--brick-dir".to_string(),
        brick.display().to_string(),
        "--results".to_string(),
        s.results().display().to_string(),
        jobs.display().to_string(),
    ])
    .collect();
    log.say(format!(
        "tried: glusterrs-bench run --server localhost --volume {} (existing), SIGINT during measurement",
        vol.name()
    ));
    let mut b = start_bench(&s.0, &args);
    let bench_pid = b.pid();
    assert!(
        wait_stage(&mut b, Stage::Measure, vol.name()),
        "{}",
        b.log()
    );
    b.signal(Sig::Int, Target::Pid);
    let (st, text, secs) = b.wait(Duration::from_secs(120));
    log.say(format!("ended {secs:.1} s after the signal with {st}"));
    log.check();
    assert_eq!(st.code(), Some(130), "{text}");
    let mut broken = Vec::new();
    if !volumes().iter().any(|v| v == vol.name()) {
        broken.push("volume deleted".to_string());
    } else if !volume_started(vol.name()) {
        broken.push("volume left stopped".to_string());
    }
    if std::fs::read_to_string(brick.join("keep-me"))
        .ok()
        .as_deref()
        != Some(CANARY)
    {
        broken.push("data on the volume removed".to_string());
    }
    let online = vol.brick_pids().map(|p| p.iter().all(Option::is_some));
    if online.as_ref().ok() != Some(&true) {
        broken.push(format!("brick not online: {online:?}"));
    }
    let own_mounts: Vec<String> = mounts()
        .into_iter()
        .filter(|(src, _, t)| t.starts_with("fuse") && src.contains(vol.name()))
        .map(|(src, mp, _)| format!("{src} on {mp}"))
        .collect();
    if !own_mounts.is_empty() {
        broken.push(format!("the harness's mounts left: {own_mounts:?}"));
    }
    if glusterd_pids() != gd {
        broken.push("glusterd changed".into());
    }
    broken.extend(cgroups_of(bench_pid));
    log.say(if broken.is_empty() {
        "volume still there, started, brick online, data intact; harness mount gone".to_string()
    } else {
        format!("HARMED: {broken:?}")
    });
    log.check();
    assert!(broken.is_empty(), "{broken:?}\n{text}");
}
