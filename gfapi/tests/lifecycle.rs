// SPDX-License-Identifier: GPL-2.0-or-later
//! 200 init/teardown cycles must leave the process's fd and thread counts
//! flat. This binary holds only this test so nothing else skews the counts.

mod common;

use common::{fd_count, thread_count, TestVolume};
use gfapi::{Teardown, Volume};
use std::time::{Duration, Instant};

const CYCLES: usize = 200;

/// One full client lifetime: init, a little I/O, drop with Background
/// teardown (glfs_fini runs on a helper thread, ~10 s each on GlusterFS 10).
fn cycle(vol: &str, i: usize) {
    let fs = Volume::new(vol)
        .init()
        .unwrap_or_else(|e| panic!("cycle {i}: {e}"));
    fs.set_teardown(Teardown::Background);
    if i % 10 == 0 {
        let f = fs
            .create(format!("/c{i}"), libc::O_RDWR | libc::O_TRUNC, 0o644)
            .unwrap();
        f.write_at(b"cycle", 0).unwrap();
        let mut b = [0u8; 5];
        assert_eq!(f.read_at(&mut b, 0).unwrap(), 5);
        f.close().unwrap();
    } else {
        assert!(fs.stat("/").unwrap().is_dir());
    }
}

/// (fds, threads) once they have stopped changing for 300 ms (at most 5 s):
/// teardown threads that have reported completion may still be exiting.
fn stable_counts() -> (usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = (fd_count(), thread_count());
    let mut since = Instant::now();
    while Instant::now() < deadline && since.elapsed() < Duration::from_millis(300) {
        std::thread::sleep(Duration::from_millis(25));
        let now = (fd_count(), thread_count());
        if now != last {
            last = now;
            since = Instant::now();
        }
    }
    last
}

fn rss_kib() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn init_teardown_cycles_leave_fds_and_threads_flat() {
    let vol = TestVolume::create("cycles");

    // Warm-up: the first instance in a process leaves libglusterfs' global
    // state behind (measured: +1 fd, +2 threads, never growing after that).
    cycle(vol.name(), 0);
    assert!(gfapi::wait_background_teardowns(Duration::from_secs(60)));
    let (fd0, th0) = stable_counts();
    let rss0 = rss_kib();

    let t = Instant::now();
    let mut peak_threads = 0;
    let mut peak_fds = 0;
    for i in 1..=CYCLES {
        cycle(vol.name(), i);
        peak_threads = peak_threads.max(thread_count());
        peak_fds = peak_fds.max(fd_count());
    }
    let init_loop = t.elapsed();
    assert!(
        gfapi::wait_background_teardowns(Duration::from_secs(120)),
        "{} background teardowns still running",
        gfapi::background_teardowns()
    );
    let total = t.elapsed();
    let (fd1, th1) = stable_counts();
    eprintln!(
        "{CYCLES} cycles: init+io loop {init_loop:?}, all teardowns done after {total:?}; \
         fds {fd0} -> peak {peak_fds} -> {fd1}; threads {th0} -> peak {peak_threads} -> {th1}; \
         RSS {rss0} KiB -> {} KiB",
        rss_kib()
    );
    assert_eq!(fd1, fd0, "fd count not flat");
    assert_eq!(th1, th0, "thread count not flat");
}
