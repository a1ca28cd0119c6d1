// SPDX-License-Identifier: GPL-2.0-or-later
//! rpc-bypass (`Volume::posix`): data round trip, 200 open/close cycles
//! without leaks or hangs, refusal of a live brick, and a brick written in
//! this mode being healthy for glusterd afterwards.
//!
//! The tests in this file run one at a time (they count the process's
//! threads and fds, and posix's init briefly changes the process umask).
mod common;

use common::{ensure_glusterd, fd_count, pattern, thread_count, TestVolume, PREFIX};
use gfapi::{AlignedBuf, CompletionQueue, Error, Volume};
use glusterrs_cluster::FuseMount;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());
static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn skip_unless_supported() -> bool {
    match gfapi::rpc_bypass_support() {
        Ok(_) => false,
        Err(e) => {
            eprintln!("skipping: {e}");
            true
        }
    }
}

/// A fresh directory under the temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("{PREFIX}-{}-{n}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Aborts the test process if not dropped within `limit` ("never hangs").
struct Watchdog(Option<mpsc::Sender<()>>);

fn watchdog(limit: Duration, what: &'static str) -> Watchdog {
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
            eprintln!("watchdog: {what} did not finish within {limit:?}");
            std::process::abort();
        }
    });
    Watchdog(Some(tx))
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// Wait (briefly) for the thread/fd counts to settle back to `(fds, threads)`.
fn settles_to(fds: usize, threads: usize) -> (usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let now = (fd_count(), thread_count());
        if now == (fds, threads) || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn exercise(fs: &gfapi::Fs, brick: &Path) {
    assert!(fs.stat("/").unwrap().is_dir(), "root lookup must work");
    fs.mkdir("/d", 0o755).unwrap();

    // Buffered writes and reads.
    let data = pattern(1 << 20, 7);
    let f = fs
        .create("/d/f", libc::O_RDWR | libc::O_TRUNC, 0o644)
        .unwrap();
    for (i, chunk) in data.chunks(128 << 10).enumerate() {
        assert_eq!(
            f.write_at(chunk, (i * chunk.len()) as u64).unwrap(),
            chunk.len()
        );
    }
    f.fsync().unwrap();
    let mut back = vec![0u8; data.len()];
    assert_eq!(f.read_at(&mut back, 0).unwrap(), data.len());
    assert!(back == data, "read back differs");
    assert_eq!(f.stat().unwrap().size, data.len() as u64);
    f.close().unwrap();
    assert!(
        std::fs::read(brick.join("d/f")).unwrap() == data,
        "brick file differs"
    );
    assert_eq!(fs.stat("/d/f").unwrap().size, data.len() as u64);

    // O_DIRECT, aligned.
    let dio = pattern(512 << 10, 9);
    let f = fs
        .create(
            "/d/direct",
            libc::O_RDWR | libc::O_TRUNC | libc::O_DIRECT,
            0o644,
        )
        .unwrap();
    let wbuf = AlignedBuf::from_slice(&dio, 4096).unwrap();
    assert_eq!(f.write_at(&wbuf, 0).unwrap(), dio.len());
    f.fdatasync().unwrap();
    let mut rbuf = AlignedBuf::new(dio.len(), 4096).unwrap();
    assert_eq!(f.read_at(&mut rbuf, 0).unwrap(), dio.len());
    assert!(rbuf[..] == dio[..], "O_DIRECT read back differs");

    // Async (completes inline without io-threads, on a worker with them).
    let q: CompletionQueue<(u32, Vec<u8>)> = CompletionQueue::new();
    for i in 0..4u32 {
        f.read_at_async(vec![0u8; 4096], u64::from(i) * 4096, &q, i)
            .unwrap();
    }
    let mut done = Vec::new();
    q.wait(&mut done, 4, 4, Some(Duration::from_secs(10)));
    assert_eq!(done.len(), 4);
    for c in &done {
        let (i, buf) = &c.token;
        assert_eq!(*c.result.as_ref().unwrap(), 4096);
        let off = *i as usize * 4096;
        assert!(buf[..] == dio[off..off + 4096], "async read {i} differs");
    }
    f.truncate(4096).unwrap();
    assert_eq!(f.stat().unwrap().size, 4096);
    f.close().unwrap();

    fs.unlink("/d/direct").unwrap();
    assert!(!fs.exists("/d/direct").unwrap());
    assert!(!brick.join("d/direct").exists());
    assert_eq!(
        fs.unlink("/d/direct").unwrap_err().raw_os_error(),
        Some(libc::ENOENT)
    );
}

#[test]
fn data_written_reads_back_identical() {
    let _s = serial();
    if skip_unless_supported() {
        return;
    }
    let _w = watchdog(Duration::from_secs(120), "round trip");
    for threads in [0, 4] {
        let brick = TempDir::new("rt");
        let fs = Volume::posix(brick.path())
            .io_threads(threads)
            .init()
            .unwrap();
        exercise(&fs, brick.path());
        // The brick looks like a brick: root gfid and handle tree.
        assert!(brick.path().join(".glusterfs/00/00").is_dir());
        let t = Instant::now();
        fs.shutdown().unwrap();
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "teardown took {:?}",
            t.elapsed()
        );

        // Reopen: data is still there.
        let fs = Volume::posix(brick.path()).init().unwrap();
        let f = fs.open("/d/f", libc::O_RDONLY).unwrap();
        let mut back = vec![0u8; 1 << 20];
        assert_eq!(f.read_at(&mut back, 0).unwrap(), back.len());
        assert!(back == pattern(1 << 20, 7));
        f.close().unwrap();
        fs.shutdown().unwrap();
    }
}

#[test]
fn open_close_200_times_leaves_nothing_behind() {
    let _s = serial();
    if skip_unless_supported() {
        return;
    }
    let _w = watchdog(Duration::from_secs(300), "200 open/close cycles");
    let brick = TempDir::new("cycles");
    let cycle = |threads: u32| {
        let fs = Volume::posix(brick.path())
            .io_threads(threads)
            .init()
            .unwrap();
        let f = fs.create("/f", libc::O_RDWR, 0o644).unwrap();
        f.write_at(b"x", 0).unwrap();
        f.close().unwrap();
        let t = Instant::now();
        fs.shutdown().unwrap();
        t.elapsed()
    };
    // Warm up once: libgfapi's process-global state (global syncenv threads,
    // loaded translators) is created by the first instance and kept.
    cycle(0);
    cycle(4);
    let (fds0, threads0) = (fd_count(), thread_count());
    let t = Instant::now();
    let mut slowest = Duration::ZERO;
    for i in 0..200 {
        slowest = slowest.max(cycle(if i % 10 == 9 { 4 } else { 0 }));
    }
    let total = t.elapsed();
    eprintln!("200 volume open/close cycles: {total:?}, slowest teardown {slowest:?}");
    assert!(
        slowest < Duration::from_secs(2),
        "slowest teardown {slowest:?}"
    );
    assert_eq!(
        settles_to(fds0, threads0),
        (fds0, threads0),
        "fds/threads leaked"
    );

    // 200 file open/close cycles on one instance.
    let fs = Volume::posix(brick.path()).init().unwrap();
    // gfapi's event threads start asynchronously after init; let them.
    let mut b = [0u8; 1];
    fs.open("/f", libc::O_RDONLY)
        .unwrap()
        .read_at(&mut b, 0)
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let (fds1, threads1) = (fd_count(), thread_count());
    for _ in 0..200 {
        let f = fs.open("/f", libc::O_RDONLY).unwrap();
        let mut b = [0u8; 1];
        assert_eq!(f.read_at(&mut b, 0).unwrap(), 1);
        f.close().unwrap();
    }
    assert_eq!(
        settles_to(fds1, threads1),
        (fds1, threads1),
        "file cycles leaked"
    );
    fs.shutdown().unwrap();
    assert_eq!(settles_to(fds0, threads0), (fds0, threads0));
}

/// A glusterd volume on an existing brick directory; stopped and deleted on
/// drop, the brick directory left to the caller.
fn gluster_volume_on(brick: &Path, tag: &str) -> glusterrs_cluster::Volume {
    ensure_glusterd();
    glusterrs_cluster::Volume::create(
        glusterrs_cluster::VolumeSpec::new()
            .prefix(format!("{PREFIX}-{tag}"))
            .existing_bricks([brick]),
    )
    .expect("volume on an existing brick")
}

#[test]
fn brick_written_in_this_mode_is_healthy_for_glusterd() {
    let _s = serial();
    if skip_unless_supported() {
        return;
    }
    let _w = watchdog(Duration::from_secs(300), "glusterd health check");
    let parent = TempDir::new("health");
    let brick = parent.path().join("brick");
    std::fs::create_dir(&brick).unwrap();

    let a = pattern(3 << 20, 11);
    let b = pattern(1000, 12);
    {
        let fs = Volume::posix(&brick).init().unwrap();
        fs.mkdir("/dir", 0o755).unwrap();
        let f = fs
            .create("/a", libc::O_WRONLY | libc::O_TRUNC, 0o644)
            .unwrap();
        f.write_at(&a, 0).unwrap();
        f.close().unwrap();
        let f = fs
            .create("/dir/b", libc::O_WRONLY | libc::O_TRUNC, 0o600)
            .unwrap();
        f.write_at(&b, 0).unwrap();
        f.close().unwrap();
        let f = fs.create("/gone", libc::O_WRONLY, 0o644).unwrap();
        f.close().unwrap();
        fs.unlink("/gone").unwrap();
        fs.shutdown().unwrap();
    }
    assert!(gfapi::brick_users(&brick).unwrap().is_empty());

    let vol = gluster_volume_on(&brick, "health");
    let status = vol.status().unwrap();
    assert!(
        status.len() == 1 && status[0].online && status[0].path == brick,
        "brick not online: {status:?}"
    );
    {
        let m = FuseMount::mount("localhost", vol.name(), None).expect("FUSE mount");
        assert!(
            std::fs::read(m.path().join("a")).unwrap() == a,
            "a differs via FUSE"
        );
        assert!(
            std::fs::read(m.path().join("dir/b")).unwrap() == b,
            "dir/b differs via FUSE"
        );
        assert!(!m.path().join("gone").exists());
        let mut names: Vec<_> = std::fs::read_dir(m.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["a", "dir"]);
        // And it keeps working as a volume.
        std::fs::write(m.path().join("dir/c"), b"via fuse").unwrap();
        assert_eq!(std::fs::read(m.path().join("dir/c")).unwrap(), b"via fuse");
    }

    // While the volume runs, rpc-bypass refuses to write, allows reading.
    let users = gfapi::brick_users(&brick).unwrap();
    assert!(
        users.iter().any(|u| u.process == "glusterfsd"),
        "brick process not detected: {users:?}"
    );
    match Volume::posix(&brick).init() {
        Err(Error::BrickInUse { detail, .. }) => assert!(detail.contains("glusterfsd"), "{detail}"),
        other => panic!("expected BrickInUse, got {other:?}"),
    }
    {
        let fs = Volume::posix(&brick).read_only(true).init().unwrap();
        let f = fs.open("/dir/c", libc::O_RDONLY).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(f.read_at(&mut buf, 0).unwrap(), 8);
        assert_eq!(&buf, b"via fuse");
        f.close().unwrap();
        let e = fs.create("/nope", libc::O_WRONLY, 0o644).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EROFS));
        assert_eq!(
            fs.unlink("/a").unwrap_err().raw_os_error(),
            Some(libc::EROFS)
        );
        fs.shutdown().unwrap();
    }

    // Stopped: no brick process, the volume is not started -> allowed again.
    vol.stop().unwrap();
    {
        let fs = Volume::posix(&brick).init().unwrap();
        assert_eq!(fs.stat("/dir/c").unwrap().size, 8);
        fs.shutdown().unwrap();
    }
    drop(vol);
}

#[test]
fn refuses_a_live_brick_of_a_started_volume() {
    let _s = serial();
    if skip_unless_supported() {
        return;
    }
    // A started volume made by the shared helper (its own brick process).
    let vol = TestVolume::create("bypass-live");
    let e = Volume::posix(vol.brick()).init().unwrap_err();
    assert!(matches!(e, Error::BrickInUse { .. }), "{e}");
    assert!(e.to_string().contains("refusing to open brick"), "{e}");
    // io::Error conversion keeps a sensible kind.
    let io: std::io::Error = e.into();
    assert_eq!(io.kind(), std::io::ErrorKind::Other);
}

#[test]
fn io_pool_writes_and_reads_back_with_direct_io_and_close_waits() {
    let _s = serial();
    if skip_unless_supported() {
        return;
    }
    let _w = watchdog(Duration::from_secs(120), "io pool");
    let brick = TempDir::new("pool");
    let fs = Volume::posix(brick.path()).init().unwrap();
    // This thread's requests then carry the cached pid (no getpid each).
    fs.cache_thread_pid().unwrap();
    const BLOCK: usize = 4096;
    const BLOCKS: usize = 64;
    let data = pattern(BLOCK * BLOCKS, 11);
    let f = fs
        .create("/p", libc::O_RDWR | libc::O_CREAT | libc::O_DIRECT, 0o644)
        .unwrap();
    let pool = gfapi::IoPool::new(8).unwrap();
    let q = CompletionQueue::new();
    let mut bufs: Vec<AlignedBuf> = (0..BLOCKS)
        .map(|i| AlignedBuf::from_slice(&data[i * BLOCK..(i + 1) * BLOCK], BLOCK).unwrap())
        .collect();
    // All writes in flight at once, in reverse order of offset.
    for i in (0..BLOCKS).rev() {
        // SAFETY: bufs[i] is not touched until its completion is collected below.
        unsafe {
            pool.write_at_raw(&f, bufs[i].as_ptr(), BLOCK, (i * BLOCK) as u64, &q, i)
                .unwrap()
        };
    }
    let mut done = Vec::new();
    assert_eq!(
        q.wait(&mut done, BLOCKS, BLOCKS, Some(Duration::from_secs(60))),
        BLOCKS
    );
    let mut seen: Vec<usize> = done.iter().map(|c| c.token).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..BLOCKS).collect::<Vec<_>>(), "every token once");
    for c in done.drain(..) {
        assert_eq!(c.result.unwrap(), BLOCK, "write {}", c.token);
    }
    assert_eq!(q.in_flight(), 0);
    // The brick holds what was written.
    assert!(std::fs::read(brick.path().join("p")).unwrap() == data);

    // Read everything back through the pool into zeroed buffers.
    for b in &mut bufs {
        b.fill(0);
    }
    for (i, b) in bufs.iter_mut().enumerate() {
        // SAFETY: as above.
        unsafe {
            pool.read_at_raw(&f, b.as_mut_ptr(), BLOCK, (i * BLOCK) as u64, &q, i)
                .unwrap()
        };
    }
    assert_eq!(
        q.wait(&mut done, BLOCKS, BLOCKS, Some(Duration::from_secs(60))),
        BLOCKS
    );
    for c in done.drain(..) {
        assert_eq!(c.result.unwrap(), BLOCK);
    }
    for (i, b) in bufs.iter().enumerate() {
        assert!(b[..] == data[i * BLOCK..(i + 1) * BLOCK], "block {i}");
    }

    // An error comes back as the errno: an unaligned O_DIRECT read fails
    // with EINVAL.
    let mut odd = vec![0u8; 100];
    // SAFETY: `odd` outlives the wait below and is not touched meanwhile.
    unsafe {
        pool.read_at_raw(&f, odd.as_mut_ptr().wrapping_add(1), 99, 1, &q, 0)
            .unwrap()
    };
    assert_eq!(q.wait(&mut done, 1, 1, Some(Duration::from_secs(60))), 1);
    assert_eq!(
        done.pop().unwrap().result.unwrap_err().raw_os_error(),
        Some(libc::EINVAL)
    );

    // Closing the file while requests are queued waits for all of them:
    // every completion is delivered, none is lost.
    for (i, b) in bufs.iter_mut().enumerate() {
        // SAFETY: as above.
        unsafe {
            pool.read_at_raw(&f, b.as_mut_ptr(), BLOCK, (i * BLOCK) as u64, &q, i)
                .unwrap()
        };
    }
    f.close().unwrap();
    assert_eq!(q.in_flight(), 0, "close returned with requests in flight");
    assert_eq!(
        q.wait(&mut done, BLOCKS, BLOCKS, Some(Duration::ZERO)),
        BLOCKS
    );
    assert!(done.iter().all(|c| c.result.as_ref().ok() == Some(&BLOCK)));
    drop(pool);
    fs.shutdown().unwrap();
}
