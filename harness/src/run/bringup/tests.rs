//! bring_up against a fake cluster that records what it is asked for and
//! creates only directories: what each kind of volume gives the setups, and
//! that the teardown undoes it in reverse.

use super::*;
use crate::cluster::{Cleanup, CreatedVolume};
use clap::Parser;
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Parser)]
struct T {
    #[command(flatten)]
    a: RunArgs,
}

fn args(extra: &[&str]) -> RunArgs {
    let mut v = vec!["t"];
    v.extend_from_slice(extra);
    T::parse_from(v).a
}

/// Records what the orchestration asks for; creates only directories.
#[derive(Clone, Default)]
struct Fake {
    log: Rc<RefCell<Vec<String>>>,
    started_glusterd: bool,
}

impl Fake {
    fn cleanup(&self, what: &str) -> Cleanup {
        let log = self.log.clone();
        let what = what.to_string();
        Box::new(move || {
            log.borrow_mut().push(format!("undo {what}"));
            Ok(())
        })
    }
}

impl ClusterOps for Fake {
    fn ensure_glusterd(&self) -> Result<Option<Cleanup>> {
        self.log.borrow_mut().push("glusterd".into());
        Ok(self.started_glusterd.then(|| self.cleanup("glusterd")))
    }
    fn create_volume(&self, plan: &VolumePlan) -> Result<CreatedVolume> {
        self.log.borrow_mut().push(format!(
            "create bricks={} replica={:?} opts={:?}",
            plan.bricks, plan.replica, plan.options
        ));
        let name = plan.name.clone().unwrap_or_else(|| "gbench-x".into());
        let bricks: Vec<PathBuf> = (0..plan.bricks)
            .map(|i| plan.brick_root.join(&name).join(format!("b{i}")))
            .collect();
        for b in &bricks {
            std::fs::create_dir_all(b)?;
        }
        Ok(CreatedVolume {
            name,
            host: "vm".into(),
            bricks,
            brick_hosts: Vec::new(),
            server: None,
            cleanup: self.cleanup("volume"),
        })
    }
    fn mount(&self, server: &str, volume: &str, _at: &Path, _log: &Path) -> Result<Cleanup> {
        self.log
            .borrow_mut()
            .push(format!("mount {server}:/{volume}"));
        Ok(self.cleanup("mount"))
    }
    fn client_volfile(
        &self,
        _server: &str,
        _volume: &str,
        bricks: &[(String, PathBuf)],
    ) -> Result<String> {
        Ok(format!("client {}\n", bricks.len()))
    }
    fn stop_volume(&self, volume: &str, bricks: &[PathBuf]) -> Result<()> {
        self.log
            .borrow_mut()
            .push(format!("stop {volume} {}", bricks.len()));
        Ok(())
    }
    fn start_volume(&self, volume: &str, bricks: &[PathBuf], mount: Option<&Path>) -> Result<()> {
        self.log.borrow_mut().push(format!(
            "start {volume} {} {}",
            bricks.len(),
            mount.is_some()
        ));
        Ok(())
    }
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gb-bu-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn one_brick_uses_the_brick_as_base_and_tears_down_in_reverse() {
    let d = scratch("one");
    let fake = Fake {
        started_glusterd: true,
        ..Fake::default()
    };
    let a = args(&["--brick-dir", d.to_str().unwrap(), "--volume", "vv"]);
    let mut td = Teardown::default();
    let up = bring_up(&a, &fake, "r", Path::new("results/r"), &mut td).unwrap();
    assert_eq!(up.env.volume, "vv");
    assert_eq!(up.env.server_host, "localhost");
    let brick = up.env.base_dir.clone().unwrap();
    assert!(brick.ends_with("vv/b0"), "{}", brick.display());
    assert!(up.env.mount.is_ok());
    assert_eq!(up.layout_dirs.len(), 1, "only the mount: base is the brick");
    assert_eq!(up.env.posix_brick.as_ref().unwrap(), &brick);
    assert!(
        up.env.posix_writes.is_ok(),
        "own single-brick volume: may stop it"
    );
    assert_eq!(
        std::fs::read_to_string(up.env.client_volfile.clone().unwrap()).unwrap(),
        "client 1\n"
    );
    assert_eq!(
        up.info_volume_options
            .get("performance.strict-o-direct")
            .map(String::as_str),
        Some("on")
    );
    let workdir = d.read_dir().unwrap().next().unwrap().unwrap().path();
    drop(td);
    assert!(!workdir.exists(), "work dir not removed");
    let log = fake.log.borrow().clone();
    assert_eq!(
        &log[log.len() - 3..],
        ["undo mount", "undo volume", "undo glusterd"],
        "{log:?}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn distributed_bricks_get_a_plain_base_copy_and_no_rpc_bypass() {
    let d = scratch("dist");
    let fake = Fake::default();
    let a = args(&[
        "--brick-dir",
        d.to_str().unwrap(),
        "--bricks",
        "2",
        "--volume-opt",
        "performance.strict-o-direct=off",
        "--volume-opt",
        "performance.io-thread-count=4",
    ]);
    let mut td = Teardown::default();
    let up = bring_up(&a, &fake, "r", Path::new("results/r"), &mut td).unwrap();
    assert!(up.env.base_dir.as_ref().unwrap().ends_with("base"));
    assert_eq!(up.layout_dirs.len(), 2, "mount and the plain base copy");
    assert!(up.env.posix_brick.is_err() && up.env.posix_writes.is_err());
    assert_eq!(
        up.info_volume_options
            .get("performance.strict-o-direct")
            .map(String::as_str),
        Some("off")
    );
    assert!(fake.log.borrow()[1].contains("io-thread-count"));
    drop(td);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn replica_three_keeps_rpc_bypass_on_the_first_copy() {
    let d = scratch("rep");
    let a = args(&[
        "--brick-dir",
        d.to_str().unwrap(),
        "--bricks",
        "3",
        "--replica",
        "3",
    ]);
    let mut td = Teardown::default();
    let up = bring_up(&a, &Fake::default(), "r", Path::new("results/r"), &mut td).unwrap();
    assert!(up.env.posix_brick.as_ref().unwrap().ends_with("b0"));
    assert!(
        up.env
            .posix_writes
            .as_ref()
            .is_err_and(|w| w.contains("split the replicas")),
        "{:?}",
        up.env.posix_writes
    );
    assert!(up.env.base_dir.as_ref().unwrap().ends_with("base"));
    drop(td);
    assert!(bring_up(
        &args(&[
            "--brick-dir",
            d.to_str().unwrap(),
            "--bricks",
            "4",
            "--replica",
            "3"
        ]),
        &Fake::default(),
        "r2",
        Path::new("results/r2"),
        &mut Teardown::default()
    )
    .is_err());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn existing_cluster_creates_nothing() {
    let fake = Fake::default();
    let a = args(&["--server", "gl1:24008", "--volume", "prod"]);
    let mut td = Teardown::default();
    let up = bring_up(&a, &fake, "r", Path::new("results/r"), &mut td).unwrap();
    assert_eq!((up.env.server_host.as_str(), up.env.port), ("gl1", 24008));
    assert!(up.env.base_dir.is_err() && up.env.posix_brick.is_err());
    assert!(up.env.posix_writes.is_err());
    let log = fake.log.borrow().clone();
    assert_eq!(log, ["mount gl1:/prod"], "{log:?}");
    drop(td);
    assert!(bring_up(
        &args(&["--server", "gl1"]),
        &fake,
        "r",
        Path::new("results/r"),
        &mut Teardown::default()
    )
    .is_err());
}

#[test]
fn work_dir_tags_are_gluster_safe() {
    assert_eq!(workdir_tag("20261127-101010"), "20261127-101010");
    assert_eq!(workdir_tag("a run; $(x):#\"\\`"), "a_run____x______");
    assert_eq!(workdir_tag("ünï"), "_n_");
    assert_eq!(workdir_tag(&"y".repeat(100)).len(), 48);
    // Whatever the name, the brick path below the work dir is usable.
    let tag = workdir_tag("a b\tc:d#e\"f\\g`h");
    assert!(tag
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c)));
}
