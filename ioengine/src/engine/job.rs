//! A job's engine state ([`Job`]) and its life: the options it resolves
//! to, `setup` (sizes, from a forked helper in fio's parent), `init`
//! (connection, completion queue) and `cleanup`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use gfapi::{Completion, CompletionQueue, Fs, IoPool};

use super::paths::stat_size;
use super::registry::{connection, has_connections, idle_pool, lock, IDLE};
use crate::connect::{connect, rpc_bypass};
use crate::error::EngineError;
use crate::fio::{self, IoUToken, JobSettings, Td};
use crate::options::{
    merge_split_urls, parse_gluster_url, volume_path, ConnSpec, EngineOptions, GlusterUrl, IoMode,
    DEFAULT_PORT,
};

/// Per-job engine state (kept in `td->io_ops_data`).
pub struct Job {
    pub(super) settings: JobSettings,
    pub(super) opts: EngineOptions,
    pub(super) fs: Fs,
    pub(super) queue: CompletionQueue<IoUToken>,
    /// Scratch for CompletionQueue::wait.
    pub(super) completions: Vec<Completion<IoUToken>>,
    /// The io_us reaped by the last getevents, for event().
    pub(super) events: Vec<IoUToken>,
    /// Files whose layout was checked by this job.
    pub(super) checked: HashSet<usize>,
    /// `posix_pool`: the job's own threads for reads and writes (rpc-bypass).
    pub(super) pool: Option<IoPool<IoUToken>>,
}

/// This job's engine state, if `init` made one.
pub(super) fn job_state(td: &mut Td) -> Option<&mut Job> {
    td.job::<Job>()
}

pub(super) fn no_job() -> EngineError {
    EngineError::invalid("engine not initialised for this job (init failed?)")
}

/// Glues gluster URLs that fio split at ':' back together (see
/// [`merge_split_urls`]).
pub(super) fn merge_file_names(td: &mut Td) -> Result<(), EngineError> {
    let names: Vec<String> = (0..td.nr_files())
        .filter_map(|i| td.file(i))
        .map(|f| f.name())
        .collect();
    if let Some(merged) = merge_split_urls(&names) {
        td.rename_and_truncate_files(&merged)?;
    }
    Ok(())
}

/// The job's options and, per file, the path inside the volume.
pub(super) fn job_options(td: &Td) -> Result<(EngineOptions, Vec<String>), EngineError> {
    let values = td.option_values()?;
    let port = u16::try_from(values.port)
        .ok()
        .filter(|p| *p > 0)
        .unwrap_or(DEFAULT_PORT);
    let mut urls: Vec<GlusterUrl> = Vec::new();
    let mut paths = Vec::with_capacity(td.nr_files());
    for i in 0..td.nr_files() {
        let Some(f) = td.file(i) else { continue };
        let name = f.name();
        let url = parse_gluster_url(&name, port)?;
        paths.push(volume_path(&name, url.as_ref()));
        urls.extend(url);
    }
    let opts = EngineOptions::resolve(&values, &urls)?;
    rpc_bypass::check_job(&opts, &td.settings())?;
    Ok((opts, paths))
}

/// Stats `paths` from a forked helper process (see the `engine` module docs).
pub(super) fn probe_sizes(
    spec: &ConnSpec,
    paths: &[String],
) -> Result<Vec<Option<u64>>, EngineError> {
    let out = fio::run_in_child(
        || {
            let mut out = String::new();
            match connect(spec) {
                Err(e) => out.push_str(&format!("ERR {} {}\n", e.errno(), e)),
                Ok(fs) => {
                    out.push_str("OK\n");
                    for p in paths {
                        match stat_size(&fs, p) {
                            Ok(Some(n)) => out.push_str(&format!("S {n}\n")),
                            Ok(None) => out.push_str("N\n"),
                            Err(e) => out.push_str(&format!("ERR {} {}\n", e.errno(), e)),
                        }
                    }
                    // The process _exits right after; no fini.
                    std::mem::forget(fs);
                }
            }
            out.into_bytes()
        },
        Duration::from_secs(120),
    )
    .map_err(|e| {
        EngineError::new(
            e.raw_os_error().unwrap_or(libc::EIO),
            format!("connecting to {spec} from a helper process failed: {e}"),
        )
    })?;
    let text = String::from_utf8_lossy(&out);
    let mut lines = text.lines();
    let parse_err = |l: &str| -> EngineError {
        let mut it = l.splitn(3, ' ');
        let _ = it.next();
        let errno = it.next().and_then(|n| n.parse().ok()).unwrap_or(libc::EIO);
        EngineError::new(errno, it.next().unwrap_or("unknown error").to_string())
    };
    match lines.next() {
        Some("OK") => {}
        Some(l) if l.starts_with("ERR ") => return Err(parse_err(l)),
        _ => {
            return Err(EngineError::new(
                libc::EIO,
                format!("connecting to {spec}: the helper process died without an answer"),
            ))
        }
    }
    let mut sizes = Vec::with_capacity(paths.len());
    for p in paths {
        match lines.next() {
            Some("N") => sizes.push(None),
            Some(l) if l.starts_with("S ") => sizes.push(l[2..].trim().parse().ok()),
            Some(l) if l.starts_with("ERR ") => return Err(parse_err(l)),
            _ => {
                return Err(EngineError::new(
                    libc::EIO,
                    format!("stat {p}: no answer from the helper process"),
                ))
            }
        }
    }
    Ok(sizes)
}

/// `setup`: runs before io sizes are computed, in fio's parent (default) or
/// in the job (`create_serialize=0`). Checks the options, connects (see the `engine`
/// module docs) and reports the sizes of existing files.
pub fn setup(td: &mut Td) -> Result<(), EngineError> {
    merge_file_names(td)?;
    let (opts, paths) = job_options(td)?;
    let settings = td.settings();
    let sizes = if let Some(job) = job_state(td) {
        // create_serialize=0: init already connected in this job.
        let fs = job.fs.clone();
        paths
            .iter()
            .map(|p| stat_size(&fs, p))
            .collect::<Result<Vec<_>, _>>()?
    } else if settings.use_thread || has_connections() {
        // Threads share this process; no fork will follow this connection
        // into a job. (A process already holding connections uses them too.)
        let fs = connection(&opts.conn, true)?;
        paths
            .iter()
            .map(|p| stat_size(&fs, p))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        probe_sizes(&opts.conn, &paths)?
    };
    for (i, size) in sizes.into_iter().enumerate() {
        let Some(mut f) = td.file(i) else { continue };
        f.set_regular();
        f.set_real_file_size(size.unwrap_or(0));
    }
    // fio sizes the files the job will create/extend itself (see
    // Td::begin_sizing); init/open_file clear the flag before any I/O.
    td.begin_sizing();
    Ok(())
}

/// How long the engine's init holds back in an `io_submit_mode=offload` submit
/// worker (see [`init`]).
pub(super) const OFFLOAD_WORKER_GRACE: Duration = Duration::from_millis(200);

pub fn init(td: &mut Td) -> Result<Job, EngineError> {
    merge_file_names(td)?;
    let (opts, _) = job_options(td)?;
    td.end_sizing();
    td.set_sync_engine(opts.io_mode == IoMode::Sync);
    let settings = td.settings();
    if settings.offload_worker {
        // fio 3.33's workqueue start_worker() stores `flags = SW_F_IDLE` after
        // pthread_create() returns; a worker whose engine init finished before
        // that store loses its SW_F_RUNNING flag, and workqueue_init() waits
        // for it forever (the job hangs). This engine's init is that fast once
        // the job's connection is up, so it gives fio's thread time to store.
        std::thread::sleep(OFFLOAD_WORKER_GRACE);
    }
    if settings.pre_read && !settings.offload_worker {
        // fio's pre_read_file() reads through f->fd with lseek(2)/read(2); a gfapi
        // file has no kernel descriptor, so fio fails the job right after this with
        // "failed to lseek pre-read file" (fio's gfapi engines too). Say why.
        fio::log_err(&format!(
            "glusterrs: {}: pre_read=1 cannot work with a gfapi engine: fio pre-reads \
             through a kernel file descriptor (lseek/read), which a file on a GlusterFS \
             volume opened through libgfapi does not have; drop pre_read\n",
            settings.name
        ));
    }
    let fs = connection(&opts.conn, opts.single_instance)?;
    // fio submits from this (the job's) thread: cache its credentials in
    // gfapi, or every request costs geteuid, getegid and two getgroups
    // calls. Failing that, gfapi keeps asking the kernel: same identity.
    let _ = gfapi::cache_thread_credentials();
    // The same for its pid: one getpid() less per request.
    let _ = fs.cache_thread_pid();
    let depth = settings.iodepth.max(1) as usize;
    // Started here, in the job: threads do not survive fio's fork.
    let pool = match opts.posix_pool {
        0 => None,
        n => Some(IoPool::new(n as usize).map_err(|e| EngineError::gfapi(&e, "posix_pool"))?),
    };
    Ok(Job {
        settings,
        opts,
        fs,
        // Sized for the depth: delivering a completion never allocates.
        queue: CompletionQueue::with_capacity(depth),
        completions: Vec::with_capacity(depth),
        events: Vec::with_capacity(depth),
        checked: HashSet::new(),
        pool,
    })
}

pub fn cleanup(mut job: Job) {
    // fio reaps every I/O before cleanup; if not (error paths), wait: the
    // buffers of in-flight I/O belong to fio and must not be freed under gfapi.
    let deadline = Instant::now() + Duration::from_secs(60);
    while job.queue.in_flight() > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            fio::log_err(&format!(
                "glusterrs: {}: {} I/O(s) still in flight at cleanup; leaking the job state\n",
                job.settings.name,
                job.queue.in_flight()
            ));
            std::mem::forget(job);
            return;
        }
        let n = job.queue.in_flight();
        job.completions.clear();
        job.queue.wait(&mut job.completions, n, n, Some(left));
    }
    job.completions.clear();
    // A private connection with no file left open goes back for reuse.
    if !job.opts.single_instance && job.fs.handle_count() == 1 {
        let Job { opts, fs, .. } = job;
        idle_pool(&mut lock(&IDLE))
            .entry(opts.conn)
            .or_default()
            .push(fs);
        return;
    }
    drop(job);
}
