//! GlusterFS volumes made for a test or a benchmark run, and removed afterwards.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::cmd::{gluster, wait_for, Cmd, Interrupt};
use crate::error::{Error, Result};
use crate::mount::FuseMount;
use crate::procfs::{self, gluster_log_name, now_unix, pid_alive, pid_exists};
use crate::xml;

/// Prefix of generated volume names unless the spec says otherwise.
pub const DEFAULT_PREFIX: &str = "grs";
/// Port glusterd serves volfiles on.
pub const GLUSTERD_PORT: u16 = 24007;
/// Host clients use to reach the local glusterd.
pub const SERVER_HOST: &str = "localhost";
/// File written in every brick directory tree this crate creates; holds the volume name.
pub(crate) const OWNER_MARKER: &str = ".glusterrs-cluster-owner";
/// Where glusterd's brick processes write their logs.
pub(crate) const BRICK_LOG_DIR: &str = "/var/log/glusterfs/bricks";
/// glusterd's runtime directory (pid files, brick sockets).
pub(crate) const RUN_DIR: &str = "/var/run/gluster";

const ONLINE_TIMEOUT: Duration = Duration::from_secs(30);
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The machine's host name, which gluster needs as brick host (it refuses `localhost`
/// and `127.0.0.1` there).
pub fn brick_host() -> Result<String> {
    procfs::hostname()
}

/// A fresh volume name `PREFIX-PID-COUNTER-UNIXTIME`; [`crate::cleanup_stale`] reads the
/// pid and time back to tell whether the creator still runs.
pub fn unique_name(prefix: &str) -> Result<String> {
    validate_prefix(prefix)?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Ok(format!(
        "{prefix}-{}-{n}-{}",
        std::process::id(),
        now_unix()
    ))
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

/// What to create. Build with [`VolumeSpec::new`] and the chained setters, or fill the
/// public fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    /// Volume name; `None` makes a unique one from `prefix` (see [`unique_name`]).
    pub name: Option<String>,
    /// Prefix of the generated name (default [`DEFAULT_PREFIX`]).
    pub prefix: String,
    /// Number of bricks (default 1).
    pub bricks: usize,
    /// Replica count (`None`: plain distribute). `bricks` must be a multiple of it.
    pub replica: Option<usize>,
    /// Directory under which a fresh directory named after the volume is made to hold the
    /// bricks (`b0`, `b1`, ...). `None`: the system temp dir. Must already exist.
    pub brick_root: Option<PathBuf>,
    /// Existing directories to use as the bricks, in order, instead of fresh ones under
    /// `brick_root` (then ignored, as is `bricks`). They belong to the caller: teardown
    /// leaves them in place.
    pub existing_bricks: Vec<PathBuf>,
    /// `gluster volume set` options, applied in order before the volume is started.
    pub options: Vec<(String, String)>,
    /// When set during [`Volume::create`], creation stops at the next step, undoes what
    /// it did and returns [`Error::Interrupted`].
    pub interrupt: Option<Interrupt>,
}

impl Default for VolumeSpec {
    fn default() -> Self {
        VolumeSpec {
            name: None,
            prefix: DEFAULT_PREFIX.to_string(),
            bricks: 1,
            replica: None,
            brick_root: None,
            existing_bricks: Vec::new(),
            options: Vec::new(),
            interrupt: None,
        }
    }
}

impl VolumeSpec {
    /// One brick, generated name, bricks in the temp dir, no options.
    pub fn new() -> VolumeSpec {
        VolumeSpec::default()
    }

    /// Uses this exact volume name instead of a generated one.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Prefix for the generated name.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Number of bricks.
    pub fn bricks(mut self, bricks: usize) -> Self {
        self.bricks = bricks;
        self
    }

    /// Replica count; raises the brick count to it when it was lower.
    pub fn replica(mut self, replica: usize) -> Self {
        self.replica = Some(replica);
        self.bricks = self.bricks.max(replica);
        self
    }

    /// Directory in which the brick directory tree is made.
    pub fn brick_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.brick_root = Some(root.into());
        self
    }

    /// Uses these existing directories as the bricks (see [`VolumeSpec::existing_bricks`]).
    pub fn existing_bricks(mut self, dirs: impl IntoIterator<Item = impl Into<PathBuf>>) -> Self {
        self.existing_bricks = dirs.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a `gluster volume set` option.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((key.into(), value.into()));
        self
    }

    /// Stops [`Volume::create`] between steps once `interrupt` is set (see [`Interrupt`]).
    pub fn interrupt(mut self, interrupt: Interrupt) -> Self {
        self.interrupt = Some(interrupt);
        self
    }
}

/// State of one brick as `gluster volume status --xml` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrickStatus {
    /// Brick host as given at creation (the machine's host name).
    pub host: String,
    /// Brick directory.
    pub path: PathBuf,
    /// Whether the brick process is up.
    pub online: bool,
    /// TCP port the brick listens on, when online.
    pub port: Option<u16>,
    /// Pid of the brick process (`glusterfsd`), when online.
    pub pid: Option<u32>,
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
        let name = match &spec.name {
            Some(n) => n.clone(),
            None => unique_name(&spec.prefix)?,
        };
        validate_volume_name(&name)?;
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
        let interrupt = spec.interrupt.clone().unwrap_or_default();
        match vol.bring_up(&root, own_dir.as_deref(), &spec.options, &interrupt) {
            Ok(()) => Ok(vol),
            Err(e) => {
                if let Err(undo) = vol.teardown() {
                    eprintln!(
                        "glusterrs-cluster: rollback of volume {} incomplete: {undo}",
                        vol.name
                    );
                }
                Err(e)
            }
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

    /// Status of each brick, in the order of [`Volume::bricks`].
    pub fn status(&self) -> Result<Vec<BrickStatus>> {
        let args = ["volume", "status", &self.name, "--xml"];
        let out = match gluster(args) {
            Ok(out) => out,
            // A stopped volume answers with a failure; nothing is online then.
            Err(Error::Command { detail, .. }) if detail.contains("is not started") => {
                return Ok(self.offline_status())
            }
            Err(e) => return Err(e),
        };
        let op_ret = xml::first(&out.stdout, "opRet");
        if op_ret.as_deref() != Some("0") {
            let err = xml::first(&out.stdout, "opErrstr").unwrap_or_default();
            if err.contains("is not started") {
                return Ok(self.offline_status());
            }
            return Err(Error::Parse {
                command: format!("gluster volume status {} --xml", self.name),
                detail: format!("opRet {op_ret:?}: {err}"),
            });
        }
        let nodes = xml::elements(&out.stdout, "node");
        let mut result = self.offline_status();
        for node in nodes {
            let path = xml::first(node, "path").unwrap_or_default();
            let Some(slot) = result
                .iter_mut()
                .find(|s| s.path.as_os_str() == path.as_str())
            else {
                continue; // self-heal daemon and friends
            };
            let online = xml::first(node, "status").as_deref() == Some("1");
            slot.online = online;
            slot.port = xml::first(node, "port")
                .and_then(|p| p.parse().ok())
                .filter(|p| *p != 0 && online);
            slot.pid = xml::first(node, "pid")
                .and_then(|p| p.parse::<i64>().ok())
                .filter(|p| *p > 0 && online)
                .and_then(|p| u32::try_from(p).ok());
            if let Some(sock) = slot.pid.and_then(|p| brick_socket(&self.name, p)) {
                let mut known = self.sockets.lock().unwrap_or_else(|e| e.into_inner());
                if !known.contains(&sock) {
                    known.push(sock);
                }
            }
        }
        Ok(result)
    }

    fn offline_status(&self) -> Vec<BrickStatus> {
        self.bricks
            .iter()
            .map(|b| BrickStatus {
                host: self.host.clone(),
                path: b.clone(),
                online: false,
                port: None,
                pid: None,
            })
            .collect()
    }

    /// Pid of each brick process (`None` for a brick that is down), in brick order.
    pub fn brick_pids(&self) -> Result<Vec<Option<u32>>> {
        Ok(self.status()?.into_iter().map(|s| s.pid).collect())
    }

    /// TCP port of brick `index`, `None` when it is down.
    pub fn brick_port(&self, index: usize) -> Result<Option<u16>> {
        self.check_index(index)?;
        Ok(self.status()?[index].port)
    }

    /// Kills brick `index` with SIGKILL (a crash, as a fault test wants) and waits until
    /// the process is gone (and, best effort, reaped). Bring it back with
    /// [`Volume::start_force`].
    pub fn stop_brick(&self, index: usize) -> Result<()> {
        self.check_index(index)?;
        let Some(pid) = self.status()?[index].pid else {
            return Ok(());
        };
        Cmd::new("kill")
            .args(["-s", "KILL", &pid.to_string()])
            .timeout(Duration::from_secs(10))
            .run()?;
        wait_for(
            || format!("brick {index} (pid {pid}) of {} to exit", self.name),
            EXIT_TIMEOUT,
            || (!pid_alive(pid)).then_some(()),
        )?;
        // Until its parent reaps it, glusterd takes the zombie for a running brick.
        let _ = wait_for(String::new, EXIT_TIMEOUT, || {
            (!pid_exists(pid)).then_some(())
        });
        Ok(())
    }

    /// `gluster volume stop NAME force` and waits until every brick process has exited
    /// (glusterd answers before they have). Teardown deletes a stopped volume as well.
    pub fn stop(&self) -> Result<()> {
        let pids: Vec<u32> = self.status()?.iter().filter_map(|s| s.pid).collect();
        gluster(["volume", "stop", &self.name, "force"])?;
        self.wait_exited(&pids)
    }

    /// Waits for the brick processes `pids` (taken before a stop) to exit.
    fn wait_exited(&self, pids: &[u32]) -> Result<()> {
        for &pid in pids {
            wait_for(
                || format!("brick process {pid} of {} to exit", self.name),
                EXIT_TIMEOUT,
                || (!pid_alive(pid)).then_some(()),
            )?;
        }
        Ok(())
    }

    /// `gluster volume start NAME` after [`Volume::stop`], and waits until every brick
    /// is online.
    pub fn start(&self) -> Result<()> {
        gluster(["volume", "start", &self.name])?;
        self.wait_online(&Interrupt::default())
    }

    /// `gluster volume start NAME force` (restarts dead bricks) and waits until every
    /// brick is online, repeating the start every 2 s meanwhile: glusterd skips a brick
    /// whose dead process is not reaped yet.
    pub fn start_force(&self) -> Result<()> {
        let mut last_err = None;
        let res = wait_for(
            || format!("all bricks of volume {} to come online", self.name),
            ONLINE_TIMEOUT,
            || {
                if let Err(e) = gluster(["volume", "start", &self.name, "force"]) {
                    last_err = Some(e);
                    return None;
                }
                let end = std::time::Instant::now() + Duration::from_secs(2);
                while std::time::Instant::now() < end {
                    match self.status() {
                        Ok(st) if st.iter().all(|s| s.online && s.port.is_some()) => {
                            return Some(())
                        }
                        Ok(_) => {}
                        Err(e) => last_err = Some(e),
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                None
            },
        );
        res.map_err(|e| last_err.unwrap_or(e))
    }

    /// Mounts the volume with FUSE on a fresh temp directory.
    pub fn mount_fuse(&self) -> Result<FuseMount> {
        FuseMount::mount(self.server_host(), &self.name, None)
    }

    /// Stops and deletes the volume and removes what [`Volume::create`] made, reporting
    /// the first failure (Drop does the same but can only print it).
    pub fn destroy(mut self) -> Result<()> {
        self.teardown()
    }

    fn check_index(&self, index: usize) -> Result<()> {
        if index >= self.bricks.len() {
            return Err(Error::invalid(
                "brick index",
                index.to_string(),
                format!("volume {} has {} bricks", self.name, self.bricks.len()),
            ));
        }
        Ok(())
    }

    fn wait_online(&self, interrupt: &Interrupt) -> Result<()> {
        let mut last = None;
        wait_for(
            || format!("all bricks of volume {} to come online", self.name),
            ONLINE_TIMEOUT,
            || match self.status() {
                _ if interrupt.is_set() => {
                    last = Some(Error::Interrupted {
                        next: format!("the bricks of volume {} came online", self.name),
                    });
                    Some(())
                }
                Ok(st) if st.iter().all(|s| s.online && s.port.is_some()) => Some(()),
                Ok(_) => None,
                Err(e) => {
                    last = Some(e);
                    None
                }
            },
        )
        .map_err(|e| last.take().unwrap_or(e))?;
        match last {
            Some(e @ Error::Interrupted { .. }) => Err(e),
            _ => Ok(()),
        }
    }

    fn teardown(&mut self) -> Result<()> {
        if self.done {
            return Ok(());
        }
        self.done = true;
        let mut first_err: Option<Error> = None;
        let mut deleted = !self.created;
        if self.created {
            let pids: Vec<u32> = self
                .status()
                .map(|st| st.iter().filter_map(|s| s.pid).collect())
                .unwrap_or_default();
            match gluster(["volume", "stop", &self.name, "force"]) {
                Ok(_) => {}
                Err(Error::Command { detail, .. })
                    if detail.contains("is not in the started state") => {}
                Err(e) => first_err = first_err.or(Some(e)),
            }
            match gluster(["volume", "delete", &self.name]) {
                Ok(_) => deleted = true,
                Err(Error::Command { detail, .. }) if detail.contains("does not exist") => {
                    deleted = true
                }
                Err(e) => first_err = first_err.or(Some(e)),
            }
            if let Err(e) = self.wait_exited(&pids) {
                first_err = first_err.or(Some(e));
            }
        }
        // Leave the directories of a volume that still exists; cleanup_stale finds them
        // later through the owner marker.
        if deleted {
            if let Some(dir) = self.own_dir.take() {
                if let Err(e) = fs::remove_dir_all(&dir) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        first_err = first_err.or(Some(Error::io("remove dir", &dir, e)));
                    }
                }
            }
            if self.created {
                remove_brick_logs(&self.bricks);
                let sockets =
                    std::mem::take(&mut *self.sockets.lock().unwrap_or_else(|e| e.into_inner()));
                remove_run_leftovers(&self.name, &sockets);
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for Volume {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!(
                "glusterrs-cluster: cleanup of volume {} failed: {e}",
                self.name
            );
        }
    }
}

/// The `-S /var/run/gluster/HASH.socket` argument of brick process `pid` of `volume`.
pub(crate) fn brick_socket(volume: &str, pid: u32) -> Option<PathBuf> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let argv: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
    let id_prefix = format!("{volume}.");
    let ours = argv
        .windows(2)
        .any(|w| w[0] == b"--volfile-id" && w[1].starts_with(id_prefix.as_bytes()))
        && argv.iter().any(|a| *a == b"--brick-name");
    if !ours {
        return None;
    }
    let at = argv.iter().position(|a| *a == b"-S")?;
    let sock = PathBuf::from(String::from_utf8_lossy(argv.get(at + 1)?).into_owned());
    let in_run_dir = sock.starts_with(RUN_DIR) || sock.starts_with("/run/gluster");
    let is_socket = sock.extension().is_some_and(|e| e == "socket");
    (in_run_dir && is_socket).then_some(sock)
}

/// After `volume delete`, glusterd leaves the brick sockets and an empty
/// `/var/run/gluster/vols/NAME`; remove those of our volume (rmdir only if empty; a socket
/// only once no live process names it, e.g. a multiplexed brick serving other volumes).
pub(crate) fn remove_run_leftovers(volume: &str, sockets: &[PathBuf]) {
    for s in sockets {
        let want = s.to_string_lossy().into_owned();
        if procfs::pids_by_cmdline(|argv| argv.contains(&want)).is_empty() {
            let _ = fs::remove_file(s);
        }
    }
    let _ = fs::remove_dir(Path::new(RUN_DIR).join("vols").join(volume));
}

/// Removes the logs glusterd's brick processes wrote for these (our, uniquely named) bricks.
pub(crate) fn remove_brick_logs(bricks: &[PathBuf]) {
    for b in bricks {
        let log = Path::new(BRICK_LOG_DIR).join(gluster_log_name(b));
        let _ = fs::remove_file(log);
    }
}

/// Volume names: 1..=128 of `[A-Za-z0-9_-]`, not starting with `-`, not `all`.
pub(crate) fn validate_volume_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() || name.len() > 128 {
        Some("must be 1 to 128 characters long")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Some("gluster allows only letters, digits, '-' and '_'")
    } else if name.starts_with('-') {
        Some("must not start with '-'")
    } else if name == "all" {
        Some("'all' is reserved by the gluster CLI")
    } else {
        None
    };
    match reason {
        Some(r) => Err(Error::invalid("volume name", name, r)),
        None => Ok(()),
    }
}

fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.len() > 64 {
        return Err(Error::invalid(
            "volume name prefix",
            prefix,
            "longer than 64",
        ));
    }
    validate_volume_name(prefix).map_err(|e| match e {
        Error::Invalid { value, reason, .. } => Error::Invalid {
            what: "volume name prefix",
            value,
            reason,
        },
        other => other,
    })
}

/// Brick paths gluster can really use. Its CLI re-splits arguments at whitespace (a brick
/// `/a b` silently becomes `/a`), `:` separates host and path, and `#`, `"` and `\` break
/// the volfiles glusterd writes for the brick. A backtick is worse: glusterd writes the
/// path unescaped into the brick volfile, and GlusterFS runs `` `...` `` spans of volfiles
/// through a shell, as root, in the brick process. Anything else (`;`, `$`, `'`, `&`, ...)
/// is fine: no shell is involved on our side.
pub(crate) fn validate_brick_path(path: &Path) -> Result<()> {
    let Some(s) = path.to_str() else {
        return Err(Error::invalid(
            "brick path",
            path.to_string_lossy(),
            "not valid UTF-8",
        ));
    };
    if !path.is_absolute() {
        return Err(Error::invalid("brick path", s, "must be absolute"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, ':' | '#' | '"' | '\\' | '`'))
    {
        return Err(Error::invalid(
            "brick path",
            s,
            format!(
                "contains {c:?}, which GlusterFS cannot handle in a brick path \
                 (its CLI splits at whitespace; ':', '#', '\"' and '\\' break brick specs and \
                 volfiles; glusterd writes it unescaped into volfiles, where GlusterFS hands \
                 `...` to a shell)"
            ),
        ));
    }
    Ok(())
}

/// Option keys and values: no whitespace (the CLI re-splits) and no backtick (glusterd
/// copies values into volfiles, where GlusterFS runs `` `...` `` through a shell).
fn validate_option(key: &str, value: &str) -> Result<()> {
    let bad = |c: char| c.is_whitespace() || c.is_control() || c == '`';
    if key.is_empty() || key.chars().any(bad) {
        return Err(Error::invalid(
            "volume option key",
            key,
            "must be non-empty, without whitespace or '`'",
        ));
    }
    if value.is_empty() || value.chars().any(bad) {
        return Err(Error::invalid(
            "volume option value",
            value,
            "must be non-empty, without whitespace (the gluster CLI re-splits it) or '`' \
             (GlusterFS runs `...` in volfiles through a shell)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let a = unique_name("grs").unwrap();
        let b = unique_name("grs").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("grs-{}-", std::process::id())));
        validate_volume_name(&a).unwrap();
        assert!(unique_name("bad name").is_err());
        assert!(unique_name("a;b").is_err());
        assert!(validate_volume_name("all").is_err());
        assert!(validate_volume_name("-x").is_err());
        assert!(validate_volume_name("").is_err());
        validate_volume_name("ok_Name-1").unwrap();
    }

    #[test]
    fn brick_paths() {
        validate_brick_path(Path::new("/tmp/a;b$(x)&|'<>*?/b0")).unwrap();
        for bad in [
            "/tmp/a b",
            "/tmp/a\tb",
            "/tmp/a:b",
            "/tmp/a#b",
            "/tmp/a\"b",
            "/tmp/a\\b",
            "rel/b",
        ] {
            assert!(validate_brick_path(Path::new(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn spec_builder() {
        let s = VolumeSpec::new().replica(3).option("a.b", "on");
        assert_eq!(s.bricks, 3);
        assert_eq!(s.replica, Some(3));
        assert_eq!(s.prefix, DEFAULT_PREFIX);
        assert_eq!(s.options, vec![("a.b".to_string(), "on".to_string())]);
        assert!(validate_option("a.b", "x y").is_err());
        assert!(validate_option("a.b", "`id`").is_err());
        assert!(validate_option("", "x").is_err());
    }

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
