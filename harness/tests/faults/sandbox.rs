// SPDX-License-Identifier: GPL-2.0-or-later
//! A glusterd the run starts itself, in private namespaces (mount, network,
//! pid) so the shared glusterd is never stopped: the run must stop it again.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::bench::*;
use crate::fault_runner::{poll, Case, Log};
use crate::scratch::*;
use crate::signals::{Sig, Stage, Target};
use crate::SANDBOX_ENV;
use rustix::process::Pid;

/// A glusterd the run starts itself.
pub fn cases() -> Vec<Case> {
    vec![
        Case::quick(
            "glusterd_started_by_the_run_is_stopped_sigint_measurement",
            |l| sandbox_case(l, Stage::Measure, Sig::Int),
        ),
        Case::long(
            "glusterd_started_by_the_run_is_stopped_sigterm_bring_up",
            |l| sandbox_case(l, Stage::BringUp, Sig::Term),
        ),
        Case::long(
            "glusterd_started_by_the_run_is_stopped_sigint_teardown",
            |l| sandbox_case(l, Stage::Teardown, Sig::Int),
        ),
        Case::long(
            "glusterd_started_by_the_run_is_stopped_sigint_layout",
            |l| sandbox_case(l, Stage::Layout, Sig::Int),
        ),
    ]
}

/// One sandbox at a time: the harness is pid 6 or so in every fresh pid
/// namespace, and its CPU cgroup is named after its pid in the host's
/// cgroupfs, so two concurrent sandboxes would share (and one remove) it.
static SANDBOX: Mutex<()> = Mutex::new(());

fn sandbox_case(log: &mut Log, stage: Stage, sig: Sig) {
    let _one_at_a_time = SANDBOX.lock().unwrap_or_else(|e| e.into_inner());
    let ok = Command::new("unshare")
        .args([
            "--mount",
            "--net",
            "--pid",
            "--fork",
            "--mount-proc",
            "true",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        log.say("unshare(1) with mount/net/pid namespaces unavailable: SKIPPED");
        return;
    }
    let s = Scratch::new("sandbox");
    let gd = glusterd_pids();
    log.say(format!(
        "tried: in private mount/net/pid namespaces with no glusterd running, glusterrs-bench \
         run starts its own; {} at {stage:?}; then, inside, look for glusterd, bricks, mounts, \
         volumes",
        sig.name()
    ));
    let exe = std::env::current_exe().unwrap();
    let t = Instant::now();
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--net",
            "--pid",
            "--fork",
            "--mount-proc",
            "--propagation",
            "private",
        ])
        .arg(&exe)
        .env(SANDBOX_ENV, format!("{stage:?}:{}", sig.name()))
        .env("GRS_FAULT_SCRATCH", &s.0)
        .stdin(Stdio::null())
        .output()
        .expect("unshare");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for l in text.lines().filter(|l| l.starts_with("sandbox:")) {
        log.say(l.to_string());
    }
    log.say(format!(
        "sandbox exited with {} after {:.1} s",
        out.status,
        t.elapsed().as_secs_f64()
    ));
    log.check();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("sandbox: verdict ok"), "{text}");
    // Nothing leaked into the host either.
    assert_eq!(glusterd_pids(), gd, "the host's glusterd changed");
}

fn sh(cmd: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs inside the namespaces (pid 1 of the new pid namespace is unshare's
/// child: this process). Prints `sandbox: ...` lines and the verdict.
pub fn sandbox_payload(spec: &str) -> i32 {
    let say = |m: String| println!("sandbox: {m}");
    let (stage, sig) = spec.split_once(':').unwrap_or(("Measure", "SIGINT"));
    let stage = match stage {
        "BringUp" => Stage::BringUp,
        "Layout" => Stage::Layout,
        "Teardown" => Stage::Teardown,
        _ => Stage::Measure,
    };
    let sig = if sig == "SIGTERM" {
        Sig::Term
    } else {
        Sig::Int
    };
    let scratch = PathBuf::from(std::env::var("GRS_FAULT_SCRATCH").expect("scratch"));
    // Private glusterd state: its socket lives in /run, its state in
    // /var/lib/glusterd, its logs in /var/log/glusterfs.
    let prep: Result<(), String> = (|| {
        sh("ip", &["link", "set", "lo", "up"])?;
        for d in ["/run", "/var/lib/glusterd", "/var/log/glusterfs"] {
            sh("mount", &["-t", "tmpfs", "tmpfs", d])?;
        }
        std::fs::create_dir_all("/run/gluster").map_err(|e| e.to_string())?;
        std::fs::create_dir_all("/var/log/glusterfs/bricks").map_err(|e| e.to_string())?;
        Ok(())
    })();
    if let Err(e) = prep {
        say(format!("setup failed: {e}"));
        return 1;
    }
    if !glusterd_pids().is_empty() {
        say("a glusterd is visible inside: not isolated".into());
        return 1;
    }
    // Mounts copied from the host's namespace are not the run's.
    let host_mounts = mounts();
    let s = Scratch(scratch);
    let volume = volume_name("sbx");
    let mut b = start_bench(&s.0, &run_args(&s, &volume, "sbx"));
    let bench_pid = b.pid();
    let reached = wait_stage(&mut b, stage, &volume);
    let started_gd = glusterd_pids();
    say(format!(
        "run reached {stage:?}: {reached}; glusterd running inside: {started_gd:?}"
    ));
    if !reached {
        let (st, text, _) = b.wait(Duration::from_secs(10));
        say(format!("run ended early with {st}: {text}"));
        std::mem::forget(s);
        return 1;
    }
    b.signal(sig, Target::Pid);
    let (st, text, secs) = b.wait(Duration::from_secs(120));
    say(format!(
        "{} -> harness ended {secs:.1} s later with {st}",
        sig.name()
    ));
    let mut left = Vec::new();
    if st.code() != Some(sig.exit_code()) && !(stage == Stage::Teardown && st.success()) {
        left.push(format!("exit {st}, expected {}", sig.exit_code()));
    }
    // We are pid 1 here: daemons that exited are our zombies to reap.
    let reap = || {
        for p in processes().into_iter().filter(|p| p.zombie && p.ppid == 1) {
            if let Some(pid) = Pid::from_raw(p.pid as i32) {
                let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG);
            }
        }
    };
    let gd = poll(Duration::from_secs(20), || {
        reap();
        glusterd_pids().is_empty().then_some(())
    });
    if gd.is_none() {
        left.push(format!("glusterd still running: {:?}", glusterd_pids()));
    }
    reap();
    for p in processes() {
        let gluster = p.comm.starts_with("glusterfs") || p.comm == "glusterd" || p.comm == "fio";
        if gluster && !p.zombie {
            left.push(format!("process {} {}", p.pid, p.cmdline));
        }
    }
    for m in mounts() {
        if m.2.starts_with("fuse") && !host_mounts.contains(&m) {
            left.push(format!("mount {} on {}", m.0, m.1));
        }
    }
    if let Ok(d) = std::fs::read_dir("/var/lib/glusterd/vols") {
        for e in d.flatten() {
            left.push(format!("volume state {}", e.path().display()));
        }
    }
    for e in std::fs::read_dir(s.bricks())
        .into_iter()
        .flatten()
        .flatten()
    {
        left.push(format!("directory {}", e.path().display()));
    }
    if started_gd.is_empty() {
        left.push("the run never started glusterd".into());
    }
    left.extend(cgroups_of(bench_pid));
    if left.is_empty() {
        say("nothing left inside: glusterd stopped, no brick, client, mount or volume".into());
        say("verdict ok".into());
        0
    } else {
        say(format!("LEFT BEHIND: {left:?}"));
        say(format!("harness log:\n{text}"));
        1
    }
}
