// SPDX-License-Identifier: GPL-2.0-or-later
//! The engine against a real three-node GlusterFS cluster on this machine
//! (glusterrs-cluster: a network namespace, address and glusterd per node),
//! through the real fio with verify=crc32c:
//!
//! * volfile-server failover: `brick=n1,n2,n3` with n1's glusterd stopped,
//!   and with n1 cut off (its link down);
//! * a node killed mid-run (replica 3, disperse 4+2) or its link cut: fio
//!   exits 0, verify passes, and once the node is back self-heal makes its
//!   bricks agree with the others (checked on the bricks);
//! * quorum lost (two of three nodes down or cut off): writes fail with a
//!   clear error within io_timeout, and what was acknowledged before is intact.
//!
//! `multinode_faults_quick` runs in `make test` (one cluster for its cases);
//! `multinode_faults_slow` is ignored there and run by `make faults` and
//! `make cluster-faults`. Each brings its cluster down at the end, also when a
//! case fails (the cluster is dropped while the panic unwinds).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{args, engine_arg, tempdir, Run};
use glusterrs_cluster::{Cluster, ClusterSpec, ClusterVolume, ClusterVolumeSpec};

/// io_timeout of the jobs, in seconds.
const IO_TIMEOUT: u64 = 10;
const HEAL_TIMEOUT: Duration = Duration::from_secs(180);

/// Volumes for the cases: with `direct=1` a write is acknowledged only once the
/// bricks have it (performance.strict-o-direct, as the harness sets too);
/// without it write-behind acknowledges early, and when quorum is lost the
/// last writes acknowledged that way (1 MiB in one run) are gone.
fn volume(c: &Cluster, spec: ClusterVolumeSpec) -> ClusterVolume {
    let what = format!("{:?}", spec.layout);
    c.create_volume(
        spec.prefix("grs-mn")
            .option("performance.strict-o-direct", "on"),
    )
    .unwrap_or_else(|e| panic!("create a {what} volume: {e}"))
}

fn cluster(tag: &str) -> Cluster {
    let name = format!("{tag}{}", std::process::id());
    Cluster::up(ClusterSpec::new(name, 3)).expect("bring up a 3-node cluster")
}

/// `--brick=n1,n2,n3` (the engine's several-volfile-servers option).
fn servers(c: &Cluster) -> String {
    let ips: Vec<String> = c.node_ips().iter().map(|i| i.to_string()).collect();
    format!("--brick={}", ips.join(","))
}

/// A write+verify job on `vol` through the engine.
/// gfapi logs to `NAME.gfapi.log` in fio's directory (shown when a job fails).
fn job(dir: &Path, c: &Cluster, vol: &ClusterVolume, name: &str, extra: &[&str]) -> Vec<String> {
    let mut a = args(&[
        &format!("--name={name}"),
        &format!("--volume={}", vol.name()),
        &servers(c),
        &format!("--io_timeout={IO_TIMEOUT}"),
        &format!(
            "--logfile={}",
            dir.join(format!("{name}.gfapi.log")).display()
        ),
        "--loglevel=info",
        "--rw=write",
        "--bs=64k",
        "--size=8m",
        "--direct=1",
        "--verify=crc32c",
        "--do_verify=1",
        "--verify_fatal=1",
    ]);
    a.extend(args(extra));
    a
}

fn fio_in(dir: &Path, a: &[String]) -> Run {
    common::fio(dir, a)
}

/// fio in the background (for a fault mid-run).
fn spawn_fio(dir: &Path, a: &[String]) -> (Child, Instant) {
    let child = Command::new("fio")
        .current_dir(dir)
        .arg(engine_arg())
        .args(a)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start fio");
    (child, Instant::now())
}

fn finish(child: Child, started: Instant) -> Run {
    let out = child.wait_with_output().expect("wait for fio");
    Run {
        out,
        secs: started.elapsed().as_secs_f64(),
    }
}

/// The end of the gfapi logs in `dir`, for failure messages.
fn gfapi_logs(dir: &Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.to_string_lossy().ends_with(".gfapi.log") {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            out.push_str(&format!("--- {} (last 40 lines)\n{tail}\n", p.display()));
        }
    }
    out
}

/// Seconds of the day of a gfapi log line (`[2026-12-03 11:56:16.286263 +0000] ...`).
fn log_time(line: &str) -> Option<f64> {
    let t = line.strip_prefix('[')?.split_whitespace().nth(1)?;
    let mut it = t.split(':');
    let h: f64 = it.next()?.parse().ok()?;
    let m: f64 = it.next()?.parse().ok()?;
    let s: f64 = it.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// How long each connection of the job took, from its gfapi log: from "New
/// graph coming up" to "switched to graph" (the graph is usable).
fn connect_times(log: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut out = Vec::new();
    let mut start = None;
    for l in text.lines() {
        if l.contains("New graph coming up") {
            start = log_time(l);
        } else if l.contains("switched to graph") {
            if let (Some(a), Some(b)) = (start.take(), log_time(l)) {
                out.push(b - a);
            }
        }
    }
    out
}

#[track_caller]
fn assert_verified(dir: &Path, r: &Run) {
    if !r.ok() {
        eprintln!("{}", gfapi_logs(dir));
    }
    r.assert_ok();
    let out = r.stdout();
    assert!(
        out.contains("READ:") && out.contains("WRITE:") && !out.contains("verify: bad"),
        "the write pass or its verify pass is missing or bad:\n{}",
        r.text()
    );
}

/// Waits until fio has written for a while; it must still be running then
/// (the fault that follows hits it mid-run).
#[track_caller]
fn mid_run(child: &mut Child) {
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().expect("poll fio").is_none(),
        "fio ended before the fault"
    );
}

/// n1's glusterd stopped: the job gets its volfile from n2 within io_timeout.
fn failover_glusterd_stopped(c: &Cluster, vol: &ClusterVolume) {
    let dir = tempdir("mn-gd");
    c.stop_glusterd(1).expect("stop n1's glusterd");
    assert!(c.glusterd_pid(1).is_none(), "n1's glusterd still runs");
    let r = fio_in(&dir.0, &job(&dir.0, c, vol, "fo-glusterd", &[]));
    eprintln!(
        "failover, n1's glusterd stopped: fio took {:.1} s, exit {:?}",
        r.secs, r.out.status
    );
    assert_verified(&dir.0, &r);
    assert!(
        r.secs < IO_TIMEOUT as f64,
        "took {:.1} s, more than io_timeout={IO_TIMEOUT}",
        r.secs
    );
    c.start_node(1).expect("restart n1's glusterd");
    vol.wait_online().expect("bricks online");
}

/// n1 cut off (no answer at all): the job still connects through n2 within
/// io_timeout, writes and verifies on the two other replicas; after the link
/// is back self-heal brings n1's brick to the same bytes.
fn failover_link_down(c: &Cluster, vol: &ClusterVolume) {
    let dir = tempdir("mn-link");
    c.link_down(1).expect("cut n1's link");
    let r = fio_in(&dir.0, &job(&dir.0, c, vol, "fo-link", &[]));
    c.link_up(1).expect("restore n1's link");
    eprintln!(
        "failover, n1 unreachable: fio took {:.1} s, exit {:?}",
        r.secs, r.out.status
    );
    assert_verified(&dir.0, &r);
    let times = connect_times(&dir.0.join("fo-link.gfapi.log"));
    eprintln!("  each connection took (s): {times:.1?}");
    assert!(!times.is_empty(), "no connection in the log");
    assert!(
        times.iter().all(|t| *t < IO_TIMEOUT as f64),
        "a connection took longer than io_timeout={IO_TIMEOUT}: {times:?}"
    );
    healed_and_equal(vol);
}

fn healed_and_equal(vol: &ClusterVolume) {
    vol.wait_online().expect("bricks online");
    let t = Instant::now();
    vol.wait_healed(HEAL_TIMEOUT).expect("self-heal");
    let files = vol.compare_replicas().expect("replicas equal");
    eprintln!(
        "self-heal took {:.1} s; {files} files equal on all bricks",
        t.elapsed().as_secs_f64()
    );
    assert!(files > 0, "nothing on the bricks to compare");
}

/// A node killed (glusterd, bricks, self-heal daemon) while fio writes to a
/// replica 3 volume: fio exits 0 and verifies; after the node is back its
/// brick gets the same bytes.
fn node_killed_mid_run_replica(c: &Cluster, vol: &ClusterVolume) {
    let dir = tempdir("mn-kill");
    // ~4 s of writes at 8 MiB/s, then the verify pass.
    let a = job(&dir.0, c, vol, "kill-r3", &["--size=32m", "--rate=8m"]);
    let (mut child, started) = spawn_fio(&dir.0, &a);
    mid_run(&mut child);
    c.kill_node(2).expect("kill n2");
    assert!(c.node_pids(2).unwrap().is_empty(), "n2 has processes left");
    let r = finish(child, started);
    eprintln!(
        "n2 killed mid-run (replica 3): fio took {:.1} s, exit {:?}",
        r.secs, r.out.status
    );
    assert_verified(&dir.0, &r);
    c.start_node(2).expect("bring n2 back");
    healed_and_equal(vol);
}

#[test]
fn multinode_faults_quick() {
    let c = cluster("mq");
    let vol = volume(&c, ClusterVolumeSpec::replica(3));
    failover_glusterd_stopped(&c, &vol);
    failover_link_down(&c, &vol);
    node_killed_mid_run_replica(&c, &vol);
    vol.destroy().expect("destroy the volume");
    c.down().expect("bring the cluster down");
}

/// Disperse 4+2 over three nodes (two bricks each): a node killed mid-run
/// loses two fragments, as many as the redundancy; fio exits 0 and verifies.
/// After the node is back, self-heal rebuilds its fragments (same size and
/// version as the others); then another node is killed, and a verify-only
/// read still passes, which needs the rebuilt fragments to be right.
fn node_killed_mid_run_disperse(c: &Cluster) {
    let vol = volume(c, ClusterVolumeSpec::disperse(4, 2));
    let dir = tempdir("mn-ec");
    let a = job(&dir.0, c, &vol, "kill-ec", &["--size=32m", "--rate=8m"]);
    let (mut child, started) = spawn_fio(&dir.0, &a);
    mid_run(&mut child);
    c.kill_node(3).expect("kill n3");
    let r = finish(child, started);
    eprintln!(
        "n3 killed mid-run (disperse 4+2): fio took {:.1} s, exit {:?}",
        r.secs, r.out.status
    );
    assert_verified(&dir.0, &r);
    c.start_node(3).expect("bring n3 back");
    vol.wait_online().expect("bricks online");
    vol.wait_healed(HEAL_TIMEOUT).expect("self-heal");
    let files = vol.compare_fragments().expect("fragments agree");
    assert!(files > 0, "nothing on the bricks to compare");
    // Now lose n1: reads need n3's rebuilt fragments.
    c.kill_node(1).expect("kill n1");
    let mut v = a.clone();
    v.retain(|x| !x.starts_with("--rate"));
    v.push("--verify_only=1".into());
    let r = fio_in(&dir.0, &v);
    eprintln!(
        "verify-only with n1 down, n3 healed: fio took {:.1} s, exit {:?}",
        r.secs, r.out.status
    );
    r.assert_ok();
    assert!(!r.stdout().contains("verify: bad"), "{}", r.text());
    c.start_node(1).expect("bring n1 back");
    vol.wait_online().expect("bricks online");
    vol.destroy().expect("destroy the volume");
}

/// n3's link cut while fio writes (replica 3): the client drops n3 after its
/// ping-timeout (40% of io_timeout), the job completes and verifies; after the
/// link is back n3's brick heals to the same bytes.
fn link_cut_mid_run_replica(c: &Cluster) {
    let vol = volume(c, ClusterVolumeSpec::replica(3));
    let dir = tempdir("mn-cut");
    let a = job(&dir.0, c, &vol, "cut-r3", &["--size=32m", "--rate=8m"]);
    let (mut child, started) = spawn_fio(&dir.0, &a);
    mid_run(&mut child);
    c.link_down(3).expect("cut n3");
    let r = finish(child, started);
    c.link_up(3).expect("restore n3");
    eprintln!(
        "n3 cut off mid-run (replica 3): fio took {:.1} s, exit {:?}",
        r.secs, r.out.status
    );
    assert_verified(&dir.0, &r);
    healed_and_equal(&vol);
    vol.destroy().expect("destroy the volume");
}

/// Two of three nodes lost (`how`: killed or cut off): client quorum is gone,
/// so writes fail with a clear error within io_timeout. What was written and
/// acknowledged before (a complete earlier job) reads back intact once the
/// nodes are back.
fn quorum_lost(c: &Cluster, cut: bool) {
    let how = if cut { "cut off" } else { "killed" };
    let vol = volume(c, ClusterVolumeSpec::replica(3));
    let dir = tempdir("mn-quorum");
    let before = job(&dir.0, c, &vol, "acked", &[]);
    assert_verified(&dir.0, &fio_in(&dir.0, &before));

    let a = job(&dir.0, c, &vol, "noquorum", &["--size=64m", "--rate=8m"]);
    let (mut child, started) = spawn_fio(&dir.0, &a);
    mid_run(&mut child);
    let lost = Instant::now();
    for k in [2, 3] {
        if cut {
            c.link_down(k).expect("cut a node");
        } else {
            c.kill_node(k).expect("kill a node");
        }
    }
    let r = finish(child, started);
    let after_loss = lost.elapsed().as_secs_f64();
    eprintln!(
        "n2 and n3 {how} mid-run: fio failed after {after_loss:.1} s, exit {:?}\n{}",
        r.out.status,
        r.text()
            .lines()
            .filter(|l| l.contains("err"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(!r.ok(), "fio passed without quorum:\n{}", r.text());
    let text = r.text();
    let clear = [
        "Read-only file system",
        "Transport endpoint is not connected",
        "quorum",
    ];
    assert!(
        text.contains("glusterrs") && clear.iter().any(|w| text.contains(w)),
        "no clear error:\n{text}"
    );
    // fio's own wind-down plus its 10 s exit: allow io_timeout and slack.
    assert!(
        after_loss < (IO_TIMEOUT + 5) as f64,
        "failed {after_loss:.1} s after the loss, io_timeout={IO_TIMEOUT}"
    );
    for k in [2, 3] {
        if cut {
            c.link_up(k).expect("restore a node");
        } else {
            c.start_node(k).expect("bring a node back");
        }
    }
    vol.wait_online().expect("bricks online");
    vol.wait_healed(HEAL_TIMEOUT).expect("self-heal");
    // The failed job's writes before the failing one were acknowledged
    // (iodepth 1, sequential, direct): they must read back and verify.
    let failed_at: u64 = text
        .split("write offset=")
        .nth(1)
        .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no failing write offset in fio's output:\n{text}"));
    eprintln!("  {failed_at} bytes acknowledged before the failure; verifying them");
    if failed_at > 0 {
        let mut v = job(
            &dir.0,
            c,
            &vol,
            "noquorum",
            &[&format!("--size={failed_at}")],
        );
        v.retain(|x| x != "--rw=write");
        v.push("--rw=read".into());
        v.push("--verify_only=1".into());
        let r = fio_in(&dir.0, &v);
        r.assert_ok();
        assert!(!r.stdout().contains("verify: bad"), "{}", r.text());
    }
    let mut v = before.clone();
    v.push("--verify_only=1".into());
    v.retain(|x| x != "--rw=write");
    v.push("--rw=read".into());
    let r = fio_in(&dir.0, &v);
    r.assert_ok();
    assert!(!r.stdout().contains("verify: bad"), "{}", r.text());
    vol.compare_replicas().expect("replicas equal");
    vol.destroy().expect("destroy the volume");
}

#[test]
#[ignore = "slow (minutes): make faults / make cluster-faults"]
fn multinode_faults_slow() {
    let c = cluster("ms");
    node_killed_mid_run_disperse(&c);
    link_cut_mid_run_replica(&c);
    quorum_lost(&c, false);
    quorum_lost(&c, true);
    c.down().expect("bring the cluster down");
}
