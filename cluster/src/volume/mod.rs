//! GlusterFS volumes on this machine's glusterd, made for a test or a benchmark run and
//! removed afterwards: [`Volume`]'s life from [`Volume::create`] to teardown, and the
//! questions to glusterd about volumes. What to create is in `spec.rs`; the brick
//! processes (status, killing and restarting them, what they leave in `/var/run/gluster`)
//! in `bricks.rs`; the steps of removing a volume, shared with a cluster's volumes, in
//! `teardown.rs`.

mod bricks;
mod spec;
mod teardown;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::cmd::{gluster, Interrupt};
use crate::error::{Error, Result};
use crate::glusterd::{GLUSTERD_PORT, SERVER_HOST};
use crate::names::{validate_brick_path, validate_option};
use crate::procfs;

pub use bricks::BrickStatus;
pub(crate) use bricks::{brick_socket, remove_brick_logs, remove_run_leftovers};
pub(crate) use spec::embed_common_volume_spec;
pub use spec::{CommonVolumeSpec, VolumeSpec};
pub(crate) use teardown::{
    keep_first, remove_tree, roll_back, stop_and_delete, teardown_on_drop, OwnedVolume,
};

/// File written in every brick directory tree this crate creates; holds the volume name.
pub(crate) const OWNER_MARKER: &str = ".glusterrs-cluster-owner";

/// The machine's host name, which gluster needs as brick host (it refuses `localhost`
/// and `127.0.0.1` there).
pub fn brick_host() -> Result<String> {
    procfs::hostname()
}

/// Names of all volumes glusterd knows.
pub fn list_volumes() -> Result<Vec<String>> {
    let out = gluster(["volume", "list"])?;
    Ok(out
        .stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("No volumes present"))
        .map(str::to_string)
        .collect())
}

/// Whether glusterd knows a volume of this name.
pub fn volume_exists(name: &str) -> Result<bool> {
    Ok(list_volumes()?.iter().any(|v| v == name))
}

/// A started volume owned by this process. Dropping it (or [`Volume::destroy`]) stops and
/// deletes the volume and removes the directories and brick logs it created, nothing else.
#[derive(Debug)]
pub struct Volume {
    name: String,
    host: String,
    bricks: Vec<PathBuf>,
    replica: Option<usize>,
    options: Vec<(String, String)>,
    /// The directory we created that holds the bricks (`None` until created).
    own_dir: Option<PathBuf>,
    /// `gluster volume create` succeeded.
    created: bool,
    /// Unix sockets of our brick processes (`-S` argument), seen by `status`; glusterd
    /// leaves them behind after `volume delete`.
    sockets: Mutex<Vec<PathBuf>>,
    done: bool,
}

impl Volume {
    /// Creates the brick directories, then `gluster volume create NAME [replica N]
    /// HOST:BRICK... force`, `volume set` for each option, `volume start`, and waits until
    /// every brick is online. On any failure, undoes what it did and returns the error.
    pub fn create(spec: VolumeSpec) -> Result<Volume> {
        let name = spec.volume_name()?;
        // Existing bricks, when given, set the count (the field may be filled directly).
        let brick_count = match spec.existing_bricks.len() {
            0 => spec.bricks,
            n => n,
        };
        if brick_count == 0 {
            return Err(Error::invalid("brick count", "0", "a volume needs a brick"));
        }
        if let Some(r) = spec.replica {
            if r < 2 || brick_count % r != 0 {
                return Err(Error::invalid(
                    "replica count",
                    r.to_string(),
                    format!("must be at least 2 and divide the brick count {brick_count}"),
                ));
            }
        }
        for (k, v) in &spec.options {
            validate_option(k, v)?;
        }
        let root = match &spec.brick_root {
            Some(r) => r.clone(),
            None => std::env::temp_dir(),
        };
        if !root.is_absolute() {
            return Err(Error::invalid(
                "brick root",
                root.to_string_lossy(),
                "must be an absolute path",
            ));
        }
        // None: the caller's existing bricks, nothing of ours to make.
        let own_dir = spec.existing_bricks.is_empty().then(|| root.join(&name));
        let bricks: Vec<PathBuf> = match &own_dir {
            Some(dir) => (0..brick_count)
                .map(|i| dir.join(format!("b{i}")))
                .collect(),
            None => spec.existing_bricks.clone(),
        };
        for b in &bricks {
            validate_brick_path(b)?;
            if own_dir.is_none() && !(b.is_absolute() && b.is_dir()) {
                return Err(Error::invalid(
                    "existing brick",
                    b.to_string_lossy(),
                    "must be an existing directory given by an absolute path",
                ));
            }
        }
        let host = brick_host()?;
        if volume_exists(&name)? {
            return Err(Error::invalid(
                "volume name",
                &name,
                "a volume of that name already exists (left untouched)",
            ));
        }

        let mut vol = Volume {
            name,
            host,
            bricks,
            replica: spec.replica,
            options: Vec::new(),
            own_dir: None,
            created: false,
            sockets: Mutex::new(Vec::new()),
            done: false,
        };
        let interrupt = spec.interrupt_flag();
        match vol.bring_up(&root, own_dir.as_deref(), &spec.options, &interrupt) {
            Ok(()) => Ok(vol),
            Err(e) => Err(roll_back(vol, e)),
        }
    }

    fn bring_up(
        &mut self,
        root: &Path,
        own_dir: Option<&Path>,
        options: &[(String, String)],
        interrupt: &Interrupt,
    ) -> Result<()> {
        let name = self.name.clone();
        interrupt.check(|| format!("creating volume {name}"))?;
        if let Some(own_dir) = own_dir {
            if !root.is_dir() {
                return Err(Error::io(
                    "use brick root",
                    root,
                    std::io::Error::from(std::io::ErrorKind::NotFound),
                ));
            }
            // create_dir (not _all): fails if it exists, so we never adopt a foreign
            // directory.
            fs::create_dir(own_dir).map_err(|e| Error::io("create dir", own_dir, e))?;
            self.own_dir = Some(own_dir.to_path_buf());
            let marker = own_dir.join(OWNER_MARKER);
            fs::write(&marker, format!("{}\n", self.name))
                .map_err(|e| Error::io("write", &marker, e))?;
            for b in &self.bricks {
                fs::create_dir(b).map_err(|e| Error::io("create dir", b, e))?;
            }
        }

        let mut args: Vec<String> = vec!["volume".into(), "create".into(), self.name.clone()];
        if let Some(r) = self.replica {
            args.push("replica".into());
            args.push(r.to_string());
        }
        for b in &self.bricks {
            args.push(format!("{}:{}", self.host, b.display()));
        }
        args.push("force".into());
        let res = gluster(&args);
        // A failed or timed-out create may still have registered the volume; the name was
        // checked free above, so if it exists now it is ours.
        self.created = res.is_ok() || volume_exists(&self.name).unwrap_or(false);
        res?;

        for (k, v) in options {
            interrupt.check(|| format!("setting {k} on volume {name}"))?;
            self.set_option(k, v)?;
        }
        interrupt.check(|| format!("starting volume {name}"))?;
        gluster(["volume", "start", &self.name])?;
        self.wait_online(interrupt)
    }

    /// Volume name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Brick directories, in creation order.
    pub fn bricks(&self) -> &[PathBuf] {
        &self.bricks
    }

    /// Host the bricks were registered with (the machine's host name).
    pub fn brick_host(&self) -> &str {
        &self.host
    }

    /// Directory created to hold the bricks (removed on drop).
    pub fn brick_dir(&self) -> Option<&Path> {
        self.own_dir.as_deref()
    }

    /// Host clients use to fetch the volfile (`localhost`).
    pub fn server_host(&self) -> &str {
        SERVER_HOST
    }

    /// Port of glusterd (24007).
    pub fn server_port(&self) -> u16 {
        GLUSTERD_PORT
    }

    /// Replica count, if replicated.
    pub fn replica(&self) -> Option<usize> {
        self.replica
    }

    /// Options set through this crate, in order (later values of a key replace earlier).
    pub fn options(&self) -> &[(String, String)] {
        &self.options
    }

    /// `gluster volume set NAME KEY VALUE`.
    pub fn set_option(&mut self, key: &str, value: &str) -> Result<()> {
        validate_option(key, value)?;
        gluster(["volume", "set", &self.name, key, value])?;
        self.options.retain(|(k, _)| k != key);
        self.options.push((key.to_string(), value.to_string()));
        Ok(())
    }

    /// `gluster volume stop NAME force` and waits until every brick process has exited
    /// (glusterd answers before they have). Teardown deletes a stopped volume as well.
    pub fn stop(&self) -> Result<()> {
        let pids: Vec<u32> = self.status()?.iter().filter_map(|s| s.pid).collect();
        gluster(["volume", "stop", &self.name, "force"])?;
        self.wait_exited(&pids)
    }

    /// `gluster volume start NAME` after [`Volume::stop`], and waits until every brick
    /// is online.
    pub fn start(&self) -> Result<()> {
        gluster(["volume", "start", &self.name])?;
        self.wait_online(&Interrupt::default())
    }

    /// Stops and deletes the volume and removes what [`Volume::create`] made, reporting
    /// the first failure (Drop does the same but can only print it).
    pub fn destroy(mut self) -> Result<()> {
        self.teardown()
    }
}

impl OwnedVolume for Volume {
    fn volume_name(&self) -> &str {
        &self.name
    }

    fn removal_started(&mut self) -> &mut bool {
        &mut self.done
    }

    fn remove(&mut self) -> Result<()> {
        let mut first_err: Option<Error> = None;
        let mut deleted = !self.created;
        if self.created {
            let pids: Vec<u32> = self
                .status()
                .map(|st| st.iter().filter_map(|s| s.pid).collect())
                .unwrap_or_default();
            deleted = stop_and_delete(&self.name, |args| gluster(args), &mut first_err);
            if let Err(e) = self.wait_exited(&pids) {
                keep_first(&mut first_err, e);
            }
        }
        // Leave the directories of a volume that still exists; cleanup_stale finds them
        // later through the owner marker.
        if deleted {
            if let Some(dir) = self.own_dir.take() {
                remove_tree(&dir, &mut first_err);
            }
            if self.created {
                remove_brick_logs(&self.bricks);
                let sockets =
                    std::mem::take(&mut *self.sockets.lock().unwrap_or_else(|e| e.into_inner()));
                remove_run_leftovers(&self.name, &sockets);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

impl Drop for Volume {
    fn drop(&mut self) {
        teardown_on_drop(self);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::names::unique_name;

    /// Real glusterd: an interrupt set before or during `Volume::create`
    /// stops it, rolls back, and leaves no volume or directory.
    #[test]
    fn interrupted_create_rolls_back() {
        crate::Glusterd::ensure().expect("glusterd");
        let root = std::env::temp_dir().join(format!("grs-intr-{}", std::process::id()));
        fs::create_dir_all(&root).unwrap();

        let before = Interrupt::new();
        before.set();
        let spec = VolumeSpec::new()
            .prefix("grs-intr")
            .brick_root(&root)
            .interrupt(before);
        let err = Volume::create(spec).unwrap_err();
        assert!(matches!(err, Error::Interrupted { .. }), "{err}");
        assert_eq!(fs::read_dir(&root).unwrap().count(), 0);

        // Set from another thread once glusterd has the volume.
        let during = Interrupt::new();
        let name = unique_name("grs-intr").unwrap();
        let spec = VolumeSpec::new()
            .name(name.clone())
            .brick_root(&root)
            .option("performance.strict-o-direct", "on")
            .interrupt(during.clone());
        let vol_dir = Path::new("/var/lib/glusterd/vols").join(&name);
        let setter = std::thread::spawn(move || {
            let end = std::time::Instant::now() + Duration::from_secs(60);
            while !vol_dir.exists() && std::time::Instant::now() < end {
                std::thread::sleep(Duration::from_millis(2));
            }
            during.set();
        });
        let res = Volume::create(spec);
        setter.join().unwrap();
        let err = res.map(|v| v.name().to_string()).unwrap_err();
        assert!(matches!(err, Error::Interrupted { .. }), "{err}");
        assert!(!volume_exists(&name).unwrap(), "volume {name} left");
        assert_eq!(fs::read_dir(&root).unwrap().count(), 0, "brick tree left");
        fs::remove_dir(&root).unwrap();
    }

    #[test]
    fn invalid_specs_touch_nothing() {
        // Refused before any command runs or directory is made.
        let err = Volume::create(VolumeSpec::new().bricks(0)).unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }), "{err}");
        let err = Volume::create(VolumeSpec::new().bricks(4).replica(3)).unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }), "{err}");
        let err = Volume::create(VolumeSpec::new().name("x y")).unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }), "{err}");
        let err = Volume::create(VolumeSpec::new().brick_root("relative")).unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }), "{err}");
    }
}
