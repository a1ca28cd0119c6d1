//! The setups compared by a run and the fio options each one needs.

use std::path::PathBuf;

use crate::jobfile::Options;

pub const ALL: &[&str] = crate::report::SETUP_ORDER;

/// Where things are for this run; a `None`/`Err` says why a setup cannot run.
#[derive(Debug, Clone)]
pub struct Env {
    pub volume: String,
    /// Host fio's gfapi engines and libglusterrs connect to.
    pub server_host: String,
    pub port: u16,
    /// Plain directory holding the same files (the brick, for one brick).
    pub base_dir: Result<PathBuf, String>,
    pub mount: Result<PathBuf, String>,
    pub engine: Result<PathBuf, String>,
    pub client_volfile: Result<PathBuf, String>,
    /// The brick rpc-bypass opens in-process (`posix=`): one holding every file.
    pub posix_brick: Result<PathBuf, String>,
    /// Whether a job that writes may run rpc-bypass: `Ok` when the harness
    /// owns the volume and may stop it for the run (the brick must not be
    /// served while fio writes it); else why not.
    pub posix_writes: Result<(), String>,
    /// fio client/server mode: setups needing a local path cannot run.
    pub clients: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Availability {
    Run(Options),
    /// Does not apply here (reason).
    Skip(String),
    /// Should apply but something it needs is broken (reason).
    Fail(String),
}

fn opts(pairs: &[(&str, String)]) -> Options {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn local_only(env: &Env, setup: &str) -> Option<Availability> {
    (!env.clients.is_empty()).then(|| {
        Availability::Skip(format!(
            "{setup} needs a local path on every fio client; not run in client/server mode"
        ))
    })
}

/// The fio options for `setup`, or why it cannot run.
pub fn options(setup: &str, env: &Env) -> Availability {
    let engine = || {
        env.engine
            .as_ref()
            .map(|p| format!("external:{}", p.display()))
            .map_err(|e| Availability::Fail(e.clone()))
    };
    let with_port = |mut o: Options| {
        if env.port != 24007 {
            o.push(("port".into(), env.port.to_string()));
        }
        o
    };
    match setup {
        "base" => {
            if let Some(a) = local_only(env, setup) {
                return a;
            }
            match &env.base_dir {
                Ok(d) => Availability::Run(opts(&[
                    ("ioengine", "libaio".into()),
                    ("directory", d.display().to_string()),
                ])),
                Err(e) => Availability::Skip(e.clone()),
            }
        }
        "fuse" => {
            if let Some(a) = local_only(env, setup) {
                return a;
            }
            match &env.mount {
                Ok(d) => Availability::Run(opts(&[
                    ("ioengine", "libaio".into()),
                    ("directory", d.display().to_string()),
                ])),
                Err(e) => Availability::Fail(e.clone()),
            }
        }
        "bypass" => match engine() {
            Ok(e) => Availability::Run(with_port(opts(&[
                ("ioengine", e),
                ("volume", env.volume.clone()),
                ("brick", env.server_host.clone()),
            ]))),
            Err(a) => a,
        },
        "rpc-bypass" => {
            if let Some(a) = local_only(env, setup) {
                return a;
            }
            let e = match engine() {
                Ok(e) => e,
                Err(a) => return a,
            };
            match &env.posix_brick {
                Ok(b) => {
                    Availability::Run(opts(&[("ioengine", e), ("posix", b.display().to_string())]))
                }
                Err(e) => Availability::Skip(e.clone()),
            }
        }
        "bypass-custom" => {
            if let Some(a) = local_only(env, setup) {
                return a;
            }
            let e = match engine() {
                Ok(e) => e,
                Err(a) => return a,
            };
            match &env.client_volfile {
                Ok(p) => Availability::Run(opts(&[
                    ("ioengine", e),
                    ("volume", env.volume.clone()),
                    ("volfile", p.display().to_string()),
                ])),
                Err(e) => Availability::Skip(e.clone()),
            }
        }
        "qemu" => {
            if let Some(a) = local_only(env, setup) {
                return a;
            }
            match crate::qemu::find() {
                Ok(bin) => Availability::Run(opts(&[
                    ("qemu-img", bin.display().to_string()),
                    (
                        "url",
                        format!("gluster://{}:{}/{}", env.server_host, env.port, env.volume),
                    ),
                ])),
                Err(why) => Availability::Skip(why),
            }
        }
        "gfapi" | "gfapi_async" => Availability::Run(opts(&[
            ("ioengine", setup.into()),
            ("volume", env.volume.clone()),
            ("brick", env.server_host.clone()),
        ])),
        other => Availability::Fail(format!("unknown setup {other}")),
    }
}

/// How a setup runs one job: its availability for that job, and whether
/// the volume must be stopped around each run.
#[derive(Debug, Clone, PartialEq)]
pub struct JobPlan {
    pub availability: Availability,
    pub stop_volume: bool,
}

/// Adapts [`options`] to a job. rpc-bypass reads the live brick read-only
/// (`posix_read_only=1`: allowed while the brick process serves it); a job
/// that writes runs with the volume stopped, or not at all when the
/// harness may not stop it (see [`Env::posix_writes`]).
pub fn for_job(setup: &str, availability: Availability, env: &Env, writes: bool) -> JobPlan {
    let plan = |availability, stop_volume| JobPlan {
        availability,
        stop_volume,
    };
    match (setup, availability) {
        ("rpc-bypass", Availability::Run(mut o)) => {
            if !writes {
                o.push(("posix_read_only".into(), "1".into()));
                return plan(Availability::Run(o), false);
            }
            match &env.posix_writes {
                Ok(()) => plan(Availability::Run(o), true),
                Err(why) => plan(
                    Availability::Skip(format!(
                        "the job writes, and the brick may be written in-process only while \
                         no brick process serves it: {why}"
                    )),
                    false,
                ),
            }
        }
        (_, a) => plan(a, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env {
            volume: "v".into(),
            server_host: "localhost".into(),
            port: 24007,
            base_dir: Ok("/b/0".into()),
            mount: Ok("/m".into()),
            engine: Ok("/t/libglusterrs.so".into()),
            client_volfile: Ok("/w/client.vol".into()),
            posix_brick: Err("rpc-bypass needs one brick holding every file".into()),
            posix_writes: Err("replicated volume".into()),
            clients: vec![],
        }
    }

    #[test]
    fn every_setup_has_an_answer() {
        let e = env();
        for s in ALL {
            let a = options(s, &e);
            assert_ne!(a, Availability::Skip(String::new()), "{s}");
        }
        assert_eq!(
            options("bypass", &e),
            Availability::Run(opts(&[
                ("ioengine", "external:/t/libglusterrs.so".into()),
                ("volume", "v".into()),
                ("brick", "localhost".into()),
            ]))
        );
        assert!(
            matches!(options("rpc-bypass", &e), Availability::Skip(r) if r.contains("one brick"))
        );
    }

    #[test]
    fn missing_engine_fails_bypass_setups_with_reason() {
        let mut e = env();
        e.engine = Err("libglusterrs.so not found".into());
        for s in ["bypass", "bypass-custom"] {
            assert!(matches!(options(s, &e), Availability::Fail(r) if r.contains("not found")));
        }
        assert!(matches!(options("gfapi", &e), Availability::Run(_)));
    }

    #[test]
    fn client_mode_skips_local_path_setups_and_sets_port() {
        let mut e = env();
        e.clients = vec!["h1".into()];
        e.port = 24008;
        for s in ["base", "fuse", "bypass-custom", "rpc-bypass"] {
            assert!(matches!(options(s, &e), Availability::Skip(_)), "{s}");
        }
        match options("bypass", &e) {
            Availability::Run(o) => assert!(o.contains(&("port".into(), "24008".into()))),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rpc_bypass_reads_live_brick_read_only_and_writes_with_volume_stopped() {
        let mut e = env();
        e.posix_brick = Ok("/b/0".into());
        let base = opts(&[
            ("ioengine", "external:/t/libglusterrs.so".into()),
            ("posix", "/b/0".into()),
        ]);
        assert_eq!(options("rpc-bypass", &e), Availability::Run(base.clone()));
        let read = for_job("rpc-bypass", options("rpc-bypass", &e), &e, false);
        let mut ro = base.clone();
        ro.push(("posix_read_only".into(), "1".into()));
        assert_eq!(
            read,
            JobPlan {
                availability: Availability::Run(ro),
                stop_volume: false
            }
        );
        // Writing: not run, saying why, unless the volume may be stopped.
        let w = for_job("rpc-bypass", options("rpc-bypass", &e), &e, true);
        assert!(!w.stop_volume);
        assert!(
            matches!(&w.availability, Availability::Skip(r) if r.contains("writes") && r.contains("replicated")),
            "{w:?}"
        );
        e.posix_writes = Ok(());
        assert_eq!(
            for_job("rpc-bypass", options("rpc-bypass", &e), &e, true),
            JobPlan {
                availability: Availability::Run(base),
                stop_volume: true
            }
        );
        // Other setups pass through untouched.
        let b = for_job("bypass", options("bypass", &e), &e, true);
        assert_eq!(b.availability, options("bypass", &e));
        assert!(!b.stop_volume);
    }
}
