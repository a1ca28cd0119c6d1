//! The harness's own run against a local cluster (real glusterd, volume,
//! FUSE mount and fio), at a tiny size; and Ctrl-C leaving nothing behind.
//! Needs root, glusterd installed and fio 3.33, like the rest of `make test`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_glusterrs-bench")
}

fn jobs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../jobs")
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p = PathBuf::from("/var/tmp")
            .join(format!("glusterrs-bench-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn volumes() -> Vec<String> {
    let out = Command::new("gluster")
        .args(["--mode=script", "volume", "list"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

fn mounts_under(dir: &Path) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(String::from))
        .filter(|m| m.starts_with(&*dir.to_string_lossy()))
        .collect()
}

/// Processes whose command line mentions `needle` (fio runs, glusterfs clients).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if !e
            .file_name()
            .to_string_lossy()
            .chars()
            .all(|c| c.is_ascii_digit())
        {
            continue;
        }
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) {
                found.push(cmd);
            }
        }
    }
    found
}

fn assert_nothing_left(volume: &str, scratch: &Path) {
    assert!(
        !volumes().iter().any(|v| v == volume),
        "volume {volume} left behind"
    );
    assert!(
        mounts_under(scratch).is_empty(),
        "mounts left: {:?}",
        mounts_under(scratch)
    );
    let left: Vec<_> = std::fs::read_dir(scratch)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("glusterrs-bench-")
        })
        .collect();
    assert!(left.is_empty(), "work dirs left: {left:?}");
    // glusterd runs its own post-delete hook scripts for a moment: wait
    // for anything naming the volume to be gone.
    let t = Instant::now();
    let mut procs = processes_mentioning(volume);
    while !procs.is_empty() && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(200));
        procs = processes_mentioning(volume);
    }
    assert!(procs.is_empty(), "processes left: {procs:?}");
}

#[derive(Debug, serde::Deserialize)]
struct Row {
    job: String,
    setup: String,
    status: String,
    aggrb_kbs: Option<f64>,
    minb_kbs: Option<f64>,
    maxb_kbs: Option<f64>,
    mint_ms: Option<u64>,
    maxt_ms: Option<u64>,
    iops: Option<f64>,
    clat_p50_us: Option<f64>,
    clat_p99_us: Option<f64>,
    note: String,
}

/// Every setup of the seed's table and both fio peers (qemu needs
/// qemu-block-extra, which `make deps` does not install).
const ALL_SETUPS: [&str; 7] = [
    "base",
    "fuse",
    "bypass",
    "bypass-custom",
    "rpc-bypass",
    "gfapi",
    "gfapi_async",
];

#[test]
fn small_run_writes_csv_summary_and_plots() {
    let scratch = Scratch::new("run");
    let bricks = scratch.0.join("bricks");
    let results = scratch.0.join("results");
    std::fs::create_dir_all(&bricks).unwrap();
    let volume = format!("gbench-it-{}", std::process::id());
    let t = Instant::now();
    let out = Command::new(bin())
        .args(["run", "--size", "4m", "--repeat", "1", "--name", "it"])
        .args(["--fio-timeout", "120"])
        .args([
            "--setups",
            "base,fuse,bypass,bypass-custom,rpc-bypass,gfapi,gfapi_async",
        ])
        .arg("--volume")
        .arg(&volume)
        .arg("--brick-dir")
        .arg(&bricks)
        .arg("--results")
        .arg(&results)
        .arg(jobs_dir().join("seq-read.fio"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("harness took {:.1} s\n{stderr}", t.elapsed().as_secs_f64());
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        out.status
    );

    let run = results.join("it");
    assert_eq!(
        std::fs::read_link(results.join("latest")).unwrap(),
        Path::new("it")
    );
    let mut rd = csv::Reader::from_path(run.join("results.csv")).unwrap();
    let rows: Vec<Row> = rd.deserialize().map(Result::unwrap).collect();
    for setup in ALL_SETUPS {
        let r: Vec<_> = rows.iter().filter(|r| r.setup == setup).collect();
        assert_eq!(r.len(), 1, "{setup}: one row expected: {rows:?}");
        let r = r[0];
        assert_eq!(r.job, "seq-read");
        // Every setup works on the machines that run the tests (Debian 12,
        // gluster 10.3, /dev/fuse): one that did not run is a failure here,
        // whatever its note says.
        assert_eq!(r.status, "ok", "{setup} did not run: {} ({r:?})", r.note);
        let (agg, minb, maxb) = (
            r.aggrb_kbs.unwrap(),
            r.minb_kbs.unwrap(),
            r.maxb_kbs.unwrap(),
        );
        let (mint, maxt) = (r.mint_ms.unwrap(), r.maxt_ms.unwrap());
        assert!(agg > 0.0 && minb > 0.0 && minb <= maxb, "{r:?}");
        assert!(mint <= maxt, "{r:?}");
        // 4 jobs x 4 MiB: aggrb is 16 MiB over the slowest job's time.
        let expect = 16.0 * 1024.0 * 1000.0 / maxt as f64;
        assert!((agg - expect).abs() / expect < 0.01, "{r:?} vs {expect}");
        assert!(agg >= minb, "{r:?}");
        assert!(r.iops.unwrap() > 0.0);
        assert!(r.clat_p50_us.unwrap() <= r.clat_p99_us.unwrap());
    }

    let md = std::fs::read_to_string(run.join("summary.md")).unwrap();
    assert!(
        md.contains("| setup | aggrb | minb | maxb | mint | maxt |"),
        "{md}"
    );
    for setup in ALL_SETUPS {
        assert!(
            md.contains(&format!("\n| {setup} |")),
            "{setup} missing in\n{md}"
        );
    }
    assert!(md.contains("performance.strict-o-direct=on"), "{md}");
    assert!(stdout.contains("| base |"), "table not printed: {stdout}");
    for f in ["seq-read-bw", "seq-read-runtime"] {
        for ext in ["png", "svg"] {
            let p = run.join("plots").join(format!("{f}.{ext}"));
            let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            assert!(len > 3000, "{} is {len} bytes", p.display());
        }
    }
    let png = std::fs::read(run.join("plots/seq-read-bw.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    for f in [
        "run.json",
        "commands.txt",
        "raw/seq-read/base-r1.json",
        "jobs/seq-read-fuse.fio",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    // The same files: base, fuse and gfapi_async read names laid out once.
    let base_job = std::fs::read_to_string(run.join("jobs/seq-read-base.fio")).unwrap();
    assert!(base_job.contains("filename_format=$jobname.$jobnum.$filenum"));
    assert!(base_job.contains("size=4m") && !base_job.contains("512m"));

    // compare: one repeat a side cannot be judged: exit 2, saying why.
    let cmp = Command::new(bin())
        .args(["compare"])
        .arg(&run)
        .arg(run.join("results.csv"))
        .output()
        .unwrap();
    assert_eq!(
        cmp.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&cmp.stdout)
    );
    assert!(String::from_utf8_lossy(&cmp.stdout).contains("cannot reach p < 0.05"));

    // ... and flags the same run with fuse made 20% slower. One repeat per
    // side can never be significant, so each side holds the run's real
    // numbers four times over (repeats 1-4), fuse scaled on one side.
    let replicate = |path: &Path, fuse_factor: f64| {
        let mut rd = csv::Reader::from_path(run.join("results.csv")).unwrap();
        let headers = rd.headers().unwrap().clone();
        let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let (agg, setup, repeat) = (col("aggrb_kbs"), col("setup"), col("repeat"));
        let records: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
        let mut wr = csv::Writer::from_path(path).unwrap();
        wr.write_record(&headers).unwrap();
        for rep in 1..=4 {
            for rec in &records {
                let mut fields: Vec<String> = rec.iter().map(String::from).collect();
                fields[repeat] = rep.to_string();
                if fields[setup] == "fuse" && !fields[agg].is_empty() {
                    fields[agg] = (fields[agg].parse::<f64>().unwrap() * fuse_factor).to_string();
                }
                wr.write_record(&fields).unwrap();
            }
        }
        wr.flush().unwrap();
    };
    let same = scratch.0.join("same.csv");
    let slow = scratch.0.join("slow.csv");
    replicate(&same, 1.0);
    replicate(&slow, 0.8);
    let cmp = Command::new(bin())
        .args(["compare"])
        .arg(&same)
        .arg(&same)
        .output()
        .unwrap();
    assert!(
        cmp.status.success(),
        "{}",
        String::from_utf8_lossy(&cmp.stdout)
    );
    let junit = scratch.0.join("out/junit.xml");
    let json = scratch.0.join("out/verdicts.json");
    let cmp = Command::new(bin())
        .args(["compare"])
        .arg(&same)
        .arg(&slow)
        .arg("--junit")
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&cmp.stdout);
    assert_eq!(cmp.status.code(), Some(1), "{text}");
    assert!(text.contains("REGRESSION: seq-read / fuse"), "{text}");
    assert!(
        text.contains("(-20.0%, 95% interval [-20.0%, -20.0%]"),
        "{text}"
    );
    assert!(
        !text.contains("REGRESSION: seq-read / gfapi_async"),
        "{text}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    assert!(xml.contains("name=\"seq-read / fuse\""), "{xml}");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["regressions"], 1);

    assert_nothing_left(&volume, &bricks);
}

#[test]
fn sigint_mid_run_leaves_nothing_behind() {
    let scratch = Scratch::new("sigint");
    let bricks = scratch.0.join("bricks");
    std::fs::create_dir_all(&bricks).unwrap();
    let volume = format!("gbench-int-{}", std::process::id());
    let mut child = Command::new(bin())
        .args(["run", "--size", "64m", "--repeat", "3", "--name", "int"])
        .args(["--setups", "base,fuse,gfapi_async"])
        .arg("--volume")
        .arg(&volume)
        .arg("--brick-dir")
        .arg(&bricks)
        .arg("--results")
        .arg(scratch.0.join("results"))
        .arg(jobs_dir().join("seq-read.fio"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    // Interrupt once the first measurement finished: the volume and mount
    // are up and a fio run is in flight.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(l) if l.contains(" run 1:") => break,
            _ if Instant::now() > deadline => panic!("harness never started measuring"),
            _ => {}
        }
    }
    assert!(volumes().iter().any(|v| v == &volume));
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(90),
            "harness did not stop"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = reader.join().unwrap();
    eprintln!("stopped in {:.1} s\n{log}", t.elapsed().as_secs_f64());
    assert_eq!(status.code(), Some(130), "{log}");
    assert!(log.contains("interrupted"), "{log}");
    assert_nothing_left(&volume, &bricks);
}

/// rpc-bypass on a job that writes: the harness stops its volume around the
/// run (the engine refuses a served brick for writing), starts it again, and
/// the setups after it (FUSE, the engine through glusterd) still work.
#[test]
fn rpc_bypass_write_job_runs_with_the_volume_stopped() {
    let scratch = Scratch::new("rpcw");
    let bricks = scratch.0.join("bricks");
    let results = scratch.0.join("results");
    std::fs::create_dir_all(&bricks).unwrap();
    let volume = format!("gbench-rpcw-{}", std::process::id());
    let t = Instant::now();
    let out = Command::new(bin())
        .args(["run", "--size", "4m", "--repeat", "2", "--name", "w"])
        .args(["--fio-timeout", "120", "--no-plots"])
        .args(["--setups", "rpc-bypass,fuse,bypass"])
        .arg("--volume")
        .arg(&volume)
        .arg("--brick-dir")
        .arg(&bricks)
        .arg("--results")
        .arg(&results)
        .arg(jobs_dir().join("seq-write.fio"))
        .arg(jobs_dir().join("seq-read.fio"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("harness took {:.1} s\n{stderr}", t.elapsed().as_secs_f64());
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    let run = results.join("w");
    let mut rd = csv::Reader::from_path(run.join("results.csv")).unwrap();
    let rows: Vec<Row> = rd.deserialize().map(Result::unwrap).collect();
    for job in ["seq-write", "seq-read"] {
        for setup in ["rpc-bypass", "fuse", "bypass"] {
            let r: Vec<_> = rows
                .iter()
                .filter(|r| r.job == job && r.setup == setup)
                .collect();
            assert_eq!(r.len(), 2, "{job}/{setup}: {rows:?}");
            for r in r {
                assert_eq!(r.status, "ok", "{r:?}");
                assert!(r.aggrb_kbs.unwrap() > 0.0, "{r:?}");
            }
        }
    }
    let write_job = std::fs::read_to_string(run.join("jobs/seq-write-rpc-bypass.fio")).unwrap();
    assert!(write_job.contains("posix=") && !write_job.contains("posix_read_only"));
    let read_job = std::fs::read_to_string(run.join("jobs/seq-read-rpc-bypass.fio")).unwrap();
    assert!(read_job.contains("posix_read_only=1"), "{read_job}");
    let info = std::fs::read_to_string(run.join("run.json")).unwrap();
    assert!(info.contains("run with the volume stopped"), "{info}");
    assert_nothing_left(&volume, &bricks);
}
