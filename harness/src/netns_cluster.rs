//! `--nodes N`: the run's volume lives on a GlusterFS cluster of N nodes on this
//! machine, each a network namespace with its own address and glusterd
//! (`glusterrs_cluster::Cluster`). The cluster is brought up before the
//! volume and removed at teardown; with `--client-namespaces M`, M more
//! namespaces on its bridge each run `fio --server`, and the run drives them
//! in fio's client/server mode (`make bench-clients`).

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use glusterrs_cluster as gc;

use crate::cluster::{ClusterOps, CreatedVolume, VolumePlan};
use crate::volfile;

/// fio's default `--server` port.
const FIO_SERVER_PORT: u16 = 8765;

/// The cluster operations on a namespace cluster.
pub struct NetnsCluster {
    pub cluster: gc::Cluster,
    pub interrupt: gc::Interrupt,
}

impl NetnsCluster {
    /// Brings up `nodes` nodes; the caller puts [`NetnsCluster::down`] on its
    /// teardown stack.
    pub fn up(nodes: u32, interrupt: gc::Interrupt) -> Result<NetnsCluster> {
        let name = format!("gbench-{}", std::process::id());
        let cluster = gc::Cluster::up(
            gc::ClusterSpec::new(name, nodes as usize)
                .interrupt(interrupt.clone())
                .progress(gc::Progress::new(|step, of, what| {
                    eprintln!("cluster [{step}/{of}] {what}")
                })),
        )
        .with_context(|| format!("bringing up a {nodes}-node cluster in network namespaces"))?;
        Ok(NetnsCluster { cluster, interrupt })
    }

    /// What the run notes say about the cluster.
    pub fn describe(&self) -> String {
        let nodes: Vec<String> = self
            .cluster
            .nodes()
            .iter()
            .map(|n| format!("{} {}", n.name(), n.ip))
            .collect();
        format!(
            "volume on a {}-node GlusterFS cluster in network namespaces on this machine \
             (glusterrs-cluster {}, subnet {}: {}); clients in the host namespace reach it \
             over a bridge (no real network: latency and bandwidth are those of veth pairs)",
            nodes.len(),
            self.cluster.name(),
            self.cluster.subnet(),
            nodes.join(", ")
        )
    }

    /// Adds `count` client namespaces, each running `fio --server` (log in
    /// `log_dir`); returns their `host:port` once each listens.
    pub fn start_fio_servers(&self, count: u32, fio: &Path, log_dir: &Path) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for _ in 0..count {
            let c = self
                .cluster
                .add_client()
                .context("adding a client namespace")?;
            let log = log_dir.join(format!("fio-server-c{}.log", c.index));
            let fio = fio.to_string_lossy();
            self.cluster
                .spawn_in_client(c.index, &fio, &["--server"], &log)
                .with_context(|| format!("starting fio --server in {}", c.netns))?;
            let addr = SocketAddr::from((c.ip, FIO_SERVER_PORT));
            let end = Instant::now() + Duration::from_secs(20);
            while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
                if Instant::now() >= end {
                    bail!(
                        "fio --server in {} does not listen on {addr} (log {})",
                        c.netns,
                        log.display()
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            out.push(format!("{}:{FIO_SERVER_PORT}", c.ip));
        }
        Ok(out)
    }
}

fn layout(plan: &VolumePlan) -> gc::Layout {
    match (plan.disperse, plan.replica) {
        (Some((bricks, redundancy)), _) => gc::Layout::Disperse {
            data: (bricks - redundancy) as usize,
            redundancy: redundancy as usize,
        },
        (None, Some(r)) => gc::Layout::Replica {
            sets: (plan.bricks / r) as usize,
            replica: r as usize,
        },
        (None, None) => gc::Layout::Distribute {
            bricks: plan.bricks as usize,
        },
    }
}

impl ClusterOps for NetnsCluster {
    fn ensure_glusterd(&self) -> Result<Option<crate::cluster::Cleanup>> {
        // Every node's glusterd runs since `up`; the host's is not used.
        Ok(None)
    }

    fn create_volume(&self, plan: &VolumePlan) -> Result<CreatedVolume> {
        let mut spec = gc::ClusterVolumeSpec::new(layout(plan))
            .prefix(crate::cluster::VOLUME_PREFIX)
            .interrupt(self.interrupt.clone());
        if let Some(n) = &plan.name {
            spec = spec.name(n.clone());
        }
        for (k, v) in &plan.options {
            spec = spec.option(k.clone(), v.clone());
        }
        let vol = self
            .cluster
            .create_volume(spec)
            .context("creating the volume on the cluster")?;
        let hosts: Vec<String> = vol
            .bricks()
            .iter()
            .map(|b| b.spec.split_once(':').map_or("", |(h, _)| h).to_string())
            .collect();
        let server = self.cluster.node(1)?.ip.to_string();
        Ok(CreatedVolume {
            name: vol.name().to_string(),
            host: hosts.first().cloned().unwrap_or_default(),
            bricks: vol.bricks().iter().map(|b| b.path.clone()).collect(),
            brick_hosts: hosts,
            server: Some(server),
            cleanup: Box::new(move || vol.destroy().context("destroying the volume")),
        })
    }

    fn client_volfile(
        &self,
        server: &str,
        volume: &str,
        _bricks: &[(String, PathBuf)],
    ) -> Result<String> {
        let text = self
            .cluster
            .gluster(&["system::", "getspec", volume])
            .with_context(|| format!("fetching the client volfile of {volume} from {server}"))?;
        volfile::minimal_client(&text)
    }

    fn stop_volume(&self, volume: &str, _bricks: &[PathBuf]) -> Result<()> {
        bail!("will not stop volume {volume} of the cluster: rpc-bypass does not apply to it")
    }

    fn start_volume(&self, volume: &str, _bricks: &[PathBuf], _mount: Option<&Path>) -> Result<()> {
        bail!("will not start volume {volume} of the cluster: rpc-bypass does not apply to it")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(bricks: u32, replica: Option<u32>, disperse: Option<(u32, u32)>) -> VolumePlan {
        VolumePlan {
            name: None,
            brick_root: "/tmp".into(),
            bricks,
            replica,
            disperse,
            options: Vec::new(),
        }
    }

    #[test]
    fn layouts() {
        assert_eq!(
            layout(&plan(6, Some(3), None)),
            gc::Layout::Replica {
                sets: 2,
                replica: 3
            }
        );
        assert_eq!(
            layout(&plan(6, None, Some((6, 2)))),
            gc::Layout::Disperse {
                data: 4,
                redundancy: 2
            }
        );
        assert_eq!(
            layout(&plan(2, None, None)),
            gc::Layout::Distribute { bricks: 2 }
        );
    }
}
