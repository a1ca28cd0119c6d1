//! Volumes across the nodes of a [`Cluster`]: replicated, distributed-replicated and
//! dispersed: their layout, creation, options, brick status and removal. The checks
//! fault tests make on them afterwards are in `heal.rs`.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use super::Cluster;
use crate::cmd::{wait_ok, Interrupt};
use crate::error::{Error, Result};
use crate::names::validate_brick_path;
use crate::volume::{
    embed_common_volume_spec, remove_tree, roll_back, stop_and_delete, teardown_on_drop,
    CommonVolumeSpec, OwnedVolume,
};
use crate::xml;

const ONLINE_TIMEOUT: Duration = Duration::from_secs(60);

/// How the bricks of a volume are arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `sets` replica sets of `replica` bricks each (`sets` > 1: distributed-replicated).
    Replica {
        /// Number of replica sets.
        sets: usize,
        /// Bricks per set.
        replica: usize,
    },
    /// One disperse set of `data + redundancy` bricks.
    Disperse {
        /// Data fragments.
        data: usize,
        /// Redundancy fragments (bricks that may be lost).
        redundancy: usize,
    },
    /// Plain distribute over `bricks` bricks.
    Distribute {
        /// Number of bricks.
        bricks: usize,
    },
}

impl Layout {
    /// Number of bricks.
    pub fn bricks(&self) -> usize {
        match *self {
            Layout::Replica { sets, replica } => sets * replica,
            Layout::Disperse { data, redundancy } => data + redundancy,
            Layout::Distribute { bricks } => bricks,
        }
    }

    /// Bricks per subvolume (replica or disperse set; 1 for distribute).
    pub fn set_size(&self) -> usize {
        match *self {
            Layout::Replica { replica, .. } => replica,
            Layout::Disperse { .. } => self.bricks(),
            Layout::Distribute { .. } => 1,
        }
    }

    fn create_args(&self) -> Vec<String> {
        match *self {
            Layout::Replica { replica, .. } => vec!["replica".into(), replica.to_string()],
            Layout::Disperse { data, redundancy } => vec![
                "disperse".into(),
                (data + redundancy).to_string(),
                "redundancy".into(),
                redundancy.to_string(),
            ],
            Layout::Distribute { .. } => Vec::new(),
        }
    }

    fn validate(&self) -> Result<()> {
        let bad = |reason: &str| Err(Error::invalid("volume layout", format!("{self:?}"), reason));
        match *self {
            Layout::Replica { sets, replica } if sets == 0 || replica < 2 => {
                bad("needs at least one set of at least 2 bricks")
            }
            Layout::Disperse { data, redundancy }
                if redundancy == 0 || data == 0 || redundancy * 2 >= data + redundancy =>
            {
                bad("needs redundancy >= 1 and fewer than half the bricks")
            }
            Layout::Distribute { bricks: 0 } => bad("needs a brick"),
            _ => Ok(()),
        }
    }
}

/// What volume to create on a cluster: the [`CommonVolumeSpec`] every volume has (also
/// reachable as `spec.name`, ... by dereference) and the brick layout.
#[derive(Debug, Clone)]
pub struct ClusterVolumeSpec {
    /// Name, options and interrupt.
    pub common: CommonVolumeSpec,
    /// Brick arrangement. Brick `i` goes to node `i % nodes + 1`, so every replica or
    /// disperse set spans the nodes round-robin.
    pub layout: Layout,
}

embed_common_volume_spec!(ClusterVolumeSpec);

impl ClusterVolumeSpec {
    /// A volume with this layout.
    pub fn new(layout: Layout) -> ClusterVolumeSpec {
        ClusterVolumeSpec {
            common: CommonVolumeSpec::default(),
            layout,
        }
    }

    /// One replica set of `replica` bricks.
    pub fn replica(replica: usize) -> ClusterVolumeSpec {
        Self::new(Layout::Replica { sets: 1, replica })
    }

    /// `sets` x `replica` distributed-replicated.
    pub fn distributed_replica(sets: usize, replica: usize) -> ClusterVolumeSpec {
        Self::new(Layout::Replica { sets, replica })
    }

    /// Disperse `data + redundancy`.
    pub fn disperse(data: usize, redundancy: usize) -> ClusterVolumeSpec {
        Self::new(Layout::Disperse { data, redundancy })
    }
}

/// One brick of a cluster volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterBrick {
    /// Node (1-based) serving it.
    pub node: usize,
    /// `IP:PATH` as registered with glusterd.
    pub spec: String,
    /// Brick directory (a host directory: readable from here).
    pub path: PathBuf,
}

/// A started volume on a [`Cluster`]; dropping it (or [`ClusterVolume::destroy`]) stops
/// and deletes it and removes its brick directories.
#[derive(Debug)]
pub struct ClusterVolume {
    pub(super) cluster: Cluster,
    pub(super) name: String,
    pub(super) layout: Layout,
    pub(super) bricks: Vec<ClusterBrick>,
    created: bool,
    done: bool,
}

impl Cluster {
    /// Creates and starts a volume across the nodes (see [`ClusterVolumeSpec`]); waits
    /// until every brick is online. On failure what was made is removed.
    pub fn create_volume(&self, spec: ClusterVolumeSpec) -> Result<ClusterVolume> {
        spec.layout.validate()?;
        let name = spec.volume_name()?;
        let nodes = self.nodes();
        if nodes.is_empty() {
            return Err(Error::invalid("cluster", self.name(), "has no nodes"));
        }
        let bricks: Vec<ClusterBrick> = (0..spec.layout.bricks())
            .map(|i| {
                let n = &nodes[i % nodes.len()];
                let path = n.brick_root().join(format!("{name}-b{i}"));
                ClusterBrick {
                    node: n.index,
                    spec: format!("{}:{}", n.ip, path.display()),
                    path,
                }
            })
            .collect();
        for b in &bricks {
            validate_brick_path(&b.path)?;
            if b.path.exists() {
                return Err(Error::invalid(
                    "brick",
                    b.path.to_string_lossy(),
                    "exists already (left untouched)",
                ));
            }
        }
        let mut vol = ClusterVolume {
            cluster: self.clone(),
            name,
            layout: spec.layout,
            bricks,
            created: false,
            done: false,
        };
        let interrupt = spec.interrupt_flag();
        match vol.bring_up(&spec.options, &interrupt) {
            Ok(()) => Ok(vol),
            Err(e) => Err(roll_back(vol, e)),
        }
    }
}

impl ClusterVolume {
    fn bring_up(&mut self, options: &[(String, String)], interrupt: &Interrupt) -> Result<()> {
        let name = self.name.clone();
        interrupt.check(|| format!("creating volume {name}"))?;
        for b in &self.bricks {
            fs::create_dir(&b.path).map_err(|e| Error::io("create dir", &b.path, e))?;
        }
        let mut args: Vec<String> = vec!["volume".into(), "create".into(), name.clone()];
        args.extend(self.layout.create_args());
        args.extend(self.bricks.iter().map(|b| b.spec.clone()));
        // Bricks on the root partition, and several bricks of one set on one node.
        args.push("force".into());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let res = self.cluster.gluster_any(&argv);
        self.created = res.is_ok() || self.exists();
        res?;
        for (k, v) in options {
            interrupt.check(|| format!("setting {k} on volume {name}"))?;
            self.set_option(k, v)?;
        }
        interrupt.check(|| format!("starting volume {name}"))?;
        self.cluster.gluster_any(&["volume", "start", &name])?;
        self.wait_online()
    }

    fn exists(&self) -> bool {
        self.cluster
            .gluster_any(&["volume", "list"])
            .is_ok_and(|o| o.stdout.lines().any(|l| l.trim() == self.name))
    }

    /// Volume name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Brick arrangement.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Bricks in creation order.
    pub fn bricks(&self) -> &[ClusterBrick] {
        &self.bricks
    }

    /// The cluster the volume lives on.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// `gluster volume set NAME KEY VALUE`.
    pub fn set_option(&self, key: &str, value: &str) -> Result<()> {
        if key.is_empty() || value.is_empty() || format!("{key}{value}").contains(['`', ' ']) {
            return Err(Error::invalid(
                "volume option",
                format!("{key}={value}"),
                "must be non-empty, without whitespace or '`'",
            ));
        }
        self.cluster
            .gluster_any(&["volume", "set", &self.name, key, value])
            .map(drop)
    }

    /// `(brick spec, online)` for every brick, as the pool sees it.
    pub fn brick_status(&self) -> Result<Vec<(String, bool)>> {
        let out = self
            .cluster
            .gluster_any(&["volume", "status", &self.name, "--xml"])?
            .stdout;
        let mut online: BTreeMap<String, bool> = BTreeMap::new();
        for node in xml::elements(&out, "node") {
            let host = xml::first(node, "hostname").unwrap_or_default();
            let path = xml::first(node, "path").unwrap_or_default();
            let up = xml::first(node, "status").as_deref() == Some("1")
                && xml::first(node, "port").is_some_and(|p| p != "N/A" && p != "0");
            online.insert(format!("{host}:{path}"), up);
        }
        Ok(self
            .bricks
            .iter()
            .map(|b| {
                (
                    b.spec.clone(),
                    online.get(&b.spec).copied().unwrap_or(false),
                )
            })
            .collect())
    }

    /// Waits until every brick is online (after a node came back, glusterd starts its
    /// bricks itself).
    pub fn wait_online(&self) -> Result<()> {
        wait_ok(
            &format!("all bricks of volume {} to come online", self.name),
            ONLINE_TIMEOUT,
            || match self.brick_status() {
                Ok(st) if st.iter().all(|(_, up)| *up) => Ok(()),
                Ok(st) => Err(format!(
                    "offline: {}",
                    st.iter()
                        .filter(|(_, up)| !up)
                        .map(|(b, _)| b.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                Err(e) => Err(e.to_string()),
            },
        )
    }

    /// Stops and deletes the volume, removes its brick directories.
    pub fn destroy(mut self) -> Result<()> {
        self.teardown()
    }
}

impl OwnedVolume for ClusterVolume {
    fn volume_name(&self) -> &str {
        &self.name
    }

    fn removal_started(&mut self) -> &mut bool {
        &mut self.done
    }

    fn remove(&mut self) -> Result<()> {
        if self.cluster.is_torn_down() {
            return Ok(()); // everything went with the cluster
        }
        let mut first_err = None;
        if self.created {
            let cluster = &self.cluster;
            stop_and_delete(&self.name, |args| cluster.gluster_any(args), &mut first_err);
        }
        // The brick directories are the cluster's (under its tree), removed even when the
        // delete failed.
        for b in &self.bricks {
            remove_tree(&b.path, &mut first_err);
        }
        first_err.map_or(Ok(()), Err)
    }
}

impl Drop for ClusterVolume {
    fn drop(&mut self) {
        teardown_on_drop(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        assert_eq!(
            Layout::Replica {
                sets: 2,
                replica: 3
            }
            .bricks(),
            6
        );
        assert_eq!(
            Layout::Disperse {
                data: 4,
                redundancy: 2
            }
            .create_args(),
            ["disperse", "6", "redundancy", "2"]
        );
        assert!(Layout::Disperse {
            data: 2,
            redundancy: 2
        }
        .validate()
        .is_err());
        assert!(Layout::Replica {
            sets: 1,
            replica: 1
        }
        .validate()
        .is_err());
    }
}
