//! Hand-written volfiles for the bypass setups.
//!
//! The option names are those glusterd 10.3 writes into
//! `/var/lib/glusterd/vols/NAME/NAME.tcp-fuse.vol` (protocol/client: `transport-type`,
//! `remote-host`, `remote-subvolume`, `transport.address-family`) and into the brick
//! volfile (storage/posix: `directory`). Values are quoted when needed using the volfile
//! grammar (`"..."` with `\` escapes); values that cannot be written (newlines, non-UTF-8)
//! are refused.
//!
//! Beware: before parsing, GlusterFS runs every `` `...` `` span of a volfile through
//! `popen(3)`, i.e. a shell (`preprocess()` in libglusterfs/src/graph.y). Backticks in
//! values are therefore always written escaped (`` \` ``), which that preprocessor and the
//! lexer both read as a literal backtick.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::names::validate_volume_name;

/// Transport of a `protocol/client` xlator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TCP (the only one glusterd enables by default).
    Tcp,
    /// RDMA (needs a volume created with `transport rdma`).
    Rdma,
}

impl Transport {
    /// The `transport-type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Rdma => "rdma",
        }
    }
}

/// A client graph with a single `protocol/client` xlator named `VOLUME-client-0` talking
/// to one brick: `remote_brick_path` on `remote_host`. With `remote_port`, the client
/// connects straight to that brick port; without, it asks glusterd's port mapper on
/// `remote_host:24007` for the brick's port.
pub fn client_volfile(
    volume_name: &str,
    remote_host: &str,
    remote_port: Option<u16>,
    remote_brick_path: &Path,
    transport: Transport,
) -> Result<String> {
    validate_volume_name(volume_name)?;
    if remote_host.is_empty()
        || remote_host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    {
        return Err(Error::invalid(
            "remote host",
            remote_host,
            "must be a non-empty host name or address",
        ));
    }
    let brick = path_value("remote brick path", remote_brick_path)?;
    let mut v = String::new();
    let _ = writeln!(v, "volume {volume_name}-client-0");
    let _ = writeln!(v, "    type protocol/client");
    let _ = writeln!(v, "    option transport-type {}", transport.as_str());
    if transport == Transport::Tcp && !remote_host.contains(':') {
        // glusterd pins IPv4 too; bricks listen on 0.0.0.0.
        let _ = writeln!(v, "    option transport.address-family inet");
    }
    let _ = writeln!(v, "    option remote-host {}", quote(remote_host)?);
    if let Some(port) = remote_port {
        let _ = writeln!(v, "    option remote-port {port}");
    }
    let _ = writeln!(v, "    option remote-subvolume {brick}");
    let _ = writeln!(v, "end-volume");
    Ok(v)
}

/// A graph with only `storage/posix` on `brick_dir` (xlator name `posix`), for running
/// the brick's storage layer inside the client process.
pub fn posix_volfile(brick_dir: &Path) -> Result<String> {
    let dir = path_value("brick directory", brick_dir)?;
    if !brick_dir.is_absolute() {
        return Err(Error::invalid(
            "brick directory",
            brick_dir.to_string_lossy(),
            "must be absolute",
        ));
    }
    Ok(format!(
        "volume posix\n    type storage/posix\n    option directory {dir}\nend-volume\n"
    ))
}

fn path_value(what: &'static str, p: &Path) -> Result<String> {
    let s = p
        .to_str()
        .ok_or_else(|| Error::invalid(what, p.to_string_lossy(), "not valid UTF-8"))?;
    if s.is_empty() {
        return Err(Error::invalid(what, s, "empty"));
    }
    quote(s).map_err(|_| {
        Error::invalid(
            what,
            s,
            "contains a line break, which a volfile cannot hold",
        )
    })
}

/// Writes `s` as one volfile token: bare when it is plain, else `"..."` with `"`, `\` and
/// `` ` `` escaped (an unquoted `#` would start a comment, a bare backtick runs a shell).
fn quote(s: &str) -> Result<String> {
    if s.contains(['\n', '\r', '\0']) {
        return Err(Error::invalid("volfile value", s, "contains a line break"));
    }
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:+=@%,;".contains(c));
    if plain {
        return Ok(s.to_string());
    }
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' || c == '`' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_graph() {
        let v = client_volfile("vol1", "vm", None, Path::new("/b/x;y"), Transport::Tcp).unwrap();
        assert_eq!(
            v,
            "volume vol1-client-0\n    type protocol/client\n    option transport-type tcp\n    \
             option transport.address-family inet\n    option remote-host vm\n    \
             option remote-subvolume /b/x;y\nend-volume\n"
        );
        let v = client_volfile("v", "::1", Some(49152), Path::new("/b"), Transport::Rdma).unwrap();
        assert!(v.contains("option transport-type rdma\n"));
        assert!(!v.contains("address-family"));
        assert!(v.contains("option remote-port 49152\n"));
        assert!(v.contains("option remote-host ::1\n"));
    }

    #[test]
    fn posix_graph() {
        assert_eq!(
            posix_volfile(Path::new("/tmp/brick")).unwrap(),
            "volume posix\n    type storage/posix\n    option directory /tmp/brick\nend-volume\n"
        );
        let v = posix_volfile(Path::new("/tmp/a b#c\"d\\e`id`")).unwrap();
        assert!(
            v.contains(r#"option directory "/tmp/a b#c\"d\\e\`id\`""#),
            "{v}"
        );
        assert!(posix_volfile(Path::new("/tmp/a\nb")).is_err());
        assert!(posix_volfile(Path::new("rel")).is_err());
    }

    #[test]
    fn bad_client_inputs() {
        let p = Path::new("/b");
        assert!(client_volfile("bad name", "h", None, p, Transport::Tcp).is_err());
        assert!(client_volfile("v", "", None, p, Transport::Tcp).is_err());
        assert!(client_volfile("v", "a b", None, p, Transport::Tcp).is_err());
        assert!(client_volfile("v", "h", None, Path::new("/a\rb"), Transport::Tcp).is_err());
    }
}
