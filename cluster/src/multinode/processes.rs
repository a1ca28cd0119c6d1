//! What runs in a node: programs and the gluster CLI in its namespaces, its glusterd
//! (started, stopped, found), and node crashes; programs in client namespaces.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::network::{netns_path, pids_in_netns};
use super::Cluster;
use crate::cmd::{gluster_via, wait_for, wait_ok, Cmd, Output};
use crate::error::{Error, Result};
use crate::procfs::pid_alive;

const GLUSTERD_ANSWER_TIMEOUT: Duration = Duration::from_secs(40);
/// How long processes get to exit after a signal.
pub(super) const EXIT_TIMEOUT: Duration = Duration::from_secs(15);

impl Cluster {
    /// Runs `program args...` in node `k` (its network and mount namespaces), waiting for
    /// it up to `timeout`; fails on a non-zero exit.
    pub fn exec_on(
        &self,
        k: usize,
        program: &str,
        args: &[&str],
        timeout: Duration,
    ) -> Result<String> {
        let node = self.node(k)?;
        let w = self.node_wrapper(&node)?;
        let out = Cmd::new(&w[0])
            .args(&w[1..])
            .arg(program)
            .args(args)
            .timeout(timeout)
            .run()?;
        Ok(out.stdout)
    }

    /// `gluster --mode=script ARGS` against node `k`'s glusterd (retried while glusterd
    /// reports a concurrent transaction).
    pub fn gluster_on(&self, k: usize, args: &[&str]) -> Result<String> {
        Ok(self.gluster_out(k, args)?.stdout)
    }

    pub(crate) fn gluster_out(&self, k: usize, args: &[&str]) -> Result<Output> {
        let node = self.node(k)?;
        let w = self.node_wrapper(&node)?;
        gluster_via(&w, args)
    }

    /// `gluster ARGS` on the first node whose glusterd runs (a management command for
    /// the whole pool).
    pub fn gluster(&self, args: &[&str]) -> Result<String> {
        Ok(self.gluster_any(args)?.stdout)
    }

    pub(crate) fn gluster_any(&self, args: &[&str]) -> Result<Output> {
        let mut last = None;
        for n in self.nodes() {
            if self.glusterd_pid(n.index).is_none() || !self.link_is_up(n.index) {
                continue;
            }
            match self.gluster_out(n.index, args) {
                Ok(out) => return Ok(out),
                Err(e) => {
                    let conn = matches!(&e, Error::Command { detail, .. }
                        if detail.contains("Connection failed"));
                    if !conn {
                        return Err(e);
                    }
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| {
            Error::invalid(
                "cluster",
                self.name(),
                "no node's glusterd runs (all nodes stopped or cut off)",
            )
        }))
    }

    /// Pids of every live process in node `k`'s network namespace (its glusterd, bricks,
    /// self-heal daemon).
    pub fn node_pids(&self, k: usize) -> Result<Vec<u32>> {
        Ok(pids_in_netns(&self.node(k)?.netns))
    }

    /// Pid of node `k`'s glusterd, when it runs.
    pub fn glusterd_pid(&self, k: usize) -> Option<u32> {
        let node = self.node(k).ok()?;
        pids_in_netns(&node.netns).into_iter().find(|p| {
            fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "glusterd")
        })
    }

    /// Starts node `k`'s glusterd (which starts the bricks of started volumes and the
    /// self-heal daemon) and waits until it answers.
    pub fn start_glusterd(&self, k: usize) -> Result<()> {
        let node = self.node(k)?;
        if self.glusterd_pid(k).is_some() {
            return Ok(());
        }
        self.check_private_mounts(&node)?;
        let w = self.node_wrapper(&node)?;
        Cmd::new(&w[0])
            .args(&w[1..])
            .arg("glusterd")
            .timeout(GLUSTERD_ANSWER_TIMEOUT)
            .run()?;
        wait_ok(
            &format!(
                "glusterd of node n{k} to answer (its log: {})",
                node.glusterd_log().display()
            ),
            GLUSTERD_ANSWER_TIMEOUT,
            || {
                self.gluster_out(k, &["volume", "list"])
                    .map(drop)
                    .map_err(|e| e.to_string())
            },
        )
    }

    /// Node `k` crashes: SIGKILL to every process in its network namespace (glusterd,
    /// bricks, self-heal daemon); waits until they are gone. Its state stays for
    /// [`Cluster::start_node`].
    pub fn kill_node(&self, k: usize) -> Result<()> {
        let node = self.node(k)?;
        kill_all_in(&node.netns)?;
        // Their pid files would make the next glusterd take a reused pid for a brick.
        remove_pid_files(&node.dir.join("run"));
        Ok(())
    }

    /// SIGTERM to node `k`'s glusterd only (bricks keep serving); waits until it exits.
    pub fn stop_glusterd(&self, k: usize) -> Result<()> {
        let Some(pid) = self.glusterd_pid(k) else {
            return Ok(());
        };
        signal(pid, rustix::process::Signal::TERM);
        wait_for(
            || format!("glusterd of node n{k} (pid {pid}) to exit"),
            EXIT_TIMEOUT,
            || (!pid_alive(pid)).then_some(()),
        )
    }

    /// Starts `program args...` in client namespace `k` in the background (its own process
    /// group, output to `log`); it is killed at teardown with everything in the namespace.
    pub fn spawn_in_client(
        &self,
        k: usize,
        program: &str,
        args: &[&str],
        log: &Path,
    ) -> Result<u32> {
        let c = self
            .clients()
            .into_iter()
            .find(|c| c.index == k)
            .ok_or_else(|| Error::invalid("client", format!("c{k}"), "no such client"))?;
        let out = fs::File::create(log).map_err(|e| Error::io("create", log, e))?;
        let err = out.try_clone().map_err(|e| Error::io("open", log, e))?;
        self.spawn_owned(
            program,
            Command::new("nsenter")
                .arg(format!("--net={}", netns_path(&c.netns).display()))
                .arg("--")
                .arg(program)
                .args(args)
                .stdout(out)
                .stderr(err),
        )
    }
}

pub(super) fn signal(pid: u32, sig: rustix::process::Signal) {
    if let Some(p) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(p, sig);
    }
}

/// SIGKILLs every process in network namespace `ns` until none is left (a dying glusterd
/// may still have spawned something).
pub(super) fn kill_all_in(ns: &str) -> Result<()> {
    let end = Instant::now() + EXIT_TIMEOUT;
    loop {
        let pids = pids_in_netns(ns);
        if pids.is_empty() {
            return Ok(());
        }
        if Instant::now() >= end {
            return Err(Error::Timeout {
                what: format!("processes {pids:?} of namespace {ns} to exit after SIGKILL"),
                timeout: EXIT_TIMEOUT,
            });
        }
        for p in pids {
            signal(p, rustix::process::Signal::KILL);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn remove_pid_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => remove_pid_files(&p),
            Ok(t) if t.is_file() && p.extension().is_some_and(|x| x == "pid") => {
                let _ = fs::remove_file(&p);
            }
            _ => {}
        }
    }
}
