//! The cluster operations the harness needs, behind a small trait so the
//! orchestration does not depend on how they are done. [`GlusterCluster`]
//! implements them with the `glusterrs-cluster` crate. Every operation that
//! creates something returns the [`Cleanup`] that undoes it; the caller puts
//! it on its teardown stack.

use std::path::{Path, PathBuf};

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
    pub options: Vec<(String, String)>,
}

pub struct CreatedVolume {
    pub name: String,
    /// Host name the bricks are registered with.
    pub host: String,
    pub bricks: Vec<PathBuf>,
    pub cleanup: Cleanup,
}

pub trait ClusterOps {
    /// Starts glusterd unless one is running; the cleanup stops it only if
    /// this call started it.
    fn ensure_glusterd(&self) -> Result<Option<Cleanup>>;
    /// Creates, configures and starts; the cleanup stops and deletes it and
    /// its brick directories.
    fn create_volume(&self, plan: &VolumePlan) -> Result<CreatedVolume>;
    /// FUSE-mounts `server:/volume` on `at` (an existing directory).
    fn mount(&self, server: &str, volume: &str, at: &Path) -> Result<Cleanup>;
    /// A minimal client volfile: protocol/client translators and only what
    /// joins them. `bricks` are (host, path) when known.
    fn client_volfile(
        &self,
        server: &str,
        volume: &str,
        bricks: &[(String, PathBuf)],
    ) -> Result<String>;
    /// A volfile with only storage/posix on a brick directory.
    fn posix_volfile(&self, brick: &Path) -> Result<String>;
}

/// The real thing, through `glusterrs-cluster`.
pub struct GlusterCluster {
    /// `--remote-host` for the gluster CLI when targeting another machine.
    pub remote_host: Option<String>,
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
        let mut spec = gc::VolumeSpec::new()
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
            cleanup: Box::new(move || vol.destroy().context("destroying the volume")),
        })
    }

    fn mount(&self, server: &str, volume: &str, at: &Path) -> Result<Cleanup> {
        let m = gc::FuseMount::mount(server, volume, Some(at.to_path_buf()))
            .with_context(|| format!("FUSE-mounting {server}:/{volume}"))?;
        Ok(Box::new(move || m.unmount().context("unmounting")))
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

    fn posix_volfile(&self, brick: &Path) -> Result<String> {
        gc::posix_volfile(brick).context("writing the posix volfile")
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
