//! Volfile text helpers used when the cluster crate does not provide them:
//! reduce glusterd's client volfile to its minimal form (protocol/client
//! translators plus the cluster/* translators that join them; a lone
//! distribute over one brick is dropped).

use anyhow::{bail, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Xlator {
    pub name: String,
    pub kind: String,
    /// Option lines as written, without the leading "option ".
    pub options: Vec<String>,
    pub subvolumes: Vec<String>,
}

pub fn parse(text: &str) -> Result<Vec<Xlator>> {
    let mut out = Vec::new();
    let mut cur: Option<Xlator> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.splitn(2, char::is_whitespace);
        let head = words.next().unwrap_or("");
        let rest = words.next().unwrap_or("").trim();
        match (head, cur.as_mut()) {
            ("volume", None) => {
                cur = Some(Xlator {
                    name: rest.to_string(),
                    kind: String::new(),
                    options: Vec::new(),
                    subvolumes: Vec::new(),
                })
            }
            ("type", Some(x)) => x.kind = rest.to_string(),
            ("option", Some(x)) => x.options.push(rest.to_string()),
            ("subvolumes", Some(x)) => {
                x.subvolumes = rest.split_whitespace().map(String::from).collect()
            }
            ("end-volume", Some(_)) => out.push(cur.take().unwrap()),
            _ => bail!("volfile line {}: unexpected {line:?}", n + 1),
        }
    }
    if cur.is_some() {
        bail!("volfile ends inside a volume block");
    }
    Ok(out)
}

pub fn render(graph: &[Xlator]) -> String {
    let mut s = String::new();
    for x in graph {
        s.push_str(&format!("volume {}\n    type {}\n", x.name, x.kind));
        for o in &x.options {
            s.push_str(&format!("    option {o}\n"));
        }
        if !x.subvolumes.is_empty() {
            s.push_str(&format!("    subvolumes {}\n", x.subvolumes.join(" ")));
        }
        s.push_str("end-volume\n\n");
    }
    s
}

/// Keeps protocol/client and cluster/* translators, re-linking subvolumes
/// through the dropped ones; drops a cluster translator with a single child.
/// The last translator is the graph's top, as in any volfile.
pub fn minimal_client(text: &str) -> Result<String> {
    let graph = parse(text)?;
    if !graph.iter().any(|x| x.kind == "protocol/client") {
        bail!("volfile has no protocol/client translator");
    }
    let keep = |x: &Xlator| {
        x.kind == "protocol/client" || (x.kind.starts_with("cluster/") && x.subvolumes.len() > 1)
    };
    // Resolve a name to the kept translators it stands for.
    fn resolve(name: &str, graph: &[Xlator], keep: &dyn Fn(&Xlator) -> bool) -> Vec<String> {
        match graph.iter().find(|x| x.name == name) {
            Some(x) if keep(x) => vec![x.name.clone()],
            Some(x) => x
                .subvolumes
                .iter()
                .flat_map(|s| resolve(s, graph, keep))
                .collect(),
            None => Vec::new(),
        }
    }
    let mut out: Vec<Xlator> = graph
        .iter()
        .filter(|x| keep(x))
        .map(|x| {
            let mut x = x.clone();
            x.subvolumes = x
                .subvolumes
                .iter()
                .flat_map(|s| resolve(s, &graph, &keep))
                .collect();
            x
        })
        .collect();
    // The top must be last: what the original top resolves to.
    let top = resolve(&graph.last().unwrap().name, &graph, &keep);
    if top.len() != 1 {
        bail!("cannot find a single top translator (got {top:?})");
    }
    let pos = out.iter().position(|x| x.name == top[0]).unwrap();
    let t = out.remove(pos);
    out.push(t);
    Ok(render(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_BRICK: &str = "volume v-client-0\n    type protocol/client\n    option password p\n    option username u\n    option transport.address-family inet\n    option transport-type tcp\n    option remote-subvolume /b/0\n    option remote-host vm\nend-volume\n\nvolume v-dht\n    type cluster/distribute\n    option lock-migration off\n    subvolumes v-client-0\nend-volume\n\nvolume v-utime\n    type features/utime\n    subvolumes v-dht\nend-volume\n\nvolume v-write-behind\n    type performance/write-behind\n    option strict-O_DIRECT on\n    subvolumes v-utime\nend-volume\n\nvolume v\n    type debug/io-stats\n    subvolumes v-write-behind\nend-volume\n";

    #[test]
    fn one_brick_reduces_to_protocol_client_with_credentials() {
        let m = minimal_client(ONE_BRICK).unwrap();
        let g = parse(&m).unwrap();
        assert_eq!(g.len(), 1, "{m}");
        assert_eq!(g[0].kind, "protocol/client");
        assert!(g[0].options.contains(&"username u".to_string()));
        assert!(g[0].options.contains(&"remote-subvolume /b/0".to_string()));
    }

    #[test]
    fn replica_keeps_afr_over_clients() {
        let mut text = String::new();
        for i in 0..3 {
            text.push_str(&format!("volume r-client-{i}\n type protocol/client\n option remote-subvolume /b/{i}\nend-volume\n"));
        }
        text.push_str("volume r-replicate-0\n type cluster/replicate\n option afr-pending-xattr r-client-0,r-client-1,r-client-2\n subvolumes r-client-0 r-client-1 r-client-2\nend-volume\n");
        text.push_str(
            "volume r-dht\n type cluster/distribute\n subvolumes r-replicate-0\nend-volume\n",
        );
        text.push_str("volume r\n type debug/io-stats\n subvolumes r-dht\nend-volume\n");
        let g = parse(&minimal_client(&text).unwrap()).unwrap();
        assert_eq!(g.len(), 4);
        assert_eq!(g[3].kind, "cluster/replicate");
        assert_eq!(g[3].subvolumes.len(), 3);
    }

    #[test]
    fn real_glusterd_volfile_shape() {
        // Shape of `gluster system:: getspec` on gluster 10.3 (trimmed).
        let g = parse(ONE_BRICK).unwrap();
        assert_eq!(g.len(), 5);
        assert_eq!(render(&parse(&render(&g)).unwrap()), render(&g));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("volume x\n type a\n").is_err());
        assert!(minimal_client("volume x\n type storage/posix\nend-volume\n").is_err());
    }
}
