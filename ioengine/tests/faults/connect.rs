// SPDX-License-Identifier: GPL-2.0-or-later
//! Connecting fails: glusterd stopped, wrong ports, unknown or stopped
//! volumes, unreadable or malformed volfiles; each fails fast and clearly.

use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{args, tempdir};
use crate::fault_runner::{Case, Log};
use crate::fio::*;
use crate::volumes::*;
use crate::{FAST, NETWORK};

/// Connecting fails.
pub fn cases() -> Vec<Case> {
    vec![
        Case::quick(
            "glusterd_stopped_stale_unix_socket",
            glusterd_stopped_socket,
        ),
        Case::quick("glusterd_stopped_tcp_port_refuses", glusterd_stopped_tcp),
        Case::quick("wrong_port_a_brick_port", wrong_port_brick),
        Case::quick("wrong_port_silent_listener", wrong_port_silent),
        Case::quick("wrong_port_garbage_answer", wrong_port_garbage),
        Case::quick("unknown_volume", unknown_volume),
        Case::quick("volume_not_started", volume_not_started),
        Case::quick("volfile_unreadable", volfile_unreadable),
        Case::quick("volfile_malformed", volfile_malformed),
        Case::quick("volfile_names_a_dead_brick", volfile_dead_brick),
    ]
}

const WRITE_JOB: &[&str] = &["--name=conn", "--rw=write", "--bs=4k", "--size=64k"];

fn connect_case(log: &mut Log, what: &str, extra: &[String], bound: f64, needles: &[&str]) {
    let dir = tempdir("fault-conn");
    let mut a = args(WRITE_JOB);
    a.extend(extra.iter().cloned());
    log.say(format!("tried: {what}"));
    let r = run_fio(&dir.0, &a);
    expect_failure(log, "fio", &r, &dir.0, bound, needles);
}

fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn glusterd_stopped_socket(log: &mut Log) {
    let dir = tempdir("fault-sock");
    let sock = dir.0.join("glusterd.socket");
    // What a glusterd that died leaves behind: the socket file, no listener.
    drop(std::os::unix::net::UnixListener::bind(&sock).expect("bind unix socket"));
    connect_case(
        log,
        "volume over transport=unix to a glusterd socket nobody listens on (glusterd stopped)",
        &[
            "--volume=grs-fault-any".into(),
            "--transport=unix".into(),
            format!("--brick={}", sock.display()),
        ],
        FAST,
        &["cannot reach volfile server", "Connection refused"],
    );
}

fn glusterd_stopped_tcp(log: &mut Log) {
    let port = dead_port();
    connect_case(
        log,
        &format!("volume from 127.0.0.1:{port}, where nothing listens (glusterd stopped)"),
        &[
            "--volume=grs-fault-any".into(),
            format!("--brick=127.0.0.1:{port}"),
        ],
        FAST,
        &["cannot reach volfile server", "Connection refused"],
    );
}

fn wrong_port_brick(log: &mut Log) {
    let vol = volume();
    let port = vol.brick_port(0).expect("status").expect("brick port");
    connect_case(
        log,
        &format!("volfile server = the brick's port {port} (a glusterfsd, not glusterd)"),
        &[
            format!("--volume={}", vol.name()),
            format!("--brick=127.0.0.1:{port}"),
        ],
        FAST,
        &["cannot connect", &format!("127.0.0.1:{port}")],
    );
}

fn wrong_port_silent(log: &mut Log) {
    // Accepts (the kernel completes the handshake) and never answers.
    let l = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = l.local_addr().unwrap().port();
    connect_case(
        log,
        &format!("volfile server 127.0.0.1:{port} accepts and never answers (network timeout)"),
        &[
            "--volume=grs-fault-any".into(),
            format!("--brick=127.0.0.1:{port}"),
        ],
        NETWORK,
        &["did not finish within", &format!("127.0.0.1:{port}")],
    );
    drop(l);
}

fn wrong_port_garbage(log: &mut Log) {
    // Answers every connection with an HTTP error and closes it.
    let l = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = l.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    l.set_nonblocking(true).unwrap();
    let s2 = stop.clone();
    let server = std::thread::spawn(move || {
        while !s2.load(Ordering::SeqCst) {
            match l.accept() {
                Ok((mut c, _)) => {
                    let _ = c.set_nonblocking(false);
                    let _ = c.set_read_timeout(Some(Duration::from_millis(200)));
                    let mut b = [0u8; 512];
                    let _ = c.read(&mut b);
                    let _ = c.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\nno gluster here\r\n");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    connect_case(
        log,
        &format!("volfile server 127.0.0.1:{port} answers HTTP garbage and hangs up"),
        &[
            "--volume=grs-fault-any".into(),
            format!("--brick=127.0.0.1:{port}"),
        ],
        NETWORK,
        &["cannot connect", &format!("127.0.0.1:{port}")],
    );
    stop.store(true, Ordering::SeqCst);
    let _ = server.join();
    let _ = TcpStream::connect(("127.0.0.1", port));
}

fn unknown_volume(log: &mut Log) {
    let name = format!("grs-fault-{}-no-such-volume", std::process::id());
    connect_case(
        log,
        &format!("volume '{name}', which glusterd does not know"),
        &[format!("--volume={name}")],
        FAST,
        &["not found", &name],
    );
}

fn volume_not_started(log: &mut Log) {
    let vol = volume();
    let out = Command::new("gluster")
        .args(["--mode=script", "volume", "stop", vol.name(), "force"])
        .output()
        .expect("gluster volume stop");
    assert!(out.status.success(), "{out:?}");
    connect_case(
        log,
        "a volume that exists but is stopped",
        &[format!("--volume={}", vol.name())],
        FAST,
        &["cannot connect", "started"],
    );
}

fn volfile_case(log: &mut Log, what: &str, path: &Path, who: As, bound: f64, needles: &[&str]) {
    let dir = tempdir("fault-vf");
    let mut a = args(WRITE_JOB);
    a.push(format!("--volfile={}", path.display()));
    log.say(format!("tried: volfile= {what}"));
    let r = spawn(&dir.0, true, who, &a).wait(Duration::from_secs(120));
    expect_failure(log, "fio", &r, &dir.0, bound, needles);
}

fn volfile_unreadable(log: &mut Log) {
    let dir = tempdir("fault-vfu");
    fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o755)).unwrap();
    let missing = dir.0.join("missing.vol");
    volfile_case(
        log,
        "a path that does not exist",
        &missing,
        As::Root,
        FAST,
        &["cannot read volfile", "No such file"],
    );
    volfile_case(
        log,
        "a directory",
        &dir.0,
        As::Root,
        FAST,
        &["cannot read volfile", "directory"],
    );
    let fifo = dir.0.join("fifo.vol");
    let st = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(st.success());
    volfile_case(
        log,
        "a fifo (opening it would block)",
        &fifo,
        As::Root,
        FAST,
        &["cannot read volfile", "not a regular file"],
    );
    volfile_case(
        log,
        "/proc/self/mem (reading fails with EIO)",
        Path::new("/proc/self/mem"),
        As::Root,
        FAST,
        &["cannot read volfile", "Input/output error"],
    );
    let noperm = dir.0.join("noperm.vol");
    fs::write(&noperm, "volume x\n    type storage/posix\nend-volume\n").unwrap();
    fs::set_permissions(&noperm, fs::Permissions::from_mode(0o000)).unwrap();
    volfile_case(
        log,
        "mode 000, fio running as nobody",
        &noperm,
        As::Nobody,
        FAST,
        &["cannot read volfile", "Permission denied"],
    );
}

fn volfile_malformed(log: &mut Log) {
    let dir = tempdir("fault-vfm");
    let cases: &[(&str, &[u8], &[&str])] = &[
        ("an empty file", b"", &["volfile"]),
        ("plain text", b"this is not a volfile\n", &["invalid volfile", "line 1"]),
        ("binary junk", &[0u8, 159, 146, 150, 255, 0, 7, 1, 2, 3], &["volfile"]),
        (
            "a truncated graph (no end-volume)",
            b"volume c\n    type protocol/client\n    option remote-host localhost\n",
            &["invalid volfile"],
        ),
        (
            "an unknown translator type",
            b"volume c\n    type no/such-translator\nend-volume\n",
            &["volfile"],
        ),
        (
            "a subvolume that is not defined",
            b"volume w\n    type performance/write-behind\n    subvolumes nowhere\nend-volume\n",
            &["volfile"],
        ),
        (
            "a backtick (gluster would run it in a shell)",
            b"volume c\n    type protocol/client\n    option remote-host `touch /tmp/grs-fault-pwned`\nend-volume\n",
            &["volfile"],
        ),
    ];
    for (i, (what, body, needles)) in cases.iter().enumerate() {
        let p = dir.0.join(format!("bad{i}.vol"));
        fs::write(&p, body).unwrap();
        volfile_case(log, what, &p, As::Root, FAST, needles);
    }
    assert!(
        !Path::new("/tmp/grs-fault-pwned").exists(),
        "a backtick in a volfile ran a command"
    );
}

fn volfile_dead_brick(log: &mut Log) {
    let dir = tempdir("fault-vfd");
    let port = dead_port();
    let graph = glusterrs_cluster::client_volfile(
        "grs-fault-dead",
        "localhost",
        Some(port),
        Path::new("/nonexistent/brick"),
        glusterrs_cluster::Transport::Tcp,
    )
    .expect("volfile");
    let p = dir.0.join("dead.vol");
    fs::write(&p, graph).unwrap();
    volfile_case(
        log,
        &format!("a client graph whose only brick is localhost:{port} (nothing listens)"),
        &p,
        As::Root,
        NETWORK,
        &["cannot connect"],
    );
}
