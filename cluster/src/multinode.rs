//! A GlusterFS cluster of several nodes on this one machine.
//!
//! Each node is a network namespace joined to a bridge by a veth pair, with its own
//! address in a private /24, and its own glusterd in a mount namespace of its own where
//! `/var/lib/glusterd`, `/var/log/glusterfs` and `/run` (hence `/var/run/gluster` and the
//! CLI socket `/run/glusterd.socket`) are bind mounts of the node's directories: a node's
//! glusterd never touches the host glusterd's files. The mount namespace has slave
//! propagation, so the node sees the host's filesystems (its brick directories are plain
//! host directories that tests can read) while its own bind mounts stay private. It is
//! held by a `sleep infinity` outside the node's network namespace ("holder"), so killing
//! every process of a node (a node crash) leaves it for the restart.
//!
//! The host end of the bridge has the subnet's `.1`: clients (fio, FUSE) in the host
//! namespace reach the nodes directly. IP forwarding is not touched: nothing routes
//! between the subnet and any other network.
//!
//! Everything made is recorded in `/run/glusterrs-cluster/NAME.json` as it is made, so
//! [`Cluster::attach`] + [`Cluster::down`] (`glusterrs-cluster down`) removes it all,
//! also after a crash half-way through [`Cluster::up`].

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::cmd::{gluster_via, wait_for, wait_ok, Cmd, Interrupt, Output};
use crate::error::{Error, Result};
use crate::netns::{self, ip, link_exists, netns_exists, netns_path, pids_in_netns, Subnet};
use crate::procfs::{self, creator_alive, now_unix, pid_alive};
use crate::xml;

/// Where cluster state files live (`NAME.json`).
pub const STATE_DIR: &str = "/run/glusterrs-cluster";
/// Default directory under which a cluster's `NAME/` tree (node state, logs, bricks) is made.
pub const DEFAULT_ROOT: &str = "/var/tmp/glusterrs-cluster";
/// Name of the interface inside each node's namespace.
pub const NODE_IFACE: &str = "eth0";

const GLUSTERD_ANSWER_TIMEOUT: Duration = Duration::from_secs(40);
const PEER_TIMEOUT: Duration = Duration::from_secs(60);
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);
/// Marker in a cluster's root tree; teardown removes only trees holding it.
const ROOT_MARKER: &str = ".glusterrs-cluster-root";

/// What to bring up.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// Cluster name: 1-32 of `[a-z0-9-]`, starting with a letter or digit.
    pub name: String,
    /// Number of nodes (1-50).
    pub nodes: usize,
    /// Private /24 to use; `None`: the first free `10.213.X.0/24`.
    pub subnet: Option<Subnet>,
    /// Directory in which the cluster's tree `NAME/` is made (node state, logs, bricks).
    pub root: PathBuf,
    /// The cluster outlives its creator (made by the CLI): `cleanup-stale` leaves it.
    pub persistent: bool,
    /// Set during [`Cluster::up`]: stop at the next step and undo everything.
    pub interrupt: Option<Interrupt>,
}

impl ClusterSpec {
    /// `nodes` nodes named `name`, automatic subnet, tree under [`DEFAULT_ROOT`].
    pub fn new(name: impl Into<String>, nodes: usize) -> ClusterSpec {
        ClusterSpec {
            name: name.into(),
            nodes,
            subnet: None,
            root: PathBuf::from(DEFAULT_ROOT),
            persistent: false,
            interrupt: None,
        }
    }

    /// Uses this subnet.
    pub fn subnet(mut self, subnet: Subnet) -> Self {
        self.subnet = Some(subnet);
        self
    }

    /// Makes the tree under `root`.
    pub fn root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = root.into();
        self
    }

    /// Marks the cluster as outliving its creator.
    pub fn persistent(mut self, yes: bool) -> Self {
        self.persistent = yes;
        self
    }

    /// Stops [`Cluster::up`] between steps once `interrupt` is set.
    pub fn interrupt(mut self, interrupt: Interrupt) -> Self {
        self.interrupt = Some(interrupt);
        self
    }
}

/// One node: a network namespace with its own address and glusterd.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// 1-based index (`n1` is 1).
    pub index: usize,
    /// Network namespace name (`ip netns`).
    pub netns: String,
    /// Host end of the node's veth pair (on the bridge).
    pub veth: String,
    /// The node's address.
    pub ip: Ipv4Addr,
    /// The node's tree: `glusterd/` (its /var/lib/glusterd), `log/`, `run/`, `bricks/`.
    pub dir: PathBuf,
    /// Pid of the process holding the node's mount namespace.
    pub holder_pid: Option<u32>,
    /// Inode of that mount namespace (checked before every use of the pid).
    pub holder_mnt_ns: Option<u64>,
}

impl Node {
    /// `n1`, `n2`, ...
    pub fn name(&self) -> String {
        format!("n{}", self.index)
    }

    /// Directory holding the node's brick directories.
    pub fn brick_root(&self) -> PathBuf {
        self.dir.join("bricks")
    }

    /// The node's glusterd log.
    pub fn glusterd_log(&self) -> PathBuf {
        self.dir.join("log").join("glusterd.log")
    }
}

/// A client namespace on the bridge (for `fio --server`), without glusterd.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientNs {
    /// 1-based index.
    pub index: usize,
    /// Network namespace name.
    pub netns: String,
    /// Host end of its veth pair.
    pub veth: String,
    /// Its address.
    pub ip: Ipv4Addr,
}

/// Everything a cluster made, as recorded in its state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    name: String,
    persistent: bool,
    creator_pid: u32,
    created_unix: u64,
    subnet: Subnet,
    bridge: String,
    bridge_created: bool,
    /// The cluster's tree (`ROOT/NAME`), once created.
    tree: Option<PathBuf>,
    nodes: Vec<Node>,
    clients: Vec<ClientNs>,
}

struct Inner {
    state: Mutex<State>,
    /// Holder processes this process started (reaped at teardown).
    children: Mutex<HashMap<u32, Child>>,
    torn_down: std::sync::atomic::AtomicBool,
}

/// A running cluster. Dropping it (or [`Cluster::down`]) removes everything it made:
/// processes of every node (all pids in each namespace), mounts from its nodes, the
/// namespaces, veth pairs, bridge, its tree and state file. [`Cluster::detach`] leaves it
/// running (the CLI's `up`).
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.state();
        f.debug_struct("Cluster")
            .field("name", &st.name)
            .field("subnet", &st.subnet.to_string())
            .field("nodes", &st.nodes.len())
            .finish()
    }
}

/// Path of the state file of cluster `name`.
pub fn state_file(name: &str) -> PathBuf {
    Path::new(STATE_DIR).join(format!("{name}.json"))
}

/// Names of the clusters whose state files exist.
pub fn list_clusters() -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(STATE_DIR)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_str()?.to_string();
            n.strip_suffix(".json").map(str::to_string)
        })
        .collect();
    out.sort();
    out
}

/// Tears down the non-persistent clusters whose creating process is gone (a test binary
/// that was killed); returns their names.
pub fn cleanup_stale_clusters() -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for name in list_clusters() {
        let Ok(c) = Cluster::attach(&name) else {
            continue;
        };
        let st = c.state();
        if st.persistent || creator_alive(st.creator_pid, st.created_unix) {
            c.detach();
            continue;
        }
        c.down()?;
        removed.push(name);
    }
    Ok(removed)
}

pub(crate) fn validate_cluster_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "cluster name",
            name,
            "must be 1-32 of [a-z0-9-], not starting with '-'",
        ))
    }
}

/// Holds an exclusive lock on `STATE_DIR/.lock` while subnets and names are chosen, so
/// that two `up`s at once do not pick the same subnet.
struct StateLock(#[allow(dead_code)] fs::File);

impl StateLock {
    fn take() -> Result<StateLock> {
        fs::create_dir_all(STATE_DIR).map_err(|e| Error::io("create dir", STATE_DIR, e))?;
        let path = Path::new(STATE_DIR).join(".lock");
        let f = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| Error::io("lock", &path, e.into()))?;
        Ok(StateLock(f))
    }
}

impl Cluster {
    /// Brings up `spec.nodes` nodes and probes them into one trusted pool. On any failure
    /// (or the interrupt) everything made is removed and the error returned.
    pub fn up(spec: ClusterSpec) -> Result<Cluster> {
        validate_cluster_name(&spec.name)?;
        if spec.nodes == 0 || spec.nodes > netns::MAX_NODES {
            return Err(Error::invalid(
                "node count",
                spec.nodes.to_string(),
                format!("must be 1 to {}", netns::MAX_NODES),
            ));
        }
        if !spec.root.is_absolute() {
            return Err(Error::invalid(
                "cluster root",
                spec.root.to_string_lossy(),
                "must be an absolute path",
            ));
        }
        crate::volume::validate_brick_path(&spec.root.join(&spec.name))?;
        let stem = netns::link_stem(&spec.name);
        let interrupt = spec.interrupt.clone().unwrap_or_default();

        let lock = StateLock::take()?;
        let sf = state_file(&spec.name);
        if sf.exists() {
            return Err(Error::invalid(
                "cluster name",
                &spec.name,
                format!(
                    "a cluster of that name is up (state {}); `glusterrs-cluster down --name {}` \
                     removes it",
                    sf.display(),
                    spec.name
                ),
            ));
        }
        netns::check_support(&stem)?;
        let subnet = match spec.subnet {
            Some(s) => {
                s.check_free()?;
                s
            }
            None => Subnet::pick_free()?,
        };
        let bridge = format!("{stem}b");
        if link_exists(&bridge) {
            return Err(Error::invalid(
                "cluster name",
                &spec.name,
                format!("interface {bridge} (derived from the name) exists already"),
            ));
        }
        let state = State {
            name: spec.name.clone(),
            persistent: spec.persistent,
            creator_pid: std::process::id(),
            created_unix: now_unix(),
            subnet,
            bridge: bridge.clone(),
            bridge_created: false,
            tree: None,
            nodes: Vec::new(),
            clients: Vec::new(),
        };
        let cluster = Cluster {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                children: Mutex::new(HashMap::new()),
                torn_down: Default::default(),
            }),
        };
        cluster.save()?;
        let res = (|| {
            interrupt.check(|| format!("creating bridge {bridge}"))?;
            ip(["link", "add", &bridge, "type", "bridge"])?;
            cluster.update(|s| s.bridge_created = true)?;
            let cidr = format!("{}/24", subnet.bridge_ip());
            ip(["addr", "add", &cidr, "dev", &bridge])?;
            ip(["link", "set", &bridge, "up"])?;
            drop(lock);

            let tree = spec.root.join(&spec.name);
            fs::create_dir_all(&spec.root).map_err(|e| Error::io("create dir", &spec.root, e))?;
            fs::create_dir(&tree).map_err(|e| Error::io("create dir", &tree, e))?;
            cluster.update(|s| s.tree = Some(tree.clone()))?;
            let marker = tree.join(ROOT_MARKER);
            fs::write(&marker, format!("{}\n", spec.name))
                .map_err(|e| Error::io("write", &marker, e))?;

            for k in 1..=spec.nodes {
                interrupt.check(|| format!("creating node n{k}"))?;
                cluster.add_node(k, &stem, &tree)?;
            }
            for k in 1..=spec.nodes {
                interrupt.check(|| format!("starting glusterd on n{k}"))?;
                cluster.start_glusterd(k)?;
            }
            interrupt.check(|| "probing the peers".to_string())?;
            cluster.probe_all()
        })();
        match res {
            Ok(()) => Ok(cluster),
            Err(e) => {
                if let Err(undo) = cluster.teardown() {
                    eprintln!(
                        "glusterrs-cluster: rollback of cluster {} incomplete: {undo}",
                        spec.name
                    );
                }
                Err(e)
            }
        }
    }

    /// The cluster recorded in `STATE_DIR/NAME.json` (made by another process, e.g.
    /// `glusterrs-cluster up`). Dropping the handle tears it down: call [`Cluster::detach`]
    /// to leave it.
    pub fn attach(name: &str) -> Result<Cluster> {
        validate_cluster_name(name)?;
        let path = state_file(name);
        let text = fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::invalid(
                "cluster name",
                name,
                format!(
                    "no cluster of that name is up (no {}; `glusterrs-cluster list` shows those that are)",
                    path.display()
                ),
            ),
            _ => Error::io("read", &path, e),
        })?;
        let state: State = serde_json::from_str(&text).map_err(|e| Error::Parse {
            command: format!("reading {}", path.display()),
            detail: e.to_string(),
        })?;
        Ok(Cluster {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                children: Mutex::new(HashMap::new()),
                torn_down: Default::default(),
            }),
        })
    }

    /// Leaves the cluster running (its state file stays for a later `down`).
    pub fn detach(self) {
        self.inner
            .torn_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
        // The holders this process started keep running, reparented to init.
        self.inner
            .children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Removes everything (see [`Cluster`]), reporting the first failure.
    pub fn down(self) -> Result<()> {
        self.teardown()
    }

    fn state(&self) -> State {
        self.inner
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn update(&self, f: impl FnOnce(&mut State)) -> Result<()> {
        {
            let mut st = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut st);
        }
        self.save()
    }

    fn save(&self) -> Result<()> {
        let st = self.state();
        let path = state_file(&st.name);
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(&st).map_err(|e| Error::Parse {
            command: "serialising cluster state".into(),
            detail: e.to_string(),
        })?;
        let mut f = fs::File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io("write", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| Error::io("rename", &path, e))
    }

    /// Cluster name.
    pub fn name(&self) -> String {
        self.state().name
    }

    /// The cluster's subnet.
    pub fn subnet(&self) -> Subnet {
        self.state().subnet
    }

    /// The bridge's host address (`.1`), which clients in the host namespace use.
    pub fn host_ip(&self) -> Ipv4Addr {
        self.state().subnet.bridge_ip()
    }

    /// The nodes, `n1` first.
    pub fn nodes(&self) -> Vec<Node> {
        self.state().nodes
    }

    /// Node `k` (1-based).
    pub fn node(&self, k: usize) -> Result<Node> {
        self.state()
            .nodes
            .into_iter()
            .find(|n| n.index == k)
            .ok_or_else(|| {
                Error::invalid(
                    "node",
                    format!("n{k}"),
                    format!("cluster {} has no such node", self.name()),
                )
            })
    }

    /// Node addresses, `n1` first (what `brick=` lists).
    pub fn node_ips(&self) -> Vec<Ipv4Addr> {
        self.nodes().iter().map(|n| n.ip).collect()
    }

    /// The client namespaces made by [`Cluster::add_client`].
    pub fn clients(&self) -> Vec<ClientNs> {
        self.state().clients
    }

    fn add_node(&self, k: usize, stem: &str, tree: &Path) -> Result<()> {
        let st = self.state();
        let node = Node {
            index: k,
            netns: format!("grsc-{}-n{k}", st.name),
            veth: format!("{stem}v{k}"),
            ip: st.subnet.node_ip(k),
            dir: tree.join(format!("n{k}")),
            holder_pid: None,
            holder_mnt_ns: None,
        };
        for sub in ["", "glusterd", "log", "run", "bricks"] {
            let d = node.dir.join(sub);
            fs::create_dir(&d).map_err(|e| Error::io("create dir", &d, e))?;
        }
        self.join_bridge(&node.netns, &node.veth, node.ip, |s| {
            s.nodes.push(node.clone())
        })?;
        // The mount namespace: `unshare` execs `sleep` in place, so the child's pid is
        // the holder's.
        let child = Command::new("unshare")
            .args([
                "--mount",
                "--propagation",
                "slave",
                "--",
                "sleep",
                "infinity",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|source| Error::Spawn {
                program: "unshare".into(),
                source,
            })?;
        let pid = child.id();
        self.inner
            .children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pid, child);
        self.update(|s| {
            if let Some(n) = s.nodes.iter_mut().find(|n| n.index == k) {
                n.holder_pid = Some(pid);
            }
        })?;
        let mine = netns::mnt_ns_inode(std::process::id());
        let ns = wait_for(
            || format!("the mount namespace of node n{k} (unshare pid {pid})"),
            Duration::from_secs(10),
            || {
                let ns = netns::mnt_ns_inode(pid)?;
                // `sleep` runs once unshare has exec'd: the namespace is final then.
                let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
                (Some(ns) != mine && comm.trim() == "sleep").then_some(ns)
            },
        )?;
        self.update(|s| {
            if let Some(n) = s.nodes.iter_mut().find(|n| n.index == k) {
                n.holder_mnt_ns = Some(ns);
            }
        })?;
        let node = self.node(k)?;
        for (src, dst) in [
            ("glusterd", "/var/lib/glusterd"),
            ("log", "/var/log/glusterfs"),
            ("run", "/run"),
        ] {
            let src = node.dir.join(src);
            let mut c = self.mount_ns_cmd(&node)?;
            c = c.arg("mount").arg("--bind").arg(&src).arg(dst);
            c.run()?;
        }
        self.check_private_mounts(&node)
    }

    /// A namespace `ns` with `veth` on the bridge and `addr/24` on its `eth0`; `record`
    /// adds it to the state before anything is made.
    fn join_bridge(
        &self,
        ns: &str,
        veth: &str,
        addr: Ipv4Addr,
        record: impl FnOnce(&mut State),
    ) -> Result<()> {
        if netns_exists(ns) {
            return Err(Error::invalid(
                "network namespace",
                ns,
                "exists already (not ours: left untouched)",
            ));
        }
        if link_exists(veth) {
            return Err(Error::invalid(
                "interface",
                veth,
                "exists already (not ours: left untouched)",
            ));
        }
        self.update(record)?;
        let bridge = self.state().bridge;
        ip(["netns", "add", ns])?;
        ip(["-n", ns, "link", "set", "lo", "up"])?;
        ip([
            "link", "add", veth, "type", "veth", "peer", "name", NODE_IFACE, "netns", ns,
        ])?;
        ip(["link", "set", veth, "master", &bridge, "up"])?;
        let cidr = format!("{addr}/24");
        ip(["-n", ns, "addr", "add", &cidr, "dev", NODE_IFACE])?;
        ip(["-n", ns, "link", "set", NODE_IFACE, "up"])?;
        Ok(())
    }

    /// `nsenter --mount=/proc/HOLDER/ns/mnt --`, after checking that HOLDER still holds
    /// the namespace recorded for the node (a reused pid must never lead a glusterd into
    /// the host's mount namespace).
    fn mount_ns_cmd(&self, node: &Node) -> Result<Cmd> {
        let (Some(pid), Some(ns)) = (node.holder_pid, node.holder_mnt_ns) else {
            return Err(Error::invalid(
                "node",
                node.name(),
                "has no mount namespace (not brought up completely)",
            ));
        };
        if netns::mnt_ns_inode(pid) != Some(ns) {
            return Err(Error::invalid(
                "node",
                node.name(),
                format!("its mount namespace holder (pid {pid}) is gone"),
            ));
        }
        Ok(Cmd::new("nsenter").arg(format!("--mount=/proc/{pid}/ns/mnt")))
    }

    /// The node's mounts must be its own: the host must not see them.
    fn check_private_mounts(&self, node: &Node) -> Result<()> {
        let pid = node.holder_pid.unwrap_or(0);
        let theirs = fs::read_to_string(format!("/proc/{pid}/mounts")).unwrap_or_default();
        let ours = procfs::mounts()?;
        for dst in ["/var/lib/glusterd", "/var/log/glusterfs", "/run"] {
            let theirs_has = procfs::parse_mounts(&theirs)
                .iter()
                .filter(|m| m.target == Path::new(dst))
                .count();
            let ours_has = ours.iter().filter(|m| m.target == Path::new(dst)).count();
            if theirs_has <= ours_has {
                return Err(Error::invalid(
                    "node",
                    node.name(),
                    format!("its bind mount on {dst} is not in its mount namespace"),
                ));
            }
        }
        Ok(())
    }

    /// The wrapper that runs a program in node `k`: its mount and network namespaces.
    fn node_wrapper(&self, node: &Node) -> Result<Vec<std::ffi::OsString>> {
        self.mount_ns_cmd(node)?;
        let pid = node.holder_pid.unwrap_or(0);
        Ok(vec![
            "nsenter".into(),
            format!("--mount=/proc/{pid}/ns/mnt").into(),
            format!("--net={}", netns_path(&node.netns).display()).into(),
            "--".into(),
        ])
    }

    /// Runs `program args...` in node `k` (its network and mount namespaces), waiting for
    /// it up to `timeout`; fails on a non-zero exit.
    pub fn exec_on(
        &self,
        k: usize,
        program: &str,
        args: &[&str],
        timeout: Duration,
    ) -> Result<String> {
        let node = self.node(k)?;
        let w = self.node_wrapper(&node)?;
        let out = Cmd::new(&w[0])
            .args(&w[1..])
            .arg(program)
            .args(args)
            .timeout(timeout)
            .run()?;
        Ok(out.stdout)
    }

    /// `gluster --mode=script ARGS` against node `k`'s glusterd (retried while glusterd
    /// reports a concurrent transaction).
    pub fn gluster_on(&self, k: usize, args: &[&str]) -> Result<String> {
        Ok(self.gluster_out(k, args)?.stdout)
    }

    pub(crate) fn gluster_out(&self, k: usize, args: &[&str]) -> Result<Output> {
        let node = self.node(k)?;
        let w = self.node_wrapper(&node)?;
        gluster_via(&w, args)
    }

    /// `gluster ARGS` on the first node whose glusterd runs (a management command for
    /// the whole pool).
    pub fn gluster(&self, args: &[&str]) -> Result<String> {
        Ok(self.gluster_any(args)?.stdout)
    }

    pub(crate) fn gluster_any(&self, args: &[&str]) -> Result<Output> {
        let mut last = None;
        for n in self.nodes() {
            if self.glusterd_pid(n.index).is_none() || !self.link_is_up(n.index) {
                continue;
            }
            match self.gluster_out(n.index, args) {
                Ok(out) => return Ok(out),
                Err(e) => {
                    let conn = matches!(&e, Error::Command { detail, .. }
                        if detail.contains("Connection failed"));
                    if !conn {
                        return Err(e);
                    }
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| {
            Error::invalid(
                "cluster",
                self.name(),
                "no node's glusterd runs (all nodes stopped or cut off)",
            )
        }))
    }

    /// Pids of every live process in node `k`'s network namespace (its glusterd, bricks,
    /// self-heal daemon).
    pub fn node_pids(&self, k: usize) -> Result<Vec<u32>> {
        Ok(pids_in_netns(&self.node(k)?.netns))
    }

    /// Pid of node `k`'s glusterd, when it runs.
    pub fn glusterd_pid(&self, k: usize) -> Option<u32> {
        let node = self.node(k).ok()?;
        pids_in_netns(&node.netns).into_iter().find(|p| {
            fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "glusterd")
        })
    }

    /// Starts node `k`'s glusterd (which starts the bricks of started volumes and the
    /// self-heal daemon) and waits until it answers.
    pub fn start_glusterd(&self, k: usize) -> Result<()> {
        let node = self.node(k)?;
        if self.glusterd_pid(k).is_some() {
            return Ok(());
        }
        self.check_private_mounts(&node)?;
        let w = self.node_wrapper(&node)?;
        Cmd::new(&w[0])
            .args(&w[1..])
            .arg("glusterd")
            .timeout(GLUSTERD_ANSWER_TIMEOUT)
            .run()?;
        wait_ok(
            &format!(
                "glusterd of node n{k} to answer (its log: {})",
                node.glusterd_log().display()
            ),
            GLUSTERD_ANSWER_TIMEOUT,
            || {
                self.gluster_out(k, &["volume", "list"])
                    .map(drop)
                    .map_err(|e| e.to_string())
            },
        )
    }

    fn probe_all(&self) -> Result<()> {
        let nodes = self.nodes();
        let Some(first) = nodes.first() else {
            return Ok(());
        };
        for n in &nodes[1..] {
            self.gluster_on(first.index, &["peer", "probe", &n.ip.to_string()])?;
        }
        if let Some(second) = nodes.get(1) {
            // So that the others know n1 by its address too, not by where it called from.
            self.gluster_on(second.index, &["peer", "probe", &first.ip.to_string()])?;
        }
        for n in &nodes {
            self.wait_peers(n.index)?;
        }
        Ok(())
    }

    /// Waits until node `k` sees every other running node (glusterd up, link up) as a
    /// connected member of the pool.
    pub fn wait_peers(&self, k: usize) -> Result<()> {
        wait_ok(
            &format!("node n{k} to see its running peers connected"),
            PEER_TIMEOUT,
            || {
                let want: Vec<String> = self
                    .nodes()
                    .iter()
                    .filter(|n| {
                        n.index != k
                            && self.glusterd_pid(n.index).is_some()
                            && self.link_is_up(n.index)
                    })
                    .map(|n| n.ip.to_string())
                    .collect();
                let out = self
                    .gluster_on(k, &["peer", "status", "--xml"])
                    .map_err(|e| e.to_string())?;
                let connected: Vec<String> = xml::elements(&out, "peer")
                    .iter()
                    .filter(|p| {
                        xml::first(p, "connected").as_deref() == Some("1")
                            && xml::first(p, "stateStr").as_deref() == Some("Peer in Cluster")
                    })
                    .filter_map(|p| xml::first(p, "hostname"))
                    .collect();
                let missing: Vec<&String> =
                    want.iter().filter(|ip| !connected.contains(ip)).collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(format!("not connected: {missing:?}"))
                }
            },
        )
    }

    /// Node `k` crashes: SIGKILL to every process in its network namespace (glusterd,
    /// bricks, self-heal daemon); waits until they are gone. Its state stays for
    /// [`Cluster::start_node`].
    pub fn kill_node(&self, k: usize) -> Result<()> {
        let node = self.node(k)?;
        kill_all_in(&node.netns)?;
        // Their pid files would make the next glusterd take a reused pid for a brick.
        remove_pid_files(&node.dir.join("run"));
        Ok(())
    }

    /// SIGTERM to node `k`'s glusterd only (bricks keep serving); waits until it exits.
    pub fn stop_glusterd(&self, k: usize) -> Result<()> {
        let Some(pid) = self.glusterd_pid(k) else {
            return Ok(());
        };
        signal(pid, rustix::process::Signal::TERM);
        wait_for(
            || format!("glusterd of node n{k} (pid {pid}) to exit"),
            EXIT_TIMEOUT,
            || (!pid_alive(pid)).then_some(()),
        )
    }

    /// Brings node `k` back after [`Cluster::kill_node`] or [`Cluster::stop_glusterd`]:
    /// starts glusterd and waits until it sees its peers.
    pub fn start_node(&self, k: usize) -> Result<()> {
        self.start_glusterd(k)?;
        self.wait_peers(k)
    }

    /// [`Cluster::kill_node`] then [`Cluster::start_node`].
    pub fn restart_node(&self, k: usize) -> Result<()> {
        self.kill_node(k)?;
        self.start_node(k)
    }

    /// Cuts node `k` off the bridge (`ip link set VETH down`): its processes run on but
    /// nothing reaches them (packets are dropped, no reset).
    pub fn link_down(&self, k: usize) -> Result<()> {
        ip(["link", "set", &self.node(k)?.veth, "down"]).map(drop)
    }

    /// Puts node `k` back on the bridge.
    pub fn link_up(&self, k: usize) -> Result<()> {
        ip(["link", "set", &self.node(k)?.veth, "up"]).map(drop)
    }

    /// Whether node `k`'s link is up.
    pub fn link_is_up(&self, k: usize) -> bool {
        let Ok(node) = self.node(k) else {
            return false;
        };
        fs::read_to_string(format!("/sys/class/net/{}/operstate", node.veth))
            .is_ok_and(|s| s.trim() == "up")
    }

    /// Adds client namespace `k` (address `.100+k`) on the bridge, for programs that
    /// should run as another host (`fio --server`); returns it.
    pub fn add_client(&self) -> Result<ClientNs> {
        let st = self.state();
        let k = st.clients.len() + 1;
        if k > netns::MAX_CLIENTS {
            return Err(Error::invalid(
                "client count",
                k.to_string(),
                format!("at most {}", netns::MAX_CLIENTS),
            ));
        }
        let c = ClientNs {
            index: k,
            netns: format!("grsc-{}-c{k}", st.name),
            veth: format!("{}c{k}", netns::link_stem(&st.name)),
            ip: st.subnet.client_ip(k),
        };
        self.join_bridge(&c.netns, &c.veth, c.ip, |s| s.clients.push(c.clone()))?;
        Ok(c)
    }

    /// Starts `program args...` in client namespace `k` in the background (its own process
    /// group, output to `log`); it is killed at teardown with everything in the namespace.
    pub fn spawn_in_client(
        &self,
        k: usize,
        program: &str,
        args: &[&str],
        log: &Path,
    ) -> Result<u32> {
        let c = self
            .clients()
            .into_iter()
            .find(|c| c.index == k)
            .ok_or_else(|| Error::invalid("client", format!("c{k}"), "no such client"))?;
        let out = fs::File::create(log).map_err(|e| Error::io("create", log, e))?;
        let err = out.try_clone().map_err(|e| Error::io("open", log, e))?;
        let child = Command::new("nsenter")
            .arg(format!("--net={}", netns_path(&c.netns).display()))
            .arg("--")
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|source| Error::Spawn {
                program: program.into(),
                source,
            })?;
        let pid = child.id();
        self.inner
            .children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pid, child);
        Ok(pid)
    }

    fn teardown(&self) -> Result<()> {
        self.inner.teardown()
    }

    /// Whether [`Cluster::down`] (or drop) has run.
    pub(crate) fn is_torn_down(&self) -> bool {
        self.inner
            .torn_down
            .load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Inner {
    fn teardown(&self) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.torn_down.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut first_err: Option<Error> = None;
        let mut note = |r: Result<()>| {
            if let Err(e) = r {
                eprintln!("glusterrs-cluster: teardown of {}: {e}", st.name);
                first_err.get_or_insert(e);
            }
        };
        // FUSE mounts of the nodes' volumes (in this mount namespace), first: their
        // clients would hang once the servers are gone.
        let ips: Vec<String> = st.nodes.iter().map(|n| format!("{}:", n.ip)).collect();
        for m in procfs::mounts().unwrap_or_default() {
            if m.fstype.starts_with("fuse.glusterfs") && ips.iter().any(|p| m.source.starts_with(p))
            {
                let ok = Cmd::new("umount").arg(&m.target).run().is_ok();
                if !ok {
                    note(Cmd::new("umount").arg("-l").arg(&m.target).run().map(drop));
                }
            }
        }
        for c in &st.clients {
            if netns_exists(&c.netns) {
                note(kill_all_in(&c.netns));
            }
        }
        for n in &st.nodes {
            if netns_exists(&n.netns) {
                note(kill_all_in(&n.netns));
            }
        }
        // Holders, and what else this process started (reaped).
        let mut children =
            std::mem::take(&mut *self.children.lock().unwrap_or_else(|e| e.into_inner()));
        for n in &st.nodes {
            if let (Some(pid), Some(ns)) = (n.holder_pid, n.holder_mnt_ns) {
                if netns::mnt_ns_inode(pid) == Some(ns) {
                    signal(pid, rustix::process::Signal::KILL);
                }
            } else if let Some(pid) = n.holder_pid {
                // Recorded but the namespace not yet: only our own child is safe to kill.
                if let Some(c) = children.get_mut(&pid) {
                    let _ = c.kill();
                }
            }
        }
        for (_, mut c) in children.drain() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in &st.nodes {
            if let (Some(pid), Some(ns)) = (n.holder_pid, n.holder_mnt_ns) {
                note(wait_for(
                    || format!("the holder of node n{} (pid {pid}) to exit", n.index),
                    EXIT_TIMEOUT,
                    || (netns::mnt_ns_inode(pid) != Some(ns)).then_some(()),
                ));
            }
        }
        let links = st
            .nodes
            .iter()
            .map(|n| (&n.veth, &n.netns))
            .chain(st.clients.iter().map(|c| (&c.veth, &c.netns)));
        for (veth, ns) in links {
            if link_exists(veth) {
                note(ip(["link", "del", veth]).map(drop));
            }
            if netns_exists(ns) {
                note(ip(["netns", "del", ns]).map(drop));
            }
        }
        if st.bridge_created && link_exists(&st.bridge) {
            note(ip(["link", "del", &st.bridge]).map(drop));
        }
        if let Some(tree) = &st.tree {
            if tree.join(ROOT_MARKER).exists() || tree.exists() && is_empty_dir(tree) {
                note(fs::remove_dir_all(tree).map_err(|e| Error::io("remove dir", tree, e)));
            }
            // The default root is ours too; removed once no cluster uses it (a caller's
            // --root is left alone).
            if tree.parent() == Some(Path::new(DEFAULT_ROOT)) {
                let _ = fs::remove_dir(DEFAULT_ROOT);
            }
        }
        if first_err.is_none() {
            let sf = state_file(&st.name);
            if let Err(e) = fs::remove_file(&sf) {
                first_err = Some(Error::io("remove", &sf, e));
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            let name = self
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .name
                .clone();
            eprintln!("glusterrs-cluster: teardown of cluster {name} failed: {e}");
        }
    }
}

fn is_empty_dir(p: &Path) -> bool {
    fs::read_dir(p).is_ok_and(|mut d| d.next().is_none())
}

fn signal(pid: u32, sig: rustix::process::Signal) {
    if let Some(p) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(p, sig);
    }
}

/// SIGKILLs every process in network namespace `ns` until none is left (a dying glusterd
/// may still have spawned something).
fn kill_all_in(ns: &str) -> Result<()> {
    let end = Instant::now() + EXIT_TIMEOUT;
    loop {
        let pids = pids_in_netns(ns);
        if pids.is_empty() {
            return Ok(());
        }
        if Instant::now() >= end {
            return Err(Error::Timeout {
                what: format!("processes {pids:?} of namespace {ns} to exit after SIGKILL"),
                timeout: EXIT_TIMEOUT,
            });
        }
        for p in pids {
            signal(p, rustix::process::Signal::KILL);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn remove_pid_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => remove_pid_files(&p),
            Ok(t) if t.is_file() && p.extension().is_some_and(|x| x == "pid") => {
                let _ = fs::remove_file(&p);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        validate_cluster_name("c1-x").unwrap();
        for bad in ["", "-a", "A", "a b", "a/b", &"x".repeat(33)] {
            assert!(validate_cluster_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_specs_touch_nothing() {
        let e = Cluster::up(ClusterSpec::new("ok", 0)).unwrap_err();
        assert!(matches!(e, Error::Invalid { .. }), "{e}");
        let e = Cluster::up(ClusterSpec::new("ok", 3).root("rel")).unwrap_err();
        assert!(matches!(e, Error::Invalid { .. }), "{e}");
        let e = Cluster::up(ClusterSpec::new("Bad", 3)).unwrap_err();
        assert!(matches!(e, Error::Invalid { .. }), "{e}");
    }
}
