//! Small command-line front end for `make test` and friends:
//!
//! ```text
//! glusterrs-cluster ensure-glusterd          start glusterd unless it runs
//! glusterrs-cluster cleanup-stale [PREFIX...] remove leftovers of dead runs (default prefix "grs")
//! ```
#![forbid(unsafe_code)]

use std::process::ExitCode;

use glusterrs_cluster::{cleanup_stale, Glusterd, DEFAULT_PREFIX};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["ensure-glusterd"] => Glusterd::ensure().map(|g| {
            let pid = g.pid().map_or("?".to_string(), |p| p.to_string());
            if g.started_by_us() {
                println!("glusterd: started (pid {pid})");
            } else {
                println!("glusterd: already running (pid {pid})");
            }
        }),
        ["cleanup-stale", rest @ ..] => {
            let prefixes = if rest.is_empty() {
                vec![DEFAULT_PREFIX]
            } else {
                rest.to_vec()
            };
            prefixes.into_iter().try_for_each(|prefix| {
                cleanup_stale(prefix).map(|r| {
                    if r.is_empty() {
                        println!("cleanup-stale: nothing stale for prefix {prefix:?}");
                    } else {
                        println!(
                            "cleanup-stale {prefix:?}: removed volumes {:?}, mounts {:?}, dirs {:?}, logs {:?}",
                            r.volumes, r.mounts, r.dirs, r.logs
                        );
                    }
                })
            })
        }
        _ => {
            eprintln!("usage: glusterrs-cluster ensure-glusterd | cleanup-stale [PREFIX...]");
            return ExitCode::from(2);
        }
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("glusterrs-cluster: {e}");
            ExitCode::FAILURE
        }
    }
}
