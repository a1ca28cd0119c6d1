// SPDX-License-Identifier: GPL-2.0-or-later
//! The volfile rpc-bypass generates for a brick directory (posix, optionally
//! io-threads and read-only on top) and the temporary file gfapi reads it from.

use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Volfile text for `dir` (already canonical, no newline).
#[cfg_attr(not(gfapi_posix_bypass), allow(dead_code))]
pub(super) fn volfile_text(dir: &Path, read_only: bool, io_threads: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(
        b"volume rpc-bypass-posix\n    type storage/posix\n    option directory \"",
    );
    for &b in dir.as_os_str().as_bytes() {
        if b == b'"' || b == b'\\' {
            v.push(b'\\');
        }
        v.push(b);
    }
    v.extend_from_slice(b"\"\n");
    // The health check would kill() the host process after a failed check.
    v.extend_from_slice(b"    option health-check-interval 0\n");
    if read_only {
        // Leave .glusterfs/landfill to the brick process.
        v.extend_from_slice(b"    option janitor-sleep-duration 86400\n");
        // Without ctime posix reports the inode's own times instead of
        // fetching trusted.glusterfs.mdata after every read (one fgetxattr
        // per I/O, issue 12). A reader has no times of its own to keep, and
        // posix then writes no mdata xattr either.
        v.extend_from_slice(b"    option ctime off\n");
    }
    v.extend_from_slice(b"end-volume\n");
    let mut below = "rpc-bypass-posix";
    if io_threads > 0 {
        v.extend_from_slice(
            format!(
                "\nvolume rpc-bypass-io-threads\n    type performance/io-threads\n    \
                 option thread-count {io_threads}\n    subvolumes {below}\nend-volume\n"
            )
            .as_bytes(),
        );
        below = "rpc-bypass-io-threads";
    }
    if read_only {
        v.extend_from_slice(
            format!(
                "\nvolume rpc-bypass-read-only\n    type features/read-only\n    \
                 option read-only on\n    subvolumes {below}\nend-volume\n"
            )
            .as_bytes(),
        );
    }
    v
}

/// A volfile in the temp dir, removed on drop (gfapi reads it during
/// `glfs_init` only).
#[cfg_attr(not(gfapi_posix_bypass), allow(dead_code))]
pub(super) struct TempVolfile(pub(super) PathBuf);

#[cfg_attr(not(gfapi_posix_bypass), allow(dead_code))]
impl TempVolfile {
    pub(super) fn create(text: &[u8]) -> io::Result<TempVolfile> {
        use std::os::unix::fs::OpenOptionsExt;
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        loop {
            let n = N.fetch_add(1, Ordering::Relaxed);
            let p = std::env::temp_dir()
                .join(format!("gfapi-rpc-bypass-{}-{n}.vol", std::process::id()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&p)
            {
                Ok(mut f) => {
                    let t = TempVolfile(p);
                    f.write_all(text)?;
                    return Ok(t);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for TempVolfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volfile_quotes_the_directory() {
        let t = volfile_text(Path::new("/a \"b\"\\c"), false, 0);
        let t = String::from_utf8(t).unwrap();
        assert!(
            t.contains("option directory \"/a \\\"b\\\"\\\\c\"\n"),
            "{t}"
        );
        assert!(t.contains("option health-check-interval 0"));
        assert!(!t.contains("read-only"));
        // A writer keeps posix's mdata xattr up to date, as the brick would.
        assert!(!t.contains("ctime"), "{t}");
        let ro = String::from_utf8(volfile_text(Path::new("/b"), true, 0)).unwrap();
        assert!(
            ro.contains("type features/read-only") && ro.contains("subvolumes rpc-bypass-posix")
        );
        assert!(ro.contains("    option ctime off\n"), "{ro}");
        let both = String::from_utf8(volfile_text(Path::new("/b"), true, 8)).unwrap();
        assert!(
            both.contains("option thread-count 8\n    subvolumes rpc-bypass-posix"),
            "{both}"
        );
        assert!(both.contains("subvolumes rpc-bypass-io-threads"), "{both}");
    }
}
