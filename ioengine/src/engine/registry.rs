//! The connections of this process: one shared connection per settings
//! (`single-instance=1`), the idle private ones kept for reuse, the files
//! laid out so far and the writes planned per volume. Everything is keyed
//! by pid: what a forked child inherits belongs to its parent.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use gfapi::Fs;

use crate::connect::connect;
use crate::error::EngineError;
use crate::fio;
use crate::options::ConnSpec;

pub(super) struct Registry {
    pub(super) pid: u32,
    pub(super) shared: HashMap<ConnSpec, Fs>,
    /// Files laid out by some job of this process: (volume, path).
    pub(super) laid_out: HashSet<(ConnSpec, String)>,
    /// Bytes the jobs checked so far may still allocate, by volume
    /// (`write_aggregation=auto`).
    pub(super) planned_writes: HashMap<ConnSpec, u64>,
}

pub(super) static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

pub(super) type IdlePool = Option<(u32, HashMap<ConnSpec, Vec<Fs>>)>;
/// Private connections (`single-instance=0`) of jobs that ended, by settings,
/// for the next such job of this process (pid). Connections are never
/// finalised (SkipFini), so without reuse every job of a long `thread=1` run
/// would leave its gfapi threads, sockets and memory behind; with it they are
/// bounded by the number of jobs running at once.
pub(super) static IDLE: Mutex<IdlePool> = Mutex::new(None);

pub(super) fn idle_pool(g: &mut IdlePool) -> &mut HashMap<ConnSpec, Vec<Fs>> {
    let pid = fio::getpid();
    if g.as_ref().is_some_and(|(p, _)| *p != pid) {
        // Inherited over fork(): the parent's, never used nor dropped here.
        if let Some(old) = g.take() {
            std::mem::forget(old);
        }
    }
    &mut g.get_or_insert_with(|| (pid, HashMap::new())).1
}
/// Serialises file layout within a process (like fio's create_serialize).
pub(super) static LAYOUT: Mutex<()> = Mutex::new(());

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The registry of this process. Connections inherited over fork() belong to
/// the parent: they are forgotten (never used, never dropped).
pub(super) fn registry(guard: &mut Option<Registry>) -> &mut Registry {
    let pid = fio::getpid();
    if guard.as_ref().is_some_and(|r| r.pid != pid) {
        if let Some(old) = guard.take() {
            if !old.shared.is_empty() {
                fio::log_info(
                    "glusterrs: job forked from a process that already had gfapi connections \
                     (thread=1 and process jobs mixed); connecting anew\n",
                );
            }
            std::mem::forget(old);
        }
    }
    guard.get_or_insert_with(|| Registry {
        pid,
        shared: HashMap::new(),
        laid_out: HashSet::new(),
        planned_writes: HashMap::new(),
    })
}

pub(super) fn has_connections() -> bool {
    let mut g = lock(&REGISTRY);
    !registry(&mut g).shared.is_empty()
}

/// A connection for `spec` in this process: the shared one (made on first
/// use) or, with `shared == false`, a private one.
pub(super) fn connection(spec: &ConnSpec, shared: bool) -> Result<Fs, EngineError> {
    if !shared {
        let idle = idle_pool(&mut lock(&IDLE)).get_mut(spec).and_then(Vec::pop);
        return idle.map_or_else(|| connect(spec), Ok);
    }
    let mut g = lock(&REGISTRY);
    let reg = registry(&mut g);
    if let Some(fs) = reg.shared.get(spec) {
        return Ok(fs.clone());
    }
    let fs = connect(spec)?;
    reg.shared.insert(spec.clone(), fs.clone());
    Ok(fs)
}
