//! The harness's fault suite (issue 6): SIGINT/SIGTERM at each stage of a
//! run (bring-up, layout, measurement, teardown), sent to the harness or to
//! its whole process group (a terminal's Ctrl-C), must end the run with
//! 128 + signal (130, 143), leave no FUSE mount, glusterd, brick process,
//! volume, directory or log file it created, and touch nothing it did not
//! create (a foreign volume, mount, directory and earlier results are set up
//! first and checked after). Names with spaces, `;` and `$(...)` must do no
//! harm; unusable names are refused up front. The glusterd case runs the harness in private
//! namespaces (mount, network, pid) with their own glusterd, so the shared
//! glusterd is never stopped.
//!
//! `cargo test -p glusterrs-harness --test faults` runs the quick part;
//! `GLUSTERRS_FAULTS=long` (or `-- --include-ignored`) adds the full signal x
//! stage x target matrix. Needs root, glusterd, fio, /dev/fuse.

#[path = "../../ioengine/tests/fault_runner/mod.rs"]
mod fault_runner;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fault_runner::{poll, Case, Log};
use glusterrs_cluster::{Glusterd, Volume, VolumeSpec};
use rustix::process::{kill_process, kill_process_group, Pid, Signal};

const BIN: &str = env!("CARGO_BIN_EXE_glusterrs-bench");
/// Set (to "STAGE:SIGNAL") when this binary runs as the sandbox's payload.
const SANDBOX_ENV: &str = "GLUSTERRS_FAULTS_SANDBOX";

fn main() {
    if let Ok(spec) = std::env::var(SANDBOX_ENV) {
        std::process::exit(sandbox_payload(&spec));
    }
    let mut cases = vec![
        Case::quick("sigint_during_bring_up", |l| {
            signal_case(l, Stage::BringUp, Sig::Int, Target::Pid)
        }),
        Case::quick("sigterm_during_layout", |l| {
            signal_case(l, Stage::Layout, Sig::Term, Target::Pid)
        }),
        Case::quick(
            "sigint_during_measurement_foreign_objects_survive",
            foreign_objects_survive,
        ),
        Case::quick("sigterm_during_teardown", |l| {
            signal_case(l, Stage::Teardown, Sig::Term, Target::Pid)
        }),
        Case::quick("ctrl_c_to_the_process_group_during_measurement", |l| {
            signal_case(l, Stage::Measure, Sig::Int, Target::Group)
        }),
        Case::quick("existing_volume_sigint_during_measurement", existing_volume),
        Case::quick("names_with_spaces_semicolons_and_dollars", odd_names),
        Case::quick("bad_names_refused_cleanly", bad_names),
        Case::quick(
            "glusterd_started_by_the_run_is_stopped_sigint_measurement",
            |l| sandbox_case(l, Stage::Measure, Sig::Int),
        ),
    ];
    // The full matrix (the quick cases above are part of it).
    for (name, f) in MATRIX {
        cases.push(Case::long(name, *f));
    }
    cases.push(Case::long(
        "glusterd_started_by_the_run_is_stopped_sigterm_bring_up",
        |l| sandbox_case(l, Stage::BringUp, Sig::Term),
    ));
    cases.push(Case::long(
        "glusterd_started_by_the_run_is_stopped_sigint_teardown",
        |l| sandbox_case(l, Stage::Teardown, Sig::Int),
    ));
    cases.push(Case::long(
        "glusterd_started_by_the_run_is_stopped_sigint_layout",
        |l| sandbox_case(l, Stage::Layout, Sig::Int),
    ));
    fault_runner::main("harness", setup, || {}, cases)
}

fn setup() {
    Glusterd::ensure().expect("glusterd");
    let _ = glusterrs_cluster::cleanup_stale("gbench-fault");
    let _ = glusterrs_cluster::cleanup_stale("grs-fault");
    assert!(Path::new(BIN).is_file(), "{BIN} missing");
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Stage {
    BringUp,
    Layout,
    Measure,
    Teardown,
}

#[derive(Clone, Copy, Debug)]
enum Sig {
    Int,
    Term,
}

impl Sig {
    fn signal(self) -> Signal {
        match self {
            Sig::Int => Signal::INT,
            Sig::Term => Signal::TERM,
        }
    }
    /// The harness's exit status when this signal interrupts it: 128 +
    /// signal, as a shell reports a program the signal stopped.
    fn exit_code(self) -> i32 {
        match self {
            Sig::Int => 130,
            Sig::Term => 143,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Sig::Int => "SIGINT",
            Sig::Term => "SIGTERM",
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Target {
    /// The harness process only (kill PID).
    Pid,
    /// Its whole process group (what a terminal's Ctrl-C reaches).
    Group,
}

/// The full matrix: every signal at every stage, to the harness and to its
/// process group. One plain `fn` per row (cases are `fn` pointers).
macro_rules! matrix {
    ($($name:ident: $st:ident, $sg:ident, $tg:ident;)*) => {
        $(fn $name(l: &mut Log) {
            signal_case(l, Stage::$st, Sig::$sg, Target::$tg)
        })*
        const MATRIX: &[(&str, fn(&mut Log))] = &[$((stringify!($name), $name as fn(&mut Log))),*];
    };
}

matrix! {
    matrix_sigint_pid_bring_up: BringUp, Int, Pid;
    matrix_sigterm_pid_bring_up: BringUp, Term, Pid;
    matrix_sigint_group_bring_up: BringUp, Int, Group;
    matrix_sigterm_group_bring_up: BringUp, Term, Group;
    matrix_sigint_pid_layout: Layout, Int, Pid;
    matrix_sigterm_pid_layout: Layout, Term, Pid;
    matrix_sigint_group_layout: Layout, Int, Group;
    matrix_sigterm_group_layout: Layout, Term, Group;
    matrix_sigint_pid_measurement: Measure, Int, Pid;
    matrix_sigterm_pid_measurement: Measure, Term, Pid;
    matrix_sigint_group_measurement: Measure, Int, Group;
    matrix_sigterm_group_measurement: Measure, Term, Group;
    matrix_sigint_pid_teardown: Teardown, Int, Pid;
    matrix_sigterm_pid_teardown: Teardown, Term, Pid;
    matrix_sigint_group_teardown: Teardown, Int, Group;
    matrix_sigterm_group_teardown: Teardown, Term, Group;
}

// ---------------------------------------------------------------------------
// Scratch space, names
// ---------------------------------------------------------------------------

static SEQ: AtomicUsize = AtomicUsize::new(0);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A volume name `cleanup_stale("gbench")` recognises if we die.
fn volume_name(tag: &str) -> String {
    format!(
        "gbench-fault{tag}-{}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst),
        now()
    )
}

fn mounts() -> Vec<(String, String, String)> {
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((
                w.next()?.to_string(),
                w.next()?.to_string(),
                w.next()?.to_string(),
            ))
        })
        .collect()
}

/// A scratch directory under /var/tmp (bricks/, results/, cwd), removed on
/// drop; anything still mounted below is lazily unmounted first so that
/// removing it can never reach into a volume.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p = PathBuf::from("/var/tmp").join(format!(
            "grs-fault-h{tag}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(p.join("bricks")).unwrap();
        Scratch(p)
    }
    fn bricks(&self) -> PathBuf {
        self.0.join("bricks")
    }
    fn results(&self) -> PathBuf {
        self.0.join("results")
    }
}

/// FUSE client logs glusterfs wrote for mounts below the scratch dir
/// (`/var/log/glusterfs/<mountpoint with / as ->.log`).
fn client_logs_under(dir: &Path) -> Vec<PathBuf> {
    let stem = dir
        .to_string_lossy()
        .trim_start_matches('/')
        .replace('/', "-");
    std::fs::read_dir("/var/log/glusterfs")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&stem))
        })
        .collect()
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Logs of mounts made below our scratch dir are ours to remove.
        for l in client_logs_under(&self.0) {
            let _ = std::fs::remove_file(l);
        }
        let prefix = self.0.to_string_lossy().to_string();
        for (_, mp, _) in mounts() {
            if mp.starts_with(&prefix) {
                let _ = Command::new("umount").args(["-l", &mp]).status();
            }
        }
        if mounts().iter().any(|(_, mp, _)| mp.starts_with(&prefix)) {
            eprintln!("not removing {}: still mounted", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn volumes() -> Vec<String> {
    let out = Command::new("gluster")
        .args(["--mode=script", "volume", "list"])
        .output()
        .expect("gluster volume list");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

fn volume_started(name: &str) -> bool {
    let out = Command::new("gluster")
        .args(["--mode=script", "volume", "info", name])
        .output()
        .expect("gluster volume info");
    String::from_utf8_lossy(&out.stdout).contains("Status: Started")
}

struct Proc {
    pid: u32,
    ppid: u32,
    comm: String,
    cmdline: String,
    /// Exited, waiting to be reaped.
    zombie: bool,
    /// In this process's pid namespace (not a sandbox's).
    ours: bool,
}

fn processes() -> Vec<Proc> {
    let my_ns = std::fs::read_link("/proc/self/ns/pid").ok();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let (Some(l), Some(r)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[l + 1..r].to_string();
        let mut rest = stat[r + 1..].split_whitespace();
        let zombie = rest.next() == Some("Z");
        let ppid = rest.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let ours = std::fs::read_link(e.path().join("ns/pid")).ok() == my_ns;
        let cmdline = std::fs::read(e.path().join("cmdline"))
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .unwrap_or_default();
        out.push(Proc {
            pid,
            ppid,
            comm,
            cmdline,
            zombie,
            ours,
        });
    }
    out
}

/// Live glusterds of our pid namespace (a sandbox's are not ours).
fn glusterd_pids() -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|p| p.comm == "glusterd" && p.ours && !p.zombie)
        .map(|p| p.pid)
        .collect()
}

fn descendants(root: u32) -> Vec<Proc> {
    let all = processes();
    let mut set: BTreeSet<u32> = [root].into();
    loop {
        let before = set.len();
        for p in &all {
            if set.contains(&p.ppid) {
                set.insert(p.pid);
            }
        }
        if set.len() == before {
            break;
        }
    }
    all.into_iter()
        .filter(|p| p.pid != root && set.contains(&p.pid))
        .collect()
}

// ---------------------------------------------------------------------------
// Running the harness
// ---------------------------------------------------------------------------

struct Bench {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// Starts glusterrs-bench in its own process group (so a group signal
/// reaches exactly it and its children), stderr collected line by line.
fn start_bench(cwd: &Path, args: &[String]) -> Bench {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("start glusterrs-bench");
    let err = child.stderr.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l2 = lines.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            l2.lock().unwrap().push(line);
        }
    });
    Bench {
        child,
        lines,
        reader: Some(reader),
    }
}

impl Bench {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn pid_t(&self) -> Pid {
        Pid::from_raw(self.pid() as i32).expect("a child's pid is positive")
    }

    /// kill(2) on the child we started, or on its process group (it leads it).
    fn signal(&self, sig: Sig, target: Target) {
        let rc = match target {
            Target::Pid => kill_process(self.pid_t(), sig.signal()),
            Target::Group => kill_process_group(self.pid_t(), sig.signal()),
        };
        rc.unwrap_or_else(|e| panic!("kill {target:?} {}: {e}", sig.name()));
    }

    fn wait(mut self, limit: Duration) -> (ExitStatus, String, f64) {
        let t = Instant::now();
        let st = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            if t.elapsed() > limit {
                let _ = kill_process_group(self.pid_t(), Signal::KILL);
                let _ = self.child.wait();
                panic!(
                    "glusterrs-bench still running {limit:?} after the signal: killed\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        (st, self.log(), t.elapsed().as_secs_f64())
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = kill_process_group(self.pid_t(), Signal::KILL);
            let _ = self.child.wait();
        }
    }
}

/// A harness run on a new local volume `volume` with bricks in the scratch
/// dir: base and fuse setups, four 64 MiB files, three repeats (long
/// enough to catch every stage).
fn run_args(s: &Scratch, volume: &str, name: &str) -> Vec<String> {
    let jobs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../jobs/seq-read.fio");
    vec![
        "run".into(),
        "--size".into(),
        "64m".into(),
        "--repeat".into(),
        "3".into(),
        "--setups".into(),
        "base,fuse,bypass".into(),
        "--no-plots".into(),
        "--fio-timeout".into(),
        "120".into(),
        "--name".into(),
        name.into(),
        "--volume".into(),
        volume.into(),
        "--brick-dir".into(),
        s.bricks().display().to_string(),
        "--results".into(),
        s.results().display().to_string(),
        jobs.display().to_string(),
    ]
}

/// Waits until the run reaches `stage`; false if it ended first.
fn wait_stage(b: &mut Bench, stage: Stage, volume: &str) -> bool {
    let pid = b.pid();
    let vol_dir = Path::new("/var/lib/glusterd/vols").join(volume);
    let hit = poll(Duration::from_secs(180), || {
        if !b.running() {
            return Some(false);
        }
        let hit = match stage {
            // glusterd writes the volume's directory at `volume create`.
            Stage::BringUp => vol_dir.exists(),
            Stage::Layout | Stage::Measure => descendants(pid).iter().any(|p| {
                p.comm == "fio"
                    && p.cmdline.contains(".fio")
                    && p.cmdline.contains("-layout.fio") == (stage == Stage::Layout)
            }),
            Stage::Teardown => b
                .lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.starts_with("teardown:")),
        };
        hit.then_some(true)
    });
    hit == Some(true)
}

/// Everything the run may have left: returns what it found.
/// The CPU accounting cgroups of the run of pid `bench` (glusterrs-bench-PID-N).
fn cgroups_of(bench: u32) -> Vec<String> {
    let mut found = Vec::new();
    for root in [
        "/sys/fs/cgroup/cpuacct",
        "/sys/fs/cgroup",
        "/sys/fs/cgroup/unified",
    ] {
        for e in std::fs::read_dir(root).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().to_string();
            if n.starts_with(&format!("glusterrs-bench-{bench}-")) {
                found.push(format!("cgroup {}", e.path().display()));
            }
        }
    }
    found
}

fn leftovers(volume: &str, s: &Scratch, glusterd_before: &[u32], bench: u32) -> Vec<String> {
    let mut found = cgroups_of(bench);
    if volumes().iter().any(|v| v == volume) {
        found.push(format!("volume {volume}"));
    }
    if Path::new("/var/lib/glusterd/vols").join(volume).exists() {
        found.push(format!("/var/lib/glusterd/vols/{volume}"));
    }
    let prefix = s.0.to_string_lossy().to_string();
    for (src, mp, fstype) in mounts() {
        if mp.starts_with(&prefix) || (fstype.starts_with("fuse") && src.contains(volume)) {
            found.push(format!("mount {src} on {mp} ({fstype})"));
        }
    }
    // glusterd runs its post-delete hooks for a moment.
    let procs = poll(Duration::from_secs(20), || {
        let p: Vec<String> = processes()
            .into_iter()
            .filter(|p| p.cmdline.contains(volume) || p.cmdline.contains(&prefix))
            .map(|p| format!("process {} {}", p.pid, p.cmdline))
            .collect();
        p.is_empty().then_some(())
    });
    if procs.is_none() {
        found.extend(
            processes()
                .into_iter()
                .filter(|p| p.cmdline.contains(volume) || p.cmdline.contains(&prefix))
                .map(|p| format!("process {} {}", p.pid, p.cmdline)),
        );
    }
    for e in std::fs::read_dir(s.bricks())
        .into_iter()
        .flatten()
        .flatten()
    {
        let n = e.file_name().to_string_lossy().to_string();
        if n.starts_with("glusterrs-bench-") {
            found.push(format!("directory {}", e.path().display()));
        }
    }
    // Brick logs, and FUSE client logs (the cluster crate names them
    // glusterrs-mnt-PID-N-VOLUME.log in the temp dir).
    let client_logs = format!("glusterrs-mnt-{bench}-");
    for d in ["/tmp", "/var/tmp", "/var/log/glusterfs/bricks"] {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().to_string();
            if n.contains(volume) || n.starts_with(&client_logs) {
                found.push(format!("{}", e.path().display()));
            }
        }
    }
    // FUSE client logs glusterfs names after a mountpoint below the scratch
    // dir, in /var/log/glusterfs, when not told where to log.
    for l in client_logs_under(&s.0) {
        found.push(format!("FUSE client log {}", l.display()));
    }
    let now = glusterd_pids();
    if now != glusterd_before {
        found.push(format!(
            "glusterd changed: {glusterd_before:?} before, {now:?} after"
        ));
    }
    found
}

/// A signal at a stage: the harness stops with 130 (or 0 when the signal
/// came during the final teardown) and leaves nothing behind.
fn signal_case(log: &mut Log, stage: Stage, sig: Sig, target: Target) {
    let s = Scratch::new("sig");
    let volume = volume_name("");
    let gd = glusterd_pids();
    log.say(format!(
        "tried: glusterrs-bench run on a new volume {volume}, {} to the {} at {stage:?}",
        sig.name(),
        match target {
            Target::Pid => "harness process",
            Target::Group => "harness's process group (terminal Ctrl-C)",
        }
    ));
    let mut b = start_bench(&s.0, &run_args(&s, &volume, "sig"));
    let bench_pid = b.pid();
    let started = Instant::now();
    let reached = wait_stage(&mut b, stage, &volume);
    let at = started.elapsed().as_secs_f64();
    if !reached {
        let (st, text, _) = b.wait(Duration::from_secs(10));
        panic!("the run ended ({st}) before reaching {stage:?}:\n{text}");
    }
    b.signal(sig, target);
    let (st, text, secs) = b.wait(Duration::from_secs(120));
    log.say(format!(
        "signalled {at:.1} s into the run; it ended {secs:.1} s later with {st}"
    ));
    for l in text
        .lines()
        .filter(|l| l.contains("interrupted") || l.contains("teardown") || l.contains("error"))
    {
        log.say(format!("  | {l}"));
    }
    let left = leftovers(&volume, &s, &gd, bench_pid);
    log.say(if left.is_empty() {
        "nothing left behind (no volume, mount, process, directory, cgroup or log)".to_string()
    } else {
        format!("LEFT BEHIND: {left:?}")
    });
    log.check();
    assert!(left.is_empty(), "left behind: {left:#?}\n{text}");
    // Interrupted: 128 + signal (130 SIGINT, 143 SIGTERM), also when the
    // signal came during the final teardown of a run whose measurements were
    // complete. 0 only if it came after the harness's last look at the flag.
    let code = sig.exit_code();
    let ok_codes: &[i32] = if stage == Stage::Teardown {
        &[0, code]
    } else {
        &[code]
    };
    log.check();
    assert!(
        st.code().is_some_and(|c| ok_codes.contains(&c)),
        "exit {st}, expected {ok_codes:?} (interrupted)\n{text}"
    );
}

// ---------------------------------------------------------------------------
// Things the harness did not create
// ---------------------------------------------------------------------------

struct Foreign {
    vol: Volume,
    mount: glusterrs_cluster::FuseMount,
    dir: PathBuf,
    old_run: PathBuf,
}

const CANARY: &str = "canary-of-the-fault-suite";

fn foreign(s: &Scratch) -> Foreign {
    let vol = Volume::create(VolumeSpec::new().prefix("grs-fault")).expect("foreign volume");
    let mount = vol.mount_fuse().expect("foreign mount");
    std::fs::write(mount.path().join("canary"), CANARY).expect("canary through FUSE");
    // A directory named like the harness's own work directories.
    let dir = s.bricks().join("glusterrs-bench-not-mine");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("keep"), CANARY).unwrap();
    // An earlier run in the results directory.
    let old_run = s.results().join("earlier-run");
    std::fs::create_dir_all(&old_run).unwrap();
    std::fs::write(old_run.join("results.csv"), CANARY).unwrap();
    Foreign {
        vol,
        mount,
        dir,
        old_run,
    }
}

fn check_foreign(log: &mut Log, f: &Foreign) {
    let mut broken = Vec::new();
    if !volumes().iter().any(|v| v == f.vol.name()) {
        broken.push(format!("foreign volume {} deleted", f.vol.name()));
    } else if !volume_started(f.vol.name()) {
        broken.push(format!("foreign volume {} stopped", f.vol.name()));
    }
    let mp = f.mount.path().to_string_lossy().to_string();
    if !mounts().iter().any(|(_, m, _)| *m == mp) {
        broken.push(format!("foreign mount {mp} unmounted"));
    } else if std::fs::read_to_string(f.mount.path().join("canary"))
        .ok()
        .as_deref()
        != Some(CANARY)
    {
        broken.push("canary on the foreign mount gone".into());
    }
    if std::fs::read_to_string(f.dir.join("keep")).ok().as_deref() != Some(CANARY) {
        broken.push(format!("foreign directory {} touched", f.dir.display()));
    }
    if std::fs::read_to_string(f.old_run.join("results.csv"))
        .ok()
        .as_deref()
        != Some(CANARY)
    {
        broken.push(format!("earlier results {} touched", f.old_run.display()));
    }
    log.say(if broken.is_empty() {
        format!(
            "foreign volume {} (started, mounted, canary intact), directory and earlier results all survived",
            f.vol.name()
        )
    } else {
        format!("FOREIGN OBJECTS HARMED: {broken:?}")
    });
    log.check();
    assert!(broken.is_empty(), "{broken:?}");
}

fn foreign_objects_survive(log: &mut Log) {
    let s = Scratch::new("foreign");
    let f = foreign(&s);
    log.say(format!(
        "set up first: volume {} FUSE-mounted at {}, directory {}, earlier run {}",
        f.vol.name(),
        f.mount.path().display(),
        f.dir.display(),
        f.old_run.display()
    ));
    let volume = volume_name("");
    let gd = glusterd_pids();
    let mut b = start_bench(&s.0, &run_args(&s, &volume, "fg"));
    let bench_pid = b.pid();
    assert!(wait_stage(&mut b, Stage::Measure, &volume), "{}", b.log());
    b.signal(Sig::Int, Target::Pid);
    let (st, text, secs) = b.wait(Duration::from_secs(120));
    log.say(format!(
        "SIGINT during measurement: ended {secs:.1} s later with {st}"
    ));
    log.check();
    assert_eq!(st.code(), Some(130), "{text}");
    let mut left = leftovers(&volume, &s, &gd, bench_pid);
    // The foreign objects are checked below.
    left.retain(|l| !l.contains(f.vol.name()) && !l.contains("glusterrs-bench-not-mine"));
    log.say(if left.is_empty() {
        "nothing of the run left behind".to_string()
    } else {
        format!("LEFT BEHIND: {left:?}")
    });
    log.check();
    assert!(left.is_empty(), "{left:#?}\n{text}");
    check_foreign(log, &f);
}

/// `--server localhost --volume FOREIGN`: the harness creates nothing on the
/// cluster; interrupted mid-measurement, the volume stays, started, with its
/// data, and only the harness's own mount goes.
fn existing_volume(log: &mut Log) {
    let s = Scratch::new("existing");
    let vol = Volume::create(VolumeSpec::new().prefix("grs-fault")).expect("volume");
    let brick = vol.bricks()[0].clone();
    std::fs::write(brick.join("keep-me"), CANARY).unwrap();
    let gd = glusterd_pids();
    let jobs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../jobs/seq-read.fio");
    let args: Vec<String> = [
        "run",
        "--size",
        "64m",
        "--repeat",
        "3",
        "--setups",
        "base,fuse,bypass,rpc-bypass",
        "--no-plots",
        "--name",
        "ex",
        "--server",
        "localhost",
        "--volume",
        vol.name(),
    ]
    .iter()
    .map(|x| x.to_string())
    .chain([
        "--brick-dir".to_string(),
        brick.display().to_string(),
        "--results".to_string(),
        s.results().display().to_string(),
        jobs.display().to_string(),
    ])
    .collect();
    log.say(format!(
        "tried: glusterrs-bench run --server localhost --volume {} (existing), SIGINT during measurement",
        vol.name()
    ));
    let mut b = start_bench(&s.0, &args);
    let bench_pid = b.pid();
    assert!(
        wait_stage(&mut b, Stage::Measure, vol.name()),
        "{}",
        b.log()
    );
    b.signal(Sig::Int, Target::Pid);
    let (st, text, secs) = b.wait(Duration::from_secs(120));
    log.say(format!("ended {secs:.1} s after the signal with {st}"));
    log.check();
    assert_eq!(st.code(), Some(130), "{text}");
    let mut broken = Vec::new();
    if !volumes().iter().any(|v| v == vol.name()) {
        broken.push("volume deleted".to_string());
    } else if !volume_started(vol.name()) {
        broken.push("volume left stopped".to_string());
    }
    if std::fs::read_to_string(brick.join("keep-me"))
        .ok()
        .as_deref()
        != Some(CANARY)
    {
        broken.push("data on the volume removed".to_string());
    }
    let online = vol.brick_pids().map(|p| p.iter().all(Option::is_some));
    if online.as_ref().ok() != Some(&true) {
        broken.push(format!("brick not online: {online:?}"));
    }
    let own_mounts: Vec<String> = mounts()
        .into_iter()
        .filter(|(src, _, t)| t.starts_with("fuse") && src.contains(vol.name()))
        .map(|(src, mp, _)| format!("{src} on {mp}"))
        .collect();
    if !own_mounts.is_empty() {
        broken.push(format!("the harness's mounts left: {own_mounts:?}"));
    }
    if glusterd_pids() != gd {
        broken.push("glusterd changed".into());
    }
    broken.extend(cgroups_of(bench_pid));
    log.say(if broken.is_empty() {
        "volume still there, started, brick online, data intact; harness mount gone".to_string()
    } else {
        format!("HARMED: {broken:?}")
    });
    log.check();
    assert!(broken.is_empty(), "{broken:?}\n{text}");
}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

/// Spaces, `;` and `$(...)` in the run name, results dir, job file path and
/// a fio option: a small complete run must work and run nothing.
fn odd_names(log: &mut Log) {
    let s = Scratch::new("names");
    let results = s.0.join("res dir; touch canary-a");
    let job_dir = s.0.join("job dir;$(touch canary-b)");
    std::fs::create_dir_all(&job_dir).unwrap();
    let job = job_dir.join("seq read; touch canary-c.fio");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../jobs/seq-read.fio"),
        &job,
    )
    .unwrap();
    let volume = volume_name("");
    let gd = glusterd_pids();
    // The run name is the directory under --results as given; the work dir
    // holding bricks and mount gets a gluster-safe form of it.
    let name = "run one; touch canary-d; $(touch canary-e)|x&y `touch canary-f`";
    let args: Vec<String> = vec![
        "run".into(),
        "--size".into(),
        "4m".into(),
        "--repeat".into(),
        "1".into(),
        "--setups".into(),
        "base,fuse,bypass".into(),
        "--no-plots".into(),
        "--name".into(),
        name.into(),
        "--volume".into(),
        volume.clone(),
        "--brick-dir".into(),
        s.bricks().display().to_string(),
        "--results".into(),
        results.display().to_string(),
        "--fio-opt".into(),
        "description=x; touch canary-g $(touch canary-h)".into(),
        job.display().to_string(),
    ];
    log.say(format!(
        "tried: run name {name:?}, results dir {:?}, job file {:?}, --fio-opt with ; and $()",
        results.display().to_string(),
        job.display().to_string()
    ));
    let b = start_bench(&s.0, &args);
    let bench_pid = b.pid();
    let (st, text, secs) = b.wait(Duration::from_secs(300));
    log.say(format!("run ended with {st} in {secs:.1} s"));
    log.check();
    assert!(st.success(), "{text}");
    assert!(
        results.join(name).join("results.csv").is_file(),
        "no results in {}\n{text}",
        results.join(name).display()
    );
    // The FUSE client logged into the run's directory, not /var/log/glusterfs.
    let fuse_log = results.join(name).join("raw").join("fuse-client.log");
    let fuse_log_len = std::fs::metadata(&fuse_log).map_or(0, |m| m.len());
    log.say(format!(
        "FUSE client log: {} ({fuse_log_len} bytes)",
        fuse_log.display()
    ));
    log.check();
    assert!(
        fuse_log_len > 0,
        "no FUSE client log in the run dir\n{text}"
    );
    let mut canaries = Vec::new();
    for d in [
        s.0.clone(),
        s.bricks(),
        std::env::temp_dir(),
        PathBuf::from("/"),
    ] {
        for c in ["a", "b", "c", "d", "e", "f", "g", "h"] {
            let p = d.join(format!("canary-{c}"));
            if p.exists() {
                canaries.push(p.display().to_string());
            }
        }
    }
    log.say(if canaries.is_empty() {
        "results written under the odd names; no command ran".to_string()
    } else {
        format!("COMMANDS RAN: {canaries:?}")
    });
    log.check();
    assert!(canaries.is_empty(), "{canaries:?}");
    let left = leftovers(&volume, &s, &gd, bench_pid);
    assert!(left.is_empty(), "{left:#?}");
}

/// Names GlusterFS cannot take are refused up front, leaving nothing.
fn bad_names(log: &mut Log) {
    let s = Scratch::new("bad");
    let gd = glusterd_pids();
    let space_dir = s.0.join("brick dir");
    std::fs::create_dir_all(&space_dir).unwrap();
    let job = Path::new(env!("CARGO_MANIFEST_DIR")).join("../jobs/seq-read.fio");
    let cases = [
        (
            "volume name with ';'",
            "gbench-fault;x".to_string(),
            s.bricks(),
            "bad",
        ),
        (
            "volume name with a space",
            "gbench fault x".to_string(),
            s.bricks(),
            "bad",
        ),
        (
            "brick directory with a space",
            volume_name("sp"),
            space_dir.clone(),
            "bad",
        ),
        // The run name is one directory under --results.
        ("run name with '/'", volume_name("rn"), s.bricks(), "a/b"),
        ("run name '..'", volume_name("rn"), s.bricks(), ".."),
        ("empty run name", volume_name("rn"), s.bricks(), ""),
    ];
    for (what, volume, brick_dir, name) in cases {
        let results =
            s.0.join(format!("results-{}", SEQ.fetch_add(1, Ordering::SeqCst)));
        let args: Vec<String> = vec![
            "run".into(),
            "--size".into(),
            "4m".into(),
            "--repeat".into(),
            "1".into(),
            "--setups".into(),
            "base,fuse".into(),
            "--no-plots".into(),
            "--name".into(),
            name.into(),
            "--volume".into(),
            volume.clone(),
            "--brick-dir".into(),
            brick_dir.display().to_string(),
            "--results".into(),
            results.display().to_string(),
            job.display().to_string(),
        ];
        let b = start_bench(&s.0, &args);
        let bench_pid = b.pid();
        let (st, text, secs) = b.wait(Duration::from_secs(120));
        let msg = text
            .lines()
            .find(|l| l.contains("error"))
            .unwrap_or("")
            .to_string();
        log.say(format!("{what}: {st} after {secs:.1} s: {msg}"));
        log.check();
        assert!(!st.success() && st.code().is_some(), "{what}: {st}\n{text}");
        assert!(!msg.is_empty(), "{what}: no error message\n{text}");
        if what.contains("run name") {
            assert!(
                msg.contains(&format!("{name:?}")),
                "{what}: the error does not name {name:?}: {msg}"
            );
        }
        assert!(secs < 30.0, "{what}: took {secs:.1} s");
        let mut left = leftovers(&volume, &s, &gd, bench_pid);
        // Nothing in the brick dir, and no (empty) run directory either.
        for d in [&brick_dir, &results] {
            for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                left.push(format!("{}", e.path().display()));
            }
        }
        assert!(left.is_empty(), "{what}: left {left:#?}\n{text}");
    }
}

// ---------------------------------------------------------------------------
// A glusterd the run starts itself, in private namespaces
// ---------------------------------------------------------------------------

/// One sandbox at a time: the harness is pid 6 or so in every fresh pid
/// namespace, and its CPU cgroup is named after its pid in the host's
/// cgroupfs, so two concurrent sandboxes would share (and one remove) it.
static SANDBOX: Mutex<()> = Mutex::new(());

fn sandbox_case(log: &mut Log, stage: Stage, sig: Sig) {
    let _one_at_a_time = SANDBOX.lock().unwrap_or_else(|e| e.into_inner());
    let ok = Command::new("unshare")
        .args([
            "--mount",
            "--net",
            "--pid",
            "--fork",
            "--mount-proc",
            "true",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        log.say("unshare(1) with mount/net/pid namespaces unavailable: SKIPPED");
        return;
    }
    let s = Scratch::new("sandbox");
    let gd = glusterd_pids();
    log.say(format!(
        "tried: in private mount/net/pid namespaces with no glusterd running, glusterrs-bench \
         run starts its own; {} at {stage:?}; then, inside, look for glusterd, bricks, mounts, \
         volumes",
        sig.name()
    ));
    let exe = std::env::current_exe().unwrap();
    let t = Instant::now();
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--net",
            "--pid",
            "--fork",
            "--mount-proc",
            "--propagation",
            "private",
        ])
        .arg(&exe)
        .env(SANDBOX_ENV, format!("{stage:?}:{}", sig.name()))
        .env("GRS_FAULT_SCRATCH", &s.0)
        .stdin(Stdio::null())
        .output()
        .expect("unshare");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for l in text.lines().filter(|l| l.starts_with("sandbox:")) {
        log.say(l.to_string());
    }
    log.say(format!(
        "sandbox exited with {} after {:.1} s",
        out.status,
        t.elapsed().as_secs_f64()
    ));
    log.check();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("sandbox: verdict ok"), "{text}");
    // Nothing leaked into the host either.
    assert_eq!(glusterd_pids(), gd, "the host's glusterd changed");
}

fn sh(cmd: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs inside the namespaces (pid 1 of the new pid namespace is unshare's
/// child: this process). Prints `sandbox: ...` lines and the verdict.
fn sandbox_payload(spec: &str) -> i32 {
    let say = |m: String| println!("sandbox: {m}");
    let (stage, sig) = spec.split_once(':').unwrap_or(("Measure", "SIGINT"));
    let stage = match stage {
        "BringUp" => Stage::BringUp,
        "Layout" => Stage::Layout,
        "Teardown" => Stage::Teardown,
        _ => Stage::Measure,
    };
    let sig = if sig == "SIGTERM" {
        Sig::Term
    } else {
        Sig::Int
    };
    let scratch = PathBuf::from(std::env::var("GRS_FAULT_SCRATCH").expect("scratch"));
    // Private glusterd state: its socket lives in /run, its state in
    // /var/lib/glusterd, its logs in /var/log/glusterfs.
    let prep: Result<(), String> = (|| {
        sh("ip", &["link", "set", "lo", "up"])?;
        for d in ["/run", "/var/lib/glusterd", "/var/log/glusterfs"] {
            sh("mount", &["-t", "tmpfs", "tmpfs", d])?;
        }
        std::fs::create_dir_all("/run/gluster").map_err(|e| e.to_string())?;
        std::fs::create_dir_all("/var/log/glusterfs/bricks").map_err(|e| e.to_string())?;
        Ok(())
    })();
    if let Err(e) = prep {
        say(format!("setup failed: {e}"));
        return 1;
    }
    if !glusterd_pids().is_empty() {
        say("a glusterd is visible inside: not isolated".into());
        return 1;
    }
    // Mounts copied from the host's namespace are not the run's.
    let host_mounts = mounts();
    let s = Scratch(scratch);
    let volume = volume_name("sbx");
    let mut b = start_bench(&s.0, &run_args(&s, &volume, "sbx"));
    let bench_pid = b.pid();
    let reached = wait_stage(&mut b, stage, &volume);
    let started_gd = glusterd_pids();
    say(format!(
        "run reached {stage:?}: {reached}; glusterd running inside: {started_gd:?}"
    ));
    if !reached {
        let (st, text, _) = b.wait(Duration::from_secs(10));
        say(format!("run ended early with {st}: {text}"));
        std::mem::forget(s);
        return 1;
    }
    b.signal(sig, Target::Pid);
    let (st, text, secs) = b.wait(Duration::from_secs(120));
    say(format!(
        "{} -> harness ended {secs:.1} s later with {st}",
        sig.name()
    ));
    let mut left = Vec::new();
    if st.code() != Some(sig.exit_code()) && !(stage == Stage::Teardown && st.success()) {
        left.push(format!("exit {st}, expected {}", sig.exit_code()));
    }
    // We are pid 1 here: daemons that exited are our zombies to reap.
    let reap = || {
        for p in processes().into_iter().filter(|p| p.zombie && p.ppid == 1) {
            if let Some(pid) = Pid::from_raw(p.pid as i32) {
                let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG);
            }
        }
    };
    let gd = poll(Duration::from_secs(20), || {
        reap();
        glusterd_pids().is_empty().then_some(())
    });
    if gd.is_none() {
        left.push(format!("glusterd still running: {:?}", glusterd_pids()));
    }
    reap();
    for p in processes() {
        let gluster = p.comm.starts_with("glusterfs") || p.comm == "glusterd" || p.comm == "fio";
        if gluster && !p.zombie {
            left.push(format!("process {} {}", p.pid, p.cmdline));
        }
    }
    for m in mounts() {
        if m.2.starts_with("fuse") && !host_mounts.contains(&m) {
            left.push(format!("mount {} on {}", m.0, m.1));
        }
    }
    if let Ok(d) = std::fs::read_dir("/var/lib/glusterd/vols") {
        for e in d.flatten() {
            left.push(format!("volume state {}", e.path().display()));
        }
    }
    for e in std::fs::read_dir(s.bricks())
        .into_iter()
        .flatten()
        .flatten()
    {
        left.push(format!("directory {}", e.path().display()));
    }
    if started_gd.is_empty() {
        left.push("the run never started glusterd".into());
    }
    left.extend(cgroups_of(bench_pid));
    if left.is_empty() {
        say("nothing left inside: glusterd stopped, no brick, client, mount or volume".into());
        say("verdict ok".into());
        0
    } else {
        say(format!("LEFT BEHIND: {left:?}"));
        say(format!("harness log:\n{text}"));
        1
    }
}
