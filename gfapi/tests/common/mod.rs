// SPDX-License-Identifier: GPL-2.0-or-later
//! Local GlusterFS test volumes for the gfapi integration tests, made with
//! the `glusterrs-cluster` crate.
//!
//! Each volume is named `grs-gfapi-<tag>-<pid>-<n>-<time>` and gets its brick
//! in a fresh directory under the system temp dir; dropping it stops and
//! deletes the volume and removes the brick directory. What killed test
//! processes left behind is removed when the first volume of a process is
//! made.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Once;

use glusterrs_cluster::{Glusterd, Volume, VolumeSpec};

/// Prefix of the names of everything these tests create.
pub const PREFIX: &str = "grs-gfapi";

/// A started single-brick volume, removed on drop (see [`Volume`]).
pub struct TestVolume(Volume);

/// Start glusterd if it is not running and wait until the CLI answers; the
/// first call also removes what killed runs of these tests left behind.
pub fn ensure_glusterd() {
    static SETUP: Once = Once::new();
    SETUP.call_once(|| {
        Glusterd::ensure().expect("glusterd");
        if let Err(e) = glusterrs_cluster::cleanup_stale(PREFIX) {
            eprintln!("warning: cleanup of stale {PREFIX} volumes: {e}");
        }
    });
}

impl TestVolume {
    /// Create and start a fresh volume; `tag` goes into its name.
    pub fn create(tag: &str) -> TestVolume {
        Self::create_with(tag, &[])
    }

    /// Create, set `options` (`gluster volume set`), and start a volume.
    pub fn create_with(tag: &str, options: &[(&str, &str)]) -> TestVolume {
        ensure_glusterd();
        let spec = options.iter().fold(
            VolumeSpec::new().prefix(format!("{PREFIX}-{tag}")),
            |s, (k, v)| s.option(*k, *v),
        );
        TestVolume(Volume::create(spec).unwrap_or_else(|e| panic!("create volume {tag}: {e}")))
    }

    pub fn name(&self) -> &str {
        self.0.name()
    }

    pub fn brick(&self) -> PathBuf {
        self.0.bricks()[0].clone()
    }

    /// Path of glusterd's generated client volfile for this volume.
    pub fn client_volfile(&self) -> PathBuf {
        PathBuf::from(format!(
            "/var/lib/glusterd/vols/{0}/{0}.tcp-fuse.vol",
            self.name()
        ))
    }

    /// `gluster volume stop` (the drop deletes a stopped volume as well).
    pub fn stop(&self) {
        self.0.stop().expect("volume stop");
    }

    /// Connect with gfapi (localhost:24007), torn down with `SkipFini` (the
    /// documented fast path: every File is closed before the last drop).
    pub fn mount(&self) -> gfapi::Fs {
        let fs = gfapi::Volume::new(self.name())
            .init()
            .unwrap_or_else(|e| panic!("init {}: {e}", self.name()));
        fs.set_teardown(gfapi::Teardown::SkipFini);
        fs
    }
}

/// Number of open fds of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Number of threads of this process.
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Deterministic pseudo-random bytes (xorshift), so failures are repeatable.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
