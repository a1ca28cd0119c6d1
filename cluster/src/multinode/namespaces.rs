//! The namespaces of a cluster's members: a node's network namespace on the bridge and
//! its mount namespace (held by a `sleep`, with the node's own `/var/lib/glusterd`,
//! `/var/log/glusterfs` and `/run`), client namespaces, and cutting a node off the
//! bridge and putting it back.

use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::network::{self, ip, link_exists, netns_exists, netns_path};
use super::{ClientNs, Cluster, Node, State, NODE_IFACE};
use crate::cmd::{wait_for, Cmd};
use crate::error::{Error, Result};
use crate::procfs;

impl Cluster {
    pub(super) fn add_node(&self, k: usize, stem: &str, tree: &Path) -> Result<()> {
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
        let pid = self.spawn_owned(
            "unshare",
            Command::new("unshare")
                .args([
                    "--mount",
                    "--propagation",
                    "slave",
                    "--",
                    "sleep",
                    "infinity",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?;
        self.update(|s| {
            if let Some(n) = s.nodes.iter_mut().find(|n| n.index == k) {
                n.holder_pid = Some(pid);
            }
        })?;
        let mine = network::mnt_ns_inode(std::process::id());
        let ns = wait_for(
            || format!("the mount namespace of node n{k} (unshare pid {pid})"),
            Duration::from_secs(10),
            || {
                let ns = network::mnt_ns_inode(pid)?;
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
    pub(super) fn join_bridge(
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
        if network::mnt_ns_inode(pid) != Some(ns) {
            return Err(Error::invalid(
                "node",
                node.name(),
                format!("its mount namespace holder (pid {pid}) is gone"),
            ));
        }
        Ok(Cmd::new("nsenter").arg(format!("--mount=/proc/{pid}/ns/mnt")))
    }

    /// The node's mounts must be its own: the host must not see them.
    pub(super) fn check_private_mounts(&self, node: &Node) -> Result<()> {
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
    pub(super) fn node_wrapper(&self, node: &Node) -> Result<Vec<std::ffi::OsString>> {
        self.mount_ns_cmd(node)?;
        let pid = node.holder_pid.unwrap_or(0);
        Ok(vec![
            "nsenter".into(),
            format!("--mount=/proc/{pid}/ns/mnt").into(),
            format!("--net={}", netns_path(&node.netns).display()).into(),
            "--".into(),
        ])
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
        if k > network::MAX_CLIENTS {
            return Err(Error::invalid(
                "client count",
                k.to_string(),
                format!("at most {}", network::MAX_CLIENTS),
            ));
        }
        let c = ClientNs {
            index: k,
            netns: format!("grsc-{}-c{k}", st.name),
            veth: format!("{}c{k}", network::link_stem(&st.name)),
            ip: st.subnet.client_ip(k),
        };
        self.join_bridge(&c.netns, &c.veth, c.ip, |s| s.clients.push(c.clone()))?;
        Ok(c)
    }
}
