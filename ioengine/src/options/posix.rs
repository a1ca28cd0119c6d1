//! The `posix=DIR` (rpc-bypass) options: their checks, and what
//! `posix_io_threads=auto` resolves to for a brick (issue 12).

use std::path::{Path, PathBuf};

use gfapi::DEFAULT_LOG_FILE;

use super::table::{
    OptionValues, POSIX_AUTO_POOL_MAX, POSIX_MAX_IO_THREADS, POSIX_MAX_POOL_THREADS,
};
use super::{err, nonempty, OptionError, Transport, DEFAULT_PORT};
use super::{ConnSpec, EngineOptions, GlusterUrl, IoMode, PosixSpec, WriteAggregation};

/// `posix_io_threads=auto` with iodepth > 1 (and io_mode=async): gluster's
/// default thread count, the best of 2..32 measured for async depth 32 on
/// the reference VM (docs/rpc-bypass.md).
pub const POSIX_AUTO_IO_THREADS: u32 = 16;
/// statfs `f_type` of the memory-backed file systems (linux/magic.h).
const TMPFS_MAGIC: i64 = 0x0102_1994;
const RAMFS_MAGIC: i64 = 0x8584_58f6;

/// `posix_io_threads=auto` at iodepth > 1 for a brick in `dir`. On a tmpfs
/// or ramfs brick no read waits on a device, and a buffered job's reads are
/// mostly page-cache hits: there any hand-off to a thread costs more than
/// the read, so auto gives 0 and posix serves each request inside fio's own
/// call (synchronous submission). 4 KiB random reads at depth 32 on tmpfs:
/// 188-212 k IOPS inline against 112-136 k with 2 io-threads and 47-78 k
/// with 16; buffered on a disk brick with the cache warm, 212-219 k against
/// 99-158 k with 2 (issue 12, results/PERFORMANCE.md). Fio's libaio reads
/// buffered files synchronously too, so a cold cache costs inline no more
/// than it costs base. Direct I/O on a disk keeps 16: there the threads are
/// the queue depth the device sees (2 threads: half the IOPS of 16).
pub fn auto_io_threads(dir: &Path, buffered: bool) -> u32 {
    if buffered || memory_backed(dir) {
        0
    } else {
        POSIX_AUTO_IO_THREADS
    }
}

/// Whether `dir` is on tmpfs or ramfs (a failed statfs says no).
pub(super) fn memory_backed(dir: &Path) -> bool {
    rustix::fs::statfs(dir).is_ok_and(|s| {
        #[allow(clippy::unnecessary_cast)] // the field's type differs by libc
        let t = s.f_type as i64;
        t == TMPFS_MAGIC || t == RAMFS_MAGIC
    })
}

/// A thread count option: `None` for unset or `auto`.
fn thread_count(name: &str, value: &Option<String>, max: u32) -> Result<Option<u32>, OptionError> {
    match nonempty(value) {
        None => Ok(None),
        Some(s) if s.eq_ignore_ascii_case("auto") => Ok(None),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if n <= max => Ok(Some(n)),
            _ => err(format!("{name}={s}: expected auto or 0-{max}")),
        },
    }
}

/// The `posix=DIR` (rpc-bypass) branch of [`EngineOptions::resolve`].
pub(super) fn resolve_posix(
    v: &OptionValues,
    urls: &[GlusterUrl],
    dir: &str,
    transport: Transport,
    port: u16,
    loglevel: i32,
    io_mode: IoMode,
) -> Result<EngineOptions, OptionError> {
    let conflict = |what: &str| {
        err(format!(
            "posix= and {what} exclude each other: posix= opens the brick directory in-process, \
             without glusterd or servers"
        ))
    };
    if nonempty(&v.brick).is_some() {
        return conflict("brick=");
    }
    if nonempty(&v.volfile).is_some() {
        return conflict("volfile=");
    }
    if !urls.is_empty() {
        return conflict("gluster:// file names (use paths inside the brick)");
    }
    if transport != Transport::Tcp {
        return conflict("transport=");
    }
    if port != DEFAULT_PORT {
        return conflict("port=");
    }
    let io_threads = thread_count(
        "posix_io_threads",
        &v.posix_io_threads,
        POSIX_MAX_IO_THREADS,
    )?;
    let pool = thread_count("posix_pool", &v.posix_pool, POSIX_MAX_POOL_THREADS)?;
    if let (Some(t), Some(p)) = (io_threads, pool) {
        if t > 0 && p > 0 {
            return err(format!(
                "posix_io_threads={t} and posix_pool={p} exclude each other: reads and writes \
                 run either on io-threads or on the engine's own threads"
            ));
        }
    }
    if pool.is_some_and(|p| p > 0) && io_mode == IoMode::Sync {
        return err(
            "posix_pool= needs io_mode=async (io_mode=sync runs every I/O in fio's thread)",
        );
    }
    // auto: what io-threads would have been, on the engine's own threads
    // instead, unless io-threads were asked for by name.
    let auto = if io_mode == IoMode::Async && v.iodepth > 1 {
        auto_io_threads(Path::new(dir), v.buffered)
    } else {
        0
    };
    // One thread per I/O in flight: on a disk the pool's threads are the
    // queue depth the device sees (the seed job's depth-32 file read 0.77-0.94
    // × base with 32 threads against 0.64-0.90 with 16; issue 12).
    let pool = pool.unwrap_or(if io_threads.is_none() && auto > 0 {
        v.iodepth.min(POSIX_AUTO_POOL_MAX)
    } else {
        0
    });
    let io_threads = io_threads.unwrap_or(if pool > 0 { 0 } else { auto });
    // Without io-threads or a pool, posix runs every request to completion
    // inside the submitting call, async ones included (the completion is
    // delivered before glfs_*_async returns). Async submission would then
    // only add its overhead (~3% at 4 KiB cached reads) and make fio book
    // the whole I/O time as submission latency (clat ~0): submit
    // synchronously.
    let io_mode = if io_threads == 0 && pool == 0 {
        IoMode::Sync
    } else {
        io_mode
    };
    let dir = PathBuf::from(dir);
    let volume = nonempty(&v.volume)
        .map(str::to_string)
        .unwrap_or_else(|| dir.display().to_string());
    Ok(EngineOptions {
        conn: ConnSpec {
            volume,
            servers: Vec::new(),
            volfile: None,
            logfile: nonempty(&v.logfile).unwrap_or(DEFAULT_LOG_FILE).into(),
            loglevel,
            posix: Some(PosixSpec {
                dir,
                io_threads,
                read_only: v.posix_read_only,
                force: v.posix_force,
            }),
            io_timeout: 0,
            client_io_threads: false,
            write_aggregation_off: false,
        },
        single_instance: v.single_instance,
        io_mode,
        // No write-behind in an rpc-bypass graph.
        write_aggregation: WriteAggregation::On,
        posix_pool: pool,
    })
}
