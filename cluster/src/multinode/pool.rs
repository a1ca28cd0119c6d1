//! The trusted pool: probing the nodes into it, waiting until a node sees its running
//! peers connected, and bringing a stopped or killed node back into it.

use std::time::Duration;

use super::Cluster;
use crate::cmd::wait_ok;
use crate::error::Result;
use crate::xml;

const PEER_TIMEOUT: Duration = Duration::from_secs(60);

impl Cluster {
    pub(super) fn probe_all(&self) -> Result<()> {
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
}
