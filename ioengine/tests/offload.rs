//! `io_submit_mode=offload`: fio 3.33 initialises the engine once per submit worker,
//! and its workqueue loses a worker that initialises faster than fio's own thread
//! marks it idle (the job then hangs). Every run here must finish, in process and
//! thread mode, and move the bytes the job asks for.

mod common;

use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Pids of `pid`'s children (fio's job processes leave the group with setsid()).
fn children(pid: u32) -> Vec<u32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Waits up to `limit`; on timeout kills fio and its job processes and returns None.
fn wait_or_kill(mut child: Child, limit: Duration) -> Option<std::process::Output> {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if child.try_wait().expect("wait").is_some() {
            return Some(child.wait_with_output().expect("output"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let kids = children(child.id());
    let _ = child.kill();
    for k in kids {
        let _ = Command::new("kill").args(["-9", &k.to_string()]).status();
    }
    let _ = child.wait();
    None
}

#[test]
fn offload_jobs_finish_in_process_and_thread_mode() {
    let vol = volume();
    let dir = tempdir("offload");
    let mut secs = Vec::new();
    for round in 0..3 {
        for thread in [false, true] {
            let name = format!("off-{round}-{}", if thread { "t" } else { "p" });
            // --name first: the engine belongs to the job section. Given before it (the
            // global section), fio 3.33's offload workers reload an external engine
            // through a path pointer into the freed global options, and fail with
            // "engine ... not loadable" before the engine is reached, whatever it is.
            let mut a = args(&[
                &format!("--name={name}"),
                &engine_arg(),
                &format!("--volume={}", vol.name()),
                "--logfile=/dev/null",
                "--rw=randread",
                "--bs=4k",
                "--size=1m",
                "--iodepth=4",
                "--io_submit_mode=offload",
                "--output-format=terse",
                "--terse-version=3",
            ]);
            if thread {
                a.push("--thread".into());
            }
            let start = Instant::now();
            let child = Command::new("fio")
                .current_dir(&dir.0)
                .args(&a)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("fio");
            let out = wait_or_kill(child, Duration::from_secs(90))
                .unwrap_or_else(|| panic!("{name}: fio hung (io_submit_mode=offload)"));
            secs.push(start.elapsed().as_secs_f64());
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.status.success(), "{name}: {:?}\n{text}", out.status);
            // Terse v3: field 6 is the read KiB.
            let line = text
                .lines()
                .find(|l| l.starts_with("3;"))
                .unwrap_or_else(|| panic!("{name}: no terse line\n{text}"));
            let read_kib: u64 = line
                .split(';')
                .nth(5)
                .and_then(|f| f.parse().ok())
                .unwrap_or(0);
            assert_eq!(read_kib, 1024, "{name}: {line}");
        }
    }
    eprintln!("offload runs took {secs:.1?} s");
}
