//! rpc-bypass (`posix=DIR`) through the real fio 3.33: data on a scratch
//! brick, refusal of a live brick, read-only reads of files laid out through
//! FUSE, and a brick written this way adopted by glusterd.
//!
//! Each test skips (with a message) when the gfapi build has no rpc-bypass
//! support for the installed GlusterFS.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

fn unsupported() -> bool {
    match gfapi::rpc_bypass_support() {
        Ok(_) => false,
        Err(e) => {
            eprintln!("skipping: {e}");
            true
        }
    }
}

fn posix_args(brick: &Path) -> Vec<String> {
    args(&[
        &format!("--posix={}", brick.display()),
        "--logfile=/dev/null",
    ])
}

/// Checks that `name` on `brick` is a regular brick file of `len` bytes: its
/// gfid handle under `.glusterfs` is a second hard link.
#[track_caller]
fn assert_brick_file(brick: &Path, name: &str, len: u64) {
    let m = fs::metadata(brick.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(m.len(), len, "{name}");
    assert_eq!(m.nlink(), 2, "{name}: no .glusterfs gfid handle");
}

/// Write+verify (crc32c) then a separate verifying read pass, on a plain
/// temp dir as the brick (no glusterd volume): process and thread mode,
/// iodepth 1 and 32 (io-threads auto = 16), plus depth 32 without
/// io-threads (posix completes each request inside the submit call; the
/// engine submits synchronously).
#[test]
fn write_verify_then_read_on_a_scratch_brick() {
    if unsupported() {
        return;
    }
    let brick = tempdir("posix-scratch");
    let cwd = tempdir("posix-scratch-cwd");
    let mut total = 0.0;
    // auto at depth 32 with direct=1 on this (disk) brick runs the I/O on
    // the engine's own threads (posix_pool); the others name io-threads,
    // inline submission and a small pool.
    /// (thread=1, iodepth, an engine option and its value)
    type Case<'a> = (bool, &'a str, Option<(&'a str, &'a str)>);
    let cases: &[Case] = &[
        (false, "1", None),
        (false, "32", None),
        (false, "32", Some(("posix_io_threads", "0"))),
        (false, "32", Some(("posix_io_threads", "16"))),
        (true, "1", None),
        (true, "32", None),
        (true, "32", Some(("posix_io_threads", "0"))),
        (true, "32", Some(("posix_io_threads", "16"))),
        (true, "32", Some(("posix_pool", "3"))),
    ];
    for &(thread, depth, opt) in cases {
        let name = format!(
            "px-{}-{depth}-{}",
            if thread { "t" } else { "p" },
            opt.map_or("auto".to_string(), |(k, v)| format!("{k}{v}"))
        );
        let mut a = posix_args(&brick.0);
        a.extend(args(&[
            &format!("--name={name}"),
            "--rw=randwrite",
            "--bs=16k",
            &format!("--iodepth={depth}"),
            "--size=2m",
            "--numjobs=2",
            "--direct=1",
            "--verify=crc32c",
            "--do_verify=1",
            "--verify_fatal=1",
        ]));
        if let Some((k, v)) = opt {
            a.push(format!("--{k}={v}"));
        }
        if thread {
            a.push("--thread".into());
        }
        let r = fio(&cwd.0, &a);
        r.assert_ok();
        total += r.secs;
        let mut v = a.clone();
        v.retain(|x| !x.starts_with("--rw="));
        v.extend(args(&["--rw=randread", "--verify_only=1"]));
        let r = fio(&cwd.0, &v);
        r.assert_ok();
        assert!(!r.stdout().contains("verify: bad"), "{}", r.text());
        total += r.secs;
        for job in 0..2 {
            assert_brick_file(&brick.0, &format!("{name}.{job}.0"), 2 << 20);
        }
    }
    assert!(brick.0.join(".glusterfs").is_dir());
    // Nothing served the brick during the runs, nothing holds it now.
    assert!(gfapi::brick_users(&brick.0).unwrap().is_empty());
    eprintln!("{} fio runs took {total:.1} s", cases.len() * 2);
}

/// A started volume's brick: refused for writing and for plain reading
/// (exit != 0, naming the brick and the brick process); with
/// posix_read_only=1 it reads, and verifies, files laid out through FUSE.
#[test]
fn live_brick_is_refused_and_read_only_reads_fuse_files() {
    if unsupported() {
        return;
    }
    let vol = volume();
    let b = brick(&vol);
    let cwd = tempdir("posix-live");
    let mnt = vol.mount_fuse().expect("FUSE mount");
    let layout = args(&[
        "--name=lv",
        "--ioengine=psync",
        "--rw=write",
        "--bs=64k",
        "--size=2m",
        "--numjobs=2",
        "--verify=crc32c",
        "--do_verify=0",
    ]);
    fio_plain(mnt.path(), &layout).assert_ok();

    for rw in ["write", "read"] {
        let mut a = posix_args(&b);
        a.extend(args(&[
            "--name=lv",
            &format!("--rw={rw}"),
            "--bs=64k",
            "--size=2m",
        ]));
        let r = fio(&cwd.0, &a);
        assert!(!r.ok(), "rw={rw} on a live brick succeeded:\n{}", r.text());
        let text = r.text();
        assert!(
            text.contains("refusing to open brick") && text.contains(&*b.to_string_lossy()),
            "rw={rw}: {text}"
        );
        assert!(
            text.contains("glusterfsd"),
            "rw={rw}: brick process not named: {text}"
        );
        assert!(
            text.contains("posix_read_only=1"),
            "rw={rw}: no hint: {text}"
        );
        assert!(r.secs < 10.0, "refusal took {:.1} s", r.secs);
    }

    // Read-only: verify what FUSE wrote, process mode at depth 32 and
    // thread mode at depth 1.
    for (thread, depth) in [(false, "32"), (true, "1")] {
        let mut a = posix_args(&b);
        a.extend(args(&[
            "--posix_read_only=1",
            "--name=lv",
            "--rw=read",
            "--bs=64k",
            "--size=2m",
            "--numjobs=2",
            &format!("--iodepth={depth}"),
            "--direct=1",
            "--verify=crc32c",
            "--verify_only=1",
            "--verify_fatal=1",
        ]));
        if thread {
            a.push("--thread".into());
        }
        let r = fio(&cwd.0, &a);
        r.assert_ok();
        assert!(!r.stdout().contains("verify: bad"), "{}", r.text());
        assert!(
            r.stdout().contains("READ: bw="),
            "no read statistics:\n{}",
            r.text()
        );
    }

    // A read-only brick refuses writing jobs up front.
    let mut a = posix_args(&b);
    a.extend(args(&[
        "--posix_read_only=1",
        "--name=lv",
        "--rw=write",
        "--bs=64k",
        "--size=2m",
    ]));
    let r = fio(&cwd.0, &a);
    assert!(!r.ok(), "{}", r.text());
    assert!(
        r.text().contains("posix_read_only=1 but the job writes"),
        "{}",
        r.text()
    );
    // The volume is unharmed: FUSE still verifies.
    let mut v = layout.clone();
    v.retain(|x| !x.starts_with("--rw=") && !x.starts_with("--do_verify"));
    v.extend(args(&["--rw=read", "--verify_only=1", "--verify_fatal=1"]));
    fio_plain(mnt.path(), &v).assert_ok();
    drop(mnt);
}

/// A glusterd volume made on an existing brick directory (`create ...
/// force`); stopped and deleted on drop, with the brick log and socket it
/// leaves behind. The directory belongs to the caller.
struct AdoptedVolume {
    name: String,
    brick: PathBuf,
    socket: Option<PathBuf>,
}

fn gluster(a: &[&str]) -> String {
    let out = Command::new("gluster")
        .arg("--mode=script")
        .args(a)
        .output()
        .expect("run gluster");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "gluster {a:?}: {text}");
    text
}

impl AdoptedVolume {
    fn create(brick: &Path) -> AdoptedVolume {
        Glusterd::ensure().expect("glusterd");
        let name = glusterrs_cluster::unique_name("grsio").expect("volume name");
        let host = glusterrs_cluster::brick_host().expect("host name");
        gluster(&[
            "volume",
            "create",
            &name,
            &format!("{host}:{}", brick.display()),
            "force",
        ]);
        let mut v = AdoptedVolume {
            name,
            brick: brick.to_path_buf(),
            socket: None,
        };
        gluster(&["volume", "start", &v.name]);
        let online = wait_until(Duration::from_secs(30), || {
            gluster(&["volume", "status", &v.name, "--xml"]).contains("<status>1</status>")
        });
        assert!(online, "brick of {} not online", v.name);
        v.socket = brick_socket(brick);
        v
    }
}

/// The `-S` socket of the brick process serving `brick`.
fn brick_socket(brick: &Path) -> Option<PathBuf> {
    for e in fs::read_dir("/proc").ok()?.flatten() {
        let Ok(raw) = fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let argv: Vec<String> = raw
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let serves = argv
            .windows(2)
            .any(|w| w[0] == "--brick-name" && Path::new(&w[1]) == brick);
        if serves {
            let at = argv.iter().position(|a| a == "-S")?;
            return argv.get(at + 1).map(PathBuf::from);
        }
    }
    None
}

impl Drop for AdoptedVolume {
    fn drop(&mut self) {
        for a in [
            vec!["volume", "stop", self.name.as_str(), "force"],
            vec!["volume", "delete", self.name.as_str()],
        ] {
            let _ = Command::new("gluster")
                .arg("--mode=script")
                .args(&a)
                .output();
        }
        let _ = wait_until(Duration::from_secs(20), || {
            brick_socket(&self.brick).is_none()
        });
        if let Some(s) = &self.socket {
            let _ = fs::remove_file(s);
        }
        let log = format!(
            "/var/log/glusterfs/bricks/{}.log",
            self.brick
                .to_string_lossy()
                .trim_start_matches('/')
                .replace('/', "-")
        );
        let _ = fs::remove_file(log);
        let _ = fs::remove_dir(format!("/var/run/gluster/vols/{}", self.name));
    }
}

/// A brick the engine wrote in posix mode is a normal brick: glusterd
/// adopts it (`volume create ... force`), starts it, and FUSE reads the
/// same bytes (fio's crc32c verifier and a byte compare).
#[test]
fn brick_written_by_the_engine_serves_a_volume() {
    if unsupported() {
        return;
    }
    let parent = tempdir("posix-adopt");
    let b = parent.0.join("brick");
    fs::create_dir(&b).unwrap();
    let mut a = posix_args(&b);
    a.extend(args(&[
        "--name=ad",
        "--rw=write",
        "--bs=128k",
        "--size=4m",
        "--iodepth=8",
        "--direct=1",
        "--verify=crc32c",
        "--do_verify=1",
        "--filename_format=dir/$jobname.$jobnum",
    ]));
    fio(&parent.0, &a).assert_ok();
    assert_brick_file(&b, "dir/ad.0", 4 << 20);
    let on_brick = fs::read(b.join("dir/ad.0")).unwrap();

    let vol = AdoptedVolume::create(&b);
    let mnt =
        glusterrs_cluster::FuseMount::mount("localhost", &vol.name, None).expect("FUSE mount");
    let via_fuse = fs::read(mnt.path().join("dir/ad.0")).expect("read through FUSE");
    assert!(via_fuse == on_brick, "FUSE and brick contents differ");
    let r = fio_plain(
        mnt.path(),
        &args(&[
            "--name=ad",
            "--ioengine=psync",
            "--rw=read",
            "--bs=128k",
            "--size=4m",
            "--verify=crc32c",
            "--verify_only=1",
            "--verify_fatal=1",
            "--filename_format=dir/$jobname.$jobnum",
        ]),
    );
    r.assert_ok();
    // And it keeps working as a volume.
    fs::write(mnt.path().join("dir/new"), b"via fuse").unwrap();
    assert_eq!(fs::read(b.join("dir/new")).unwrap(), b"via fuse");
    // While it runs, the engine refuses to write it.
    let r = fio(&parent.0, &a);
    assert!(
        !r.ok() && r.text().contains("refusing to open brick"),
        "{}",
        r.text()
    );
    mnt.unmount().expect("unmount");
    drop(vol);
}
