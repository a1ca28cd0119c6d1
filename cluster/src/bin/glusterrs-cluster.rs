//! Small command-line front end for `make test` and friends:
//!
//! ```text
//! glusterrs-cluster ensure-glusterd          start glusterd unless it runs
//! glusterrs-cluster cleanup-stale [PREFIX...] remove leftovers of dead runs (default prefix "grs"),
//!                                            and clusters whose (test) creator died
//! glusterrs-cluster up [--nodes N] [--name X] [--subnet A.B.C.0/24] [--root DIR]
//!                                            N glusterd nodes in network namespaces (default 3)
//! glusterrs-cluster down [--name X]          remove everything `up` made
//! glusterrs-cluster status [--name X]        nodes, addresses, processes
//! glusterrs-cluster list                     clusters that are up
//! ```
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use glusterrs_cluster::{
    cleanup_stale, cleanup_stale_clusters, list_clusters, Cluster, ClusterSpec, Error, Glusterd,
    Interrupt, Progress, Subnet, DEFAULT_PREFIX, DEFAULT_ROOT,
};

const DEFAULT_CLUSTER: &str = "grsc";
const USAGE: &str = "usage: glusterrs-cluster ensure-glusterd | cleanup-stale [PREFIX...] \
    | up [--nodes N] [--name X] [--subnet A.B.C.0/24] [--root DIR] | down [--name X] \
    | status [--name X] | list";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args.first().map(String::as_str) {
        Some("ensure-glusterd") if args.len() == 1 => Glusterd::ensure().map(|g| {
            let pid = g.pid().map_or("?".to_string(), |p| p.to_string());
            if g.started_by_us() {
                println!("glusterd: started (pid {pid})");
            } else {
                println!("glusterd: already running (pid {pid})");
            }
        }),
        Some("cleanup-stale") => cleanup(&args[1..]),
        Some("up") => match Opts::parse(&args[1..]) {
            Ok(o) => up(o),
            Err(e) => return usage(&e),
        },
        Some("down") => match Opts::parse(&args[1..]) {
            Ok(o) => Cluster::attach(&o.name).and_then(|c| {
                c.down()?;
                println!("cluster {}: down", o.name);
                Ok(())
            }),
            Err(e) => return usage(&e),
        },
        Some("status") => match Opts::parse(&args[1..]) {
            Ok(o) => status(&o.name),
            Err(e) => return usage(&e),
        },
        Some("list") if args.len() == 1 => {
            for n in list_clusters() {
                println!("{n}");
            }
            Ok(())
        }
        _ => return usage("no such command"),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ Error::Interrupted { .. }) => {
            eprintln!("glusterrs-cluster: {e}");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("glusterrs-cluster: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(why: &str) -> ExitCode {
    eprintln!("glusterrs-cluster: {why}\n{USAGE}");
    ExitCode::from(2)
}

struct Opts {
    name: String,
    nodes: usize,
    subnet: Option<Subnet>,
    root: PathBuf,
}

impl Opts {
    fn parse(args: &[String]) -> Result<Opts, String> {
        let mut o = Opts {
            name: DEFAULT_CLUSTER.into(),
            nodes: 3,
            subnet: None,
            root: DEFAULT_ROOT.into(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let (key, inline) = match a.split_once('=') {
                Some((k, v)) => (k, Some(v.to_string())),
                None => (a.as_str(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| it.next().cloned())
                    .ok_or_else(|| format!("{key} needs a value"))
            };
            match key {
                "--name" => o.name = value()?,
                "--nodes" => {
                    let v = value()?;
                    o.nodes = v
                        .parse()
                        .map_err(|_| format!("--nodes {v:?} is not a number"))?
                }
                "--subnet" => o.subnet = Some(Subnet::parse(&value()?).map_err(|e| e.to_string())?),
                "--root" => o.root = value()?.into(),
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        Ok(o)
    }
}

fn up(o: Opts) -> glusterrs_cluster::Result<()> {
    // Ctrl-C (or SIGTERM) stops the bring-up at its next step and rolls it back.
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&flag)).map_err(|source| Error::Io {
            op: "install a signal handler for",
            path: "SIGINT/SIGTERM".into(),
            source,
        })?;
    }
    let mut spec = ClusterSpec::new(o.name.clone(), o.nodes)
        .root(o.root)
        .persistent(true)
        .interrupt(Interrupt::from_flag(flag))
        .progress(Progress::new(|step, of, what| {
            eprintln!("[{step}/{of}] {what}")
        }));
    if let Some(s) = o.subnet {
        spec = spec.subnet(s);
    }
    let c = Cluster::up(spec)?;
    print_status(&c);
    println!(
        "cluster {}: up; remove with `glusterrs-cluster down --name {}`",
        o.name, o.name
    );
    c.detach();
    Ok(())
}

fn status(name: &str) -> glusterrs_cluster::Result<()> {
    let c = Cluster::attach(name)?;
    print_status(&c);
    c.detach();
    Ok(())
}

fn print_status(c: &Cluster) {
    println!(
        "cluster {}: subnet {}, host address {}",
        c.name(),
        c.subnet(),
        c.host_ip()
    );
    for n in c.nodes() {
        let pids = c.node_pids(n.index).unwrap_or_default();
        println!(
            "  {} {:<15} netns {} glusterd {} link {} processes {} dir {}",
            n.name(),
            n.ip.to_string(),
            n.netns,
            c.glusterd_pid(n.index)
                .map_or("down".to_string(), |p| format!("pid {p}")),
            if c.link_is_up(n.index) { "up" } else { "down" },
            pids.len(),
            n.dir.display()
        );
    }
    for cl in c.clients() {
        println!("  client c{} {} netns {}", cl.index, cl.ip, cl.netns);
    }
}

fn cleanup(rest: &[String]) -> glusterrs_cluster::Result<()> {
    let prefixes: Vec<&str> = if rest.is_empty() {
        vec![DEFAULT_PREFIX]
    } else {
        rest.iter().map(String::as_str).collect()
    };
    for prefix in prefixes {
        let r = cleanup_stale(prefix)?;
        if r.is_empty() {
            println!("cleanup-stale: nothing stale for prefix {prefix:?}");
        } else {
            println!(
                "cleanup-stale {prefix:?}: removed volumes {:?}, mounts {:?}, dirs {:?}, logs {:?}",
                r.volumes, r.mounts, r.dirs, r.logs
            );
        }
    }
    let clusters = cleanup_stale_clusters()?;
    if !clusters.is_empty() {
        println!("cleanup-stale: removed clusters of dead test runs: {clusters:?}");
    }
    Ok(())
}
