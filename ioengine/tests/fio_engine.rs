//! The engine under the real fio 3.33 against real volumes.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;

fn vol_args(vol: &Volume) -> Vec<String> {
    args(&[&format!("--volume={}", vol.name()), "--logfile=/dev/null"])
}

/// Write+verify (crc32c) for seq/random, bs 4k/128k, iodepth 1/32, two jobs,
/// in process and thread mode; then a separate verify-only read pass.
#[test]
fn verify_matrix_process_and_thread() {
    let vol = volume();
    let dir = tempdir("matrix");
    let mut total = 0.0;
    for thread in [false, true] {
        for rw in ["write", "randwrite"] {
            for bs in ["4k", "128k"] {
                for depth in ["1", "32"] {
                    let name = format!("m-{}-{rw}-{bs}-{depth}", if thread { "t" } else { "p" });
                    let mut a = vol_args(&vol);
                    a.extend(args(&[
                        &format!("--name={name}"),
                        &format!("--rw={rw}"),
                        &format!("--bs={bs}"),
                        &format!("--iodepth={depth}"),
                        "--size=1m",
                        "--numjobs=2",
                        "--verify=crc32c",
                        "--do_verify=1",
                        "--verify_fatal=1",
                        "--direct=1",
                    ]));
                    if thread {
                        a.push("--thread".into());
                    }
                    let r = fio(&dir.0, &a);
                    r.assert_ok();
                    total += r.secs;
                    // A separate read pass verifies what the write pass left.
                    let read_rw = if rw == "write" { "read" } else { "randread" };
                    let mut v = a.clone();
                    v.retain(|x| !x.starts_with("--rw="));
                    v.push(format!("--rw={read_rw}"));
                    v.push("--verify_only=1".into());
                    let r = fio(&dir.0, &v);
                    r.assert_ok();
                    assert!(
                        !r.stdout().contains("verify: bad"),
                        "verify failed:\n{}",
                        r.text()
                    );
                    total += r.secs;
                    for job in 0..2 {
                        let f = brick(&vol).join(format!("{name}.{job}.0"));
                        assert_eq!(
                            fs::metadata(&f).map(|m| m.len()).unwrap_or(0),
                            1 << 20,
                            "{}",
                            f.display()
                        );
                    }
                }
            }
        }
    }
    eprintln!("32 fio runs took {total:.1} s");
}

/// Async and sync mode, reads of files the engine lays out itself.
#[test]
fn read_jobs_lay_out_files_and_sync_mode() {
    let vol = volume();
    let dir = tempdir("read");
    for (mode, thread) in [("async", false), ("sync", false), ("async", true)] {
        let name = format!("rd-{mode}-{thread}");
        let mut a = vol_args(&vol);
        a.extend(args(&[
            &format!("--name={name}"),
            "--rw=randread",
            "--bs=4k",
            "--iodepth=16",
            "--size=2m",
            "--nrfiles=3",
            "--openfiles=2",
            "--filename_format=$jobname/f.$filenum",
            &format!("--io_mode={mode}"),
        ]));
        if thread {
            a.push("--thread".into());
        }
        let r = fio(&dir.0, &a);
        r.assert_ok();
        // 2 MiB over 3 files: fio's own rounding gives 699k-ish files.
        let d = brick(&vol).join(&name);
        let files: Vec<_> = fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", d.display(), r.text()))
            .collect();
        assert_eq!(files.len(), 3, "{}", r.text());
        assert!(r.stdout().contains("Laying out IO file"), "{}", r.text());
    }
}

/// Bytes written through the engine read back identical through FUSE.
#[test]
fn fuse_mount_reads_what_the_engine_wrote() {
    let vol = volume();
    let dir = tempdir("fuse");
    let mut a = vol_args(&vol);
    a.extend(args(&[
        "--name=fz",
        "--rw=randwrite",
        "--bs=64k",
        "--iodepth=8",
        "--size=2m",
        "--verify=crc32c",
        "--do_verify=0",
        "--randrepeat=1",
    ]));
    fio(&dir.0, &a).assert_ok();
    let mnt = vol.mount_fuse().expect("fuse mount");
    let fuse_file = mnt.path().join("fz.0.0");
    let through_fuse = fs::read(&fuse_file).expect("read through FUSE");
    let on_brick = fs::read(brick(&vol).join("fz.0.0")).expect("read brick file");
    assert_eq!(through_fuse.len(), 2 << 20);
    assert!(through_fuse == on_brick, "FUSE and brick contents differ");
    // fio's own verifier checks every block's crc32c through the mount.
    let r = fio_plain(
        mnt.path(),
        &args(&[
            "--name=fz",
            "--ioengine=psync",
            "--rw=randread",
            "--bs=64k",
            "--size=2m",
            "--verify=crc32c",
            "--verify_only=1",
            "--verify_fatal=1",
            "--randrepeat=1",
        ]),
    );
    r.assert_ok();
    drop(mnt);
}

fn profile_info(vol: &Volume) -> String {
    let out = Command::new("gluster")
        .args(["--mode=script", "volume", "profile", vol.name(), "info"])
        .output()
        .expect("gluster profile info");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The fop counts of `fop` in `gluster volume profile info` (cumulative).
fn fop_calls(info: &str, fop: &str) -> u64 {
    // Lines look like: " 0.52  12.00 us  10.00 us  15.00 us   4   FSYNC"
    info.lines()
        .filter(|l| l.split_whitespace().last() == Some(fop))
        .filter_map(|l| {
            let w: Vec<_> = l.split_whitespace().collect();
            w.get(w.len().wrapping_sub(2))?.parse::<u64>().ok()
        })
        .max()
        .unwrap_or(0)
}

/// Trim punches holes, fsync/fdatasync reach the brick, unlink=1 removes.
#[test]
fn trim_fsync_unlink_reach_the_brick() {
    let vol = volume();
    let dir = tempdir("trim");
    let b = brick(&vol);
    let _ = Command::new("gluster")
        .args(["--mode=script", "volume", "profile", vol.name(), "start"])
        .output();

    // A fully written 4 MiB file, then trim all of it.
    let mut a = vol_args(&vol);
    a.extend(args(&[
        "--name=tr",
        "--rw=write",
        "--bs=128k",
        "--size=4m",
        "--fallocate=none",
        "--fsync=4",
    ]));
    fio(&dir.0, &a).assert_ok();
    let f = b.join("tr.0.0");
    let before = fs::metadata(&f).expect("brick file").blocks();
    assert!(before * 512 >= 4 << 20, "blocks before trim: {before}");
    let info = profile_info(&vol);
    let fsyncs = fop_calls(&info, "FSYNC");
    assert!(fsyncs >= 4, "fsync=4 did not reach the brick:\n{info}");
    // fdatasync arrives as FSYNC (datasync flag) on the brick.
    let mut d = a.clone();
    d.retain(|x| x != "--fsync=4");
    d.push("--fdatasync=4".into());
    d.push("--overwrite=1".into());
    fio(&dir.0, &d).assert_ok();
    let info = profile_info(&vol);
    assert!(
        fop_calls(&info, "FSYNC") >= fsyncs + 4,
        "fdatasync=4 did not reach the brick ({fsyncs} before):\n{info}"
    );

    let mut t = vol_args(&vol);
    t.extend(args(&[
        "--name=tr",
        "--rw=trim",
        "--bs=128k",
        "--size=4m",
        "--iodepth=8",
    ]));
    fio(&dir.0, &t).assert_ok();
    let after = fs::metadata(&f).expect("brick file").blocks();
    assert!(
        after * 512 <= 1 << 20,
        "trim did not punch holes: {before} -> {after} blocks"
    );
    assert_eq!(
        fs::metadata(&f).unwrap().len(),
        4 << 20,
        "trim changed the size"
    );

    // unlink=1 removes the job's file at the end.
    let mut u = vol_args(&vol);
    u.extend(args(&[
        "--name=ul",
        "--rw=write",
        "--bs=64k",
        "--size=1m",
        "--unlink=1",
    ]));
    let r = fio(&dir.0, &u);
    r.assert_ok();
    assert!(!b.join("ul.0.0").exists(), "unlink=1 left the file");
    let _ = Command::new("gluster")
        .args(["--mode=script", "volume", "profile", vol.name(), "stop"])
        .output();
}

#[test]
fn enghelp_lists_the_options() {
    let out = Command::new("fio")
        .arg(format!("--enghelp={}", engine_so().display()))
        .output()
        .expect("fio --enghelp");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for opt in ENGINE_OPTIONS {
        assert!(
            text.lines()
                .any(|l| l.starts_with(opt) && l.contains(':') && l.len() > opt.len() + 10),
            "{opt} missing or without help:\n{text}"
        );
    }
}

/// Bad input fails fast with a clear message and a non-zero exit status.
#[test]
fn bad_input_fails_fast() {
    Glusterd::ensure().expect("glusterd");
    let dir = tempdir("bad");
    let base = ["--name=bad", "--rw=write", "--bs=4k", "--size=1m"];
    let cases: &[(&[&str], &str)] = &[
        (&["--volume=grsio-no-such-volume"], "not found"),
        (&["--volume=x", "--brick=127.0.0.1:1"], "cannot reach"),
        (&["--volfile=/nonexistent/grsio.vol"], "cannot read volfile"),
        (&[], "no volume given"),
        (&["--volume=x", "--transport=carrier-pigeon"], "transport"),
        (&["--volume=x", "--io_mode=maybe"], "io_mode"),
        (&["--volume=x", "--port=70000"], "port"),
        (&["--volume=x", "--brick=host:notaport"], "bad port"),
        (&["--filename=gluster://h/onlyvolume"], "missing file path"),
    ];
    for (extra, msg) in cases {
        let mut a = args(&base);
        a.extend(args(extra));
        let r = fio(&dir.0, &a);
        assert!(!r.ok(), "{extra:?} succeeded:\n{}", r.text());
        assert!(
            r.text().contains(msg),
            "{extra:?}: expected '{msg}' in:\n{}",
            r.text()
        );
        assert!(r.secs < 10.0, "{extra:?} took {:.1} s", r.secs);
    }
}

/// gluster:// file names (fio splits them at ':'; the engine rejoins them).
#[test]
fn gluster_urls_as_file_names() {
    let vol = volume();
    let dir = tempdir("url");
    let port = vol.server_port();
    let files = format!(
        "gluster://localhost:{port}/{v}/u/a:gluster:///{v}/b",
        v = vol.name()
    );
    let a = args(&[
        "--name=url",
        &format!("--filename={files}"),
        "--rw=write",
        "--bs=64k",
        "--size=2m",
        "--verify=crc32c",
        "--logfile=/dev/null",
    ]);
    fio(&dir.0, &a).assert_ok();
    let b = brick(&vol);
    assert_eq!(fs::metadata(b.join("u/a")).unwrap().len(), 1 << 20);
    assert_eq!(fs::metadata(b.join("b")).unwrap().len(), 1 << 20);
}

/// The seed job runs through the engine (at a small size; the full 512m run
/// is `cargo test -- --ignored seq_read_seed_job_full_size`).
#[test]
fn seq_read_seed_job_small() {
    run_seed_job(Some("8m"));
}

#[test]
#[ignore = "lays out and reads 4 x 512 MiB; run by hand"]
fn seq_read_seed_job_full_size() {
    run_seed_job(None);
}

fn run_seed_job(size: Option<&str>) {
    let vol = volume();
    let dir = tempdir("seed");
    let job = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../jobs/seq-read.fio"))
        .expect("jobs/seq-read.fio");
    assert!(!job.contains("ioengine") && !job.contains("volume"));
    let job = match size {
        Some(s) => job.replace("size=512m", &format!("size={s}")),
        None => job,
    };
    let path = dir.0.join("seq-read.fio");
    fs::write(&path, job).unwrap();
    let mut a = vol_args(&vol);
    a.push(path.display().to_string());
    let r = fio(&dir.0, &a);
    r.assert_ok();
    for (i, depth) in [(1, 4), (2, 32), (3, 8), (4, 16)] {
        assert!(
            r.stdout()
                .contains(&format!("file{i}: (g=0): rw=read, bs=(R) 128KiB-128KiB")),
            "{}",
            r.text()
        );
        assert!(r.stdout().contains(&format!("iodepth={depth}")));
    }
    eprintln!("seed job ({size:?}) took {:.1} s", r.secs);
    let _ = wait_until(Duration::from_secs(1), || true);
}

/// volfile= (custom client graph straight to the brick), transport=unix,
/// create_serialize=0 and single-instance=0 (thread mode).
#[test]
fn volfile_unix_socket_and_job_modes() {
    let vol = volume();
    let dir = tempdir("modes");
    let port = vol
        .brick_port(0)
        .expect("brick status")
        .expect("brick online");
    let graph = glusterrs_cluster::client_volfile(
        vol.name(),
        vol.brick_host(),
        Some(port),
        &brick(&vol),
        glusterrs_cluster::Transport::Tcp,
    )
    .expect("client volfile");
    let volfile = dir.0.join("client.vol");
    fs::write(&volfile, graph).unwrap();
    let base = [
        "--rw=randwrite",
        "--bs=16k",
        "--size=1m",
        "--iodepth=8",
        "--numjobs=2",
        "--verify=crc32c",
        "--logfile=/dev/null",
    ];
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("vf", vec![format!("--volfile={}", volfile.display())]),
        (
            "ux",
            vec![
                format!("--volume={}", vol.name()),
                "--transport=unix".into(),
                "--brick=/var/run/glusterd.socket".into(),
            ],
        ),
        (
            "cs0",
            vec![
                format!("--volume={}", vol.name()),
                "--create_serialize=0".into(),
            ],
        ),
        (
            "cs0t",
            vec![
                format!("--volume={}", vol.name()),
                "--create_serialize=0".into(),
                "--thread".into(),
            ],
        ),
        (
            "si0",
            vec![
                format!("--volume={}", vol.name()),
                "--single-instance=0".into(),
                "--thread".into(),
            ],
        ),
    ];
    for (name, extra) in cases {
        if name == "ux" && !Path::new("/var/run/glusterd.socket").exists() {
            continue;
        }
        let mut a = args(&base);
        a.push(format!("--name={name}"));
        a.extend(extra);
        let r = fio(&dir.0, &a);
        r.assert_ok();
        for j in 0..2 {
            let f = brick(&vol).join(format!("{name}.{j}.0"));
            assert_eq!(
                fs::metadata(&f).map(|m| m.len()).unwrap_or(0),
                1 << 20,
                "{name}"
            );
        }
    }
}
