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

mod cluster_volume;
mod cmd;
mod error;
mod glusterd;
mod mount;
mod multinode;
mod netns;
mod procfs;
mod stale;
mod volfile;
mod volume;
mod xml;

pub use cluster_volume::{
    brick_files, ClusterBrick, ClusterVolume, ClusterVolumeSpec, HealEntry, Layout,
};
pub use cmd::Interrupt;
pub use error::{Error, Result};
pub use glusterd::{ensure_glusterd, Glusterd};
pub use mount::FuseMount;
pub use multinode::{
    cleanup_stale_clusters, list_clusters, state_file, ClientNs, Cluster, ClusterSpec, Node,
    DEFAULT_ROOT, NODE_IFACE, STATE_DIR,
};
pub use netns::{Subnet, MAX_CLIENTS, MAX_NODES};
pub use stale::{cleanup_stale, parse_unique_name, CleanupReport};
pub use volfile::{client_volfile, posix_volfile, Transport};
pub use volume::{
    brick_host, list_volumes, unique_name, volume_exists, BrickStatus, Volume, VolumeSpec,
    DEFAULT_PREFIX, GLUSTERD_PORT, SERVER_HOST,
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
