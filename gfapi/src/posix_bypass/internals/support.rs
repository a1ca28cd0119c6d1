// SPDX-License-Identifier: GPL-2.0-or-later
//! Whether rpc-bypass may run here, established once per process: posix.so
//! is loaded from gluster's XLATORDIR, its version must be the one this
//! crate was built against and one whose layouts were verified, and its
//! fops table must be writable (for workaround 2, installed here).

use std::ffi::CStr;
use std::ptr;
use std::sync::OnceLock;

use super::gluster_10_3;
use crate::bindings::gi;
use crate::error::{Error, Result};

/// Versions whose layouts were verified (keep in sync with
/// `build_posix_bypass.rs`).
const VERIFIED_VERSIONS: &[&str] = &["10.3"];
/// The version this crate was compiled against (`glusterfs-api.pc`).
pub(super) const BUILT_VERSION: &str = env!("GFAPI_GLUSTER_VERSION");

/// What [`support`] established once per process.
pub(super) struct Support {
    pub(super) version: String,
    /// posix's `struct xlator_fops` (in posix.so's writable data).
    pub(super) fops: usize,
}

static SUPPORT: OnceLock<std::result::Result<Support, String>> = OnceLock::new();

/// Once per process: load posix.so the way gluster will (from its
/// XLATORDIR), check the installed version against the verified one,
/// and wrap posix's `lookup` (workaround 2). The handle is never closed,
/// so posix.so — and the wrapped table — stay mapped for the process
/// lifetime.
pub(super) fn support() -> Result<&'static Support> {
    SUPPORT
        .get_or_init(|| {
            // SAFETY: called after glfs_new (libglusterfs globals are set
            // up); see probe's own comments.
            unsafe { probe() }
        })
        .as_ref()
        .map_err(|e| Error::Unsupported(e.clone()))
}

unsafe fn probe() -> std::result::Result<Support, String> {
    let mut handle: *mut libc::c_void = ptr::null_mut();
    // SAFETY: all-zero is a valid volume_opt_list_t (list head + ptr);
    // xlator_volopt_dynload only stores into `given_opt`.
    let mut opts: gi::volume_opt_list_t = unsafe { std::mem::zeroed() };
    let ty = c"storage/posix";
    // SAFETY: valid C string (not modified despite the `char *`),
    // out-pointers to live locals.
    let rc = unsafe {
        gi::xlator_volopt_dynload(ty.as_ptr() as *mut libc::c_char, &mut handle, &mut opts)
    };
    if rc != 0 || handle.is_null() {
        return Err(
            "cannot load the storage/posix translator (glusterfs-common \
                    installed?)"
                .into(),
        );
    }
    // SAFETY: handle is a live dlopen handle; symbol name is a C string.
    let api = unsafe { libc::dlsym(handle, c"xlator_api".as_ptr()) } as *mut gi::xlator_api_t;
    if api.is_null() {
        return Err("storage/posix has no xlator_api".into());
    }
    // SAFETY: zeroed Dl_info is valid; dladdr fills it for an address
    // inside a loaded object.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    if unsafe { libc::dladdr(api as *const libc::c_void, &mut info) } == 0
        || info.dli_fname.is_null()
    {
        return Err("cannot locate posix.so".into());
    }
    // SAFETY: dli_fname is a NUL-terminated string owned by the loader.
    let path = unsafe { CStr::from_ptr(info.dli_fname) }
        .to_string_lossy()
        .into_owned();
    let version = xlator_dir_version(&path)
        .ok_or_else(|| format!("cannot tell the GlusterFS version from {path}"))?;
    if version != BUILT_VERSION {
        return Err(format!(
            "the installed GlusterFS is {version} ({path}) but this crate was built against \
             {BUILT_VERSION}; rebuild"
        ));
    }
    if !VERIFIED_VERSIONS.contains(&version.as_str()) {
        return Err(format!(
            "rpc-bypass relies on GlusterFS internals verified only for {VERIFIED_VERSIONS:?}, \
             not {version}"
        ));
    }
    // SAFETY: api points to posix's xlator_api_t (checked symbol).
    let fops = unsafe { (*api).fops };
    if fops.is_null() {
        return Err("storage/posix has no fops table".into());
    }
    if !writable(fops as usize, std::mem::size_of::<gi::xlator_fops>()) {
        return Err("storage/posix's fops table is not in writable memory".into());
    }
    // SAFETY: fops is posix's table in writable memory; no posix graph
    // exists in this process yet (this runs before the first rpc-bypass
    // glfs_init, and nothing else loads storage/posix in a client), so
    // nobody reads `lookup` concurrently.
    unsafe { gluster_10_3::wrap_lookup(fops)? };
    Ok(Support {
        version,
        fops: fops as usize,
    })
}

/// ".../glusterfs/10.3/xlator/storage/posix.so" -> "10.3".
fn xlator_dir_version(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    parts.windows(3).find_map(|w| {
        (w[0] == "glusterfs" && w[2] == "xlator" && w[1].starts_with(|c: char| c.is_ascii_digit()))
            .then(|| w[1].to_string())
    })
}

/// Is `[addr, addr+len)` inside one writable mapping of this process?
fn writable(addr: usize, len: usize) -> bool {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return false;
    };
    maps.lines().any(|l| {
        let mut it = l.split_whitespace();
        let (Some(range), Some(perms)) = (it.next(), it.next()) else {
            return false;
        };
        let Some((a, b)) = range.split_once('-') else {
            return false;
        };
        let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) else {
            return false;
        };
        perms.as_bytes().get(1) == Some(&b'w') && a <= addr && addr + len <= b
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_from_xlator_path() {
        assert_eq!(
            xlator_dir_version("/usr/lib/x86_64-linux-gnu/glusterfs/10.3/xlator/storage/posix.so")
                .as_deref(),
            Some("10.3")
        );
        assert_eq!(
            xlator_dir_version("/usr/lib64/glusterfs/11.1/xlator/x.so").as_deref(),
            Some("11.1")
        );
        assert_eq!(xlator_dir_version("/opt/posix.so"), None);
    }
}
