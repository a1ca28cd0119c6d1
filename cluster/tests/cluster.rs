//! Integration tests against the real local glusterd (port 24007). Each test makes its own
//! uniquely named volumes and checks that nothing is left behind.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use glusterrs_cluster::{
    cleanup_stale, client_volfile, list_volumes, posix_volfile, Error, FuseMount, Glusterd,
    Transport, Volume, VolumeSpec,
};

/// Prefix for volumes of this test binary.
const PREFIX: &str = "grs-cl";

/// A directory made by a test and removed when it ends.
struct TestDir(PathBuf);

impl TestDir {
    fn new(tag: &str) -> TestDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "glusterrs-test-{}-{}-{tag}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&p).unwrap();
        TestDir(p)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn glusterd() {
    let g = Glusterd::ensure().expect("glusterd must run for these tests");
    assert!(Glusterd::is_running());
    assert!(g.pid().is_some());
}

fn mounted(path: &Path) -> bool {
    let text = fs::read_to_string("/proc/mounts").unwrap();
    let want = path.to_str().unwrap().replace(' ', "\\040");
    text.lines()
        .any(|l| l.split(' ').nth(1) == Some(want.as_str()))
}

fn pid_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let state = s[s.rfind(')').unwrap() + 2..].chars().next().unwrap();
            state != 'Z' && state != 'X'
        }
        Err(_) => false,
    }
}

fn wait_dead(pid: u32) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if !pid_alive(pid) {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

fn brick_log(brick: &Path) -> PathBuf {
    let s = brick.to_str().unwrap();
    Path::new("/var/log/glusterfs/bricks").join(format!(
        "{}.log",
        s.trim_start_matches('/').replace('/', "-")
    ))
}

/// What a volume leaves on the machine; all of it must disappear.
struct Traces {
    name: String,
    dir: PathBuf,
    bricks: Vec<PathBuf>,
    pids: Vec<u32>,
    sockets: Vec<PathBuf>,
}

/// The `-S SOCKET` argument of a brick process.
fn socket_of(pid: u32) -> Option<PathBuf> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let argv: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
    let at = argv.iter().position(|a| *a == b"-S")?;
    Some(PathBuf::from(std::str::from_utf8(argv[at + 1]).ok()?))
}

impl Traces {
    fn of(vol: &Volume) -> Traces {
        let pids: Vec<u32> = vol.brick_pids().unwrap().into_iter().flatten().collect();
        assert_eq!(pids.len(), vol.bricks().len(), "every brick runs");
        let sockets: Vec<PathBuf> = pids.iter().filter_map(|p| socket_of(*p)).collect();
        assert_eq!(sockets.len(), pids.len());
        for s in &sockets {
            assert!(s.exists(), "{s:?}");
        }
        Traces {
            sockets,
            name: vol.name().to_string(),
            dir: vol.brick_dir().unwrap().to_path_buf(),
            bricks: vol.bricks().to_vec(),
            pids,
        }
    }

    fn assert_gone(&self) {
        assert!(
            !list_volumes().unwrap().contains(&self.name),
            "{} still listed",
            self.name
        );
        assert!(!Path::new("/var/lib/glusterd/vols")
            .join(&self.name)
            .exists());
        assert!(!self.dir.exists(), "{:?} left behind", self.dir);
        for p in &self.pids {
            assert!(wait_dead(*p), "brick pid {p} still alive");
        }
        for b in &self.bricks {
            assert!(!brick_log(b).exists(), "brick log of {b:?} left behind");
        }
        for s in &self.sockets {
            assert!(!s.exists(), "brick socket {s:?} left behind");
        }
    }
}

#[test]
fn glusterd_not_ours_is_not_stopped() {
    let g = Glusterd::ensure().unwrap();
    if !g.started_by_us() {
        g.stop().unwrap(); // no-op: someone else's daemon
        assert!(Glusterd::is_running());
    }
}

#[test]
fn one_brick_lifecycle_and_fault_helpers() {
    glusterd();
    let t = Instant::now();
    let mut vol = Volume::create(
        VolumeSpec::new()
            .prefix(PREFIX)
            .option("performance.strict-o-direct", "on"),
    )
    .unwrap();
    eprintln!("create 1-brick: {:?}", t.elapsed());
    assert!(vol
        .name()
        .starts_with(&format!("{PREFIX}-{}-", std::process::id())));
    assert!(list_volumes().unwrap().contains(&vol.name().to_string()));
    assert_eq!(vol.bricks().len(), 1);
    assert!(vol.bricks()[0].is_dir());
    assert_eq!((vol.server_host(), vol.server_port()), ("localhost", 24007));
    assert_eq!(vol.brick_host(), glusterrs_cluster::brick_host().unwrap());
    let traces = Traces::of(&vol);
    let port = vol.brick_port(0).unwrap().expect("online brick has a port");
    assert!(port > 0);
    assert!(vol.brick_port(1).is_err());

    vol.set_option("performance.io-thread-count", "8").unwrap();
    assert_eq!(vol.options().len(), 2);
    let info = Command::new("gluster")
        .args(["--mode=script", "volume", "info", vol.name()])
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("performance.strict-o-direct: on"), "{info}");
    assert!(info.contains("performance.io-thread-count: 8"), "{info}");

    // Crash the brick, then bring it back.
    let old = vol.brick_pids().unwrap()[0].unwrap();
    vol.stop_brick(0).unwrap();
    assert!(!pid_alive(old));
    let st = vol.status().unwrap();
    assert!(!st[0].online && st[0].pid.is_none(), "{st:?}");
    vol.start_force().unwrap();
    let new = vol.brick_pids().unwrap()[0].expect("restarted");
    assert_ne!(new, old);

    let traces = Traces {
        pids: vec![new],
        ..traces
    };
    let t = Instant::now();
    vol.destroy().unwrap();
    eprintln!("destroy 1-brick: {:?}", t.elapsed());
    traces.assert_gone();
}

#[test]
fn volume_on_existing_bricks_stops_starts_and_leaves_them() {
    glusterd();
    let dir = TestDir::new("existing");
    let brick = dir.0.join("brick");
    fs::create_dir(&brick).unwrap();
    fs::write(brick.join("kept"), b"the caller's data").unwrap();

    let missing = dir.0.join("missing");
    let err = Volume::create(
        VolumeSpec::new()
            .prefix(PREFIX)
            .existing_bricks([missing.clone()]),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains(&*missing.to_string_lossy()),
        "{err}"
    );

    let vol = Volume::create(VolumeSpec::new().prefix(PREFIX).existing_bricks([&brick])).unwrap();
    assert_eq!(vol.bricks(), std::slice::from_ref(&brick));
    assert_eq!(vol.brick_dir(), None);
    let log = brick_log(&brick);
    let pid = vol.brick_pids().unwrap()[0].expect("online");

    vol.stop().unwrap();
    assert!(!pid_alive(pid), "brick process {pid} survived the stop");
    assert!(vol.status().unwrap().iter().all(|s| !s.online));
    vol.start().unwrap();
    assert!(vol.status().unwrap().iter().all(|s| s.online));

    let name = vol.name().to_string();
    vol.destroy().unwrap();
    assert!(!list_volumes().unwrap().contains(&name));
    assert_eq!(fs::read(brick.join("kept")).unwrap(), b"the caller's data");
    assert!(!log.exists(), "brick log {} left", log.display());
}

#[test]
fn replica3_fuse_write_read_and_drop() {
    glusterd();
    let t = Instant::now();
    let vol = Volume::create(VolumeSpec::new().prefix(PREFIX).replica(3)).unwrap();
    eprintln!("create replica 3: {:?}", t.elapsed());
    assert_eq!(vol.bricks().len(), 3);
    assert_eq!(vol.replica(), Some(3));
    let traces = Traces::of(&vol);

    let mnt = vol.mount_fuse().unwrap();
    let mp = mnt.path().to_path_buf();
    assert!(mounted(&mp));
    assert_eq!(mnt.volume(), vol.name());
    let client = mnt.client_pid().expect("fuse client found");
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(mp.join("f"), &data).unwrap();
    assert_eq!(fs::read(mp.join("f")).unwrap(), data);
    for b in vol.bricks() {
        assert_eq!(fs::read(b.join("f")).unwrap(), data, "replica on {b:?}");
    }
    let log = mnt.log_file();
    assert!(log.exists());

    // Drop order as a test would have it: mount first, then volume.
    drop(mnt);
    assert!(!mounted(&mp));
    assert!(!mp.exists(), "mount dir removed");
    assert!(!log.exists(), "client log removed");
    assert!(wait_dead(client));
    let t = Instant::now();
    drop(vol);
    eprintln!("drop replica 3: {:?}", t.elapsed());
    traces.assert_gone();
}

#[test]
fn odd_names_need_no_shell() {
    glusterd();
    let root = TestDir::new("odd");
    // Shell metacharacters everywhere; gluster copes with all of these.
    let weird = root.0.join("r;$(touch${IFS}PWNED)&|x'y<>*?!%");
    fs::create_dir(&weird).unwrap();
    let vol = Volume::create(VolumeSpec::new().prefix(PREFIX).brick_root(&weird)).unwrap();
    assert!(vol.bricks()[0].starts_with(&weird));
    let traces = Traces::of(&vol);

    let mp = weird.join("m;nt$(touch${IFS}PWNED)");
    fs::create_dir(&mp).unwrap();
    let mnt = FuseMount::mount(vol.server_host(), vol.name(), Some(mp.clone())).unwrap();
    fs::write(mnt.path().join("x"), b"odd").unwrap();
    assert_eq!(fs::read(vol.bricks()[0].join("x")).unwrap(), b"odd");
    let log = mnt.log_file();
    mnt.unmount().unwrap();
    assert!(!mounted(&mp));
    assert!(mp.is_dir(), "a mountpoint we did not create stays");
    fs::remove_dir(&mp).unwrap();
    let _ = fs::remove_file(log); // named after our test dir
    vol.destroy().unwrap();
    traces.assert_gone();
    assert_eq!(
        fs::read_dir(&weird).unwrap().count(),
        0,
        "only our tree was removed"
    );
    for p in [
        PathBuf::from("PWNED"),
        PathBuf::from("/PWNED"),
        std::env::temp_dir().join("PWNED"),
        root.0.join("PWNED"),
    ] {
        assert!(!p.exists(), "{p:?}: a shell ran");
    }

    // A backtick: glusterd would copy it into the brick volfile, where GlusterFS hands
    // `...` to a shell (as root). Refused up front.
    let ticked = root.0.join("t`touch${IFS}PWNED`");
    fs::create_dir(&ticked).unwrap();
    let err = Volume::create(VolumeSpec::new().prefix(PREFIX).brick_root(&ticked)).unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    assert_eq!(fs::read_dir(&ticked).unwrap().count(), 0);
    let err = Volume::create(VolumeSpec::new().prefix(PREFIX).option("a.b", "`id`")).unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");

    // Whitespace: gluster would silently cut the path, so it is refused up front.
    let spaced = root.0.join("a b");
    fs::create_dir(&spaced).unwrap();
    let err = Volume::create(VolumeSpec::new().prefix(PREFIX).brick_root(&spaced)).unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("whitespace"), "{err}");
    assert_eq!(fs::read_dir(&spaced).unwrap().count(), 0);
    let err = FuseMount::mount("localhost", "whatever", Some(spaced.clone())).unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
}

#[test]
fn failed_create_rolls_back() {
    glusterd();
    let root = TestDir::new("rollback");
    // An option glusterd rejects: the volume was created, so it must be deleted again.
    let name = glusterrs_cluster::unique_name(PREFIX).unwrap();
    let err = Volume::create(
        VolumeSpec::new()
            .name(&name)
            .brick_root(&root.0)
            .option("no.such-option", "1"),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Command { .. }), "{err}");
    assert!(err.to_string().contains("no.such-option"), "{err}");
    assert!(!list_volumes().unwrap().contains(&name));
    assert_eq!(
        fs::read_dir(&root.0).unwrap().count(),
        0,
        "brick tree removed"
    );

    // An existing volume of the requested name is refused and left alone.
    let vol = Volume::create(VolumeSpec::new().prefix(PREFIX).brick_root(&root.0)).unwrap();
    let err = Volume::create(VolumeSpec::new().name(vol.name()).brick_root(&root.0)).unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    assert!(list_volumes().unwrap().contains(&vol.name().to_string()));
    assert_eq!(vol.brick_pids().unwrap().len(), 1);
    let traces = Traces::of(&vol);
    vol.destroy().unwrap();
    traces.assert_gone();
}

/// Mounts a volfile with the FUSE client directly: `glusterfs --volfile=F -l LOG DIR`.
struct VolfileMount {
    dir: PathBuf,
}

impl VolfileMount {
    fn mount(volfile: &Path, log: &Path, dir: &Path) -> VolfileMount {
        let st = Command::new("glusterfs")
            .arg(format!("--volfile={}", volfile.display()))
            .arg(format!("--log-file={}", log.display()))
            .arg(dir)
            .status()
            .unwrap();
        assert!(st.success(), "glusterfs --volfile failed, see {log:?}");
        let end = Instant::now() + Duration::from_secs(10);
        while !mounted(dir) {
            assert!(Instant::now() < end, "volfile mount did not appear");
            thread::sleep(Duration::from_millis(20));
        }
        VolfileMount {
            dir: dir.to_path_buf(),
        }
    }
}

impl Drop for VolfileMount {
    fn drop(&mut self) {
        let pids: Vec<u32> = fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .filter(|pid: &u32| {
                fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                    c.split(|b| *b == 0)
                        .any(|a| a == self.dir.as_os_str().as_encoded_bytes())
                })
            })
            .collect();
        let _ = Command::new("umount").arg(&self.dir).status();
        for p in pids {
            assert!(wait_dead(p), "volfile client {p} did not exit");
        }
    }
}

#[test]
fn generated_volfiles_are_usable() {
    glusterd();
    let work = TestDir::new("volfiles");
    let vol = Volume::create(VolumeSpec::new().prefix(PREFIX)).unwrap();
    let traces = Traces::of(&vol);
    {
        let mnt = vol.mount_fuse().unwrap();
        fs::write(mnt.path().join("seen"), b"through glusterd's graph").unwrap();
    }
    let brick = &vol.bricks()[0];
    let port = vol.brick_port(0).unwrap();

    // bypass-custom: protocol/client only, via the port mapper and with a fixed port.
    for (i, p) in [None, port].into_iter().enumerate() {
        let text = client_volfile(vol.name(), vol.server_host(), p, brick, Transport::Tcp).unwrap();
        let vf = work.0.join(format!("client{i}.vol"));
        fs::write(&vf, text).unwrap();
        let dir = work.0.join(format!("m{i}"));
        fs::create_dir(&dir).unwrap();
        {
            let _m = VolfileMount::mount(&vf, &work.0.join(format!("c{i}.log")), &dir);
            assert_eq!(
                fs::read(dir.join("seen")).unwrap(),
                b"through glusterd's graph"
            );
        }
        assert!(!mounted(&dir));
    }

    // rpc-bypass: storage/posix only, on a directory of its own (with odd characters).
    // The backtick span must reach posix as text, not run through a shell.
    let pdir = work.0.join("posix b#r;ck`touch${IFS}PWNED`\\\"q");
    fs::create_dir(&pdir).unwrap();
    let vf = work.0.join("posix.vol");
    fs::write(&vf, posix_volfile(&pdir).unwrap()).unwrap();
    let dir = work.0.join("mp");
    fs::create_dir(&dir).unwrap();
    {
        let _m = VolfileMount::mount(&vf, &work.0.join("p.log"), &dir);
        fs::write(dir.join("direct"), b"posix").unwrap();
    }
    assert_eq!(fs::read(pdir.join("direct")).unwrap(), b"posix");
    assert!(
        pdir.join(".glusterfs").is_dir(),
        "posix xlator ran on the dir"
    );
    for p in [
        PathBuf::from("/PWNED"),
        work.0.join("PWNED"),
        PathBuf::from("PWNED"),
    ] {
        assert!(!p.exists(), "{p:?}: volfile backticks ran");
    }

    vol.destroy().unwrap();
    traces.assert_gone();
}

#[test]
fn cleanup_stale_removes_dead_runs_only() {
    glusterd();
    let prefix = format!("grs-stale{}", std::process::id());
    // A pid that surely is dead: a child that exited.
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();

    // A "crashed run": volume and mount whose guards never ran.
    let crashed =
        Volume::create(VolumeSpec::new().name(format!("{prefix}-{dead}-0-{now}"))).unwrap();
    let traces = Traces::of(&crashed);
    let mnt = crashed.mount_fuse().unwrap();
    let mp = mnt.path().to_path_buf();
    let client = mnt.client_pid().unwrap();
    std::mem::forget(mnt);
    std::mem::forget(crashed);
    // A brick tree of a run that died before `volume create`.
    let orphan_name = format!("{prefix}-{dead}-1-{now}");
    let orphan = std::env::temp_dir().join(&orphan_name);
    fs::create_dir_all(orphan.join("b0")).unwrap();
    fs::write(
        orphan.join(".glusterrs-cluster-owner"),
        format!("{orphan_name}\n"),
    )
    .unwrap();
    // Look-alike without our marker: not ours, stays.
    let foreign = std::env::temp_dir().join(format!("{prefix}-{dead}-2-{now}"));
    fs::create_dir(&foreign).unwrap();
    // A live run with the same prefix: stays.
    let live = Volume::create(VolumeSpec::new().prefix(&prefix)).unwrap();

    let report = cleanup_stale(&prefix).unwrap();
    eprintln!("{report:?}");
    assert_eq!(report.volumes, vec![traces.name.clone()]);
    assert_eq!(report.mounts, vec![mp.clone()]);
    assert!(report.dirs.contains(&mp));
    assert!(report.dirs.contains(&traces.dir));
    assert!(report.dirs.contains(&orphan));
    assert!(!mounted(&mp) && !mp.exists());
    assert!(wait_dead(client));
    traces.assert_gone();
    assert!(!orphan.exists());
    assert!(foreign.is_dir(), "unmarked directory left alone");
    fs::remove_dir(&foreign).unwrap();
    assert!(list_volumes().unwrap().contains(&live.name().to_string()));
    assert!(
        live.brick_pids().unwrap()[0].is_some(),
        "live volume untouched"
    );

    assert!(cleanup_stale(&prefix).unwrap().is_empty());
    let traces = Traces::of(&live);
    live.destroy().unwrap();
    traces.assert_gone();
}
