//! A cluster's state file (`/run/glusterrs-cluster/NAME.json`, rewritten as each piece is
//! made) and the lock that serialises bring-ups; attaching to a recorded cluster,
//! detaching from it, and the clusters recorded on this machine.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{Cluster, State, STATE_DIR};
use crate::error::{Error, Result};
use crate::procfs::creator_alive;

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
pub(super) struct StateLock(#[allow(dead_code)] fs::File);

impl StateLock {
    pub(super) fn take() -> Result<StateLock> {
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
        Ok(Cluster::from_state(state))
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

    pub(super) fn state(&self) -> State {
        self.inner
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) fn update(&self, f: impl FnOnce(&mut State)) -> Result<()> {
        {
            let mut st = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut st);
        }
        self.save()
    }

    pub(super) fn save(&self) -> Result<()> {
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
}
