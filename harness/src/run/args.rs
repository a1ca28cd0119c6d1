//! The `run` command's arguments: what was asked for, as given on the
//! command line (clap parses and checks their syntax; `plan` checks the rest).

use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// fio job files [default: jobs/seq-read.fio]. They hold no setup lines:
    /// the harness adds engine, directory and volume options.
    pub jobs: Vec<PathBuf>,
    /// Setups to run, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "base,fuse,bypass,bypass-custom,rpc-bypass,gfapi,gfapi_async,qemu"
    )]
    pub setups: Vec<String>,
    /// Override every `size=` of the job files (e.g. 64m) for quick runs.
    #[arg(long)]
    pub size: Option<String>,
    /// Runs per (job, setup); min/median/max are reported.
    #[arg(long, default_value_t = 3)]
    pub repeat: u32,
    /// Directory holding one sub-directory per run, and `latest`.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Run name: its sub-directory of --results, as given (spaces, `;` and
    /// the like are fine; not "", ".", "..", "latest", `/` or control
    /// characters) [default: UTC date-time].
    #[arg(long)]
    pub name: Option<String>,
    /// Local volume: parent directory for the brick directories (e.g. a
    /// tmpfs) [default: /var/tmp]. With --server: an existing local brick of
    /// that volume, for the base and rpc-bypass setups (read as is).
    #[arg(long)]
    pub brick_dir: Option<PathBuf>,
    /// Number of bricks of the local volume.
    #[arg(long, default_value_t = 1)]
    pub bricks: u32,
    /// Replica count of the local volume (bricks must be a multiple).
    #[arg(long)]
    pub replica: Option<u32>,
    /// Make the volume on a cluster of this many GlusterFS nodes brought up on
    /// this machine (network namespaces, one glusterd each; removed at the end),
    /// e.g. `--nodes 3 --replica 3`. --bricks defaults to the replica count or
    /// the disperse count.
    #[arg(long, conflicts_with = "server")]
    pub nodes: Option<u32>,
    /// With --nodes: a dispersed volume of this many bricks (e.g. 6).
    #[arg(long, requires = "nodes", conflicts_with = "replica")]
    pub disperse: Option<u32>,
    /// Redundancy of the dispersed volume [default: a third of --disperse].
    #[arg(long, requires = "disperse")]
    pub redundancy: Option<u32>,
    /// With --nodes: this many more namespaces on the cluster's bridge each run
    /// `fio --server`, and the jobs run from them in fio's client/server mode
    /// (as --clients does with real hosts).
    #[arg(long, requires = "nodes", conflicts_with = "clients")]
    pub client_namespaces: Option<u32>,
    /// Use an existing cluster at host[:port]: creates no volume, starts no glusterd.
    #[arg(long)]
    pub server: Option<String>,
    /// Volume name: the existing volume with --server, else the name of the
    /// volume to create [default: gbench-<run>].
    #[arg(long)]
    pub volume: Option<String>,
    /// fio client/server mode: hosts (host[:port], comma-separated) each
    /// running `fio --server`.
    #[arg(long, value_delimiter = ',')]
    pub clients: Vec<String>,
    /// libglusterrs.so [default: target/release/libglusterrs.so next to this binary].
    #[arg(long)]
    pub engine: Option<PathBuf>,
    /// Volume option KEY=VALUE for the created volume (repeatable); defaults
    /// to performance.strict-o-direct=on so direct=1 reaches the brick.
    #[arg(long = "volume-opt", value_parser = parse_kv)]
    pub volume_opts: Vec<(String, String)>,
    /// Extra fio option KEY=VALUE (or KEY=) added to every setup's derived
    /// job file after the setup's own options (repeatable), e.g. thread=1.
    #[arg(long = "fio-opt", value_parser = parse_kv_loose)]
    pub fio_opts: Vec<(String, String)>,
    /// libglusterrs option KEY=VALUE added only to the setups that run the
    /// engine (bypass, bypass-custom, rpc-bypass), after --fio-opt
    /// (repeatable), e.g. io_mode=sync or client_io_threads=1: measures a
    /// change of the engine against the same run's other setups.
    #[arg(long = "engine-opt", value_parser = parse_kv)]
    pub engine_opts: Vec<(String, String)>,
    /// Do not drop the page cache before each run.
    #[arg(long)]
    pub no_drop_caches: bool,
    /// fio binary.
    #[arg(long, default_value = "fio")]
    pub fio: PathBuf,
    /// Kill a fio run after this many seconds.
    #[arg(long, default_value_t = 1800)]
    pub fio_timeout: u64,
    /// Skip PNG/SVG plots.
    #[arg(long)]
    pub no_plots: bool,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

fn parse_kv_loose(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some(_) => parse_kv(s),
        None if !s.trim().is_empty() => Ok((s.trim().to_string(), String::new())),
        None => Err("empty fio option".into()),
    }
}

/// The setups that run libglusterrs (and take --engine-opt).
pub const ENGINE_SETUPS: &[&str] = &["bypass", "bypass-custom", "rpc-bypass"];

/// Options every created volume gets unless --volume-opt sets the same key:
/// strict-o-direct makes direct=1 reach the brick.
pub const DEFAULT_VOLUME_OPTS: &[(&str, &str)] = &[("performance.strict-o-direct", "on")];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_parsing() {
        assert_eq!(
            parse_kv("performance.strict-o-direct=on").unwrap(),
            ("performance.strict-o-direct".into(), "on".into())
        );
        assert!(parse_kv("nope").is_err());
        assert!(parse_kv("=x").is_err());
        assert_eq!(
            parse_kv_loose("thread").unwrap(),
            ("thread".into(), String::new())
        );
        assert_eq!(
            parse_kv_loose("thread=1").unwrap(),
            ("thread".into(), "1".into())
        );
    }
}
