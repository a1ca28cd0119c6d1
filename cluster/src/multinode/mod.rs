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
//!
//! The pieces, each using only those before it:
//! * `network.rs`: private subnets, the bridge, veth pairs and network namespaces
//!   (`ip(8)`), and the processes inside a namespace;
//! * this file: what a cluster is made of ([`ClusterSpec`], [`Node`], [`ClientNs`], the
//!   recorded state) and the [`Cluster`] handle's read accessors;
//! * `state.rs`: the state file and its lock, [`Cluster::attach`] / [`Cluster::detach`],
//!   the clusters recorded on this machine;
//! * `namespaces.rs`: a node's network and mount namespaces, client namespaces, cutting a
//!   node off the bridge;
//! * `processes.rs`: what runs in a node (its glusterd, the gluster CLI, any program),
//!   killing a node;
//! * `pool.rs`: probing the nodes into one trusted pool, waiting for the peers, bringing
//!   a node back;
//! * `lifecycle.rs`: [`Cluster::up`] and the teardown that undoes it;
//! * `volume.rs`: [`ClusterVolume`]s across the nodes, and `heal.rs`: the checks after a
//!   fault (self-heal done, replicas and fragments agree).

mod heal;
mod lifecycle;
mod namespaces;
mod network;
mod pool;
mod processes;
mod state;
mod volume;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::cmd::Interrupt;
use crate::error::{Error, Result};

pub use heal::{brick_files, HealEntry};
pub use network::{Subnet, MAX_CLIENTS, MAX_NODES};
pub use state::{cleanup_stale_clusters, list_clusters, state_file};
pub use volume::{ClusterBrick, ClusterVolume, ClusterVolumeSpec, Layout};

/// Where cluster state files live (`NAME.json`).
pub const STATE_DIR: &str = "/run/glusterrs-cluster";
/// Default directory under which a cluster's `NAME/` tree (node state, logs, bricks) is made.
pub const DEFAULT_ROOT: &str = "/var/tmp/glusterrs-cluster";
/// Name of the interface inside each node's namespace.
pub const NODE_IFACE: &str = "eth0";

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
    /// Told each step of [`Cluster::up`] as it starts (bring-up takes seconds per node).
    pub progress: Option<Progress>,
}

/// A callback told what [`Cluster::up`] is doing: `(step, of, what)`, step 1-based.
#[derive(Clone)]
pub struct Progress(std::sync::Arc<ProgressFn>);

type ProgressFn = dyn Fn(usize, usize, &str) + Send + Sync;

impl Progress {
    /// Wraps `f`.
    pub fn new(f: impl Fn(usize, usize, &str) + Send + Sync + 'static) -> Progress {
        Progress(std::sync::Arc::new(f))
    }

    pub(crate) fn step(&self, step: usize, of: usize, what: &str) {
        (self.0)(step, of, what)
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress(..)")
    }
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
            progress: None,
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

    /// Tells `progress` each step of [`Cluster::up`].
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
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

impl Cluster {
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

    /// A handle on the cluster `state` describes, owning no process yet.
    fn from_state(state: State) -> Cluster {
        Cluster {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                children: Mutex::new(HashMap::new()),
                torn_down: Default::default(),
            }),
        }
    }

    /// Spawns `cmd` (`program` names it in errors) with stdin from /dev/null in a process
    /// group of its own, and keeps the child for the teardown to kill and reap.
    fn spawn_owned(&self, program: &str, cmd: &mut Command) -> Result<u32> {
        let child = cmd
            .stdin(Stdio::null())
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
}
