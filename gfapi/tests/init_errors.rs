// SPDX-License-Identifier: GPL-2.0-or-later
//! `Volume::init` failures must be clear and fast.

mod common;

use common::{ensure_glusterd, TestVolume, PREFIX};
use gfapi::{Error, Volume};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FAST: Duration = Duration::from_secs(5);

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

/// A TCP port on 127.0.0.1 with nothing listening.
fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Failed instances are finalised in the background; make sure they finish
/// (glfs_fini ~10 s) so the process exits cleanly and nothing leaks.
fn await_teardowns() {
    assert!(
        gfapi::wait_background_teardowns(Duration::from_secs(90)),
        "background teardowns did not finish"
    );
}

#[test]
fn wrong_volume_name() {
    ensure_glusterd();
    let name = format!("{PREFIX}-{}-no-such-volume", std::process::id());
    let (r, took) = timed(|| Volume::new(&name).init());
    let e = r.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("volume '{name}' not found on localhost:24007")
    );
    assert!(matches!(e, Error::VolumeNotFound { .. }), "{e:?}");
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    assert!(took < FAST, "took {took:?}");
    eprintln!("wrong volume name: {took:?}");
    await_teardowns();
}

#[test]
fn dead_server() {
    let port = dead_port();
    let (r, took) = timed(|| Volume::new("somevol").server("127.0.0.1", port).init());
    let e = r.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "cannot reach volfile server 127.0.0.1:{port} for volume 'somevol': \
             Connection refused (os error 111)"
        )
    );
    assert!(matches!(e, Error::ServerUnreachable { .. }), "{e:?}");
    assert!(took < FAST, "took {took:?}");
    eprintln!("dead server: {took:?}");
    await_teardowns();
}

#[test]
fn dead_unix_socket() {
    let (r, took) = timed(|| {
        Volume::new("somevol")
            .unix_socket("/nonexistent/grs-glusterd.socket")
            .init()
    });
    let e = r.unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot reach volfile server unix:/nonexistent/grs-glusterd.socket for volume \
         'somevol': No such file or directory (os error 2)"
    );
    assert!(took < FAST, "took {took:?}");
    await_teardowns();
}

#[test]
fn missing_volfile() {
    let (r, took) = timed(|| Volume::volfile("somevol", "/nonexistent/grs/client.vol").init());
    let e = r.unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot read volfile /nonexistent/grs/client.vol: No such file or directory (os error 2)"
    );
    assert!(matches!(e, Error::Volfile { .. }), "{e:?}");
    assert!(took < FAST, "took {took:?}");
}

#[test]
fn invalid_volfile() {
    let dir = std::env::temp_dir().join(format!("{PREFIX}-{}-badvolfile", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.vol");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(b"this is not a volfile\n")
        .unwrap();
    let (r, took) = timed(|| Volume::volfile("somevol", &path).init());
    let e = r.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "invalid volfile {}, line 1: expected 'volume', found 'this'",
            path.display()
        )
    );
    assert!(matches!(e, Error::InvalidVolfile { line: 1, .. }), "{e:?}");
    assert!(took < FAST, "took {took:?}");

    // An unknown translator type is caught too (gfapi would fail to load it
    // and leave its parser broken).
    std::fs::write(
        &path,
        "volume x\n    type no-such/xlator\n    option a b\nend-volume\n",
    )
    .unwrap();
    let e = Volume::volfile("somevol", &path).init().unwrap_err();
    assert!(
        e.to_string()
            .contains("line 2: volume 'x': translator type 'no-such/xlator' is not installed"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();

    // gfapi never saw them: a normal init in this process still works
    // (a broken volfile reaching gfapi would make it fail with EINVAL).
    let vol = TestVolume::create("aftervolfile");
    let fs = Volume::new(vol.name()).init().unwrap();
    fs.set_teardown(gfapi::Teardown::SkipFini);
}

#[test]
fn unresponsive_server_hits_init_timeout() {
    // Accepts connections and never answers: glfs_init would block forever.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) => held.push(s),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            held.len()
        })
    };
    let (r, took) = timed(|| {
        Volume::new("somevol")
            .server("127.0.0.1", port)
            .init_timeout(Duration::from_secs(2))
            .init()
    });
    let e = r.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "init of volume 'somevol' via 127.0.0.1:{port} did not finish within 2s \
             (server not responding?)"
        )
    );
    assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    assert!(
        took >= Duration::from_secs(2) && took < FAST,
        "took {took:?}"
    );
    // The abandoned instance is owned by the init thread and counted.
    assert!(gfapi::background_teardowns() >= 1);
    // Hang up: glfs_init now fails, and the instance is finalised.
    stop.store(true, Ordering::SeqCst);
    assert!(server.join().unwrap() >= 1, "gfapi never connected");
    await_teardowns();
}

#[test]
fn stopped_volume_says_so() {
    let vol = TestVolume::create("stopped");
    vol.stop();
    let (r, took) = timed(|| Volume::new(vol.name()).init());
    let e = r.unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!(
            "init of volume '{}' via localhost:24007 failed (no brick of the volume could be \
             reached; is the volume started?): Input/output error",
            vol.name()
        )),
        "{msg}"
    );
    assert!(took < FAST, "took {took:?}");
    await_teardowns();
}

#[test]
fn failover_to_the_next_volfile_server() {
    let vol = TestVolume::create("failover");
    let (r, took) = timed(|| {
        Volume::new(vol.name())
            .server("127.0.0.1", dead_port())
            .server("localhost", 24007)
            .init()
    });
    let fs = r.unwrap_or_else(|e| panic!("failover init: {e}"));
    fs.set_teardown(gfapi::Teardown::SkipFini);
    assert!(fs.exists("/").unwrap());
    assert!(took < FAST, "took {took:?}");
}
