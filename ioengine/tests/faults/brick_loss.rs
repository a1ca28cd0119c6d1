// SPDX-License-Identifier: GPL-2.0-or-later
//! A brick dies (SIGKILL) or hangs (SIGSTOP) mid-run: fsynced data survives,
//! fio ends within the promised bound and names the cause.

use std::fs;
use std::time::{Duration, Instant};

use crate::common::{args, brick, tempdir};
use crate::fault_runner::{poll, Case, Log};
use crate::fio::*;
use crate::volumes::*;
use crate::{MIB, NETWORK};

/// A brick dies or hangs mid-run.
pub fn cases() -> Vec<Case> {
    vec![
        Case::quick(
            "brick_killed_mid_write_keeps_fsynced_data",
            brick_killed_write,
        ),
        Case::quick("brick_killed_mid_read", brick_killed_read),
        Case::quick(
            "brick_killed_mid_stream_3_rounds",
            brick_killed_stream_quick,
        ),
        Case::long(
            "brick_killed_mid_stream_12_rounds",
            brick_killed_stream_long,
        ),
        Case::quick(
            "brick_hung_mid_write_default_timeout",
            brick_hung_write_default,
        ),
        Case::quick(
            "brick_hung_mid_read_io_timeout_4",
            brick_hung_read_timeout_4,
        ),
        Case::long(
            "brick_killed_sync_mode_keeps_fsynced_data",
            brick_killed_write_sync,
        ),
        Case::long(
            "brick_killed_under_shared_thread_jobs",
            brick_killed_thread_jobs,
        ),
        Case::long(
            "brick_hung_mid_write_io_timeout_0_is_gluster_default",
            brick_hung_timeout_0,
        ),
    ]
}

/// Sequential 64 KiB writes with an fsync after each (iodepth 1), brick
/// SIGKILLed once 4 MiB reached it; then the brick restarts and everything
/// fsync acknowledged must verify.
fn kill_during_acked_writes(log: &mut Log, mode: &str) {
    let vol = volume();
    let dir = tempdir("fault-kw");
    let bs = 64 * 1024;
    let job = [
        "--name=acked",
        "--rw=write",
        "--bs=64k",
        "--iodepth=1",
        "--verify=crc32c",
        "--fallocate=none",
    ];
    let mut a = on(&vol, &job);
    a.extend(args(&[
        "--size=2g",
        "--fsync=1",
        "--do_verify=0",
        "--output-format=json",
        "--output=out.json",
        &format!("--io_mode={mode}"),
    ]));
    log.say(format!(
        "tried: {mode} sequential 64 KiB writes, fsync after each, brick SIGKILLed at >= 4 MiB"
    ));
    let mut fio = spawn(&dir.0, true, As::Root, &a);
    let f = brick(&vol).join("acked.0.0");
    let reached = poll(Duration::from_secs(60), || {
        (file_size(&f) >= 4 * MIB || !fio.running()).then_some(())
    });
    assert!(reached.is_some() && fio.running(), "fio did not get going");
    let t = Instant::now();
    vol.stop_brick(0).expect("kill brick");
    log.say(format!(
        "brick killed {:.2} s after it held 4 MiB",
        t.elapsed().as_secs_f64()
    ));
    let r = fio.wait_since(t, Duration::from_secs(60));
    expect_failure(
        log,
        "fio",
        &r,
        &dir.0,
        NETWORK,
        &["not connected|Input/output error", "acked.0.0"],
    );
    let json = fs::read_to_string(dir.0.join("out.json")).unwrap_or_default();
    let written = json_u64(&json, "write", "io_bytes").expect("write io_bytes in fio's JSON");
    // The last write may not have been followed by a successful fsync.
    let acked = written.saturating_sub(bs) / bs * bs;
    log.say(format!(
        "fio completed {} KiB of writes: {} KiB acknowledged by fsync",
        written >> 10,
        acked >> 10
    ));
    assert!(acked >= 2 * MIB, "only {acked} bytes acknowledged");
    let t = Instant::now();
    vol.start_force().expect("restart brick");
    log.say(format!(
        "brick restarted in {:.1} s",
        t.elapsed().as_secs_f64()
    ));
    let mut v = on(&vol, &job);
    v.extend(args(&[
        &format!("--size={acked}"),
        "--verify_only=1",
        "--verify_fatal=1",
    ]));
    let r = run_fio(&dir.0, &v);
    expect_success(log, "crc32c verify of the acknowledged bytes", &r, &dir.0);
    assert!(!r.text().contains("verify: bad"), "{}", r.tail());
    assert!(
        json_u64(&r.stdout, "read", "io_bytes").is_none() || !r.stdout.contains("io=0B"),
        "verify read nothing"
    );
}

/// Streaming 64 KiB writes (iodepth 4, no fsync) when the brick dies: the
/// case that killed the job with SIGPIPE (and crashed fio's parent while it
/// reaped the job) before the engine ignored SIGPIPE. Kills land at random
/// points of the stream, so it takes a few rounds.
fn kill_stream(log: &mut Log, rounds: usize) {
    let vol = volume();
    let dir = tempdir("fault-ks");
    log.say(format!(
        "tried: {rounds} rounds of 64 KiB writes at iodepth 4 (no fsync), brick SIGKILLed \
         0.5-1.5 s in, restarted between rounds"
    ));
    for round in 0..rounds {
        if round > 0 {
            vol.start_force().expect("restart brick");
        }
        let mut fio = spawn_on(
            &vol,
            &dir.0,
            As::Root,
            &[
                "--name=stream",
                "--rw=write",
                "--bs=64k",
                "--iodepth=4",
                "--size=256m",
                "--fallocate=none",
                "--time_based",
                "--runtime=120",
            ],
        );
        let f = brick(&vol).join("stream.0.0");
        let got = poll(Duration::from_secs(30), || {
            (file_size(&f) >= MIB || !fio.running()).then_some(())
        });
        assert!(got.is_some() && fio.running(), "fio did not get going");
        std::thread::sleep(Duration::from_millis(500 + 250 * (round as u64 % 5)));
        let r = kill_brick_under(&vol, fio);
        expect_failure(
            log,
            &format!("round {}", round + 1),
            &r,
            &dir.0,
            NETWORK,
            &["not connected|Input/output error|Broken pipe", "stream.0.0"],
        );
    }
}

fn brick_killed_stream_quick(log: &mut Log) {
    kill_stream(log, 3);
}

fn brick_killed_stream_long(log: &mut Log) {
    kill_stream(log, 12);
}

fn brick_killed_write(log: &mut Log) {
    kill_during_acked_writes(log, "async");
}

fn brick_killed_write_sync(log: &mut Log) {
    kill_during_acked_writes(log, "sync");
}

fn brick_killed_read(log: &mut Log) {
    let vol = volume();
    let dir = tempdir("fault-kr");
    layout(&vol, &dir.0, "rd", "32m");
    log.say("tried: 4 KiB random reads at iodepth 16 (time_based), brick SIGKILLed after 1 s");
    let r = kill_brick_after(
        &vol,
        &dir.0,
        &[
            "--name=rd",
            "--rw=randread",
            "--bs=4k",
            "--size=32m",
            "--iodepth=16",
            "--time_based",
            "--runtime=120",
        ],
        Duration::from_secs(1),
    );
    expect_failure(
        log,
        "fio",
        &r,
        &dir.0,
        NETWORK,
        &["not connected", "rd.0.0"],
    );
}

/// A brick SIGSTOPped mid-run (a hung server: connections stay up): pending
/// I/O must fail within the bound.
fn hang_mid_run(log: &mut Log, rw: &str, timeout: Option<u32>, bound: f64) {
    let vol = volume();
    let dir = tempdir("fault-hang");
    if rw.contains("read") {
        layout(&vol, &dir.0, "hang", "32m");
    }
    let mut a = on(
        &vol,
        &[
            "--name=hang",
            &format!("--rw={rw}"),
            "--bs=4k",
            "--size=32m",
            "--iodepth=8",
            "--time_based",
            "--runtime=300",
        ],
    );
    if let Some(t) = timeout {
        a.push(format!("--io_timeout={t}"));
    }
    log.say(format!(
        "tried: {rw} 4 KiB at iodepth 8, {}, brick SIGSTOPped after 1 s",
        timeout.map_or("default io_timeout".to_string(), |t| format!(
            "io_timeout={t}"
        ))
    ));
    let mut fio = spawn(&dir.0, true, As::Root, &a);
    std::thread::sleep(Duration::from_secs(1));
    assert!(fio.running(), "fio ended early");
    let pid = brick_pid(&vol);
    let t = Instant::now();
    let resume = stop_process(pid);
    let r = fio.wait_since(t, Duration::from_secs(200));
    drop(resume);
    expect_failure(
        log,
        "fio",
        &r,
        &dir.0,
        bound,
        &["not connected", "hang.0.0"],
    );
}

fn brick_hung_write_default(log: &mut Log) {
    hang_mid_run(log, "randwrite", None, NETWORK);
}

fn brick_hung_read_timeout_4(log: &mut Log) {
    hang_mid_run(log, "randread", Some(4), 4.0 + 1.0);
}

fn brick_hung_timeout_0(log: &mut Log) {
    // io_timeout=0 keeps gluster's 42 s ping-timeout: still bounded.
    hang_mid_run(log, "randwrite", Some(0), 2.0 * 42.0 + 5.0);
}

fn brick_killed_thread_jobs(log: &mut Log) {
    let vol = volume();
    let dir = tempdir("fault-kt");
    log.say("tried: 4 thread jobs on one shared connection (randrw), brick SIGKILLed after 2 s");
    let r = kill_brick_after(
        &vol,
        &dir.0,
        &[
            "--name=kt",
            "--rw=randrw",
            "--bs=16k",
            "--size=16m",
            "--iodepth=8",
            "--numjobs=4",
            "--thread",
            "--time_based",
            "--runtime=120",
        ],
        Duration::from_secs(2),
    );
    expect_failure(log, "fio", &r, &dir.0, NETWORK, &["not connected"]);
    let failed_jobs = r
        .stdout
        .lines()
        .filter(|l| l.contains("groupid=") && l.contains("err=107"))
        .count();
    log.say(format!("{failed_jobs} of 4 jobs report err=107 (ENOTCONN)"));
    assert_eq!(failed_jobs, 4, "{}", r.tail());
}
