//! The cluster operations the harness needs, behind a small trait so the
//! orchestration does not depend on how they are done. [`GlusterCluster`]
//! implements them with the `glusterrs-cluster` crate. Every operation that
//! creates something returns the [`Cleanup`] that undoes it; the caller puts
//! it on its teardown stack.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use glusterrs_cluster as gc;

use crate::sys::{self, command};
use crate::volfile;

pub type Cleanup = Box<dyn FnOnce() -> Result<()>>;

/// Volume names the harness generates start with this (so
/// `glusterrs_cluster::cleanup_stale` can find those of crashed runs).
pub const VOLUME_PREFIX: &str = "gbench";

/// What volume to build.
#[derive(Debug, Clone)]
pub struct VolumePlan {
    /// `None`: a unique `gbench-...` name.
    pub name: Option<String>,
    /// Existing directory under which the brick directories are made.
    pub brick_root: PathBuf,
    pub bricks: u32,
    pub replica: Option<u32>,
    /// Disperse set (bricks, redundancy) instead of replication.
    pub disperse: Option<(u32, u32)>,
    pub options: Vec<(String, String)>,
}

pub struct CreatedVolume {
    pub name: String,
    /// Host name the bricks are registered with (the first brick's).
    pub host: String,
    pub bricks: Vec<PathBuf>,
    /// Host of each brick when they differ (a multi-node cluster); empty: all `host`.
    pub brick_hosts: Vec<String>,
    /// The volfile server clients use, when not this machine's glusterd.
    pub server: Option<String>,
    pub cleanup: Cleanup,
}

pub trait ClusterOps {
    /// Starts glusterd unless one is running; the cleanup stops it only if
    /// this call started it.
    fn ensure_glusterd(&self) -> Result<Option<Cleanup>>;
    /// Creates, configures and starts; the cleanup stops and deletes it and
    /// its brick directories.
    fn create_volume(&self, plan: &VolumePlan) -> Result<CreatedVolume>;
    /// FUSE-mounts `server:/volume` on `at` (an existing directory). The
    /// FUSE client logs to a temporary file, not /var/log/glusterfs; the
    /// cleanup unmounts and moves that log to `log`.
    fn mount(&self, server: &str, volume: &str, at: &Path, log: &Path) -> Result<Cleanup> {
        let m = gc::FuseMount::mount(server, volume, Some(at.to_path_buf()))
            .with_context(|| format!("FUSE-mounting {server}:/{volume}"))?;
        let log = log.to_path_buf();
        Ok(Box::new(move || {
            m.unmount_saving_log(&log)
                .with_context(|| format!("unmounting (FUSE client log: {})", log.display()))
        }))
    }
    /// A minimal client volfile: protocol/client translators and only what
    /// joins them. `bricks` are (host, path) when known.
    fn client_volfile(
        &self,
        server: &str,
        volume: &str,
        bricks: &[(String, PathBuf)],
    ) -> Result<String>;
    /// Stops a started volume of this machine and waits until no brick
    /// process serves `bricks` (rpc-bypass may then write a brick in-process).
    fn stop_volume(&self, volume: &str, bricks: &[PathBuf]) -> Result<()>;
    /// Starts a volume [`stop_volume`](ClusterOps::stop_volume) stopped and
    /// waits until `bricks` are served again and the FUSE `mount` (if any)
    /// answers.
    fn start_volume(&self, volume: &str, bricks: &[PathBuf], mount: Option<&Path>) -> Result<()>;
}

/// How long a stopped volume's brick processes may take to exit, and a
/// started one's bricks and FUSE clients to come back.
const VOLUME_STATE_TIMEOUT: Duration = Duration::from_secs(90);

/// The real thing, through `glusterrs-cluster`.
pub struct GlusterCluster {
    /// `--remote-host` for the gluster CLI when targeting another machine.
    pub remote_host: Option<String>,
    /// Set by SIGINT/SIGTERM: volume creation stops at its next step and
    /// rolls back.
    pub interrupt: gc::Interrupt,
}

impl ClusterOps for GlusterCluster {
    fn ensure_glusterd(&self) -> Result<Option<Cleanup>> {
        let g = gc::Glusterd::ensure().context("making sure glusterd runs")?;
        if !g.started_by_us() {
            return Ok(None);
        }
        Ok(Some(Box::new(move || {
            g.stop().context("stopping glusterd")
        })))
    }

    fn create_volume(&self, plan: &VolumePlan) -> Result<CreatedVolume> {
        if plan.disperse.is_some() {
            bail!("a dispersed volume needs several nodes: give --nodes");
        }
        let mut spec = gc::VolumeSpec::new()
            .interrupt(self.interrupt.clone())
            .prefix(VOLUME_PREFIX)
            .bricks(plan.bricks as usize)
            .brick_root(&plan.brick_root);
        if let Some(n) = &plan.name {
            spec = spec.name(n.clone());
        }
        if let Some(r) = plan.replica {
            spec = spec.replica(r as usize);
        }
        for (k, v) in &plan.options {
            spec = spec.option(k.clone(), v.clone());
        }
        let vol = gc::Volume::create(spec).context("creating the volume")?;
        Ok(CreatedVolume {
            name: vol.name().to_string(),
            host: vol.brick_host().to_string(),
            bricks: vol.bricks().to_vec(),
            brick_hosts: Vec::new(),
            server: None,
            cleanup: Box::new(move || vol.destroy().context("destroying the volume")),
        })
    }

    fn client_volfile(
        &self,
        server: &str,
        volume: &str,
        bricks: &[(String, PathBuf)],
    ) -> Result<String> {
        if let [(host, path)] = bricks {
            return gc::client_volfile(volume, host, None, path, gc::Transport::Tcp)
                .context("writing the client volfile");
        }
        // Several bricks (or unknown ones): reduce glusterd's own volfile.
        let mut c = command("gluster");
        c.arg("--mode=script");
        if let Some(h) = &self.remote_host {
            c.arg(format!("--remote-host={h}"));
        }
        c.args(["system::", "getspec", volume]);
        let out = sys::run(c)
            .with_context(|| format!("fetching the client volfile of {volume} from {server}"))?;
        volfile::minimal_client(&out.stdout)
    }

    fn stop_volume(&self, volume: &str, bricks: &[PathBuf]) -> Result<()> {
        self.local_only("stop")?;
        let mut c = command("gluster");
        c.args(["--mode=script", "volume", "stop", volume]);
        sys::run(c).with_context(|| format!("stopping volume {volume}"))?;
        wait_until(VOLUME_STATE_TIMEOUT, || {
            bricks.iter().all(|b| brick_pids(b).is_empty())
        })
        .with_context(|| {
            format!(
                "volume {volume} stopped, but brick processes still run: {:?}",
                bricks
                    .iter()
                    .flat_map(|b| brick_pids(b))
                    .collect::<Vec<_>>()
            )
        })
    }

    fn start_volume(&self, volume: &str, bricks: &[PathBuf], mount: Option<&Path>) -> Result<()> {
        self.local_only("start")?;
        let mut c = command("gluster");
        c.args(["--mode=script", "volume", "start", volume]);
        let out = sys::output(c).with_context(|| format!("starting volume {volume}"))?;
        // "already started": a stop that failed half-way; wait for it below.
        let text = format!("{} {}", out.stdout.trim(), out.stderr.trim());
        if !out.status.success() && !text.contains("already started") {
            bail!(
                "`gluster volume start {volume}` failed ({}): {text}",
                out.status
            );
        }
        wait_until(VOLUME_STATE_TIMEOUT, || {
            bricks.iter().all(|b| !brick_pids(b).is_empty())
        })
        .with_context(|| format!("volume {volume} started, but its brick processes did not"))?;
        if let Some(m) = mount {
            // The FUSE client reconnects on its own (every few seconds).
            wait_until(VOLUME_STATE_TIMEOUT, || mount_answers(m)).with_context(|| {
                format!(
                    "the FUSE mount {} did not reconnect to volume {volume}",
                    m.display()
                )
            })?;
        }
        Ok(())
    }
}

impl GlusterCluster {
    fn local_only(&self, what: &str) -> Result<()> {
        if let Some(h) = &self.remote_host {
            bail!("will not {what} a volume of the existing cluster at {h}");
        }
        Ok(())
    }
}

/// Polls `f` every 100 ms until it holds; errors after `timeout`.
fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> Result<()> {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return Ok(());
        }
        if Instant::now() >= end {
            bail!("timed out after {} s", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Processes started with `--brick-name BRICK` (glusterfsd serving it).
fn brick_pids(brick: &Path) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let raw = std::fs::read(e.path().join("cmdline")).ok()?;
            let argv: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
            argv.windows(2)
                .any(|w| w[0] == b"--brick-name" && Path::new(OsStr::from_bytes(w[1])) == brick)
                .then_some(pid)
        })
        .collect()
}

/// Whether a FUSE mount serves requests: lists its root and opens the
/// first regular file (both reach the brick; a disconnected client fails).
fn mount_answers(mount: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(mount) else {
        return false;
    };
    let mut first_file = None;
    for e in entries {
        let Ok(e) = e else { return false };
        if e.file_type().is_ok_and(|t| t.is_file()) {
            first_file = Some(e.path());
            break;
        }
    }
    match first_file {
        Some(f) => std::fs::File::open(f).is_ok(),
        None => true,
    }
}

/// Removes the work directory, refusing while anything is mounted below it.
pub fn remove_workdir(dir: &Path) -> Result<()> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let prefix = dir.to_string_lossy();
    if let Some(m) = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .find(|mp| mp.starts_with(prefix.as_ref()))
    {
        bail!("{m} is still mounted: not removing {}", dir.display());
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    Ok(())
}
