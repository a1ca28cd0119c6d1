//! Unit tests of the option layers (table, URLs, resolution).

use std::ffi::c_void;
use std::path::{Path, PathBuf};

use super::posix::memory_backed;
use super::*;

fn values() -> OptionValues {
    OptionValues {
        volume: Some("vol".into()),
        port: 24007,
        loglevel: 5,
        single_instance: true,
        ..Default::default()
    }
}

#[test]
fn defaults_to_localhost() {
    let o = EngineOptions::resolve(&values(), &[]).unwrap();
    assert_eq!(o.conn.volume, "vol");
    assert_eq!(
        o.conn.servers,
        vec![Server {
            transport: Transport::Tcp,
            host: "localhost".into(),
            port: 24007
        }]
    );
    assert_eq!(o.io_mode, IoMode::Async);
    assert_eq!(o.conn.logfile, PathBuf::from("/dev/null"));
}

#[test]
fn volume_key_ignores_client_side_tuning_only() {
    let a = EngineOptions::resolve(&values(), &[]).unwrap().conn;
    let mut v = values();
    v.loglevel = 7;
    v.logfile = Some("/tmp/x.log".into());
    v.io_timeout = 5;
    v.client_io_threads = true;
    v.write_aggregation = WRITE_AGGREGATION_OFF;
    let tuned = EngineOptions::resolve(&v, &[]).unwrap().conn;
    assert_ne!(a, tuned);
    assert_eq!(a.volume_key(), tuned.volume_key());
    v.volume = Some("other".into());
    let other = EngineOptions::resolve(&v, &[]).unwrap().conn;
    assert_ne!(a.volume_key(), other.volume_key());
    let mut v = values();
    v.brick = Some("elsewhere".into());
    let elsewhere = EngineOptions::resolve(&v, &[]).unwrap().conn;
    assert_ne!(a.volume_key(), elsewhere.volume_key());
}

#[test]
fn several_servers_and_ports() {
    let mut v = values();
    v.brick = Some("a, b:24010,[::1]:5,[fe80::1]".into());
    v.port = 1234;
    let o = EngineOptions::resolve(&v, &[]).unwrap();
    let got: Vec<_> = o
        .conn
        .servers
        .iter()
        .map(|s| (s.host.as_str(), s.port))
        .collect();
    assert_eq!(
        got,
        vec![("a", 1234), ("b", 24010), ("::1", 5), ("fe80::1", 1234)]
    );
    v.brick = Some("a:0".into());
    assert!(EngineOptions::resolve(&v, &[]).is_err());
    v.brick = Some("a:x".into());
    assert!(EngineOptions::resolve(&v, &[]).is_err());
    v.brick = Some(" , ".into());
    assert!(EngineOptions::resolve(&v, &[]).is_err());
}

#[test]
fn missing_volume_is_an_error() {
    let mut v = values();
    v.volume = None;
    let e = EngineOptions::resolve(&v, &[]).unwrap_err();
    assert!(e.0.contains("volume="), "{e}");
    v.volfile = Some("/tmp/x.vol".into());
    let o = EngineOptions::resolve(&v, &[]).unwrap();
    assert_eq!(o.conn.volume, "x");
    assert!(o.conn.servers.is_empty());
}

#[test]
fn unix_transport() {
    let mut v = values();
    v.transport = TRANSPORT_UNIX;
    assert!(EngineOptions::resolve(&v, &[]).is_err());
    v.brick = Some("/run/glusterd.socket".into());
    let o = EngineOptions::resolve(&v, &[]).unwrap();
    assert_eq!(o.conn.servers[0].transport, Transport::Unix);
    assert_eq!(o.conn.servers[0].host, "/run/glusterd.socket");
}

#[test]
fn urls() {
    let u = parse_gluster_url("gluster://h:24008/vol/dir/f", 24007)
        .unwrap()
        .unwrap();
    assert_eq!(u.volume, "vol");
    assert_eq!(u.path, "/dir/f");
    assert_eq!(u.server.as_ref().unwrap().port, 24008);
    let u = parse_gluster_url("gluster:///vol/f", 24007)
        .unwrap()
        .unwrap();
    assert_eq!(u.server, None);
    let u = parse_gluster_url("gluster+unix:///vol/f?socket=/s", 24007)
        .unwrap()
        .unwrap();
    assert_eq!(u.server.unwrap().host, "/s");
    assert_eq!(parse_gluster_url("plain/file", 24007).unwrap(), None);
    assert!(parse_gluster_url("gluster://h/vol", 24007).is_err());
    assert!(parse_gluster_url("gluster://h/vol/", 24007).is_err());
    assert!(parse_gluster_url("gluster+foo://h/vol/f", 24007).is_err());
    assert!(parse_gluster_url("gluster+unix:///vol/f", 24007).is_err());
}

#[test]
fn url_and_options_combine() {
    let u = parse_gluster_url("gluster://h/vol/f", 24007)
        .unwrap()
        .unwrap();
    let mut v = values();
    v.volume = None;
    let o = EngineOptions::resolve(&v, std::slice::from_ref(&u)).unwrap();
    assert_eq!(o.conn.volume, "vol");
    assert_eq!(o.conn.servers[0].host, "h");
    v.volume = Some("other".into());
    assert!(EngineOptions::resolve(&v, std::slice::from_ref(&u)).is_err());
    let u2 = parse_gluster_url("gluster://h2/vol/g", 24007)
        .unwrap()
        .unwrap();
    v.volume = None;
    assert!(EngineOptions::resolve(&v, &[u, u2]).is_err());
}

#[test]
fn merges_split_urls() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(merge_split_urls(&s(&["a", "b"])), None);
    assert_eq!(
        merge_split_urls(&s(&["gluster", "//h/vol/f"])),
        Some(s(&["gluster://h/vol/f"]))
    );
    assert_eq!(
        merge_split_urls(&s(&[
            "gluster",
            "//h",
            "24007/vol/f",
            "x",
            "gluster",
            "///v/g"
        ])),
        Some(s(&["gluster://h:24007/vol/f", "x", "gluster:///v/g"]))
    );
    assert_eq!(
        merge_split_urls(&s(&["gluster+unix", "///v/f?socket=/s"])),
        Some(s(&["gluster+unix:///v/f?socket=/s"]))
    );
}

#[test]
fn paths() {
    assert_eq!(volume_path("f.0.0", None), "/f.0.0");
    assert_eq!(volume_path("/d/f", None), "/d/f");
}

#[test]
fn auto_io_threads_follow_the_medium() {
    // Real directories: /dev/shm is a tmpfs, the crate's own directory is not.
    let shm = Path::new("/dev/shm");
    let disk = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(memory_backed(shm), "/dev/shm is not a tmpfs here");
    assert!(!memory_backed(disk));
    // auto: inline (no io-threads) on tmpfs and for buffered jobs.
    let inline = 0;
    assert_eq!(auto_io_threads(shm, false), inline);
    assert_eq!(auto_io_threads(disk, false), POSIX_AUTO_IO_THREADS);
    assert_eq!(auto_io_threads(disk, true), inline);
    // Through the options: auto on a tmpfs brick; an explicit count wins.
    let mut v = values();
    v.volume = None;
    v.posix = Some("/dev/shm".into());
    v.iodepth = 32;
    let o = EngineOptions::resolve(&v, &[]).unwrap();
    assert_eq!(o.conn.posix.unwrap().io_threads, inline);
    assert_eq!(
        o.io_mode,
        IoMode::Sync,
        "inline posix submits synchronously"
    );
    assert_eq!(o.posix_pool, 0);
    // Direct I/O on a disk: the engine's own threads instead of io-threads.
    v.posix = Some(disk.display().to_string());
    let o = EngineOptions::resolve(&v, &[]).unwrap();
    assert_eq!(o.conn.posix.unwrap().io_threads, 0);
    assert_eq!(o.posix_pool, 32, "one thread per I/O in flight");
    assert_eq!(o.io_mode, IoMode::Async);
    v.iodepth = 4;
    assert_eq!(
        EngineOptions::resolve(&v, &[]).unwrap().posix_pool,
        4,
        "no more than iodepth"
    );
    v.iodepth = 1000;
    assert_eq!(
        EngineOptions::resolve(&v, &[]).unwrap().posix_pool,
        POSIX_AUTO_POOL_MAX,
        "auto's cap"
    );
    v.iodepth = 32;
    v.buffered = true;
    let o = EngineOptions::resolve(&v, &[]).unwrap();
    assert_eq!(o.conn.posix.unwrap().io_threads, inline);
    assert_eq!(o.posix_pool, 0);
    v.posix_io_threads = Some("16".into());
    let o = EngineOptions::resolve(&v, &[]).unwrap();
    assert_eq!(o.conn.posix.unwrap().io_threads, 16);
    assert_eq!(o.posix_pool, 0, "io-threads by name: no pool");
}

#[test]
fn posix_pool_option() {
    let mut v = values();
    v.volume = None;
    v.posix = Some("/dev/shm".into());
    v.iodepth = 8;
    v.posix_pool = Some("3".into());
    let o = EngineOptions::resolve(&v, &[]).unwrap();
    assert_eq!((o.posix_pool, o.io_mode), (3, IoMode::Async));
    assert_eq!(o.conn.posix.clone().unwrap().io_threads, 0);
    // The pool is the job's, not the connection's: same ConnSpec.
    v.posix_pool = Some("0".into());
    let none = EngineOptions::resolve(&v, &[]).unwrap();
    assert_eq!((none.posix_pool, none.io_mode), (0, IoMode::Sync));
    assert_eq!(none.conn, o.conn);
    v.posix_pool = Some("2".into());
    v.posix_io_threads = Some("4".into());
    let e = EngineOptions::resolve(&v, &[]).unwrap_err();
    assert!(e.0.contains("exclude each other"), "{e}");
    v.posix_io_threads = Some("0".into());
    assert_eq!(EngineOptions::resolve(&v, &[]).unwrap().posix_pool, 2);
    v.posix_io_threads = None;
    v.io_mode = IO_MODE_SYNC;
    let e = EngineOptions::resolve(&v, &[]).unwrap_err();
    assert!(e.0.contains("io_mode=async"), "{e}");
    v.io_mode = IO_MODE_ASYNC;
    for bad in ["257", "-1", "many"] {
        v.posix_pool = Some(bad.into());
        let e = EngineOptions::resolve(&v, &[]).unwrap_err();
        assert!(e.0.contains("posix_pool") && e.0.contains(bad), "{e}");
    }
    // Without posix= it is refused like the other posix_ options.
    let mut w = values();
    w.posix_pool = Some("2".into());
    let e = EngineOptions::resolve(&w, &[]).unwrap_err();
    assert!(e.0.contains("need posix=DIR"), "{e}");
}

#[test]
fn posix_mode() {
    let mut v = values();
    v.volume = None;
    v.posix = Some("/b/brick".into());
    v.posix_io_threads = Some("auto".into());
    v.iodepth = 32;
    let o = EngineOptions::resolve(&v, &[]).unwrap();
    let p = o.conn.posix.clone().unwrap();
    assert_eq!(p.dir, PathBuf::from("/b/brick"));
    // A disk brick, direct I/O: auto runs reads on the engine's pool.
    assert_eq!((p.io_threads, o.posix_pool), (0, 32));
    assert!(!p.read_only && !p.force);
    assert!(o.conn.servers.is_empty() && o.conn.volfile.is_none());
    assert_eq!(o.conn.volume, "/b/brick");
    assert!(o.conn.to_string().contains("brick /b/brick in-process"));
    assert_eq!(o.io_mode, IoMode::Async);
    // auto: none at depth 1 or in sync mode; without io-threads the
    // engine submits synchronously.
    v.iodepth = 1;
    let o = EngineOptions::resolve(&v, &[]).unwrap();
    assert_eq!((o.conn.posix.unwrap().io_threads, o.posix_pool), (0, 0));
    assert_eq!(o.io_mode, IoMode::Sync);
    v.iodepth = 8;
    v.io_mode = IO_MODE_SYNC;
    assert_eq!(
        EngineOptions::resolve(&v, &[])
            .unwrap()
            .conn
            .posix
            .unwrap()
            .io_threads,
        0
    );
    v.io_mode = IO_MODE_ASYNC;
    v.posix_io_threads = Some("4".into());
    v.posix_read_only = true;
    v.volume = Some("label".into());
    let o = EngineOptions::resolve(&v, &[]).unwrap();
    let p = o.conn.posix.clone().unwrap();
    assert_eq!((p.io_threads, p.read_only), (4, true));
    assert_eq!(o.conn.volume, "label");
    // The full spec keys sharing: another thread count is another connection.
    v.posix_io_threads = Some("0".into());
    assert_ne!(EngineOptions::resolve(&v, &[]).unwrap().conn, o.conn);
    for bad in ["65", "-1", "lots"] {
        v.posix_io_threads = Some(bad.into());
        let e = EngineOptions::resolve(&v, &[]).unwrap_err();
        assert!(e.0.contains("posix_io_threads"), "{e}");
    }
}

#[test]
fn posix_conflicts() {
    let mut v = values();
    v.posix = Some("/b".into());
    type Set = fn(&mut OptionValues);
    let cases: [(&str, Set); 4] = [
        ("brick=", |v| v.brick = Some("h".into())),
        ("volfile=", |v| v.volfile = Some("/x.vol".into())),
        ("transport=", |v| v.transport = TRANSPORT_RDMA),
        ("port=", |v| v.port = 24008),
    ];
    for (what, set) in cases {
        let mut w = v.clone();
        set(&mut w);
        let e = EngineOptions::resolve(&w, &[]).unwrap_err();
        assert!(e.0.contains(what) && e.0.contains("posix="), "{e}");
    }
    let u = parse_gluster_url("gluster://h/vol/f", 24007)
        .unwrap()
        .unwrap();
    assert!(EngineOptions::resolve(&v, &[u]).is_err());
    // posix_* without posix=.
    v.posix = None;
    v.posix_io_threads = Some("auto".into());
    assert!(EngineOptions::resolve(&v, &[]).is_ok());
    for set in [
        |v: &mut OptionValues| v.posix_read_only = true,
        |v: &mut OptionValues| v.posix_force = true,
        |v: &mut OptionValues| v.posix_io_threads = Some("16".into()),
    ] {
        let mut w = v.clone();
        set(&mut w);
        let e = EngineOptions::resolve(&w, &[]).unwrap_err();
        assert!(e.0.contains("need posix=DIR"), "{e}");
    }
}

#[test]
fn table_is_consistent() {
    let specs = option_specs();
    let mut names: Vec<_> = specs.iter().map(|s| s.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), specs.len());
    for s in specs {
        assert!(s.offset >= std::mem::size_of::<*mut c_void>(), "{}", s.name);
        assert!(!s.help.is_empty());
    }
}
