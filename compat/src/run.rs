//! Running one variant with one engine: the job file, the fio process (its own process
//! group, a time limit, stopped on interrupt), and what it left behind.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rustix::process::{kill_process, kill_process_group, Pid, Signal};
use serde_json::Value;

use crate::variants::{Mode, Variant};

/// The engines a variant runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Engine {
    /// fio's `gfapi_async` C engine: the oracle.
    GfapiAsync,
    /// fio's synchronous `gfapi` C engine.
    Gfapi,
    /// libglusterrs.so, the engine under test.
    Glusterrs,
    /// fio's `psync` on a FUSE mount of the same volume: what fio itself does with the
    /// job on a POSIX file system, the referee when the C engine gets it wrong.
    FusePsync,
}

impl Engine {
    /// Column title.
    pub fn title(self) -> &'static str {
        match self {
            Engine::GfapiAsync => "gfapi_async",
            Engine::Gfapi => "gfapi",
            Engine::Glusterrs => "libglusterrs",
            Engine::FusePsync => "psync on FUSE",
        }
    }

    /// Short tag that starts the job name (and so the file names) of its runs.
    fn tag(self) -> &'static str {
        match self {
            Engine::GfapiAsync => "ga",
            Engine::Gfapi => "gs",
            Engine::Glusterrs => "rs",
            Engine::FusePsync => "fu",
        }
    }
}

/// Where the runs go: the volume, its brick, the FUSE mount, the engine under test.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Volume name.
    pub volume: String,
    /// The volume's single brick directory.
    pub brick: PathBuf,
    /// Where the volume is FUSE-mounted (for the psync reference).
    pub fuse_dir: PathBuf,
    /// Absolute path of libglusterrs.so.
    pub engine_so: PathBuf,
    /// Scratch directory for job files, output and each run's working directory.
    pub work: PathBuf,
    /// Time limit of one fio run; beyond it the run counts as hung.
    pub timeout: Duration,
    /// Set from the signal handler: running fio processes are stopped.
    pub interrupt: Arc<AtomicBool>,
}

/// How the fio process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exit status.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
    /// Still running at the time limit (then killed).
    Hang,
}

/// fio's error, reduced to what must agree between engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// No error.
    Ok,
    /// A job ended with this errno (`err=` in fio's report).
    Job(i64),
    /// fio refused the job before running it (no report).
    Refused,
    /// The process or a job was killed by this signal.
    Crash(i32),
    /// Hit the time limit.
    Hang,
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ErrorClass::Ok => write!(f, "ok"),
            ErrorClass::Job(e) => write!(f, "err={e}"),
            ErrorClass::Refused => write!(f, "refused"),
            ErrorClass::Crash(s) => write!(f, "crash (signal {s})"),
            ErrorClass::Hang => write!(f, "hang"),
        }
    }
}

/// One file left on the brick or in the working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    /// Size in bytes.
    pub size: u64,
    /// CRC-32 of the contents.
    pub crc: u32,
}

/// What one run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// How fio ended.
    pub exit: Exit,
    /// Error class.
    pub class: ErrorClass,
    /// Bytes read, written, trimmed (summed over the jobs of fio's JSON report).
    pub bytes: [u64; 3],
    /// Files on the brick whose path names the run's job, the job name replaced by `JOB`.
    pub files: BTreeMap<String, FileFacts>,
    /// Files fio left in its working directory (logs), names normalised the same way.
    pub logs: BTreeSet<String>,
    /// fio's error lines (and the engine's), normalised, for the report.
    pub reason: String,
    /// Wall time of the run.
    pub secs: f64,
}

/// Placeholder that replaces the per-engine job name in paths and messages.
pub const JOB: &str = "JOB";

/// The job name of `variant` run with `engine`. Variant names have no `-`, so with the
/// `-x` end no job name starts another's (`ga-read-x` does not start `ga-readwrite-x`).
pub fn job_name(variant: &Variant, engine: Engine) -> String {
    format!("{}-{}-x", engine.tag(), variant.name)
}

/// The job file for `variant` with `engine`.
pub fn job_file(setup: &Setup, variant: &Variant, engine: Engine) -> String {
    let job = job_name(variant, engine);
    let mut lines = vec![format!("[{job}]")];
    match engine {
        Engine::GfapiAsync | Engine::Gfapi | Engine::Glusterrs => {
            let ioengine = match engine {
                Engine::GfapiAsync => "gfapi_async".to_string(),
                Engine::Gfapi => "gfapi".to_string(),
                _ => format!("external:{}", setup.engine_so.display()),
            };
            lines.push(format!("ioengine={ioengine}"));
            lines.push(format!("volume={}", setup.volume));
            lines.push("brick=localhost".to_string());
        }
        Engine::FusePsync => {
            lines.push("ioengine=psync".to_string());
            lines.push(format!("directory={}", setup.fuse_dir.display()));
        }
    }
    lines.extend(variant.job_options(&job));
    lines.push(String::new());
    lines.join("\n")
}

/// Runs `variant` with `engine` and collects its outcome.
pub fn run(setup: &Setup, variant: &Variant, engine: Engine) -> Result<Outcome> {
    let job = job_name(variant, engine);
    let meta = setup.work.join(format!("{job}.meta"));
    let cwd = setup.work.join(format!("{job}.cwd"));
    for d in [&meta, &cwd] {
        if d.exists() {
            fs::remove_dir_all(d).with_context(|| format!("removing {}", d.display()))?;
        }
        fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let jobfile = meta.join("job.fio");
    fs::write(&jobfile, job_file(setup, variant, engine))
        .with_context(|| format!("writing {}", jobfile.display()))?;
    let json = meta.join("out.json");

    let mut args: Vec<String> = Vec::new();
    let cli = variant.cli_args();
    if !cli.iter().any(|a| a.starts_with("--output-format")) {
        args.push("--output-format=json".into());
    }
    args.extend(cli);
    args.push(format!("--output={}", json.display()));

    let start = Instant::now();
    let (exit, stdout, stderr) = match variant.mode {
        Mode::Local => {
            args.push(jobfile.display().to_string());
            fio(setup, &cwd, &meta, &args)?
        }
        Mode::ClientServer => {
            let server = Server::start(setup, &cwd, &meta)?;
            let mut client = vec![format!("--client=ip:127.0.0.1,{}", server.port)];
            client.extend(args);
            client.push(jobfile.display().to_string());
            let res = fio(setup, &meta, &meta, &client);
            server.stop();
            res?
        }
    };
    let secs = start.elapsed().as_secs_f64();
    let report = fs::read_to_string(&json).unwrap_or_default();
    let text = format!("{stdout}\n{stderr}\n{report}");
    let parsed = parse_report(&report);
    let class = classify(exit, parsed.as_ref(), &text);
    let bytes = parsed.as_ref().map(|p| p.bytes).unwrap_or_default();
    let files = brick_files(&setup.brick, &job, true)?;
    let logs = brick_files(&cwd, &job, false)?.into_keys().collect();
    Ok(Outcome {
        exit,
        class,
        bytes,
        files,
        logs,
        reason: reason(&text, &job),
        secs,
    })
}

/// Runs fio with `args` in `cwd`, output in `meta`; returns exit, stdout, stderr.
fn fio(setup: &Setup, cwd: &Path, meta: &Path, args: &[String]) -> Result<(Exit, String, String)> {
    let out = meta.join("stdout");
    let err = meta.join("stderr");
    let mut child = Command::new("fio")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).context("creating fio stdout file")?)
        .stderr(fs::File::create(&err).context("creating fio stderr file")?)
        // Its own group: a terminal's Ctrl-C reaches only us; we stop fio ourselves.
        .process_group(0)
        .spawn()
        .context("starting fio")?;
    let exit = watch(&mut child, setup.timeout, &setup.interrupt)?;
    let read = |p: &Path| fs::read_to_string(p).unwrap_or_default();
    Ok((exit, read(&out), read(&err)))
}

/// Waits for `child`; past `timeout` or on interrupt, its process group gets SIGTERM,
/// then SIGKILL. Always reaps it.
fn watch(child: &mut Child, timeout: Duration, interrupt: &AtomicBool) -> Result<Exit> {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().context("waiting for fio")? {
            return Ok(exit_of(st));
        }
        let interrupted = interrupt.load(Ordering::SeqCst);
        if interrupted || start.elapsed() > timeout {
            stop_group(child);
            if interrupted {
                bail!("interrupted");
            }
            return Ok(Exit::Hang);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stops `child`, its process group and every descendant. fio's job processes call
/// setsid(), leaving the group; they are found through /proc before anything is
/// signalled (once their parent is gone they belong to init).
fn stop_group(child: &mut Child) {
    let Some(pid) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) else {
        return;
    };
    let escaped = descendants(pid.as_raw_nonzero().get());
    // ESRCH: the group is gone already.
    let _ = kill_process_group(pid, Signal::TERM);
    for &d in &escaped {
        if let Some(p) = Pid::from_raw(d) {
            let _ = kill_process(p, Signal::TERM);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = kill_process_group(pid, Signal::KILL);
    let _ = child.wait();
    for &d in &escaped {
        if let Some(p) = Pid::from_raw(d) {
            let _ = kill_process(p, Signal::KILL);
        }
    }
}

/// Pids of every descendant of `root`, from the parent pids in /proc/*/stat.
fn descendants(root: i32) -> Vec<i32> {
    let mut parent_of = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<i32>().ok());
            if let Some(ppid) = ppid {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(
            parent_of
                .iter()
                .filter(|&&(_, pp)| pp == p)
                .map(|&(c, _)| c),
        );
        i += 1;
    }
    found.remove(0);
    found
}

fn exit_of(st: ExitStatus) -> Exit {
    match (st.code(), st.signal()) {
        (Some(c), _) => Exit::Code(c),
        (None, Some(s)) => Exit::Signal(s),
        (None, None) => Exit::Code(-1),
    }
}

/// A `fio --server` on 127.0.0.1 with a port of its own, stopped (group and all) on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(setup: &Setup, cwd: &Path, meta: &Path) -> Result<Server> {
        // A port the kernel just handed out is free; fio binds it right after.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .context("finding a free port for fio --server")?
            .port();
        let log = fs::File::create(meta.join("server.log")).context("creating server log")?;
        let child = Command::new("fio")
            .arg(format!("--server=ip:127.0.0.1,{port}"))
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("server log")?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .context("starting fio --server")?;
        let mut server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return Ok(server);
            }
            if let Ok(Some(st)) = server.child.try_wait() {
                let mut msg = String::new();
                let _ =
                    fs::File::open(meta.join("server.log")).map(|mut f| f.read_to_string(&mut msg));
                bail!(
                    "fio --server on port {port} exited ({st}) before listening: {}",
                    msg.trim()
                );
            }
            if Instant::now() > deadline || setup.interrupt.load(Ordering::SeqCst) {
                bail!("fio --server did not listen on 127.0.0.1:{port} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(self) {}
}

impl Drop for Server {
    fn drop(&mut self) {
        stop_group(&mut self.child);
    }
}

/// What fio's JSON report says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Bytes read, written, trimmed.
    pub bytes: [u64; 3],
    /// The first non-zero job error.
    pub error: i64,
}

/// Parses fio's JSON report (plain or `--client`: `jobs` or `client_stats`), which may
/// follow other text.
pub fn parse_report(text: &str) -> Option<Report> {
    let start = text.find('{')?;
    let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
    let v = stream.next()?.ok()?;
    let jobs = v
        .get("jobs")
        .or_else(|| v.get("client_stats"))?
        .as_array()?;
    let mut bytes = [0u64; 3];
    let mut error = 0;
    for j in jobs {
        if j.get("jobname").and_then(Value::as_str) == Some("All clients") {
            continue;
        }
        for (i, dir) in ["read", "write", "trim"].iter().enumerate() {
            bytes[i] += j
                .get(dir)
                .and_then(|d| d.get("io_bytes"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
        }
        let e = j.get("error").and_then(Value::as_i64).unwrap_or(0);
        if error == 0 {
            error = e;
        }
    }
    Some(Report { bytes, error })
}

fn classify(exit: Exit, report: Option<&Report>, text: &str) -> ErrorClass {
    match exit {
        Exit::Hang => return ErrorClass::Hang,
        Exit::Signal(s) => return ErrorClass::Crash(s),
        Exit::Code(_) => {}
    }
    // A job process killed by a signal: fio reports "got signal=N".
    if let Some(s) = text
        .split("got signal=")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
    {
        return ErrorClass::Crash(s);
    }
    match (exit, report) {
        (_, Some(r)) if r.error != 0 => ErrorClass::Job(r.error),
        (Exit::Code(0), Some(_)) => ErrorClass::Ok,
        (_, None) => ErrorClass::Refused,
        // A failed exit with a clean report: fio's own failure code path.
        (_, Some(_)) => ErrorClass::Job(0),
    }
}

/// The lines of `text` that carry an error, the job name replaced by [`JOB`].
fn reason(text: &str, job: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for l in text.lines() {
        let t = l.trim();
        let lower = t.to_ascii_lowercase();
        let errorish = lower.contains("error")
            || lower.contains("failed")
            || lower.contains("fio: ")
            || lower.contains("err=")
            || lower.contains("glusterrs")
            || lower.contains("not supported");
        if errorish && !t.starts_with('"') && !lower.contains("err= 0") {
            let t = t.replace(job, JOB);
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out.truncate(4);
    out.join(" | ")
}

/// Files under `root` (recursively, `.glusterfs` skipped) with a path component that
/// starts with `job`, keyed by that path with the job name replaced by [`JOB`].
fn brick_files(root: &Path, job: &str, recurse: bool) -> Result<BTreeMap<String, FileFacts>> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![(root.to_path_buf(), false)];
    while let Some((dir, named)) = dirs.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if dir == root && name == ".glusterfs" {
                continue;
            }
            let path = entry.path();
            let ours = named || names_job(&name, job);
            let ft = entry.file_type().context("file type")?;
            if ft.is_dir() {
                if recurse {
                    dirs.push((path, ours));
                }
            } else if ours {
                let key = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace(job, JOB);
                out.insert(key, facts(&path)?);
            }
        }
    }
    Ok(out)
}

fn names_job(name: &str, job: &str) -> bool {
    name.strip_prefix(job)
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_alphanumeric()))
}

fn facts(path: &Path) -> Result<FileFacts> {
    let mut f = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok(FileFacts {
        size,
        crc: hasher.finalize(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_sums_jobs_and_skips_the_client_total() {
        let text = r#"note: something
{"jobs":[{"jobname":"a","error":0,"read":{"io_bytes":10},"write":{"io_bytes":5},"trim":{"io_bytes":0}},
 {"jobname":"b","error":5,"read":{"io_bytes":1},"write":{"io_bytes":0},"trim":{"io_bytes":2}}]}"#;
        let r = parse_report(text).unwrap();
        assert_eq!(r.bytes, [11, 5, 2]);
        assert_eq!(r.error, 5);
        let client = r#"{"client_stats":[{"jobname":"a","error":0,"read":{"io_bytes":3}},
 {"jobname":"All clients","error":0,"read":{"io_bytes":3}}]}"#;
        assert_eq!(parse_report(client).unwrap().bytes, [3, 0, 0]);
        assert_eq!(parse_report("no json"), None);
    }

    #[test]
    fn classes() {
        let ok = Report {
            bytes: [1, 0, 0],
            error: 0,
        };
        let bad = Report {
            bytes: [1, 0, 0],
            error: 84,
        };
        assert_eq!(classify(Exit::Code(0), Some(&ok), ""), ErrorClass::Ok);
        assert_eq!(classify(Exit::Code(1), Some(&bad), ""), ErrorClass::Job(84));
        assert_eq!(classify(Exit::Code(1), None, ""), ErrorClass::Refused);
        assert_eq!(classify(Exit::Signal(11), None, ""), ErrorClass::Crash(11));
        assert_eq!(classify(Exit::Hang, Some(&ok), ""), ErrorClass::Hang);
        assert_eq!(
            classify(Exit::Code(0), Some(&ok), "fio: pid=12, got signal=11\n"),
            ErrorClass::Crash(11)
        );
    }

    #[test]
    fn stopping_reaches_descendants_that_left_the_group() {
        // Like fio's job processes: grandchildren in sessions of their own.
        let mut child = Command::new("sh")
            .args(["-c", "setsid sleep 60 & setsid sleep 60 & wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let root = i32::try_from(child.id()).unwrap();
        let mut found = Vec::new();
        for _ in 0..250 {
            found = descendants(root);
            if found.len() >= 2 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(found.len() >= 2, "{found:?}");
        stop_group(&mut child);
        let alive = |p: i32| {
            fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
                !s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
        };
        let mut left: Vec<i32> = found.clone();
        for _ in 0..100 {
            left.retain(|&p| alive(p));
            if left.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(left.is_empty(), "still running: {left:?}");
    }

    #[test]
    fn job_names_do_not_swallow_each_other() {
        assert!(names_job("ga-read-x.0.0", "ga-read-x"));
        assert!(names_job("ga-read-x_bw.1.log", "ga-read-x"));
        assert!(!names_job("ga-readwrite-x.0.0", "ga-read-x"));
        assert!(!names_job("ga-read-xy.0.0", "ga-read-x"));
    }

    #[test]
    fn brick_listing_normalises_and_recurses() {
        let root = std::env::temp_dir().join(format!("grs-compat-unit-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join(".glusterfs")).unwrap();
        fs::create_dir_all(root.join("rs-a-x")).unwrap();
        fs::write(root.join("rs-a-x/f.0"), b"abc").unwrap();
        fs::write(root.join("rs-a-x.0.0"), b"hello").unwrap();
        fs::write(root.join("rs-b-x.0.0"), b"other").unwrap();
        fs::write(root.join(".glusterfs/rs-a-x.0.0"), b"internal").unwrap();
        let files = brick_files(&root, "rs-a-x", true).unwrap();
        fs::remove_dir_all(&root).unwrap();
        let keys: Vec<_> = files.keys().cloned().collect();
        assert_eq!(keys, vec!["JOB.0.0".to_string(), "JOB/f.0".to_string()]);
        assert_eq!(files["JOB.0.0"].size, 5);
        assert_eq!(files["JOB.0.0"].crc, crc32fast::hash(b"hello"));
    }
}
