//! `run`: bring up what is needed, run every (job, setup) `--repeat` times
//! with caches dropped in between, write the results, tear everything down.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cluster::{ClusterOps, GlusterCluster, VolumePlan};
use crate::cpuacct::{self, CpuGroup};
use crate::export;
use crate::fio::{group_stats, FioOutput, GroupStats};
use crate::jobfile;
use crate::qemu;
use crate::report::{available_cpus, Report, Row, RunInfo, Status};
use crate::setup::{self, Availability, Env};
use crate::sys::{self, Ended, Teardown};

#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// fio job files [default: jobs/seq-read.fio]. They hold no setup lines:
    /// the harness adds engine, directory and volume options.
    pub jobs: Vec<PathBuf>,
    /// Setups to run, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "base,fuse,bypass,bypass-custom,rpc-bypass,gfapi,gfapi_async,qemu"
    )]
    pub setups: Vec<String>,
    /// Override every `size=` of the job files (e.g. 64m) for quick runs.
    #[arg(long)]
    pub size: Option<String>,
    /// Runs per (job, setup); min/median/max are reported.
    #[arg(long, default_value_t = 3)]
    pub repeat: u32,
    /// Directory holding one sub-directory per run, and `latest`.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Run name: its sub-directory of --results, as given (spaces, `;` and
    /// the like are fine; not "", ".", "..", "latest", `/` or control
    /// characters) [default: UTC date-time].
    #[arg(long)]
    pub name: Option<String>,
    /// Local volume: parent directory for the brick directories (e.g. a
    /// tmpfs) [default: /var/tmp]. With --server: an existing local brick of
    /// that volume, for the base and rpc-bypass setups (read as is).
    #[arg(long)]
    pub brick_dir: Option<PathBuf>,
    /// Number of bricks of the local volume.
    #[arg(long, default_value_t = 1)]
    pub bricks: u32,
    /// Replica count of the local volume (bricks must be a multiple).
    #[arg(long)]
    pub replica: Option<u32>,
    /// Make the volume on a cluster of this many GlusterFS nodes brought up on
    /// this machine (network namespaces, one glusterd each; removed at the end),
    /// e.g. `--nodes 3 --replica 3`. --bricks defaults to the replica count or
    /// the disperse count.
    #[arg(long, conflicts_with = "server")]
    pub nodes: Option<u32>,
    /// With --nodes: a dispersed volume of this many bricks (e.g. 6).
    #[arg(long, requires = "nodes", conflicts_with = "replica")]
    pub disperse: Option<u32>,
    /// Redundancy of the dispersed volume [default: a third of --disperse].
    #[arg(long, requires = "disperse")]
    pub redundancy: Option<u32>,
    /// With --nodes: this many more namespaces on the cluster's bridge each run
    /// `fio --server`, and the jobs run from them in fio's client/server mode
    /// (as --clients does with real hosts).
    #[arg(long, requires = "nodes", conflicts_with = "clients")]
    pub client_namespaces: Option<u32>,
    /// Use an existing cluster at host[:port]: creates no volume, starts no glusterd.
    #[arg(long)]
    pub server: Option<String>,
    /// Volume name: the existing volume with --server, else the name of the
    /// volume to create [default: gbench-<run>].
    #[arg(long)]
    pub volume: Option<String>,
    /// fio client/server mode: hosts (host[:port], comma-separated) each
    /// running `fio --server`.
    #[arg(long, value_delimiter = ',')]
    pub clients: Vec<String>,
    /// libglusterrs.so [default: target/release/libglusterrs.so next to this binary].
    #[arg(long)]
    pub engine: Option<PathBuf>,
    /// Volume option KEY=VALUE for the created volume (repeatable); defaults
    /// to performance.strict-o-direct=on so direct=1 reaches the brick.
    #[arg(long = "volume-opt", value_parser = parse_kv)]
    pub volume_opts: Vec<(String, String)>,
    /// Extra fio option KEY=VALUE (or KEY=) added to every setup's derived
    /// job file after the setup's own options (repeatable), e.g. thread=1.
    #[arg(long = "fio-opt", value_parser = parse_kv_loose)]
    pub fio_opts: Vec<(String, String)>,
    /// libglusterrs option KEY=VALUE added only to the setups that run the
    /// engine (bypass, bypass-custom, rpc-bypass), after --fio-opt
    /// (repeatable), e.g. io_mode=sync or client_io_threads=1: measures a
    /// change of the engine against the same run's other setups.
    #[arg(long = "engine-opt", value_parser = parse_kv)]
    pub engine_opts: Vec<(String, String)>,
    /// Do not drop the page cache before each run.
    #[arg(long)]
    pub no_drop_caches: bool,
    /// fio binary.
    #[arg(long, default_value = "fio")]
    pub fio: PathBuf,
    /// Kill a fio run after this many seconds.
    #[arg(long, default_value_t = 1800)]
    pub fio_timeout: u64,
    /// Skip PNG/SVG plots.
    #[arg(long)]
    pub no_plots: bool,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

fn parse_kv_loose(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some(_) => parse_kv(s),
        None if !s.trim().is_empty() => Ok((s.trim().to_string(), String::new())),
        None => Err("empty fio option".into()),
    }
}

/// `KEY=VALUE KEY=VALUE ...`, as the options were given.
fn key_values(opts: &[(String, String)]) -> String {
    opts.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `host:port` -> fio's `host,port`.
fn fio_client(h: &str) -> String {
    match h.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => {
            format!("{host},{port}")
        }
        _ => h.to_string(),
    }
}

/// The setups that run libglusterrs (and take --engine-opt).
pub const ENGINE_SETUPS: &[&str] = &["bypass", "bypass-custom", "rpc-bypass"];

pub const DEFAULT_VOLUME_OPTS: &[(&str, &str)] = &[("performance.strict-o-direct", "on")];

/// UTC `YYYYmmdd-HHMMSS`.
pub fn timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// libglusterrs.so: --engine, $GLUSTERRS_ENGINE, the release build in the
/// target directory this binary lives in, or the installed package's.
fn find_engine(arg: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = arg {
        return if p.is_file() {
            Ok(p.canonicalize().unwrap_or_else(|_| p.to_path_buf()))
        } else {
            Err(format!("--engine {}: no such file", p.display()))
        };
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("GLUSTERRS_ENGINE") {
        candidates.push(p.into());
    }
    if let Ok(exe) = std::env::current_exe() {
        // The release build first, even when this binary is a debug build.
        let dirs: Vec<PathBuf> = exe
            .ancestors()
            .skip(1)
            .take(3)
            .map(Path::to_path_buf)
            .collect();
        candidates.extend(dirs.iter().map(|d| d.join("release/libglusterrs.so")));
        candidates.extend(dirs.iter().map(|d| d.join("libglusterrs.so")));
        // Installed (`make deb`): /usr/bin/glusterrs-bench, /usr/lib/<multiarch>/libglusterrs.so.
        if let Some(prefix) = dirs.get(1) {
            let multiarch = format!("{}-linux-gnu", std::env::consts::ARCH);
            candidates.push(prefix.join("lib").join(multiarch).join("libglusterrs.so"));
        }
    }
    candidates.push("target/release/libglusterrs.so".into());
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .map(|p| p.canonicalize().unwrap_or(p))
        .ok_or_else(|| {
            "libglusterrs.so not found: build it with `cargo build --release -p glusterrs` or pass --engine".into()
        })
}

struct Ctx {
    args: RunArgs,
    run_dir: PathBuf,
    pb: ProgressBar,
    commands: File,
    /// cgroup counting the CPU of every measured process tree (None: not
    /// available here; rows then carry fio's own CPU figure only).
    cpu: Option<Arc<CpuGroup>>,
    /// Local brick directories whose glusterfsd CPU is read around each run.
    bricks: Vec<PathBuf>,
}

/// CPU used during one measured run; see [`Row::proc_cpu_s`].
#[derive(Debug, Clone, Copy, Default)]
struct RunCpu {
    proc_s: Option<f64>,
    brick_s: Option<f64>,
}

impl RunCpu {
    fn apply(self, r: &mut Row) {
        r.proc_cpu_s = self.proc_s;
        r.brick_cpu_s = self.brick_s;
    }
}

impl Ctx {
    fn log(&self, msg: impl AsRef<str>) {
        if self.pb.is_hidden() {
            eprintln!("{}", msg.as_ref());
        } else {
            self.pb.println(msg.as_ref());
        }
    }
}

enum FioResult {
    Done {
        groups: Vec<GroupStats>,
        wall_s: f64,
        cpu: RunCpu,
    },
    Failed(String),
}

/// The first meaningful lines of a fio log (where fio states the cause),
/// as a one-line reason.
fn failure_reason(log: &str, ended: &str) -> String {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.contains("async interface is still very experimental")
                && !l.starts_with("Did you mean")
                && !l.starts_with("fio-")
        })
        .take(3)
        .collect();
    let head = lines.join(" / ");
    let mut s = if head.is_empty() {
        ended.to_string()
    } else {
        format!("{ended}: {head}")
    };
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

impl Ctx {
    /// Runs fio on a derived job file; `json_out` None runs for side
    /// effects (layout) with normal output into the log.
    fn fio(&self, job: &Path, json_out: Option<&Path>, log: &Path) -> Result<FioResult> {
        let mut fio_args: Vec<String> = Vec::new();
        if let Some(out) = json_out {
            fio_args.push("--output-format=json+".into());
            fio_args.push(format!("--output={}", out.display()));
        }
        if self.args.clients.is_empty() {
            fio_args.push(job.display().to_string());
        } else {
            for h in &self.args.clients {
                fio_args.push(format!("--client={}", fio_client(h)));
                fio_args.push(job.display().to_string());
            }
        }
        let mut line = format!("{}", self.args.fio.display());
        for a in &fio_args {
            line.push(' ');
            line.push_str(a);
        }
        writeln!(&self.commands, "{line}")?;
        // Local runs join the CPU cgroup (fio's client mode runs elsewhere).
        let cpu = self
            .cpu
            .as_ref()
            .filter(|_| self.args.clients.is_empty() && json_out.is_some());
        let mut c = match cpu {
            Some(g) => g.command(&self.args.fio, &fio_args),
            None => {
                let mut c = sys::command(&self.args.fio);
                c.args(&fio_args);
                c
            }
        };
        let cpu0 = self.cpu_now(cpu.map(Arc::as_ref));
        let logf = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        c.stdout(Stdio::from(logf.try_clone()?))
            .stderr(Stdio::from(logf));
        let start = Instant::now();
        let mut child = c
            .spawn()
            .with_context(|| format!("starting {}", self.args.fio.display()))?;
        let ended = sys::watch(
            &mut child,
            Some(Duration::from_secs(self.args.fio_timeout)),
            Duration::from_secs(20),
        )?;
        let wall_s = start.elapsed().as_secs_f64();
        let cpu = self.cpu_now(cpu.map(Arc::as_ref)).since(cpu0);
        let log_text = std::fs::read_to_string(log).unwrap_or_default();
        match ended {
            Ended::Interrupted => Err(sys::Interrupted.into()),
            Ended::TimedOut => Ok(FioResult::Failed(failure_reason(
                &log_text,
                &format!("timed out after {} s", self.args.fio_timeout),
            ))),
            Ended::Exited(st) if !st.success() => Ok(FioResult::Failed(failure_reason(
                &log_text,
                &format!("fio {st}"),
            ))),
            Ended::Exited(_) => {
                let Some(out) = json_out else {
                    return Ok(FioResult::Done {
                        groups: Vec::new(),
                        wall_s,
                        cpu,
                    });
                };
                let text = std::fs::read_to_string(out).unwrap_or_default();
                match FioOutput::parse(&text) {
                    Ok(o) => {
                        let groups = group_stats(&o);
                        if groups.is_empty() {
                            Ok(FioResult::Failed(failure_reason(
                                &log_text,
                                "fio did no I/O",
                            )))
                        } else {
                            Ok(FioResult::Done {
                                groups,
                                wall_s,
                                cpu,
                            })
                        }
                    }
                    Err(e) => Ok(FioResult::Failed(failure_reason(
                        &log_text,
                        &format!("unreadable fio output ({e:#})"),
                    ))),
                }
            }
        }
    }
}

/// CPU counters at one instant (see [`Ctx::cpu_now`]).
#[derive(Debug, Clone, Copy, Default)]
struct CpuSnap {
    proc_s: Option<f64>,
    brick_s: Option<f64>,
}

impl CpuSnap {
    fn since(self, before: CpuSnap) -> RunCpu {
        let d = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if a >= b => Some(a - b),
            _ => None,
        };
        RunCpu {
            proc_s: d(self.proc_s, before.proc_s),
            brick_s: d(self.brick_s, before.brick_s),
        }
    }
}

impl Ctx {
    fn cpu_now(&self, group: Option<&CpuGroup>) -> CpuSnap {
        CpuSnap {
            proc_s: group.and_then(|g| g.usage_s().ok()),
            brick_s: cpuacct::bricks_cpu_s(&self.bricks),
        }
    }

    /// The `qemu` setup: one `qemu-img bench` per job section of the
    /// derived job file, on `url/FILE` (see [`crate::qemu`]).
    fn qemu(
        &self,
        opts: &jobfile::Options,
        derived: &Path,
        raw: &Path,
        tag: &str,
    ) -> Result<FioResult> {
        let get = |k: &str| opts.iter().find(|(k2, _)| k2 == k).map(|(_, v)| v.clone());
        let (Some(bin), Some(url)) = (get("qemu-img"), get("url")) else {
            return Ok(FioResult::Failed("qemu setup without qemu-img/url".into()));
        };
        let text = jobfile::read(derived)?;
        let jobs = match qemu::plan(&text) {
            Ok(j) => j,
            Err(e) => return Ok(FioResult::Failed(format!("{e:#}"))),
        };
        let cpu = self.cpu.as_deref();
        let wrap = |p: &Path, a: &[String]| match cpu {
            Some(g) => g.command(p, a),
            None => {
                let mut c = sys::command(p);
                c.args(a);
                c
            }
        };
        let cpu0 = self.cpu_now(cpu);
        let mut commands = &self.commands;
        let outcome = qemu::run(
            Path::new(&bin),
            &jobs,
            &url,
            &|j| raw.join(format!("{tag}-{}.log", j.name)),
            &wrap,
            Duration::from_secs(self.args.fio_timeout),
            &mut commands,
        )?;
        let used = self.cpu_now(cpu).since(cpu0);
        Ok(match outcome {
            qemu::Outcome::Failed(why) => FioResult::Failed(why),
            qemu::Outcome::Done { outs, wall_s } => FioResult::Done {
                groups: vec![qemu::group_stats(&jobs, &outs, used.proc_s.unwrap_or(0.0))],
                wall_s,
                cpu: used,
            },
        })
    }
}

/// Everything the run brought up, described for the report.
struct Bringup {
    env: Env,
    info_volume_options: BTreeMap<String, String>,
    bricks: Vec<String>,
    server: String,
    /// Directories to lay the job files out in (mount first).
    layout_dirs: Vec<PathBuf>,
    notes: Vec<String>,
}

/// A run name is a directory name under --results: any text but "", ".",
/// "..", "latest" (the link to the last run), a `/`, or a control character
/// (names end up in tables and logs line by line). Spaces, `;`, `$(...)`,
/// quotes are fine: nothing runs through a shell.
pub fn check_run_name(name: &str) -> Result<()> {
    let why = if name.is_empty() {
        Some("it is empty".to_string())
    } else if name == "." || name == ".." {
        Some(format!("{name:?} is not a directory of its own"))
    } else if name == "latest" || name.starts_with(".latest-") {
        Some("\"latest\" names the link to the last run".to_string())
    } else if name.contains('/') {
        Some("it contains '/' (the name is one directory under --results)".to_string())
    } else if let Some(c) = name.chars().find(|c| c.is_control()) {
        Some(format!("it contains the control character {c:?}"))
    } else if name.len() > 200 {
        Some(format!("it is {} bytes long (at most 200)", name.len()))
    } else {
        None
    };
    match why {
        Some(why) => bail!("unusable run name --name {name:?}: {why}"),
        None => Ok(()),
    }
}

/// The part of the run name that goes into the work directory holding the
/// bricks and the mount: GlusterFS cannot take every character in a brick
/// path or mountpoint (whitespace, `:`, `#`, ...), so anything but
/// `[A-Za-z0-9._+-]` becomes `_` (at most 48 characters).
fn workdir_tag(run_name: &str) -> String {
    let tag: String = run_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(48)
        .collect();
    if tag.is_empty() {
        "run".into()
    } else {
        tag
    }
}

/// Why rpc-bypass does not apply to a volume on --nodes.
const NODES_NO_POSIX: &str = "the bricks are on the cluster's nodes (other hosts): \
    rpc-bypass opens a brick of the client's own machine in-process";

/// Bricks of the volume to create: --bricks, raised to the replica or
/// disperse count on a --nodes cluster.
fn cluster_brick_count(args: &RunArgs) -> u32 {
    match (args.nodes, args.disperse, args.replica) {
        (Some(_), Some(d), _) => d,
        (Some(_), None, Some(r)) => args.bricks.max(r),
        _ => args.bricks,
    }
}

/// --nodes: checks, then brings the cluster up (its teardown on `td`) and,
/// with --client-namespaces, starts the fio servers and points --clients at them.
fn bring_up_nodes(
    args: &mut RunArgs,
    run_dir: &Path,
    td: &mut Teardown,
) -> Result<Option<crate::netns_cluster::NetnsCluster>> {
    let Some(nodes) = args.nodes else {
        return Ok(None);
    };
    if nodes == 0 {
        bail!("--nodes must be at least 1");
    }
    if let Some(d) = args.disperse {
        let r = args.redundancy.unwrap_or(d / 3);
        if r == 0 || 2 * r >= d {
            bail!("--disperse {d} --redundancy {r}: redundancy must be at least 1 and below half the bricks");
        }
    }
    let nc = crate::netns_cluster::NetnsCluster::up(
        nodes,
        glusterrs_cluster::Interrupt::from_flag(sys::interrupt_flag()),
    )?;
    let c = nc.cluster.clone();
    td.push(format!("bring down cluster {}", c.name()), move || {
        c.down().context("bringing the cluster down")
    });
    if let Some(n) = args.client_namespaces {
        if n == 0 {
            bail!("--client-namespaces must be at least 1");
        }
        args.clients = nc.start_fio_servers(n, &args.fio, &run_dir.join("raw"))?;
    }
    Ok(Some(nc))
}

fn bring_up(
    args: &RunArgs,
    ops: &dyn ClusterOps,
    run_name: &str,
    run_dir: &Path,
    td: &mut Teardown,
) -> Result<Bringup> {
    let engine = find_engine(args.engine.as_deref());
    let mut notes = Vec::new();
    let parent = match (&args.server, &args.brick_dir) {
        (None, Some(d)) => d.clone(),
        _ => PathBuf::from("/var/tmp"),
    };
    let parent = parent
        .canonicalize()
        .with_context(|| format!("brick dir {}", parent.display()))?;
    let workdir = parent.join(format!(
        "glusterrs-bench-{}-{}",
        workdir_tag(run_name),
        std::process::id()
    ));
    std::fs::create_dir(&workdir)
        .with_context(|| format!("creating work dir {}", workdir.display()))?;
    {
        let w = workdir.clone();
        td.push(format!("remove {}", workdir.display()), move || {
            crate::cluster::remove_workdir(&w)
        });
    }
    let wants_mount = args.clients.is_empty() || args.server.is_none();

    let (volume, server_host, port, server, mut base_dir, bricks, volume_options, brick_paths);
    let brick_specs: Vec<(String, PathBuf)>;
    if let Some(s) = &args.server {
        // Existing cluster: create nothing on it.
        let (h, p) = match s.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse::<u16>().context("--server port")?),
            None => (s.clone(), 24007),
        };
        volume = args
            .volume
            .clone()
            .context("--server needs --volume NAME (the existing volume)")?;
        server_host = h;
        port = p;
        server = format!("{server_host}:{port}");
        base_dir = args.brick_dir.clone().ok_or_else(|| {
            "needs --brick-dir (a local brick of the volume) with --server".to_string()
        });
        bricks = Vec::new();
        brick_paths = args.brick_dir.iter().cloned().collect::<Vec<_>>();
        brick_specs = Vec::new();
        volume_options = BTreeMap::new();
        notes.push(format!(
            "existing cluster {server}, volume {volume}: nothing created on it"
        ));
    } else {
        let brick_count = cluster_brick_count(args);
        if args.bricks == 0 {
            bail!("--bricks must be at least 1");
        }
        if let Some(r) = args.replica {
            if r < 2 || brick_count % r != 0 {
                bail!("--replica {r} needs --bricks a multiple of {r} (got {brick_count})");
            }
        }
        if let Some(stop) = ops.ensure_glusterd()? {
            td.push("stop the glusterd this run started", stop);
            notes.push("glusterd started by the harness".into());
        }
        sys::check_interrupted()?;
        let mut opts: Vec<(String, String)> = DEFAULT_VOLUME_OPTS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .filter(|(k, _)| !args.volume_opts.iter().any(|(k2, _)| k2 == k))
            .collect();
        opts.extend(args.volume_opts.iter().cloned());
        let plan = VolumePlan {
            name: args.volume.clone(),
            brick_root: workdir.clone(),
            bricks: brick_count,
            replica: args.replica,
            disperse: args.disperse.map(|d| (d, args.redundancy.unwrap_or(d / 3))),
            options: opts.clone(),
        };
        let created = ops.create_volume(&plan)?;
        volume = created.name.clone();
        td.push(format!("stop and delete volume {volume}"), created.cleanup);
        sys::check_interrupted()?;
        let host = created.host.clone();
        brick_paths = created.bricks.clone();
        server_host = match &created.server {
            Some(s) => s.clone(),
            None if args.clients.is_empty() => "localhost".to_string(),
            None => host.clone(),
        };
        port = 24007;
        server = format!("{server_host}:{port}");
        let host_of = |i: usize| created.brick_hosts.get(i).unwrap_or(&host).clone();
        bricks = brick_paths
            .iter()
            .enumerate()
            .map(|(i, b)| format!("{}:{}", host_of(i), b.display()))
            .collect();
        brick_specs = brick_paths
            .iter()
            .enumerate()
            .map(|(i, b)| (host_of(i), b.clone()))
            .collect();
        volume_options = opts.into_iter().collect();
        base_dir = Ok(brick_paths[0].clone());
        if brick_count > 1 {
            let d = workdir.join("base");
            std::fs::create_dir_all(&d)?;
            let why = if args.nodes.is_some() {
                "the bricks are on the cluster's nodes"
            } else if args.replica == Some(brick_count) {
                "writing one replica's brick directly would split the replicas"
            } else {
                "no single brick holds every file"
            };
            notes.push(format!(
                "base uses a plain directory {} with the same job files ({brick_count} bricks: {why})",
                d.display(),
            ));
            base_dir = Ok(d);
        }
    }

    let mut layout_dirs = Vec::new();
    let mount = if wants_mount {
        let mnt = workdir.join("mnt");
        std::fs::create_dir_all(&mnt)?;
        let log = run_dir.join("raw").join("fuse-client.log");
        match ops.mount(&server_host, &volume, &mnt, &log) {
            Ok(c) => {
                td.push(format!("unmount {}", mnt.display()), c);
                layout_dirs.push(mnt.clone());
                Ok(mnt)
            }
            Err(e) => Err(format!("FUSE mount failed: {e:#}")),
        }
    } else {
        Err("no FUSE mount in client/server mode".to_string())
    };
    sys::check_interrupted()?;
    if let Ok(d) = &base_dir {
        if !brick_paths.contains(d) {
            layout_dirs.push(d.clone());
        }
    }
    if mount.is_err() {
        notes.push("files not laid out through FUSE: each setup lays out its own".into());
    }

    let client_volfile = match ops.client_volfile(&server, &volume, &brick_specs) {
        Ok(text) => {
            let p = workdir.join("client.vol");
            std::fs::write(&p, text)?;
            Ok(p)
        }
        Err(e) => Err(format!("no client volfile: {e:#}")),
    };
    let posix_brick = match (args.server.is_some(), brick_paths.len(), args.replica) {
        _ if args.nodes.is_some() => Err(NODES_NO_POSIX.to_string()),
        (true, _, _) => args.brick_dir.clone().ok_or_else(|| {
            "needs --brick-dir (a local brick of the volume) with --server".to_string()
        }),
        (false, 1, _) => Ok(brick_paths[0].clone()),
        (false, n, Some(r)) if r == n as u32 => Ok(brick_paths[0].clone()),
        (false, n, _) => Err(format!(
            "needs a brick holding every file ({n} distributed bricks)"
        )),
    };
    // rpc-bypass writes the brick only while no brick process serves it:
    // the harness stops its own single-brick volume around such runs.
    let posix_writes = match (args.server.is_some(), brick_paths.len()) {
        _ if args.nodes.is_some() => Err(NODES_NO_POSIX.to_string()),
        (true, _) => Err("the volume belongs to an existing cluster (--server): \
                          the harness does not stop it"
            .to_string()),
        (false, 1) => Ok(()),
        (false, _) if posix_brick.is_ok() => Err("writing one replica's brick in-process \
                                                  bypasses replication and would split the replicas"
            .to_string()),
        (false, n) => Err(format!("no single brick holds every file ({n} bricks)")),
    };

    Ok(Bringup {
        env: Env {
            volume,
            server_host,
            port,
            base_dir,
            mount,
            engine,
            client_volfile,
            posix_brick,
            posix_writes,
            clients: args.clients.clone(),
        },
        info_volume_options: volume_options,
        bricks,
        server,
        layout_dirs,
        notes,
    })
}

fn fio_version(fio: &Path) -> String {
    let mut c = sys::command(fio);
    c.arg("--version");
    sys::output(c)
        .map(|o| o.stdout.trim().to_string())
        .unwrap_or_default()
}

/// Points `results/latest` at `run` (relative link, replaced atomically).
pub fn update_latest(results: &Path, run: &str) -> Result<()> {
    let tmp = results.join(format!(".latest-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(run, &tmp)?;
    std::fs::rename(&tmp, results.join("latest")).context("updating results/latest")
}

pub fn run(args: RunArgs) -> Result<i32> {
    sys::install_signal_handlers()?;
    let mut args = args;
    if args.jobs.is_empty() {
        args.jobs.push("jobs/seq-read.fio".into());
    }
    if args.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    for s in &args.setups {
        if !setup::ALL.contains(&s.as_str()) {
            bail!("unknown setup {s:?} (known: {})", setup::ALL.join(", "));
        }
    }
    let jobs: Vec<(String, PathBuf, String)> = args
        .jobs
        .iter()
        .map(|p| Ok((jobfile::job_name(p), p.clone(), jobfile::read(p)?)))
        .collect::<Result<_>>()?;
    let started = SystemTime::now();
    let run_name = args.name.clone().unwrap_or_else(|| timestamp(started));
    check_run_name(&run_name)?;
    let run_dir = args.results.join(&run_name);
    std::fs::create_dir_all(&args.results)
        .with_context(|| format!("creating {}", args.results.display()))?;
    // create_dir, not _all: the run directory is new, so all of it is ours.
    match std::fs::create_dir(&run_dir) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("{} exists: choose another --name", run_dir.display())
        }
        r => r.with_context(|| format!("creating {}", run_dir.display()))?,
    }
    std::fs::create_dir(run_dir.join("raw"))?;
    std::fs::create_dir(run_dir.join("jobs"))?;
    let drop_caches = !args.no_drop_caches;

    let mut td = Teardown::default();
    td.verbose = true;
    let pb = ProgressBar::hidden();
    let cpu = match CpuGroup::create() {
        Ok(g) => Some(Arc::new(g)),
        Err(why) => {
            eprintln!("warning: process CPU not measured: {why}");
            None
        }
    };
    if let Some(g) = &cpu {
        let g = Arc::clone(g);
        td.push("remove the CPU accounting cgroup", move || g.remove());
    }
    let ctx = Ctx {
        commands: File::create(run_dir.join("commands.txt"))?,
        args: args.clone(),
        run_dir: run_dir.clone(),
        pb,
        cpu,
        bricks: Vec::new(),
    };
    let gluster_ops = GlusterCluster {
        remote_host: args
            .server
            .as_ref()
            .map(|s| s.rsplit_once(':').map_or(s.clone(), |(h, _)| h.to_string())),
        interrupt: glusterrs_cluster::Interrupt::from_flag(sys::interrupt_flag()),
    };
    let mut nodes_args = args.clone();
    let nodes = match bring_up_nodes(&mut nodes_args, &run_dir, &mut td) {
        Ok(n) => n,
        Err(e) => {
            let _ = td.run();
            drop(ctx);
            let _ = std::fs::remove_dir_all(&run_dir);
            return Err(e);
        }
    };
    let args = nodes_args;
    let mut ctx = ctx;
    ctx.args = args.clone();
    let ops: &dyn ClusterOps = match &nodes {
        Some(n) => n,
        None => &gluster_ops,
    };
    ctx.log(format!(
        "glusterrs-bench: run {run_name} -> {}",
        run_dir.display()
    ));
    let up = match bring_up(&args, ops, &run_name, &run_dir, &mut td) {
        Ok(up) => up,
        Err(e) => {
            let teardown_errors = td.run();
            drop(ctx);
            // Nothing was measured; the directory is new (see above): all ours.
            if teardown_errors.is_empty() {
                let _ = std::fs::remove_dir_all(&run_dir);
            }
            if sys::interrupted() {
                // A step that failed because of the signal says so itself;
                // anything else is worth showing.
                if !is_interruption(&e) {
                    eprintln!("after the interrupt: {e:#}");
                }
                eprintln!(
                    "{} during bring-up: torn down, nothing measured",
                    sys::Interrupted
                );
                return Ok(sys::interrupted_exit_code());
            }
            return Err(e);
        }
    };
    let mut info = RunInfo {
        run: run_name.clone(),
        started: timestamp(started),
        host: hostname(),
        fio_version: fio_version(&args.fio),
        size: args.size.clone(),
        repeat: args.repeat,
        drop_caches,
        volume: up.env.volume.clone(),
        server: up.server.clone(),
        bricks: up.bricks.clone(),
        replica: args.replica,
        volume_options: up.info_volume_options.clone(),
        clients: args.clients.clone(),
        jobs: jobs.iter().map(|j| j.0.clone()).collect(),
        setups: args.setups.clone(),
        job_descriptions: jobs
            .iter()
            .filter_map(|(n, _, t)| jobfile::description(t).map(|d| (n.clone(), d)))
            .collect(),
        notes: up.notes.clone(),
        cpus: available_cpus(),
    };
    if !args.fio_opts.is_empty() {
        info.notes.push(format!(
            "extra fio options on every setup: {}",
            key_values(&args.fio_opts)
        ));
    }
    if !args.engine_opts.is_empty() {
        info.notes.push(format!(
            "extra libglusterrs options on {}: {}",
            ENGINE_SETUPS.join(", "),
            key_values(&args.engine_opts)
        ));
    }
    if let Ok(e) = &up.env.engine {
        info.notes
            .push(format!("libglusterrs engine: {}", e.display()));
        if e.components().any(|c| c.as_os_str() == "debug") {
            info.notes.push(
                "WARNING: the engine is a debug build; numbers are not representative".into(),
            );
        }
    }
    let mut rows: Vec<Row> = Vec::new();
    if args.setups.iter().any(|s| s == "rpc-bypass") {
        if let Ok(b) = &up.env.posix_brick {
            info.notes.push(format!(
                "rpc-bypass: libglusterrs posix={} (the brick in-process); jobs that only read \
                 open it read-only (posix_read_only=1) while the volume runs; {}",
                b.display(),
                match &up.env.posix_writes {
                    Ok(()) => "jobs that write run with the volume stopped (gluster volume \
                               stop before, start after each run)"
                        .to_string(),
                    Err(why) => format!("jobs that write are not run: {why}"),
                }
            ));
        }
    }
    if let Some(n) = &nodes {
        info.notes.push(n.describe());
        if let Some(k) = args.client_namespaces {
            info.notes.push(format!(
                "fio client/server mode: fio --server in {k} client namespaces on the cluster's \
                 bridge ({})",
                args.clients.join(", ")
            ));
        }
    }
    let result = measure(&ctx, ops, &jobs, &up, drop_caches, &mut rows, &mut info);
    // Tear down before writing: the results do not depend on the cluster.
    ctx.pb.finish_and_clear();
    let teardown_errors = td.run();
    let report = Report { info, rows };
    write_outputs(&report, &run_dir, !args.no_plots)?;
    update_latest(&args.results, &run_name)?;
    match result {
        Ok(()) => {
            println!("{}", export::markdown(&report));
            eprintln!("results in {}", run_dir.display());
            if sys::interrupted() {
                // The signal came after the last measurement (during the
                // teardown, which is not cut short): the results are complete,
                // but the caller asked to stop, so a script must see it.
                eprintln!(
                    "{} after the last measurement: results complete",
                    sys::Interrupted
                );
                return Ok(sys::interrupted_exit_code());
            }
            if !teardown_errors.is_empty() {
                bail!("teardown failed: {teardown_errors:?}");
            }
            Ok(0)
        }
        // Whatever failed after SIGINT/SIGTERM (a step cut short by it), the
        // run was interrupted: 128 + signal, as a shell reports it.
        Err(e) if sys::interrupted() => {
            if !is_interruption(&e) {
                eprintln!("after the interrupt: {e:#}");
            }
            eprintln!(
                "{}: torn down; partial results in {}",
                sys::Interrupted,
                run_dir.display()
            );
            Ok(sys::interrupted_exit_code())
        }
        Err(e) => Err(e),
    }
}

/// The error is the interrupt itself (the harness's or the cluster crate's).
fn is_interruption(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<sys::Interrupted>()
            || matches!(
                c.downcast_ref::<glusterrs_cluster::Error>(),
                Some(glusterrs_cluster::Error::Interrupted { .. })
            )
    })
}

pub fn write_outputs(report: &Report, dir: &Path, plots: bool) -> Result<()> {
    for ex in export::all() {
        if !plots && ex.name() == "plots" {
            continue;
        }
        match ex.export(report, dir) {
            Ok(_) => {}
            // Plots are a convenience: a missing font must not lose the numbers.
            Err(e) if ex.name() == "plots" => eprintln!("warning: plots not written: {e:#}"),
            Err(e) => return Err(e.context(format!("{} export", ex.name()))),
        }
    }
    Ok(())
}

fn measure(
    ctx: &Ctx,
    ops: &dyn ClusterOps,
    jobs: &[(String, PathBuf, String)],
    up: &Bringup,
    drop_caches: bool,
    rows: &mut Vec<Row>,
    info: &mut RunInfo,
) -> Result<()> {
    let args = &ctx.args;
    let setups: Vec<(String, Availability)> = args
        .setups
        .iter()
        .map(|s| (s.clone(), setup::options(s, &up.env)))
        .collect();
    // Per job: rpc-bypass depends on whether the job writes.
    let plans: Vec<Vec<(String, setup::JobPlan)>> = jobs
        .iter()
        .map(|(_, _, text)| {
            let writes = jobfile::writes(text, &args.fio_opts);
            setups
                .iter()
                .map(|(s, a)| (s.clone(), setup::for_job(s, a.clone(), &up.env, writes)))
                .collect()
        })
        .collect();
    let runnable: usize = plans
        .iter()
        .flatten()
        .filter(|(_, p)| matches!(p.availability, Availability::Run(_)))
        .count();
    let total = runnable as u64 * u64::from(args.repeat);
    let posix_bricks: Vec<PathBuf> = up.env.posix_brick.iter().cloned().collect();
    let mount = up.env.mount.as_ref().ok().map(PathBuf::as_path);
    let pb = ProgressBar::new(total).with_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30.cyan/blue}] {pos}/{len} {msg} (eta {eta})",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    let ctx = Ctx {
        args: ctx.args.clone(),
        run_dir: ctx.run_dir.clone(),
        pb,
        commands: ctx.commands.try_clone()?,
        cpu: ctx.cpu.clone(),
        // "host:/path" of this machine's volume (none with --server).
        bricks: if args.server.is_some() {
            Vec::new()
        } else {
            up.bricks
                .iter()
                .filter_map(|b| b.split_once(':'))
                .map(|(_, p)| PathBuf::from(p))
                .collect()
        },
    };
    let mut caches_ok = drop_caches;
    for ((job, _path, text), plan) in jobs.iter().zip(&plans) {
        sys::check_interrupted()?;
        let raw = ctx.run_dir.join("raw").join(job);
        std::fs::create_dir_all(&raw)?;
        for (setup, p) in plan {
            match &p.availability {
                Availability::Run(_) => {}
                Availability::Skip(why) => {
                    rows.push(Row::not_run(job, setup, Status::Skipped, why.clone()))
                }
                Availability::Fail(why) => {
                    rows.push(Row::not_run(job, setup, Status::Failed, why.clone()))
                }
            }
        }
        // Lay the files out once, through the mount, so every setup reads
        // the same files (created by gluster, with their gfids).
        for dir in &up.layout_dirs {
            ctx.pb
                .set_message(format!("{job}: laying out files in {}", dir.display()));
            let opts = vec![
                ("ioengine".to_string(), "psync".to_string()),
                ("directory".to_string(), dir.display().to_string()),
                ("create_only".to_string(), "1".to_string()),
            ];
            let derived = ctx.run_dir.join("jobs").join(format!("{job}-layout.fio"));
            std::fs::write(&derived, jobfile::derive(text, &opts, args.size.as_deref()))?;
            let log = raw.join("layout.log");
            if let FioResult::Failed(why) = ctx.fio(&derived, None, &log)? {
                ctx.log(format!(
                    "warning: {job}: layout in {} failed: {why}",
                    dir.display()
                ));
            }
        }
        let mut failed: BTreeMap<&str, String> = BTreeMap::new();
        for rep in 1..=args.repeat {
            for (setup, p) in plan {
                let Availability::Run(opts) = &p.availability else {
                    continue;
                };
                sys::check_interrupted()?;
                ctx.pb
                    .set_message(format!("{job} · {setup} · run {rep}/{}", args.repeat));
                if failed.contains_key(setup.as_str()) {
                    ctx.pb.inc(1);
                    continue;
                }
                if caches_ok {
                    if let Err(e) = sys::drop_caches() {
                        ctx.log(format!(
                            "warning: cannot drop caches ({e:#}); continuing without"
                        ));
                        info.notes.push(format!("caches NOT dropped: {e:#}"));
                        info.drop_caches = false;
                        caches_ok = false;
                    }
                }
                let derived = ctx.run_dir.join("jobs").join(format!("{job}-{setup}.fio"));
                if rep == 1 {
                    let mut opts = opts.clone();
                    opts.extend(args.fio_opts.iter().cloned());
                    if ENGINE_SETUPS.contains(&setup.as_str()) {
                        opts.extend(args.engine_opts.iter().cloned());
                    }
                    std::fs::write(&derived, jobfile::derive(text, &opts, args.size.as_deref()))?;
                }
                let out = raw.join(format!("{setup}-r{rep}.json"));
                let log = raw.join(format!("{setup}-r{rep}.log"));
                let mut stop_failed = None;
                if p.stop_volume {
                    ctx.pb.set_message(format!(
                        "{job} · {setup} · run {rep}/{} · stopping volume {}",
                        args.repeat, up.env.volume
                    ));
                    if let Err(e) = ops.stop_volume(&up.env.volume, &posix_bricks) {
                        stop_failed = Some(format!("could not stop the volume: {e:#}"));
                    }
                }
                let result = match stop_failed {
                    Some(why) => Ok(FioResult::Failed(why)),
                    None if setup == "qemu" => {
                        ctx.qemu(opts, &derived, &raw, &format!("{setup}-r{rep}"))
                    }
                    None => ctx.fio(&derived, Some(&out), &log),
                };
                if p.stop_volume {
                    // Always (even when interrupted): later setups need the volume.
                    ctx.pb.set_message(format!(
                        "{job} · {setup} · run {rep}/{} · starting volume {}",
                        args.repeat, up.env.volume
                    ));
                    ops.start_volume(&up.env.volume, &posix_bricks, mount)
                        .context("restarting the volume after an rpc-bypass run")?;
                }
                match result? {
                    FioResult::Done {
                        groups,
                        wall_s,
                        cpu,
                    } => {
                        let mut errs = Vec::new();
                        for g in &groups {
                            let mut r = Row::from_group(job, setup, rep, g, wall_s);
                            cpu.apply(&mut r);
                            if r.status != Status::Ok {
                                errs.push(r.note.clone());
                            }
                            rows.push(r);
                        }
                        let g = &groups[0];
                        ctx.log(format!(
                            "{job:<14} {setup:<14} run {rep}: aggrb {:>9.0} KiB/s  mint {:>6} ms  maxt {:>6} ms  ({wall_s:.1} s)",
                            g.agg_kibs(),
                            g.min_run,
                            g.max_run
                        ));
                        if !errs.is_empty() {
                            failed.insert(setup, errs.join("; "));
                        }
                    }
                    FioResult::Failed(why) => {
                        ctx.log(format!("{job:<14} {setup:<14} run {rep}: FAILED: {why}"));
                        let mut r = Row::not_run(job, setup, Status::Failed, why.clone());
                        r.repeat = rep;
                        rows.push(r);
                        failed.insert(setup, why);
                    }
                }
                ctx.pb.inc(1);
            }
        }
    }
    ctx.pb.finish_and_clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(UNIX_EPOCH), "19700101-000000");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_734_555);
        assert_eq!(timestamp(t), "20261126-230915");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(timestamp(leap), "20000229-000000");
    }

    #[test]
    fn client_host_port() {
        assert_eq!(fio_client("h1:8766"), "h1,8766");
        assert_eq!(fio_client("h1"), "h1");
    }

    #[test]
    fn kv_parsing() {
        assert_eq!(
            parse_kv("performance.strict-o-direct=on").unwrap(),
            ("performance.strict-o-direct".into(), "on".into())
        );
        assert!(parse_kv("nope").is_err());
        assert!(parse_kv("=x").is_err());
        assert_eq!(
            parse_kv_loose("thread").unwrap(),
            ("thread".into(), String::new())
        );
        assert_eq!(
            parse_kv_loose("thread=1").unwrap(),
            ("thread".into(), "1".into())
        );
    }

    #[test]
    fn failure_reason_keeps_the_cause_and_drops_noise() {
        let log = "the async interface is still very experimental...\nfio: engine libglusterrs not loadable\nfio: failed to load engine\nBad option <volume=v>\nDid you mean block?\nfio: job global dropped\n";
        assert_eq!(
            failure_reason(log, "fio exit status: 1"),
            "fio exit status: 1: fio: engine libglusterrs not loadable / fio: failed to load engine / Bad option <volume=v>"
        );
        assert_eq!(failure_reason("", "timed out"), "timed out");
    }

    #[test]
    fn run_names() {
        for ok in [
            "20261127-101010",
            "a run",
            "x; touch y",
            "$(touch z)|&`q`",
            "..a",
            "a..",
            "ünï cödé",
        ] {
            check_run_name(ok).unwrap();
        }
        for (bad, says) in [
            ("", "empty"),
            (".", "not a directory"),
            ("..", "not a directory"),
            ("a/b", "'/'"),
            ("../up", "'/'"),
            ("/abs", "'/'"),
            ("latest", "latest"),
            ("new\nline", "control"),
            ("tab\t", "control"),
        ] {
            let e = check_run_name(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad:?}: {e}");
            assert!(e.contains(&format!("{bad:?}")), "{bad:?}: {e}");
        }
        assert!(check_run_name(&"x".repeat(201)).is_err());
    }

    #[test]
    fn work_dir_tags_are_gluster_safe() {
        assert_eq!(workdir_tag("20261127-101010"), "20261127-101010");
        assert_eq!(workdir_tag("a run; $(x):#\"\\`"), "a_run____x______");
        assert_eq!(workdir_tag("ünï"), "_n_");
        assert_eq!(workdir_tag(&"y".repeat(100)).len(), 48);
        // Whatever the name, the brick path below the work dir is usable.
        let tag = workdir_tag("a b\tc:d#e\"f\\g`h");
        assert!(tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c)));
    }

    #[test]
    fn latest_symlink_is_replaced() {
        let dir = std::env::temp_dir().join(format!("gb-latest-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::create_dir_all(dir.join("b")).unwrap();
        update_latest(&dir, "a").unwrap();
        update_latest(&dir, "b").unwrap();
        assert_eq!(
            std::fs::read_link(dir.join("latest")).unwrap(),
            Path::new("b")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod bringup_tests {
    use super::*;
    use crate::cluster::{Cleanup, CreatedVolume};
    use clap::Parser;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: RunArgs,
    }

    fn args(extra: &[&str]) -> RunArgs {
        let mut v = vec!["t"];
        v.extend_from_slice(extra);
        T::parse_from(v).a
    }

    /// Records what the orchestration asks for; creates only directories.
    #[derive(Clone, Default)]
    struct Fake {
        log: Rc<RefCell<Vec<String>>>,
        started_glusterd: bool,
    }

    impl Fake {
        fn cleanup(&self, what: &str) -> Cleanup {
            let log = self.log.clone();
            let what = what.to_string();
            Box::new(move || {
                log.borrow_mut().push(format!("undo {what}"));
                Ok(())
            })
        }
    }

    impl ClusterOps for Fake {
        fn ensure_glusterd(&self) -> Result<Option<Cleanup>> {
            self.log.borrow_mut().push("glusterd".into());
            Ok(self.started_glusterd.then(|| self.cleanup("glusterd")))
        }
        fn create_volume(&self, plan: &VolumePlan) -> Result<CreatedVolume> {
            self.log.borrow_mut().push(format!(
                "create bricks={} replica={:?} opts={:?}",
                plan.bricks, plan.replica, plan.options
            ));
            let name = plan.name.clone().unwrap_or_else(|| "gbench-x".into());
            let bricks: Vec<PathBuf> = (0..plan.bricks)
                .map(|i| plan.brick_root.join(&name).join(format!("b{i}")))
                .collect();
            for b in &bricks {
                std::fs::create_dir_all(b)?;
            }
            Ok(CreatedVolume {
                name,
                host: "vm".into(),
                bricks,
                brick_hosts: Vec::new(),
                server: None,
                cleanup: self.cleanup("volume"),
            })
        }
        fn mount(&self, server: &str, volume: &str, _at: &Path, _log: &Path) -> Result<Cleanup> {
            self.log
                .borrow_mut()
                .push(format!("mount {server}:/{volume}"));
            Ok(self.cleanup("mount"))
        }
        fn client_volfile(
            &self,
            _server: &str,
            _volume: &str,
            bricks: &[(String, PathBuf)],
        ) -> Result<String> {
            Ok(format!("client {}\n", bricks.len()))
        }
        fn stop_volume(&self, volume: &str, bricks: &[PathBuf]) -> Result<()> {
            self.log
                .borrow_mut()
                .push(format!("stop {volume} {}", bricks.len()));
            Ok(())
        }
        fn start_volume(
            &self,
            volume: &str,
            bricks: &[PathBuf],
            mount: Option<&Path>,
        ) -> Result<()> {
            self.log.borrow_mut().push(format!(
                "start {volume} {} {}",
                bricks.len(),
                mount.is_some()
            ));
            Ok(())
        }
    }

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gb-bu-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn one_brick_uses_the_brick_as_base_and_tears_down_in_reverse() {
        let d = scratch("one");
        let fake = Fake {
            started_glusterd: true,
            ..Fake::default()
        };
        let a = args(&["--brick-dir", d.to_str().unwrap(), "--volume", "vv"]);
        let mut td = Teardown::default();
        let up = bring_up(&a, &fake, "r", Path::new("results/r"), &mut td).unwrap();
        assert_eq!(up.env.volume, "vv");
        assert_eq!(up.env.server_host, "localhost");
        let brick = up.env.base_dir.clone().unwrap();
        assert!(brick.ends_with("vv/b0"), "{}", brick.display());
        assert!(up.env.mount.is_ok());
        assert_eq!(up.layout_dirs.len(), 1, "only the mount: base is the brick");
        assert_eq!(up.env.posix_brick.as_ref().unwrap(), &brick);
        assert!(
            up.env.posix_writes.is_ok(),
            "own single-brick volume: may stop it"
        );
        assert_eq!(
            std::fs::read_to_string(up.env.client_volfile.clone().unwrap()).unwrap(),
            "client 1\n"
        );
        assert_eq!(
            up.info_volume_options
                .get("performance.strict-o-direct")
                .map(String::as_str),
            Some("on")
        );
        let workdir = d.read_dir().unwrap().next().unwrap().unwrap().path();
        drop(td);
        assert!(!workdir.exists(), "work dir not removed");
        let log = fake.log.borrow().clone();
        assert_eq!(
            &log[log.len() - 3..],
            ["undo mount", "undo volume", "undo glusterd"],
            "{log:?}"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn distributed_bricks_get_a_plain_base_copy_and_no_rpc_bypass() {
        let d = scratch("dist");
        let fake = Fake::default();
        let a = args(&[
            "--brick-dir",
            d.to_str().unwrap(),
            "--bricks",
            "2",
            "--volume-opt",
            "performance.strict-o-direct=off",
            "--volume-opt",
            "performance.io-thread-count=4",
        ]);
        let mut td = Teardown::default();
        let up = bring_up(&a, &fake, "r", Path::new("results/r"), &mut td).unwrap();
        assert!(up.env.base_dir.as_ref().unwrap().ends_with("base"));
        assert_eq!(up.layout_dirs.len(), 2, "mount and the plain base copy");
        assert!(up.env.posix_brick.is_err() && up.env.posix_writes.is_err());
        assert_eq!(
            up.info_volume_options
                .get("performance.strict-o-direct")
                .map(String::as_str),
            Some("off")
        );
        assert!(fake.log.borrow()[1].contains("io-thread-count"));
        drop(td);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn replica_three_keeps_rpc_bypass_on_the_first_copy() {
        let d = scratch("rep");
        let a = args(&[
            "--brick-dir",
            d.to_str().unwrap(),
            "--bricks",
            "3",
            "--replica",
            "3",
        ]);
        let mut td = Teardown::default();
        let up = bring_up(&a, &Fake::default(), "r", Path::new("results/r"), &mut td).unwrap();
        assert!(up.env.posix_brick.as_ref().unwrap().ends_with("b0"));
        assert!(
            up.env
                .posix_writes
                .as_ref()
                .is_err_and(|w| w.contains("split the replicas")),
            "{:?}",
            up.env.posix_writes
        );
        assert!(up.env.base_dir.as_ref().unwrap().ends_with("base"));
        drop(td);
        assert!(bring_up(
            &args(&[
                "--brick-dir",
                d.to_str().unwrap(),
                "--bricks",
                "4",
                "--replica",
                "3"
            ]),
            &Fake::default(),
            "r2",
            Path::new("results/r2"),
            &mut Teardown::default()
        )
        .is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn existing_cluster_creates_nothing() {
        let fake = Fake::default();
        let a = args(&["--server", "gl1:24008", "--volume", "prod"]);
        let mut td = Teardown::default();
        let up = bring_up(&a, &fake, "r", Path::new("results/r"), &mut td).unwrap();
        assert_eq!((up.env.server_host.as_str(), up.env.port), ("gl1", 24008));
        assert!(up.env.base_dir.is_err() && up.env.posix_brick.is_err());
        assert!(up.env.posix_writes.is_err());
        let log = fake.log.borrow().clone();
        assert_eq!(log, ["mount gl1:/prod"], "{log:?}");
        drop(td);
        assert!(bring_up(
            &args(&["--server", "gl1"]),
            &fake,
            "r",
            Path::new("results/r"),
            &mut Teardown::default()
        )
        .is_err());
    }
}
