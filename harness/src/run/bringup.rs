//! Bringing up what a run measures: the work directory, the volume (created
//! on the local glusterd or on a --nodes namespace cluster, or an existing
//! --server one), the FUSE mount, the client volfile, and what each setup can
//! use of them ([`Env`]). Every step puts its undo on the run's [`Teardown`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cluster::{ClusterOps, VolumePlan};
use crate::netns_cluster::NetnsCluster;
use crate::setup::Env;
use crate::sys::{self, Teardown};

use super::args::{RunArgs, DEFAULT_VOLUME_OPTS};
use super::plan;

/// Everything the run brought up, described for the report.
pub(super) struct Bringup {
    pub env: Env,
    pub info_volume_options: BTreeMap<String, String>,
    pub bricks: Vec<String>,
    pub server: String,
    /// Directories to lay the job files out in (mount first).
    pub layout_dirs: Vec<PathBuf>,
    pub notes: Vec<String>,
}

/// The part of the run name that goes into the work directory holding the
/// bricks and the mount: GlusterFS cannot take every character in a brick
/// path or mountpoint (whitespace, `:`, `#`, ...), so anything but
/// `[A-Za-z0-9._+-]` becomes `_` (at most 48 characters).
fn workdir_tag(run_name: &str) -> String {
    let tag: String = run_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(48)
        .collect();
    if tag.is_empty() {
        "run".into()
    } else {
        tag
    }
}

/// Why rpc-bypass does not apply to a volume on --nodes.
const NODES_NO_POSIX: &str = "the bricks are on the cluster's nodes (other hosts): \
    rpc-bypass opens a brick of the client's own machine in-process";

/// Bricks of the volume to create: --bricks, raised to the replica or
/// disperse count on a --nodes cluster.
fn cluster_brick_count(args: &RunArgs) -> u32 {
    match (args.nodes, args.disperse, args.replica) {
        (Some(_), Some(d), _) => d,
        (Some(_), None, Some(r)) => args.bricks.max(r),
        _ => args.bricks,
    }
}

/// --nodes: checks, then brings the cluster up (its teardown on `td`) and,
/// with --client-namespaces, starts the fio servers and points --clients at them.
pub(super) fn bring_up_nodes(
    args: &mut RunArgs,
    run_dir: &Path,
    td: &mut Teardown,
) -> Result<Option<NetnsCluster>> {
    let Some(nodes) = args.nodes else {
        return Ok(None);
    };
    if nodes == 0 {
        bail!("--nodes must be at least 1");
    }
    if let Some(d) = args.disperse {
        let r = args.redundancy.unwrap_or(d / 3);
        if r == 0 || 2 * r >= d {
            bail!("--disperse {d} --redundancy {r}: redundancy must be at least 1 and below half the bricks");
        }
    }
    let nc = NetnsCluster::up(
        nodes,
        glusterrs_cluster::Interrupt::from_flag(sys::interrupt_flag()),
    )?;
    let c = nc.cluster.clone();
    td.push(format!("bring down cluster {}", c.name()), move || {
        c.down().context("bringing the cluster down")
    });
    if let Some(n) = args.client_namespaces {
        if n == 0 {
            bail!("--client-namespaces must be at least 1");
        }
        args.clients = nc.start_fio_servers(n, &args.fio, &run_dir.join("raw"))?;
    }
    Ok(Some(nc))
}

/// Creates (or, with --server, finds) the volume, mounts it and derives what
/// each setup can use of it; every undo goes on `td`.
pub(super) fn bring_up(
    args: &RunArgs,
    ops: &dyn ClusterOps,
    run_name: &str,
    run_dir: &Path,
    td: &mut Teardown,
) -> Result<Bringup> {
    let engine = plan::find_engine(args.engine.as_deref());
    let mut notes = Vec::new();
    let parent = match (&args.server, &args.brick_dir) {
        (None, Some(d)) => d.clone(),
        _ => PathBuf::from("/var/tmp"),
    };
    let parent = parent
        .canonicalize()
        .with_context(|| format!("brick dir {}", parent.display()))?;
    let workdir = parent.join(format!(
        "glusterrs-bench-{}-{}",
        workdir_tag(run_name),
        std::process::id()
    ));
    std::fs::create_dir(&workdir)
        .with_context(|| format!("creating work dir {}", workdir.display()))?;
    {
        let w = workdir.clone();
        td.push(format!("remove {}", workdir.display()), move || {
            crate::cluster::remove_workdir(&w)
        });
    }
    let wants_mount = args.clients.is_empty() || args.server.is_none();

    let (volume, server_host, port, server, mut base_dir, bricks, volume_options, brick_paths);
    let brick_specs: Vec<(String, PathBuf)>;
    if let Some(s) = &args.server {
        // Existing cluster: create nothing on it.
        let (h, p) = match s.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse::<u16>().context("--server port")?),
            None => (s.clone(), 24007),
        };
        volume = args
            .volume
            .clone()
            .context("--server needs --volume NAME (the existing volume)")?;
        server_host = h;
        port = p;
        server = format!("{server_host}:{port}");
        base_dir = args.brick_dir.clone().ok_or_else(|| {
            "needs --brick-dir (a local brick of the volume) with --server".to_string()
        });
        bricks = Vec::new();
        brick_paths = args.brick_dir.iter().cloned().collect::<Vec<_>>();
        brick_specs = Vec::new();
        volume_options = BTreeMap::new();
        notes.push(format!(
            "existing cluster {server}, volume {volume}: nothing created on it"
        ));
    } else {
        let brick_count = cluster_brick_count(args);
        if args.bricks == 0 {
            bail!("--bricks must be at least 1");
        }
        if let Some(r) = args.replica {
            if r < 2 || brick_count % r != 0 {
                bail!("--replica {r} needs --bricks a multiple of {r} (got {brick_count})");
            }
        }
        if let Some(stop) = ops.ensure_glusterd()? {
            td.push("stop the glusterd this run started", stop);
            notes.push("glusterd started by the harness".into());
        }
        sys::check_interrupted()?;
        let mut opts: Vec<(String, String)> = DEFAULT_VOLUME_OPTS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .filter(|(k, _)| !args.volume_opts.iter().any(|(k2, _)| k2 == k))
            .collect();
        opts.extend(args.volume_opts.iter().cloned());
        let plan = VolumePlan {
            name: args.volume.clone(),
            brick_root: workdir.clone(),
            bricks: brick_count,
            replica: args.replica,
            disperse: args.disperse.map(|d| (d, args.redundancy.unwrap_or(d / 3))),
            options: opts.clone(),
        };
        let created = ops.create_volume(&plan)?;
        volume = created.name.clone();
        td.push(format!("stop and delete volume {volume}"), created.cleanup);
        sys::check_interrupted()?;
        let host = created.host.clone();
        brick_paths = created.bricks.clone();
        server_host = match &created.server {
            Some(s) => s.clone(),
            None if args.clients.is_empty() => "localhost".to_string(),
            None => host.clone(),
        };
        port = 24007;
        server = format!("{server_host}:{port}");
        let host_of = |i: usize| created.brick_hosts.get(i).unwrap_or(&host).clone();
        bricks = brick_paths
            .iter()
            .enumerate()
            .map(|(i, b)| format!("{}:{}", host_of(i), b.display()))
            .collect();
        brick_specs = brick_paths
            .iter()
            .enumerate()
            .map(|(i, b)| (host_of(i), b.clone()))
            .collect();
        volume_options = opts.into_iter().collect();
        base_dir = Ok(brick_paths[0].clone());
        if brick_count > 1 {
            let d = workdir.join("base");
            std::fs::create_dir_all(&d)?;
            let why = if args.nodes.is_some() {
                "the bricks are on the cluster's nodes"
            } else if args.replica == Some(brick_count) {
                "writing one replica's brick directly would split the replicas"
            } else {
                "no single brick holds every file"
            };
            notes.push(format!(
                "base uses a plain directory {} with the same job files ({brick_count} bricks: {why})",
                d.display(),
            ));
            base_dir = Ok(d);
        }
    }

    let mut layout_dirs = Vec::new();
    let mount = if wants_mount {
        let mnt = workdir.join("mnt");
        std::fs::create_dir_all(&mnt)?;
        let log = run_dir.join("raw").join("fuse-client.log");
        match ops.mount(&server_host, &volume, &mnt, &log) {
            Ok(c) => {
                td.push(format!("unmount {}", mnt.display()), c);
                layout_dirs.push(mnt.clone());
                Ok(mnt)
            }
            Err(e) => Err(format!("FUSE mount failed: {e:#}")),
        }
    } else {
        Err("no FUSE mount in client/server mode".to_string())
    };
    sys::check_interrupted()?;
    if let Ok(d) = &base_dir {
        if !brick_paths.contains(d) {
            layout_dirs.push(d.clone());
        }
    }
    if mount.is_err() {
        notes.push("files not laid out through FUSE: each setup lays out its own".into());
    }

    let client_volfile = match ops.client_volfile(&server, &volume, &brick_specs) {
        Ok(text) => {
            let p = workdir.join("client.vol");
            std::fs::write(&p, text)?;
            Ok(p)
        }
        Err(e) => Err(format!("no client volfile: {e:#}")),
    };
    let posix_brick = match (args.server.is_some(), brick_paths.len(), args.replica) {
        _ if args.nodes.is_some() => Err(NODES_NO_POSIX.to_string()),
        (true, _, _) => args.brick_dir.clone().ok_or_else(|| {
            "needs --brick-dir (a local brick of the volume) with --server".to_string()
        }),
        (false, 1, _) => Ok(brick_paths[0].clone()),
        (false, n, Some(r)) if r == n as u32 => Ok(brick_paths[0].clone()),
        (false, n, _) => Err(format!(
            "needs a brick holding every file ({n} distributed bricks)"
        )),
    };
    // rpc-bypass writes the brick only while no brick process serves it:
    // the harness stops its own single-brick volume around such runs.
    let posix_writes = match (args.server.is_some(), brick_paths.len()) {
        _ if args.nodes.is_some() => Err(NODES_NO_POSIX.to_string()),
        (true, _) => Err("the volume belongs to an existing cluster (--server): \
                          the harness does not stop it"
            .to_string()),
        (false, 1) => Ok(()),
        (false, _) if posix_brick.is_ok() => Err("writing one replica's brick in-process \
                                                  bypasses replication and would split the replicas"
            .to_string()),
        (false, n) => Err(format!("no single brick holds every file ({n} bricks)")),
    };

    Ok(Bringup {
        env: Env {
            volume,
            server_host,
            port,
            base_dir,
            mount,
            engine,
            client_volfile,
            posix_brick,
            posix_writes,
            clients: args.clients.clone(),
        },
        info_volume_options: volume_options,
        bricks,
        server,
        layout_dirs,
        notes,
    })
}

#[cfg(test)]
mod tests;
