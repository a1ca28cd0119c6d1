//! Removing a volume this crate created, written once for the host's [`Volume`](super::Volume)
//! and a cluster's volumes (`multinode/volume.rs`): they differ only in which glusterd
//! they ask and what they made around the volume, so each owner's teardown is a few calls
//! of these, going on after a failure and reporting the first one.

use std::fs;
use std::path::Path;

use crate::cmd::Output;
use crate::error::{Error, Result};

/// `gluster volume stop NAME force`, then `gluster volume delete NAME`, through `gluster`
/// (the host's CLI or a cluster's). A volume already stopped, or already gone, is fine;
/// any other failure goes to `first_err` (unless one is there) and the delete is tried
/// anyway. Returns whether the volume is gone.
pub(crate) fn stop_and_delete(
    name: &str,
    gluster: impl Fn(&[&str]) -> Result<Output>,
    first_err: &mut Option<Error>,
) -> bool {
    match gluster(&["volume", "stop", name, "force"]) {
        Ok(_) => {}
        Err(Error::Command { detail, .. }) if detail.contains("is not in the started state") => {}
        Err(e) => keep_first(first_err, e),
    }
    match gluster(&["volume", "delete", name]) {
        Ok(_) => true,
        Err(Error::Command { detail, .. }) if detail.contains("does not exist") => true,
        Err(e) => {
            keep_first(first_err, e);
            false
        }
    }
}

/// Removes the directory tree `dir` (one already gone is fine); a failure goes to
/// `first_err` unless one is there.
pub(crate) fn remove_tree(dir: &Path, first_err: &mut Option<Error>) {
    if let Err(e) = fs::remove_dir_all(dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            keep_first(first_err, Error::io("remove dir", dir, e));
        }
    }
}

/// Records `e` unless an earlier failure is recorded already.
pub(crate) fn keep_first(first_err: &mut Option<Error>, e: Error) {
    first_err.get_or_insert(e);
}

/// A volume this crate created, removed exactly once: by its `destroy`, by the rollback
/// of its failed creation ([`roll_back`]) or when dropped ([`teardown_on_drop`]). The
/// host's [`Volume`](super::Volume) and a cluster's volumes implement the removal itself.
pub(crate) trait OwnedVolume {
    /// Volume name, for the reports.
    fn volume_name(&self) -> &str;

    /// Whether the removal has started; set before it runs, so that a failed removal is
    /// not tried again by the Drop that follows.
    fn removal_started(&mut self) -> &mut bool;

    /// Stops and deletes the volume and removes what was made for it, going on after a
    /// failure; returns the first one.
    fn remove(&mut self) -> Result<()>;

    /// [`OwnedVolume::remove`] unless it ran already.
    fn teardown(&mut self) -> Result<()> {
        if std::mem::replace(self.removal_started(), true) {
            return Ok(());
        }
        self.remove()
    }
}

/// Undoes the creation of `vol`, which failed with `err`, and returns `err`: what the
/// undo failed to remove can only be printed.
pub(crate) fn roll_back(mut vol: impl OwnedVolume, err: Error) -> Error {
    if let Err(e) = vol.teardown() {
        eprintln!(
            "glusterrs-cluster: rollback of volume {} incomplete: {e}",
            vol.volume_name()
        );
    }
    err
}

/// The owners' `Drop`: the teardown, printing a failure (a Drop cannot return it).
pub(crate) fn teardown_on_drop(vol: &mut impl OwnedVolume) {
    if let Err(e) = vol.teardown() {
        eprintln!(
            "glusterrs-cluster: cleanup of volume {} failed: {e}",
            vol.volume_name()
        );
    }
}
