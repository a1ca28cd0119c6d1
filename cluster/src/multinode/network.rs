//! The network pieces of a [`crate::Cluster`]: a private /24, a bridge, network
//! namespaces joined to it by veth pairs, and the processes inside a namespace.
//!
//! Everything goes through `ip(8)` (iproute2) without a shell; what the kernel lacks
//! (network namespaces, bridges, veth pairs) is named in the error.

use std::fmt;
use std::fs;
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cmd::Cmd;
use crate::error::{Error, Result};

/// Where `ip netns add` binds its namespaces.
pub(crate) const NETNS_DIR: &str = "/run/netns";
const IP_TIMEOUT: Duration = Duration::from_secs(20);

/// A private IPv4 /24 for a cluster: the host end of the bridge is `.1`, node `k` (from 1)
/// is `.10+k`, client namespace `k` is `.100+k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Subnet {
    /// First three octets.
    pub prefix: [u8; 3],
}

/// Most nodes a cluster may have (`.11` to `.60`).
pub const MAX_NODES: usize = 50;
/// Most client namespaces a cluster may have (`.101` to `.150`).
pub const MAX_CLIENTS: usize = 50;
/// Third octets [`Subnet::pick_free`] tries in `10.213.X.0/24`.
const AUTO_RANGE: std::ops::Range<u8> = 0..250;

impl Subnet {
    /// `A.B.C.0/24` (or `A.B.C.0`), which must lie in a private range (RFC 1918).
    pub fn parse(text: &str) -> Result<Subnet> {
        let bad = |reason: &str| Error::invalid("subnet", text, reason.to_string());
        let addr = text.strip_suffix("/24").unwrap_or(text);
        if text.contains('/') && !text.ends_with("/24") {
            return Err(bad("only /24 subnets are supported (A.B.C.0/24)"));
        }
        let ip: Ipv4Addr = addr
            .parse()
            .map_err(|_| bad("not an IPv4 address A.B.C.0/24"))?;
        let o = ip.octets();
        if o[3] != 0 {
            return Err(bad("the last octet must be 0 (A.B.C.0/24)"));
        }
        if !ip.is_private() {
            return Err(bad(
                "not a private address (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16): \
                 cluster traffic must stay on this machine",
            ));
        }
        Ok(Subnet {
            prefix: [o[0], o[1], o[2]],
        })
    }

    fn host(&self, last: u8) -> Ipv4Addr {
        Ipv4Addr::new(self.prefix[0], self.prefix[1], self.prefix[2], last)
    }

    /// The host (bridge) address, `.1`.
    pub fn bridge_ip(&self) -> Ipv4Addr {
        self.host(1)
    }

    /// Address of node `k` (1-based), `.10+k`.
    pub fn node_ip(&self, k: usize) -> Ipv4Addr {
        self.host(10 + k as u8)
    }

    /// Address of client namespace `k` (1-based), `.100+k`.
    pub fn client_ip(&self, k: usize) -> Ipv4Addr {
        self.host(100 + k as u8)
    }

    fn network(&self) -> u32 {
        u32::from(self.host(0))
    }

    /// Whether `addr/len` overlaps this /24.
    fn overlaps(&self, addr: Ipv4Addr, len: u8) -> bool {
        if len == 0 {
            return false; // a default route covers everything; it is not "using" the subnet
        }
        let len = len.min(32);
        let common = len.min(24);
        let mask = if common == 0 {
            0
        } else {
            u32::MAX << (32 - common)
        };
        (u32::from(addr) & mask) == (self.network() & mask)
    }

    /// Refuses when an interface address or a route of this machine (any table) uses
    /// the subnet, naming it.
    pub fn check_free(&self) -> Result<()> {
        for (what, addr, len) in used_prefixes()? {
            if self.overlaps(addr, len) {
                return Err(Error::invalid(
                    "subnet",
                    self.to_string(),
                    format!(
                        "already in use on this machine ({what}); choose another with --subnet"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The first `10.213.X.0/24` no address or route of this machine uses.
    pub fn pick_free() -> Result<Subnet> {
        let used = used_prefixes()?;
        AUTO_RANGE
            .map(|x| Subnet {
                prefix: [10, 213, x],
            })
            .find(|s| !used.iter().any(|(_, a, l)| s.overlaps(*a, *l)))
            .ok_or_else(|| {
                Error::invalid(
                    "subnet",
                    "10.213.0.0/16",
                    "every 10.213.X.0/24 is in use on this machine; give one with --subnet",
                )
            })
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c] = self.prefix;
        write!(f, "{a}.{b}.{c}.0/24")
    }
}

/// Every IPv4 prefix an interface address or a route uses, with where it was seen.
fn used_prefixes() -> Result<Vec<(String, Ipv4Addr, u8)>> {
    let mut out = Vec::new();
    let addrs = ip(["-o", "-4", "addr", "show"])?;
    for line in addrs.lines() {
        // "2: eth0    inet 192.0.2.2/24 brd ... scope global eth0"
        let f: Vec<&str> = line.split_whitespace().collect();
        if let Some(i) = f.iter().position(|w| *w == "inet") {
            if let Some((a, l)) = f.get(i + 1).and_then(|c| parse_cidr(c)) {
                out.push((format!("address {a}/{l} on {}", f[1]), a, l));
            }
        }
    }
    let routes = ip(["-4", "route", "show", "table", "all"])?;
    for line in routes.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        // "[type] PREFIX ...": the first field that parses as an address is the prefix.
        if let Some((a, l)) = f.iter().take(2).find_map(|w| parse_cidr(w)) {
            out.push((format!("route `{}`", line.trim()), a, l));
        }
    }
    Ok(out)
}

fn parse_cidr(text: &str) -> Option<(Ipv4Addr, u8)> {
    let (a, l) = match text.split_once('/') {
        Some((a, l)) => (a, l.parse().ok()?),
        None => (text, 32),
    };
    Some((a.parse().ok()?, l))
}

/// `ip ARGS...`, failing with the command's own words.
pub(crate) fn ip<I, S>(args: I) -> Result<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Ok(Cmd::new("ip").args(args).timeout(IP_TIMEOUT).run()?.stdout)
}

/// Refuses clearly where this machine cannot host a cluster: no `ip`, no network
/// namespaces, no bridge or veth support in the kernel, no `unshare`/`nsenter`.
pub(crate) fn check_support(probe_name: &str) -> Result<()> {
    let missing = |what: &str, detail: String| Error::Unsupported {
        missing: what.to_string(),
        detail,
    };
    for tool in ["ip", "unshare", "nsenter", "glusterd", "gluster"] {
        if which(tool).is_none() {
            return Err(missing(
                tool,
                format!("`{tool}` is not on PATH (iproute2, util-linux, glusterfs-server)"),
            ));
        }
    }
    if !Path::new("/proc/self/ns/net").exists() {
        return Err(missing(
            "network namespaces",
            "/proc/self/ns/net is absent: the kernel lacks CONFIG_NET_NS".into(),
        ));
    }
    if !Path::new("/proc/self/ns/mnt").exists() {
        return Err(missing(
            "mount namespaces",
            "/proc/self/ns/mnt is absent".into(),
        ));
    }
    // Try the three kinds of object once, with throw-away names, and remove them.
    let ns = format!("{probe_name}-probe");
    let br = format!("{probe_name}p");
    let veth = format!("{probe_name}q");
    let undo = || {
        let _ = ip(["link", "del", &br]);
        let _ = ip(["link", "del", &veth]);
        let _ = ip(["netns", "del", &ns]);
    };
    let res = (|| {
        ip(["netns", "add", &ns])
            .map_err(|e| missing("network namespaces", format!("`ip netns add` failed: {e}")))?;
        ip(["link", "add", &br, "type", "bridge"]).map_err(|e| {
            missing(
                "bridge support",
                format!("`ip link add type bridge` failed (kernel module `bridge`?): {e}"),
            )
        })?;
        ip([
            "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ])
        .map_err(|e| {
            missing(
                "veth support",
                format!("`ip link add type veth` failed (kernel module `veth`?): {e}"),
            )
        })?;
        Ok(())
    })();
    undo();
    res
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Path of a named network namespace.
pub(crate) fn netns_path(name: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(name)
}

/// Whether `ip netns` knows the namespace.
pub(crate) fn netns_exists(name: &str) -> bool {
    netns_path(name).exists()
}

/// Whether a network interface of this name exists in the host namespace.
pub(crate) fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// (device, inode) identifying a namespace file.
fn ns_id(path: &Path) -> Option<(u64, u64)> {
    fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Pids of the live processes whose network namespace is the named one (like
/// `ip netns pids`).
pub(crate) fn pids_in_netns(name: &str) -> Vec<u32> {
    let Some(want) = ns_id(&netns_path(name)) else {
        return Vec::new();
    };
    let mut out: Vec<u32> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            ns_id(Path::new(&format!("/proc/{pid}/ns/net"))) == Some(want)
                && crate::procfs::pid_alive(*pid)
        })
        .collect();
    out.sort_unstable();
    out
}

/// The mount namespace inode of `pid`, `None` when it is gone.
pub(crate) fn mnt_ns_inode(pid: u32) -> Option<u64> {
    ns_id(Path::new(&format!("/proc/{pid}/ns/mnt"))).map(|(_, ino)| ino)
}

/// Short interface-name stem for a cluster (interface names have at most 15 bytes): `gc`
/// and 6 hex digits of a hash of the cluster name.
pub(crate) fn link_stem(cluster: &str) -> String {
    // FNV-1a: stable across runs and Rust versions (the names are recorded and compared).
    let mut h: u32 = 0x811c_9dc5;
    for b in cluster.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("gc{:06x}", h & 0x00ff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets() {
        let s = Subnet::parse("10.213.7.0/24").unwrap();
        assert_eq!(s.to_string(), "10.213.7.0/24");
        assert_eq!(s.node_ip(1).to_string(), "10.213.7.11");
        assert_eq!(s.client_ip(2).to_string(), "10.213.7.102");
        assert_eq!(s.bridge_ip().to_string(), "10.213.7.1");
        assert_eq!(Subnet::parse("192.168.3.0").unwrap().prefix, [192, 168, 3]);
        for bad in [
            "10.0.0.0/16",
            "10.0.0.5/24",
            "8.8.8.0/24",
            "x",
            "192.0.2.0/24",
        ] {
            assert!(Subnet::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn overlap() {
        let s = Subnet::parse("10.213.7.0/24").unwrap();
        assert!(s.overlaps("10.0.0.0".parse().unwrap(), 8));
        assert!(s.overlaps("10.213.7.9".parse().unwrap(), 32));
        assert!(s.overlaps("10.213.7.0".parse().unwrap(), 25));
        assert!(!s.overlaps("10.213.8.0".parse().unwrap(), 24));
        assert!(!s.overlaps("0.0.0.0".parse().unwrap(), 0));
        assert!(!s.overlaps("192.0.2.0".parse().unwrap(), 24));
    }

    #[test]
    fn this_machine_has_a_free_subnet_and_uses_its_own() {
        let free = Subnet::pick_free().unwrap();
        free.check_free().unwrap();
        // The loopback net is always in use.
        let lo = Subnet {
            prefix: [127, 0, 0],
        };
        assert!(lo.check_free().is_err());
    }

    #[test]
    fn stems_are_short_and_stable() {
        assert_eq!(link_stem("a"), link_stem("a"));
        assert_ne!(link_stem("a"), link_stem("b"));
        assert_eq!(link_stem("whatever-long-name-1234").len(), 8);
    }
}
