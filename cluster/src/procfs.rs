//! Small readers of /proc: processes, mounts, host name.

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// The kernel's clock tick for /proc times (USER_HZ, 100 on every Linux ABI we run on).
const USER_HZ: u64 = 100;

/// State letter and start time (ticks after boot) of a process, from /proc/PID/stat.
fn stat_of(pid: u32) -> Option<(char, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `comm` is in parentheses and may contain anything: fields restart after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// True when `pid` names a live (not zombie) process.
pub(crate) fn pid_alive(pid: u32) -> bool {
    matches!(stat_of(pid), Some((state, _)) if state != 'Z' && state != 'X')
}

/// True while /proc still lists `pid`, zombie or not. glusterd checks brick pids with
/// `kill(pid, 0)`, which succeeds on a zombie that init has not reaped yet.
pub(crate) fn pid_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Wall-clock start time of `pid` in seconds since the epoch.
pub(crate) fn process_start_unix(pid: u32) -> Option<u64> {
    let (_, ticks) = stat_of(pid)?;
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let btime: u64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(btime + ticks / USER_HZ)
}

/// Seconds since the epoch, now.
pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Whether the process that created something at `created_unix` under `pid` still runs.
/// A live process that started after the creation time is a different process that got
/// the same pid, so the creator is gone.
pub(crate) fn creator_alive(pid: u32, created_unix: u64) -> bool {
    if !pid_alive(pid) {
        return false;
    }
    match process_start_unix(pid) {
        // 2 s of slack for tick rounding.
        Some(start) => start <= created_unix + 2,
        None => true,
    }
}

/// Every pid /proc lists (none when /proc cannot be read).
fn all_pids() -> impl Iterator<Item = u32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
}

/// Pids of live processes whose `comm` is exactly `name` (like `pgrep -x`).
pub(crate) fn pids_by_comm(name: &str) -> Vec<u32> {
    let mut out: Vec<u32> = all_pids()
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim_end_matches('\n') == name)
                && pid_alive(*pid)
        })
        .collect();
    out.sort_unstable();
    out
}

/// Pids of live processes whose argv satisfies `pred`.
pub(crate) fn pids_by_cmdline(pred: impl Fn(&[String]) -> bool) -> Vec<u32> {
    let mut out: Vec<u32> = all_pids()
        .filter(|pid| {
            let Ok(raw) = fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let argv: Vec<String> = raw
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            !argv.is_empty() && pred(&argv) && pid_alive(*pid)
        })
        .collect();
    out.sort_unstable();
    out
}

/// One line of /proc/mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountEntry {
    pub source: String,
    pub target: PathBuf,
    pub fstype: String,
}

/// Undoes the octal escapes (`\040` for space, ...) the kernel uses in /proc/mounts.
pub(crate) fn unescape_mount_field(field: &str) -> String {
    String::from_utf8_lossy(&unescape_bytes(field)).into_owned()
}

fn unescape_bytes(field: &str) -> Vec<u8> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let oct = &bytes[i + 1..i + 4];
            if oct.iter().all(|b| (b'0'..=b'7').contains(b)) {
                let v = oct
                    .iter()
                    .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                if let Ok(v) = u8::try_from(v) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

pub(crate) fn parse_mounts(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split(' ');
            let source = unescape_mount_field(f.next()?);
            let target = PathBuf::from(OsString::from_vec(unescape_bytes(f.next()?)));
            let fstype = unescape_mount_field(f.next()?);
            Some(MountEntry {
                source,
                target,
                fstype,
            })
        })
        .collect()
}

/// Current mounts of this mount namespace.
pub(crate) fn mounts() -> Result<Vec<MountEntry>> {
    let text =
        fs::read_to_string("/proc/mounts").map_err(|e| Error::io("read", "/proc/mounts", e))?;
    Ok(parse_mounts(&text))
}

/// True when something is mounted exactly on `path`.
pub(crate) fn is_mounted(path: &Path) -> bool {
    mounts()
        .map(|m| m.iter().any(|e| e.target == path))
        .unwrap_or(false)
}

/// The machine's host name (what `hostname` prints).
pub(crate) fn hostname() -> Result<String> {
    let path = "/proc/sys/kernel/hostname";
    let name = fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid(
            "host name",
            name,
            "the kernel host name is empty",
        ));
    }
    Ok(name.to_string())
}

/// The log file name GlusterFS derives from a path: leading '/' dropped, '/' -> '-'.
pub(crate) fn gluster_log_name(path: &Path) -> String {
    let s = path.to_string_lossy();
    format!("{}.log", s.trim_start_matches('/').replace('/', "-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_is_alive() {
        let me = std::process::id();
        assert!(pid_alive(me));
        let start = process_start_unix(me).unwrap();
        assert!(start <= now_unix() + 1);
        assert!(creator_alive(me, now_unix()));
        // Created long before this process started: the pid was reused.
        assert!(!creator_alive(me, start.saturating_sub(3600)));
        assert!(!pid_alive(u32::MAX - 1));
    }

    #[test]
    fn mounts_unescape() {
        let m = parse_mounts(
            "localhost:/v /tmp/a\\040b;c fuse.glusterfs rw 0 0\nproc /proc proc rw 0 0\n",
        );
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].target, PathBuf::from("/tmp/a b;c"));
        assert_eq!(m[0].fstype, "fuse.glusterfs");
        assert_eq!(unescape_mount_field("a\\134b\\011"), "a\\b\t");
        assert_eq!(unescape_mount_field("end\\04"), "end\\04");
    }

    #[test]
    fn log_names() {
        assert_eq!(
            gluster_log_name(Path::new("/tmp/x;y/b0")),
            "tmp-x;y-b0.log".to_string()
        );
    }

    #[test]
    fn finds_own_process() {
        let me = std::process::id();
        let comm = fs::read_to_string("/proc/self/comm").unwrap();
        assert!(pids_by_comm(comm.trim()).contains(&me));
        assert!(pids_by_cmdline(|_| true).contains(&me));
    }
}
