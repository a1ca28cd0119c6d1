// SPDX-License-Identifier: GPL-2.0-or-later
//! [`Volume::init`]: picks the way to open what a [`Volume`] describes —
//! gfapi's own volfile handling (`connect.rs`: volfile servers, custom
//! volfile) or rpc-bypass (`posix_bypass/`).

use crate::error::Result;
use crate::fs::Fs;
use crate::posix_bypass;
use crate::volume::Volume;

impl Volume {
    /// Connect: create the gfapi instance, fetch the volfile, build the
    /// client graph and connect to the bricks.
    ///
    /// Errors are specific and fast:
    ///
    /// * [`Error::Volfile`](crate::Error::Volfile) — `"cannot read volfile /p: ..."` (checked before
    ///   gfapi is involved);
    /// * [`Error::InvalidVolfile`](crate::Error::InvalidVolfile) — `"invalid volfile /p, line 3: ..."`
    ///   (syntax checked before gfapi is involved, because a volfile that
    ///   fails to parse breaks gfapi's parser for the rest of the process);
    /// * [`Error::VolumeNotFound`](crate::Error::VolumeNotFound) — `"volume 'x' not found on localhost:24007"`;
    /// * [`Error::ServerUnreachable`](crate::Error::ServerUnreachable) — nothing listening, unknown host,
    ///   missing unix socket (milliseconds);
    /// * [`Error::InitTimeout`](crate::Error::InitTimeout) — the server accepted but never answered
    ///   within [`init_timeout`](Volume::init_timeout);
    /// * [`Error::Init`](crate::Error::Init) — anything else (e.g. volume not started), with errno
    ///   and a hint.
    ///
    /// A failed instance is finalised on a background thread (on GlusterFS 10
    /// that can take ~10 s), so the error returns at once.
    ///
    /// ```no_run
    /// match gfapi::Volume::new("nosuchvol").init() {
    ///     Err(gfapi::Error::VolumeNotFound { volume, servers }) => {
    ///         eprintln!("no volume {volume} on {servers}")
    ///     }
    ///     Err(e) => eprintln!("{e}"),
    ///     Ok(_fs) => {}
    /// }
    /// ```
    pub fn init(self) -> Result<Fs> {
        if self.posix.is_set() {
            return posix_bypass::init(
                &self.posix,
                &self.name,
                self.volfile.is_some() || !self.servers.is_empty(),
                &self.log_file,
                self.log_level,
                &self.xlator_options,
            );
        }
        self.connect()
    }
}
