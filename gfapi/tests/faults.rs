// SPDX-License-Identifier: GPL-2.0-or-later
//! Fault cases for the client (issue 6): a brick that dies or hangs while
//! async I/O is in flight. Every completion must arrive (with an error), in
//! bounded time, without a panic; what was acknowledged by fsync before the
//! fault must read back intact once the brick is back.
//!
//! Run by the fault runner shared with the engine and harness suites
//! (ioengine/tests/fault_runner): each case reports what it tried and what
//! happened, and the run ends with a cases tried/passed summary.

mod common;
#[path = "../../ioengine/tests/fault_runner/mod.rs"]
mod fault_runner;

use std::time::{Duration, Instant};

use common::pattern;
use fault_runner::{Case, Log};
use gfapi::{CompletionQueue, Fs, Teardown};
use glusterrs_cluster::{Glusterd, Volume, VolumeSpec};

fn main() {
    fault_runner::main(
        "client",
        || {
            Glusterd::ensure().expect("glusterd");
        },
        || {},
        vec![
            Case::quick(
                "killed_brick_fails_inflight_io_and_keeps_fsynced_data",
                killed_brick,
            ),
            Case::quick(
                "hung_brick_fails_inflight_io_within_ping_timeout",
                hung_brick,
            ),
            Case::quick("fsync_fails_once_the_brick_is_gone", fsync_after_death),
        ],
    )
}

/// Bound for a killed brick: the kernel resets the connection at once.
const KILLED_BOUND: Duration = Duration::from_secs(10);
/// ping-timeout given to the client in the hung-brick case, and the bound
/// (ping-timeout plus one ping interval of slack) its I/O must fail within.
const PING_TIMEOUT_S: u64 = 3;
const HUNG_BOUND: Duration = Duration::from_secs(2 * PING_TIMEOUT_S + 2);

fn volume() -> Volume {
    Volume::create(VolumeSpec::new().prefix("grs-fault")).expect("create volume")
}

/// SIGCONT on drop, so a failing case never leaves a stopped brick behind
/// (the volume's teardown would hang on it).
struct Resume(u32);

impl Drop for Resume {
    fn drop(&mut self) {
        signal(self.0, libc::SIGCONT);
    }
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on a brick pid we looked up; no memory is involved.
    let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {sig}): {}",
        std::io::Error::last_os_error()
    );
}

fn brick_pid(vol: &Volume) -> u32 {
    vol.brick_pids().expect("brick status")[0].expect("brick online")
}

const BS: usize = 64 << 10;
const ACKED: usize = 4 << 20;

/// Writes ACKED bytes of pattern at offset 0 and fsyncs: the data the case
/// later expects intact.
fn write_acked(fs: &Fs) -> gfapi::File {
    let f = fs
        .create("/acked", libc::O_RDWR | libc::O_TRUNC, 0o644)
        .expect("create /acked");
    let data = pattern(ACKED, 7);
    for (i, chunk) in data.chunks(BS).enumerate() {
        f.write_at(chunk, (i * BS) as u64).expect("write");
    }
    f.fsync().expect("fsync");
    f
}

/// Keeps `depth` async writes (and an fsync every 8) in flight after
/// offset ACKED until the fault, then collects every completion. Returns
/// (time from the start of the fault to the first error, to the last
/// completion, errors, errno texts seen).
fn io_through_fault(
    f: &gfapi::File,
    depth: usize,
    fault: impl FnOnce(),
) -> (Duration, Duration, usize, Vec<String>) {
    let q: CompletionQueue<(u64, Vec<u8>)> = CompletionQueue::new();
    let q_sync: CompletionQueue<u64> = CompletionQueue::new();
    let mut off = ACKED as u64;
    let mut n = 0u64;
    let mut done = Vec::new();
    let mut sdone = Vec::new();
    // Steady state first, so the fault hits real in-flight I/O.
    let warm = Instant::now() + Duration::from_millis(500);
    while Instant::now() < warm {
        while q.in_flight() + q.ready() < depth {
            f.write_at_async(pattern(BS, off), off, &q, off)
                .expect("submit");
            off += BS as u64;
            n += 1;
            if n % 8 == 0 {
                f.fsync_async(&q_sync, n).expect("submit fsync");
            }
        }
        done.clear();
        q.wait(&mut done, 1, depth, Some(Duration::from_secs(5)));
        for c in &done {
            c.result.as_ref().expect("write before the fault");
        }
        sdone.clear();
        q_sync.wait(&mut sdone, 0, 64, Some(Duration::ZERO));
    }
    let t = Instant::now();
    fault();
    let mut first_err = None;
    let mut errors = 0;
    let mut texts: Vec<String> = Vec::new();

    // Keep submitting until the first error shows, then drain.
    let give_up = t + Duration::from_secs(120);
    loop {
        if first_err.is_none() {
            while q.in_flight() + q.ready() < depth {
                match f.write_at_async(pattern(BS, off), off, &q, off) {
                    Ok(()) => off += BS as u64,
                    Err(e) => {
                        first_err.get_or_insert(t.elapsed());
                        errors += 1;
                        texts.push(format!("submit: {e}"));
                        break;
                    }
                }
            }
        }
        done.clear();
        sdone.clear();
        q.wait(&mut done, 0, depth, Some(Duration::from_millis(50)));
        q_sync.wait(&mut sdone, 0, 64, Some(Duration::ZERO));
        for r in done
            .iter()
            .map(|c| &c.result)
            .chain(sdone.iter().map(|c| &c.result))
        {
            if let Err(e) = r {
                first_err.get_or_insert(t.elapsed());
                errors += 1;
                let s = e.to_string();
                if !texts.contains(&s) {
                    texts.push(s);
                }
            }
        }
        if first_err.is_some() && q.in_flight() == 0 && q_sync.in_flight() == 0 {
            break;
        }
        assert!(
            Instant::now() < give_up,
            "no error and no end 120 s after the fault ({} writes, {} fsyncs in flight)",
            q.in_flight(),
            q_sync.in_flight()
        );
    }
    (first_err.unwrap(), t.elapsed(), errors, texts)
}

/// After the brick is back: the file reads back what was fsynced, through a
/// fresh connection and on the brick itself.
fn check_acked(log: &mut Log, vol: &Volume) {
    let expect = pattern(ACKED, 7);
    let on_brick = std::fs::read(vol.bricks()[0].join("acked")).expect("brick file");
    assert!(
        on_brick.len() >= ACKED,
        "brick file is {} bytes",
        on_brick.len()
    );
    assert!(
        on_brick[..ACKED] == expect[..],
        "fsynced data changed on the brick"
    );
    let t = Instant::now();
    let fs = gfapi::Volume::new(vol.name()).init().expect("reconnect");
    fs.set_teardown(Teardown::SkipFini);
    let f = fs.open("/acked", libc::O_RDONLY).expect("open /acked");
    let mut buf = vec![0u8; ACKED];
    let mut got = 0;
    while got < ACKED {
        let n = f.read_at(&mut buf[got..], got as u64).expect("read back");
        assert!(n > 0, "short file");
        got += n;
    }
    assert!(
        buf == expect,
        "fsynced data differs after the brick restart"
    );
    f.close().expect("close");
    log.say(format!(
        "  {} MiB acknowledged by fsync before the fault read back intact ({:.1} s)",
        ACKED >> 20,
        t.elapsed().as_secs_f64()
    ));
}

fn killed_brick(log: &mut Log) {
    let vol = volume();
    let fs = gfapi::Volume::new(vol.name()).init().expect("init");
    fs.set_teardown(Teardown::SkipFini);
    let f = write_acked(&fs);
    let (first, last, errors, texts) = io_through_fault(&f, 16, || {
        vol.stop_brick(0).expect("kill brick");
    });
    log.say(format!(
        "client, brick SIGKILLed under 16 async writes: first error after {:.2} s, \
         all completions after {:.2} s, {errors} errors: {texts:?}",
        first.as_secs_f64(),
        last.as_secs_f64()
    ));
    assert!(last < KILLED_BOUND, "took {last:?}");
    assert!(
        texts.iter().any(|t| t.contains("not connected")),
        "{texts:?}"
    );
    let _ = f.close();
    drop(fs);
    vol.start_force().expect("restart brick");
    check_acked(log, &vol);
}

fn hung_brick(log: &mut Log) {
    let vol = volume();
    let fs = gfapi::Volume::new(vol.name())
        .xlator_option("*-client-*", "ping-timeout", PING_TIMEOUT_S.to_string())
        .init()
        .expect("init");
    fs.set_teardown(Teardown::SkipFini);
    let f = write_acked(&fs);
    let pid = brick_pid(&vol);
    let mut resume = None;
    let (first, last, errors, texts) = io_through_fault(&f, 16, || {
        signal(pid, libc::SIGSTOP);
        resume = Some(Resume(pid));
    });
    log.say(format!(
        "client, brick SIGSTOPped under 16 async writes, ping-timeout={PING_TIMEOUT_S}: \
         first error after {:.2} s, all completions after {:.2} s, {errors} errors: {texts:?}",
        first.as_secs_f64(),
        last.as_secs_f64()
    ));
    drop(resume);
    assert!(last < HUNG_BOUND, "took {last:?} (bound {HUNG_BOUND:?})");
    assert!(
        texts.iter().any(|t| t.contains("not connected")),
        "{texts:?}"
    );
    // The same connection recovers once the brick answers again.
    let t = Instant::now();
    loop {
        let mut b = vec![0u8; BS];
        match f.read_at(&mut b, 0) {
            Ok(_) => break,
            Err(e) if t.elapsed() < Duration::from_secs(30) => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("no recovery 30 s after SIGCONT: {e}"),
        }
    }
    log.say(format!(
        "  the connection recovered {:.1} s after SIGCONT",
        t.elapsed().as_secs_f64()
    ));
    let _ = f.close();
    drop(fs);
    check_acked(log, &vol);
}

/// Writes after the brick died may still be acknowledged (write-behind
/// caches them), but an fsync must then fail, sync or async: what fsync
/// acknowledged is the only promise a writer gets.
fn fsync_after_death(log: &mut Log) {
    let vol = volume();
    let fs = gfapi::Volume::new(vol.name()).init().expect("init");
    fs.set_teardown(Teardown::SkipFini);
    let f = write_acked(&fs);
    vol.stop_brick(0).expect("kill brick");
    let q: CompletionQueue<(u64, Vec<u8>)> = CompletionQueue::new();
    let qs: CompletionQueue<u64> = CompletionQueue::new();
    let (mut done, mut sdone) = (Vec::new(), Vec::new());
    let mut acked_writes = 0;
    for i in 0..4u64 {
        let t = Instant::now();
        f.write_at_async(pattern(BS, i), ACKED as u64 + i * BS as u64, &q, i)
            .expect("submit write");
        done.clear();
        assert_eq!(
            q.wait(&mut done, 1, 1, Some(KILLED_BOUND)),
            1,
            "write hangs"
        );
        acked_writes += usize::from(done[0].result.is_ok());
        f.fsync_async(&qs, i).expect("submit fsync");
        sdone.clear();
        assert_eq!(
            qs.wait(&mut sdone, 1, 1, Some(KILLED_BOUND)),
            1,
            "fsync hangs"
        );
        let r = &sdone[0].result;
        assert!(r.is_err(), "async fsync {i} succeeded with the brick gone");
        let e = f
            .fsync()
            .expect_err("sync fsync succeeded with the brick gone");
        log.say(format!(
            "client, brick gone: write {i} {}, async fsync: {}, fsync: {e} ({:.2} s)",
            if done[0].result.is_ok() {
                "acknowledged (write-behind)"
            } else {
                "failed"
            },
            r.as_ref().unwrap_err(),
            t.elapsed().as_secs_f64()
        ));
    }
    log.say(format!(
        "  {acked_writes} of 4 writes acknowledged; every fsync failed"
    ));
    let _ = f.close();
}
