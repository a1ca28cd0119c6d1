//! Local GlusterFS bring-up and tear-down for glusterrs' tests and benchmark harness.
//!
//! * [`Glusterd::ensure`] starts `glusterd` if none runs and remembers whether it did.
//! * [`Volume::create`] makes a started volume on fresh brick directories
//!   ([`VolumeSpec`]: bricks, replica, options) and removes it all on drop.
//! * [`FuseMount::mount`] mounts a volume with `mount -t glusterfs`, unmounted on drop.
//! * [`client_volfile`] and [`posix_volfile`] write the minimal graphs of the
//!   `bypass-custom` and `rpc-bypass` setups.
//! * [`cleanup_stale`] removes what crashed earlier runs left behind.
//! * [`Cluster::up`] brings up a multi-node cluster on this machine (one network and
//!   mount namespace per node, each with its own glusterd, on a private bridge);
//!   [`Cluster::create_volume`] makes replicated or dispersed volumes across its nodes,
//!   and nodes can be killed, cut off and brought back.
//!
//! Every external command runs in a process group of its own, so a terminal's Ctrl-C
//! reaches only the calling program; an [`Interrupt`] flag (set from its signal handler)
//! stops [`Volume::create`] at the next step and rolls back what was done.
//!
//! Every external command runs without a shell (`std::process::Command` with separate
//! arguments) and with a time limit. Inputs GlusterFS itself cannot handle (whitespace
//! in brick paths or mountpoints, for instance) are refused with [`Error::Invalid`]
//! before anything is created. Teardown removes only what this crate created.
//!
//! # Layout
//!
//! The modules form layers; each uses only the layers before it
//! (`scripts/check-layout` checks that there is no cycle):
//!
//! 1. the plain pieces every layer shares: `error.rs`, `cmd.rs` (external commands
//!    without a shell, with time limits; waiting; [`Interrupt`]), `procfs.rs` (processes
//!    and mounts from /proc), `xml.rs` (`gluster --xml` answers), `names.rs` (what
//!    gluster accepts as volume names, brick paths and options; [`unique_name`]);
//! 2. the host's management daemon: `glusterd.rs` ([`Glusterd`], [`GLUSTERD_PORT`]);
//! 3. volumes on it: `volume/` ([`Volume`]'s life in `mod.rs`, [`VolumeSpec`] and the
//!    [`CommonVolumeSpec`] every volume spec embeds in `spec.rs`, the brick processes in
//!    `bricks.rs`, the steps of removing a volume in `teardown.rs`, which cluster volumes
//!    use too);
//! 4. what is made of a volume: `mount.rs` ([`FuseMount`], [`Volume::mount_fuse`]),
//!    `volfile.rs` (the bypass setups' volfiles), and `stale.rs` ([`cleanup_stale`],
//!    which undoes what crashed runs left of the layers below);
//! 5. clusters of several nodes on this machine: `multinode/` (network and namespaces,
//!    node processes, the trusted pool, bring-up and teardown, [`ClusterVolume`]s and
//!    the checks after a fault; its `mod.rs` lists the files).
//!
//! ```no_run
//! use glusterrs_cluster::{Glusterd, Volume, VolumeSpec};
//!
//! # fn main() -> glusterrs_cluster::Result<()> {
//! let _glusterd = Glusterd::ensure()?;
//! let vol = Volume::create(VolumeSpec::new().replica(3).option("performance.strict-o-direct", "on"))?;
//! let mnt = vol.mount_fuse()?;
//! std::fs::write(mnt.path().join("hello"), b"world").unwrap();
//! drop(mnt);
//! vol.destroy()?;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// Layers, each using only those above it in this list (see "Layout" above):
// the plain pieces every layer shares;
mod cmd;
mod error;
mod names;
mod procfs;
mod xml;
// the host's glusterd;
mod glusterd;
// volumes on it;
mod volume;
// what is made of a volume, and cleaning up after crashed runs;
mod mount;
mod stale;
mod volfile;
// clusters of several nodes in namespaces, and their volumes.
mod multinode;

pub use cmd::Interrupt;
pub use error::{Error, Result};
pub use glusterd::{ensure_glusterd, Glusterd, GLUSTERD_PORT, SERVER_HOST};
pub use mount::FuseMount;
pub use multinode::{
    brick_files, cleanup_stale_clusters, list_clusters, state_file, ClientNs, Cluster,
    ClusterBrick, ClusterSpec, ClusterVolume, ClusterVolumeSpec, HealEntry, Layout, Node, Progress,
    Subnet, DEFAULT_ROOT, MAX_CLIENTS, MAX_NODES, NODE_IFACE, STATE_DIR,
};
pub use names::{parse_unique_name, unique_name, DEFAULT_PREFIX};
pub use stale::{cleanup_stale, CleanupReport};
pub use volfile::{client_volfile, posix_volfile, Transport};
pub use volume::{
    brick_host, list_volumes, volume_exists, BrickStatus, CommonVolumeSpec, Volume, VolumeSpec,
};

#[cfg(test)]
mod tests {
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn guards_cross_threads() {
        send_sync::<super::Volume>();
        send_sync::<super::FuseMount>();
        send_sync::<super::Glusterd>();
        send_sync::<super::Error>();
        send_sync::<super::Interrupt>();
    }
}
