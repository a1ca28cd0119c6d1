//! Bringing a cluster up ([`Cluster::up`]: bridge, tree, nodes, glusterds, pool) and
//! tearing it down again (also what a failed or interrupted bring-up made).

use std::fs;
use std::path::Path;

use super::network::{self, ip, link_exists, netns_exists, Subnet};
use super::processes::{kill_all_in, signal, EXIT_TIMEOUT};
use super::state::{state_file, validate_cluster_name, StateLock};
use super::{Cluster, ClusterSpec, Inner, State, DEFAULT_ROOT};
use crate::cmd::{wait_for, Cmd};
use crate::error::{Error, Result};
use crate::names::validate_brick_path;
use crate::procfs::{self, now_unix};

/// Marker in a cluster's root tree; teardown removes only trees holding it.
const ROOT_MARKER: &str = ".glusterrs-cluster-root";

impl Cluster {
    /// Brings up `spec.nodes` nodes and probes them into one trusted pool. On any failure
    /// (or the interrupt) everything made is removed and the error returned.
    pub fn up(spec: ClusterSpec) -> Result<Cluster> {
        validate_cluster_name(&spec.name)?;
        if spec.nodes == 0 || spec.nodes > network::MAX_NODES {
            return Err(Error::invalid(
                "node count",
                spec.nodes.to_string(),
                format!("must be 1 to {}", network::MAX_NODES),
            ));
        }
        if !spec.root.is_absolute() {
            return Err(Error::invalid(
                "cluster root",
                spec.root.to_string_lossy(),
                "must be an absolute path",
            ));
        }
        validate_brick_path(&spec.root.join(&spec.name))?;
        let stem = network::link_stem(&spec.name);
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
        network::check_support(&stem)?;
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
        let cluster = Cluster::from_state(state);
        cluster.save()?;
        // Steps: the bridge, each node's namespaces, each node's glusterd, the probes.
        let steps = 2 * spec.nodes + 2;
        let tell = |step: usize, what: &str| {
            if let Some(p) = &spec.progress {
                p.step(step, steps, what);
            }
        };
        let res = (|| {
            interrupt.check(|| format!("creating bridge {bridge}"))?;
            tell(1, &format!("bridge {bridge} on {}", subnet.bridge_ip()));
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
                tell(1 + k, &format!("node n{k}: network and mount namespaces"));
                cluster.add_node(k, &stem, &tree)?;
            }
            for k in 1..=spec.nodes {
                interrupt.check(|| format!("starting glusterd on n{k}"))?;
                tell(1 + spec.nodes + k, &format!("node n{k}: glusterd"));
                cluster.start_glusterd(k)?;
            }
            interrupt.check(|| "probing the peers".to_string())?;
            tell(steps, "probing the peers into one pool");
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

    /// Removes everything (see [`Cluster`]), reporting the first failure.
    pub fn down(self) -> Result<()> {
        self.teardown()
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
                if network::mnt_ns_inode(pid) == Some(ns) {
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
                    || (network::mnt_ns_inode(pid) != Some(ns)).then_some(()),
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

#[cfg(test)]
mod tests {
    use super::*;

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
