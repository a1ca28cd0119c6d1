// SPDX-License-Identifier: GPL-2.0-or-later
//! [`Stat`] and [`Space`]: file and volume metadata converted from
//! `struct stat` / `struct statvfs` (shared by [`crate::Fs`] and
//! [`crate::File`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Space and inodes of a volume, converted from `struct statvfs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Unit of the block counts, in bytes (`f_frsize`).
    pub fragment_size: u64,
    /// Size of the file system in blocks.
    pub blocks: u64,
    /// Free blocks, including those reserved for root.
    pub blocks_free: u64,
    /// Free blocks an unprivileged user may use.
    pub blocks_avail: u64,
    /// Inodes.
    pub files: u64,
    /// Free inodes.
    pub files_free: u64,
}

impl Space {
    /// Total size in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.blocks.saturating_mul(self.fragment_size)
    }

    /// Bytes an unprivileged writer can still use.
    pub fn avail_bytes(&self) -> u64 {
        self.blocks_avail.saturating_mul(self.fragment_size)
    }
}

/// File metadata, converted from `struct stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Device (gluster reports a value derived from the volume).
    pub dev: u64,
    /// Inode number (derived from the gfid).
    pub ino: u64,
    /// File type and permission bits (`libc::S_IF*` | mode).
    pub mode: u32,
    /// Number of hard links.
    pub nlink: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device id for special files.
    pub rdev: u64,
    /// Size in bytes.
    pub size: u64,
    /// Preferred I/O block size.
    pub blksize: u64,
    /// Allocated 512-byte blocks.
    pub blocks: u64,
    /// Last access.
    pub atime: SystemTime,
    /// Last modification.
    pub mtime: SystemTime,
    /// Last status change.
    pub ctime: SystemTime,
}

impl Stat {
    /// Is this a regular file?
    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }

    /// Is this a directory?
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }

    /// Permission bits only (`mode & 0o7777`).
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }
}

fn to_time(sec: i64, nsec: i64) -> SystemTime {
    let nsec = Duration::from_nanos(nsec.clamp(0, 999_999_999) as u64);
    let t = if sec >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(sec as u64))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(sec.unsigned_abs()))
    };
    t.and_then(|t| t.checked_add(nsec)).unwrap_or(UNIX_EPOCH)
}

impl From<libc::stat> for Stat {
    fn from(s: libc::stat) -> Stat {
        // Field widths differ between targets; these conversions are lossless
        // on Linux x86_64/aarch64 where every field fits the chosen type.
        #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
        Stat {
            dev: s.st_dev as u64,
            ino: s.st_ino as u64,
            mode: s.st_mode as u32,
            nlink: s.st_nlink as u64,
            uid: s.st_uid as u32,
            gid: s.st_gid as u32,
            rdev: s.st_rdev as u64,
            size: s.st_size.max(0) as u64,
            blksize: s.st_blksize.max(0) as u64,
            blocks: s.st_blocks.max(0) as u64,
            atime: to_time(s.st_atime as i64, s.st_atime_nsec as i64),
            mtime: to_time(s.st_mtime as i64, s.st_mtime_nsec as i64),
            ctime: to_time(s.st_ctime as i64, s.st_ctime_nsec as i64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_conversion() {
        // SAFETY: all-zero is a valid libc::stat.
        let mut s: libc::stat = unsafe { std::mem::zeroed() };
        s.st_mode = libc::S_IFREG | 0o640;
        s.st_size = 12345;
        s.st_mtime = 1_700_000_000;
        s.st_mtime_nsec = 5;
        s.st_atime = -1;
        let st = Stat::from(s);
        assert!(st.is_file() && !st.is_dir());
        assert_eq!(st.permissions(), 0o640);
        assert_eq!(st.size, 12345);
        assert_eq!(
            st.mtime,
            UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_nanos(5)
        );
        assert_eq!(st.atime, UNIX_EPOCH - Duration::from_secs(1));
    }
}
