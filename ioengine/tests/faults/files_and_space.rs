// SPDX-License-Identifier: GPL-2.0-or-later
//! Missing files, permission denied and a full brick (once, and over many
//! rounds of sequential writes).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::common::{args, brick, tempdir};
use crate::fault_runner::{Case, Log};
use crate::fio::*;
use crate::volumes::*;
use crate::FAST;

/// Files, permissions, space.
pub fn cases() -> Vec<Case> {
    vec![
        Case::quick("read_job_nonexistent_file", read_missing_file),
        Case::quick("permission_denied", permission_denied),
        Case::quick("disk_full_on_the_brick", disk_full),
        Case::quick(
            "disk_full_30_rounds_of_sequential_writes",
            disk_full_30_rounds,
        ),
        Case::long(
            "disk_full_150_rounds_of_sequential_writes",
            disk_full_150_rounds,
        ),
    ]
}

fn read_missing_file(log: &mut Log) {
    let vol = volume();
    let dir = tempdir("fault-nofile");
    log.say("tried: read jobs on a file that does not exist on the volume");
    for (what, extra, needles) in [
        (
            "readonly=1",
            vec!["--readonly"],
            vec!["No such file", "nofile.0.0"],
        ),
        (
            "allow_file_create=0",
            vec!["--allow_file_create=0"],
            vec!["creation disallowed", "nofile.0.0"],
        ),
        (
            "filename= in a directory that does not exist, readonly=1",
            vec!["--filename=no/such/dir/f", "--readonly"],
            vec!["No such file", "no/such/dir/f"],
        ),
    ] {
        let mut a = on(
            &vol,
            &["--name=nofile", "--rw=read", "--bs=4k", "--size=64k"],
        );
        a.extend(args(&extra));
        let r = run_fio(&dir.0, &a);
        expect_failure(log, what, &r, &dir.0, FAST, &needles);
    }
}

fn permission_denied(log: &mut Log) {
    let vol = volume();
    let dir = tempdir("fault-perm");
    fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o755)).unwrap();
    log.say("tried: fio as user nobody on a volume whose root directory is root's (0755)");
    let denied = ["--name=denied", "--rw=write", "--bs=4k", "--size=64k"];
    let r = spawn_on(&vol, &dir.0, As::Nobody, &denied).wait(Duration::from_secs(60));
    expect_failure(
        log,
        "create a file",
        &r,
        &dir.0,
        FAST,
        &["Permission denied", "denied.0.0"],
    );
    // A root-only file: with gluster's default open-behind an O_RDONLY open
    // is not sent to the brick (and reads go through anonymous fds), so the
    // permission check needs it off.
    layout(&vol, &dir.0, "secret", "64k");
    let f = brick(&vol).join("secret.0.0");
    fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
    let mut vol = vol;
    vol.set_option("performance.open-behind", "off")
        .expect("open-behind off");
    // Let the graph change settle: root reads the file once.
    let secret = ["--name=secret", "--rw=read", "--bs=4k", "--size=64k"];
    let r = run_on(&vol, &dir.0, &secret);
    assert!(r.ok(), "root cannot read the file: {}", r.tail());
    log.say("tried: fio as nobody reads a file of mode 0600 owned by root (open-behind off)");
    let r = spawn_on(&vol, &dir.0, As::Nobody, &secret).wait(Duration::from_secs(60));
    expect_failure(
        log,
        "open for reading",
        &r,
        &dir.0,
        FAST,
        &["Permission denied", "secret.0.0"],
    );
}

fn disk_full(log: &mut Log) {
    let vol = tmpfs_volume("8m");
    let dir = tempdir("fault-full");
    log.say("tried: 32 MiB jobs on a volume whose brick is an 8 MiB tmpfs");
    for (what, name, rw, sync) in [
        ("write job", "fullw", "write", false),
        ("read job (laying out its file)", "fullr", "read", false),
        ("write job, io_mode=sync", "fulls", "write", true),
    ] {
        let mut job = vec![
            format!("--name={name}"),
            format!("--rw={rw}"),
            "--bs=64k".into(),
            "--size=32m".into(),
        ];
        let file = format!("{name}.0.0");
        let mut needles = vec!["No space left on device"];
        if sync {
            job.push("--io_mode=sync".into());
        } else {
            needles.push(&file);
        }
        let job: Vec<&str> = job.iter().map(String::as_str).collect();
        let r = run_on(&vol, &dir.0, &job);
        expect_failure(log, what, &r, &dir.0, FAST, &needles);
    }
}

fn disk_full_30_rounds(log: &mut Log) {
    disk_full_rounds(log, 30);
}

fn disk_full_150_rounds(log: &mut Log) {
    disk_full_rounds(log, 150);
}

/// The same job many times on one full brick. GlusterFS 10.3's
/// write-behind overran its heap after a short write at the disk's end;
/// before the engine turned write aggregation off, one run in 20-50 died
/// by SIGSEGV/SIGABRT (one in 5-15 with storage.reserve 0), so one run
/// proves little. Each round unlinks the previous round's file while
/// laying out its own, so the brick fills up again every time.
/// storage.reserve 0: with the default 1 % the brick refuses creates for
/// up to 5 s after it filled (its space check runs every 5 s), and the
/// next round would find it "full".
fn disk_full_rounds(log: &mut Log, rounds: usize) {
    let vol = tmpfs_volume_with("8m", &[("storage.reserve", "0")]);
    let dir = tempdir("fault-full-rounds");
    log.say(format!(
        "tried: {rounds} x a 32 MiB sequential write job (64 KiB, async, iodepth 1) \
         on one volume whose brick is an 8 MiB tmpfs (storage.reserve 0)"
    ));
    // write_aggregation=auto leaves a job that fits alone...
    let fits = run_on(
        &vol,
        &dir.0,
        &[
            "--name=fits",
            "--rw=write",
            "--bs=64k",
            "--size=1m",
            "--unlink=1",
        ],
    );
    expect_success(log, "a 1 MiB write job (fits)", &fits, &dir.0);
    assert!(
        !fits.text().contains("aggregation off"),
        "write_aggregation=auto turned aggregation off for a job that fits\n{}",
        fits.tail()
    );
    let job = ["--name=rounds", "--rw=write", "--bs=64k", "--size=32m"];
    let mut slowest = 0.0f64;
    for round in 1..=rounds {
        let r = run_on(&vol, &dir.0, &job);
        assert_no_crash(&r, &dir.0);
        // ...and says when it turns aggregation off for one that does not.
        assert!(
            r.text().contains("write-behind aggregation off"),
            "round {round}: no word of write_aggregation=auto\n{}",
            r.tail()
        );
        assert!(!r.ok(), "round {round}: fio succeeded\n{}", r.tail());
        let text = r.text();
        assert!(
            text.contains("No space left on device"),
            "round {round}: no ENOSPC in the output\n{}",
            r.tail()
        );
        // The writes must have filled the brick, not found it full.
        assert!(
            !text.contains("func=prepopulate_file"),
            "round {round}: the brick was full before the job wrote\n{}",
            r.tail()
        );
        assert!(
            r.secs <= FAST,
            "round {round}: took {:.2} s (promise: {FAST} s)\n{}",
            r.secs,
            r.tail()
        );
        slowest = slowest.max(r.secs);
    }
    log.say(format!(
        "{rounds} rounds: each exited non-zero naming ENOSPC, none crashed, \
         slowest {slowest:.2} s"
    ));
    log.check();
}
