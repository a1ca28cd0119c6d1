//! File names and server lists: `gluster[+tcp|+unix|+rdma]://` URLs (also
//! when fio split them at ':'), `host[:port]` lists of `brick=`, and the
//! path inside the volume a file name denotes.

use super::{err, OptionError, Server, Transport};

/// A parsed `gluster://` file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlusterUrl {
    /// `None` when the URL names no host (`gluster:///vol/path`).
    pub server: Option<Server>,
    pub volume: String,
    /// Absolute path inside the volume.
    pub path: String,
}

/// Whether `name` starts like a gluster URL scheme (`gluster:`, `gluster+tcp:` ...).
fn url_scheme(name: &str) -> Option<(Transport, &str)> {
    let (scheme, rest) = name.split_once("://")?;
    let t = match scheme {
        "gluster" | "gluster+tcp" => Transport::Tcp,
        "gluster+unix" => Transport::Unix,
        "gluster+rdma" => Transport::Rdma,
        _ => return None,
    };
    Some((t, rest))
}

/// Parses `gluster[+tcp|+unix|+rdma]://[host[:port]]/volume/path[?socket=/sock]`.
/// Returns `Ok(None)` for names that are not gluster URLs.
pub fn parse_gluster_url(name: &str, default_port: u16) -> Result<Option<GlusterUrl>, OptionError> {
    let Some((transport, rest)) = url_scheme(name) else {
        if name.starts_with("gluster") && name.contains("://") {
            return err(format!(
                "unknown URL scheme in '{name}' (use gluster://, gluster+tcp://, gluster+unix:// or gluster+rdma://)"
            ));
        }
        return Ok(None);
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => return err(format!("'{name}': missing /volume/path after the server")),
    };
    let path = path.trim_start_matches('/');
    let (volume, file) = match path.split_once('/') {
        Some((v, f)) => (v, f),
        None => return err(format!("'{name}': missing file path after the volume name")),
    };
    if volume.is_empty() {
        return err(format!("'{name}': empty volume name"));
    }
    let file = file.trim_start_matches('/');
    if file.is_empty() {
        return err(format!("'{name}': empty file path"));
    }
    let server = match transport {
        Transport::Unix => {
            if !authority.is_empty() {
                return err(format!(
                    "'{name}': gluster+unix:// takes no host; give the socket as ?socket=/path"
                ));
            }
            let socket = query
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("socket=")))
                .filter(|s| !s.is_empty());
            match socket {
                Some(s) => Some(Server {
                    transport,
                    host: s.to_string(),
                    port: 0,
                }),
                None => return err(format!("'{name}': gluster+unix:// needs ?socket=/path")),
            }
        }
        _ => {
            if let Some(q) = query {
                return err(format!("'{name}': unexpected query '?{q}'"));
            }
            if authority.is_empty() {
                None
            } else {
                Some(parse_host_port(authority, transport, default_port)?)
            }
        }
    };
    Ok(Some(GlusterUrl {
        server,
        volume: volume.to_string(),
        path: format!("/{file}"),
    }))
}

/// `host`, `host:port`, `[v6addr]` or `[v6addr]:port`.
fn parse_host_port(
    s: &str,
    transport: Transport,
    default_port: u16,
) -> Result<Server, OptionError> {
    let s = s.trim();
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, "")) => (h, None),
            Some((h, p)) => match p.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None => return err(format!("bad server '{s}'")),
            },
            None => return err(format!("bad server '{s}': missing ']'")),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => (s, None), // bare IPv6 address
            None => (s, None),
        }
    };
    if host.is_empty() {
        return err(format!("bad server '{s}': empty host"));
    }
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => return err(format!("bad port '{p}' in server '{s}' (1-65535)")),
        },
    };
    Ok(Server {
        transport,
        host: host.to_string(),
        port,
    })
}

/// fio splits `filename=` at every unescaped ':', so `gluster://h:24007/v/f`
/// reaches the engine as `gluster`, `//h`, `24007/v/f`. Glues such pieces back
/// together; returns `None` when nothing needs gluing.
pub fn merge_split_urls(names: &[String]) -> Option<Vec<String>> {
    // Any gluster+SCHEME, so that a misspelt one is glued back and then
    // reported by parse_gluster_url instead of becoming two file names.
    let is_scheme = |s: &str| s == "gluster" || s.starts_with("gluster+");
    let mut out = Vec::with_capacity(names.len());
    let mut changed = false;
    let mut i = 0;
    while i < names.len() {
        let cur = &names[i];
        if is_scheme(cur) && names.get(i + 1).is_some_and(|n| n.starts_with("//")) {
            let mut url = format!("{cur}:{}", names[i + 1]);
            i += 2;
            // "//host" alone means a ":port/volume/path" piece follows.
            let authority_only = !url["gluster".len()..]
                .split_once("//")
                .map(|(_, r)| r.contains('/'))
                .unwrap_or(false);
            if authority_only {
                if let Some(next) = names.get(i) {
                    let digits = next.bytes().take_while(u8::is_ascii_digit).count();
                    if digits > 0 && next.as_bytes().get(digits) == Some(&b'/') {
                        url.push(':');
                        url.push_str(next);
                        i += 1;
                    }
                }
            }
            out.push(url);
            changed = true;
        } else {
            out.push(cur.clone());
            i += 1;
        }
    }
    changed.then_some(out)
}

/// Splits a `brick=`/`servers=` list.
pub(super) fn parse_servers(
    list: &str,
    transport: Transport,
    port: u16,
) -> Result<Vec<Server>, OptionError> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match transport {
            Transport::Unix => out.push(Server {
                transport,
                host: item.to_string(),
                port: 0,
            }),
            _ => out.push(parse_host_port(item, transport, port)?),
        }
    }
    if out.is_empty() {
        return err(format!("brick='{list}' names no server"));
    }
    Ok(out)
}

/// The path inside the volume that a fio file name denotes.
pub fn volume_path(file_name: &str, url: Option<&GlusterUrl>) -> String {
    match url {
        Some(u) => u.path.clone(),
        None if file_name.starts_with('/') => file_name.to_string(),
        None => format!("/{file_name}"),
    }
}
