// SPDX-License-Identifier: GPL-2.0-or-later
//! rpc-bypass where the GlusterFS version was not verified at build time
//! (no `cfg(gfapi_posix_bypass)`): every entry point says so.

use std::path::Path;

use crate::error::{Error, Result};
use crate::fs::Fs;
use crate::volume::PosixConfig;

fn unsupported() -> Error {
    Error::Unsupported(format!(
        "rpc-bypass (Volume::posix) is not available in this build: GlusterFS {} \
         headers/layout not verified (see the build warnings)",
        option_env!("GFAPI_GLUSTER_VERSION").unwrap_or("?")
    ))
}

pub(super) fn init(
    _dir: &Path,
    _cfg: &PosixConfig,
    _name: &str,
    _via: &str,
    _log_file: &Path,
    _log_level: i32,
    _xlator_options: &[(String, String, String)],
) -> Result<Fs> {
    Err(unsupported())
}

pub(super) fn support_version() -> Result<String> {
    Err(unsupported())
}
