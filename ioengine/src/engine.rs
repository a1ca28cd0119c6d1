//! Engine logic on safe types: connections, file layout, open/close, I/O
//! submission and completion.
//!
//! # Processes, threads and connections
//! gfapi's threads do not survive `fork()`, and fio (default
//! `create_serialize=1`) calls `setup` for every job in its parent process
//! before forking the jobs. So:
//! * `setup` in a process-mode parent never creates gfapi state there: it
//!   forks a short-lived helper that connects, stats the job's files, reports
//!   and `_exit`s (no fini). Bad settings (unknown volume, dead server,
//!   missing volfile) fail here, before any job starts.
//! * `init` runs in the job (process or thread) and takes its connection
//!   from a per-process registry: one connection per settings, shared by
//!   every job of the process (`thread=1`), unless `single-instance=0`.
//!   The registry remembers its pid; a forked child never uses (nor drops)
//!   an inherited connection.
//! * Connections are never `glfs_fini`ed (`Teardown::SkipFini`): by the time
//!   fio leaves, every file was closed — and so flushed — by `close_file`;
//!   the ~10 s fini would only delay the exit.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use gfapi::{Completion, CompletionQueue, Fs, IoPool, Teardown};

use crate::fio::{self, Ddir, Fallocate, FioFile, IoU, IoUToken, JobSettings, Td};
use crate::options::{
    merge_split_urls, parse_gluster_url, volume_path, ConnSpec, EngineOptions, GlusterUrl, IoMode,
    OptionError, WriteAggregation,
};

/// An error the engine reports to fio: an errno plus a message.
#[derive(Debug, thiserror::Error)]
#[error("{msg}")]
pub struct EngineError {
    errno: i32,
    msg: String,
}

impl EngineError {
    pub fn new(errno: i32, msg: impl Into<String>) -> EngineError {
        EngineError {
            errno,
            msg: msg.into(),
        }
    }

    pub fn invalid(msg: impl Into<String>) -> EngineError {
        EngineError::new(libc::EINVAL, msg)
    }

    fn gfapi(e: &gfapi::Error, context: impl std::fmt::Display) -> EngineError {
        EngineError::new(
            e.raw_os_error().unwrap_or(libc::EIO),
            format!("{context}: {e}"),
        )
    }

    pub fn errno(&self) -> i32 {
        self.errno
    }
}

impl From<OptionError> for EngineError {
    fn from(e: OptionError) -> Self {
        EngineError::invalid(e.0)
    }
}

/// An open file (kept in `fio_file->engine_data`).
pub struct FileState {
    file: gfapi::File,
    path: String,
}

/// Per-job engine state (kept in `td->io_ops_data`).
pub struct Job {
    settings: JobSettings,
    opts: EngineOptions,
    fs: Fs,
    queue: CompletionQueue<IoUToken>,
    /// Scratch for CompletionQueue::wait.
    completions: Vec<Completion<IoUToken>>,
    /// The io_us reaped by the last getevents, for event().
    events: Vec<IoUToken>,
    /// Files whose layout was checked by this job.
    checked: HashSet<usize>,
    /// `posix_pool`: the job's own threads for reads and writes (rpc-bypass).
    pool: Option<IoPool<IoUToken>>,
}

/// Outcome of `queue`.
pub enum Queued {
    Completed,
    Queued,
}

// ---------------------------------------------------------------------------
// Options of a job
// ---------------------------------------------------------------------------

/// Glues gluster URLs that fio split at ':' back together (see
/// [`merge_split_urls`]).
fn merge_file_names(td: &mut Td) -> Result<(), EngineError> {
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
fn job_options(td: &Td) -> Result<(EngineOptions, Vec<String>), EngineError> {
    let values = td.option_values()?;
    let port = u16::try_from(values.port)
        .ok()
        .filter(|p| *p > 0)
        .unwrap_or(crate::options::DEFAULT_PORT);
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
    crate::rpc_bypass::check_job(&opts, &td.settings())?;
    Ok((opts, paths))
}

fn file_path(f: &FioFile, opts: &EngineOptions) -> Result<String, EngineError> {
    let name = f.name();
    let port = opts
        .conn
        .servers
        .first()
        .map_or(crate::options::DEFAULT_PORT, |s| s.port);
    let url = parse_gluster_url(&name, port)?;
    Ok(volume_path(&name, url.as_ref()))
}

// ---------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------

struct Registry {
    pid: u32,
    shared: HashMap<ConnSpec, Fs>,
    /// Files laid out by some job of this process: (volume, path).
    laid_out: HashSet<(ConnSpec, String)>,
    /// Bytes the jobs checked so far may still allocate, by volume
    /// (`write_aggregation=auto`).
    planned_writes: HashMap<ConnSpec, u64>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

type IdlePool = Option<(u32, HashMap<ConnSpec, Vec<Fs>>)>;
/// Private connections (`single-instance=0`) of jobs that ended, by settings,
/// for the next such job of this process (pid). Connections are never
/// finalised (SkipFini), so without reuse every job of a long `thread=1` run
/// would leave its gfapi threads, sockets and memory behind; with it they are
/// bounded by the number of jobs running at once.
static IDLE: Mutex<IdlePool> = Mutex::new(None);

fn idle_pool(g: &mut IdlePool) -> &mut HashMap<ConnSpec, Vec<Fs>> {
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
static LAYOUT: Mutex<()> = Mutex::new(());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The registry of this process. Connections inherited over fork() belong to
/// the parent: they are forgotten (never used, never dropped).
fn registry(guard: &mut Option<Registry>) -> &mut Registry {
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

fn has_connections() -> bool {
    let mut g = lock(&REGISTRY);
    !registry(&mut g).shared.is_empty()
}

fn connect(spec: &ConnSpec) -> Result<Fs, EngineError> {
    fio::ignore_sigpipe();
    if let Some(p) = &spec.posix {
        return crate::rpc_bypass::connect(spec, p);
    }
    if let Some(p) = &spec.volfile {
        // A fifo (or device) would block the read in gfapi for ever.
        match std::fs::metadata(p) {
            Ok(m) if !m.is_file() => {
                let (errno, what) = if m.is_dir() {
                    (libc::EISDIR, "a directory")
                } else {
                    (libc::EINVAL, "not a regular file")
                };
                return Err(EngineError::new(
                    errno,
                    format!("cannot read volfile {}: {what}", p.display()),
                ));
            }
            _ => {}
        }
        // GlusterFS hands any `...` span of a volfile to a shell (popen)
        // when it loads it: a volfile= option must not run commands.
        if let Ok(text) = std::fs::read(p) {
            if let Some(i) = text.iter().position(|&b| b == b'`') {
                let line = 1 + text[..i].iter().filter(|&&b| b == b'\n').count();
                return Err(EngineError::invalid(format!(
                    "volfile {}, line {line}: a backtick; GlusterFS would run the text between \
                     backticks as a shell command (refused)",
                    p.display()
                )));
            }
        }
    }
    let mut v = match &spec.volfile {
        Some(p) => gfapi::Volume::volfile(spec.volume.clone(), p),
        None => gfapi::Volume::new(spec.volume.clone()),
    };
    let probe = crate::server_order::probe_timeout(spec.io_timeout);
    for s in crate::server_order::reachable_first(&spec.servers, probe) {
        v = v.transport_server(s.transport, s.host, s.port);
    }
    if spec.io_timeout > 0 {
        // A hung server is dropped up to 2 ping-timeouts after it stops
        // answering (1.5-1.8 measured on 10.3): 40% keeps it within
        // io_timeout. Names are VOLUME-client-N in glusterd's and
        // glusterrs-cluster's volfiles.
        let ping = (spec.io_timeout * 2 / 5).max(1);
        v = v.xlator_option("*-client-*", "ping-timeout", ping.to_string());
        // A brick host that does not answer at all (down, cut off) otherwise holds
        // the connect for the kernel's SYN retries (~2 min), and the replicate or
        // disperse translator waits to hear from every brick before the graph
        // comes up: bound the connect (and unacknowledged sends) the same way.
        v = v.xlator_option("*-client-*", "transport.tcp-user-timeout", ping.to_string());
        // A server that accepts but never answers: give up connecting in
        // time for the whole failure to stay within io_timeout.
        let bound = Duration::from_secs(u64::from(spec.io_timeout)).mul_f64(0.8);
        v = v.init_timeout(bound.max(Duration::from_secs(2)));
    }
    if !spec.client_io_threads {
        // fio keeps iodepth requests in flight already: the io-threads hop
        // (a queue plus a worker wakeup per request) only adds CPU and
        // latency. Matches glusterd's VOLUME-io-threads; a no-op for graphs
        // without it (bypass-custom volfiles).
        v = v.xlator_option("*-io-threads", "pass-through", "true");
    }
    // GlusterFS 10.3's write-behind overruns its own heap after a brick
    // returns a short write (disk full): the retried request keeps its
    // aggregation buffer but its iov_base moved forward, and the next
    // sequential write is copied past the buffer's end (docs/faults.md,
    // "GlusterFS 10.3 write-behind"). With aggregate-size 0 no write is ever copied into
    // another's buffer; write-behind still acknowledges early and winds
    // each write on its own. A no-op for graphs without write-behind.
    if spec.write_aggregation_off {
        v = v.xlator_option("*-write-behind", "aggregate-size", "0");
    }
    let fs = v
        .log_file(&spec.logfile)
        .log_level(spec.loglevel)
        .init()
        .map_err(|e| {
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            EngineError::new(errno, format!("cannot connect to {spec}: {e}"))
        })?;
    fs.set_teardown(Teardown::SkipFini);
    Ok(fs)
}

/// A connection for `spec` in this process: the shared one (made on first
/// use) or, with `shared == false`, a private one.
fn connection(spec: &ConnSpec, shared: bool) -> Result<Fs, EngineError> {
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

// ---------------------------------------------------------------------------
// Sizes (setup)
// ---------------------------------------------------------------------------

/// Size of a file on the volume; `None` if it does not exist.
fn stat_size(fs: &Fs, path: &str) -> Result<Option<u64>, EngineError> {
    match fs.stat(path) {
        Ok(st) if st.is_dir() => Err(EngineError::new(
            libc::EISDIR,
            format!("{path} is a directory on the volume"),
        )),
        Ok(st) => Ok(Some(st.size)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(EngineError::gfapi(&e, format!("stat {path}"))),
    }
}

/// Stats `paths` from a forked helper process (see the module docs).
fn probe_sizes(spec: &ConnSpec, paths: &[String]) -> Result<Vec<Option<u64>>, EngineError> {
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
/// in the job (`create_serialize=0`). Checks the options, connects (see the
/// module docs) and reports the sizes of existing files.
pub fn setup(td: &mut Td) -> Result<(), EngineError> {
    merge_file_names(td)?;
    let (opts, paths) = job_options(td)?;
    let settings = td.settings();
    let sizes = if let Some(job) = td.job() {
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

// ---------------------------------------------------------------------------
// init / cleanup
// ---------------------------------------------------------------------------

/// How long the engine's init holds back in an `io_submit_mode=offload` submit
/// worker (see [`init`]).
const OFFLOAD_WORKER_GRACE: Duration = Duration::from_millis(200);

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

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

fn gfapi_errno(e: &gfapi::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

/// Creates the missing parent directories of `path` on the volume.
fn make_parents(fs: &Fs, path: &str) -> Result<(), EngineError> {
    let mut cur = std::path::PathBuf::from("/");
    let parent = Path::new(path).parent().unwrap_or(Path::new("/"));
    for comp in parent.components().skip(1) {
        cur.push(comp);
        match fs.mkdir(&cur, 0o755) {
            Ok(()) => {}
            Err(e) if gfapi_errno(&e) == libc::EEXIST => {}
            Err(e) => return Err(EngineError::gfapi(&e, format!("mkdir {}", cur.display()))),
        }
    }
    Ok(())
}

/// Opens `path`, creating it (and its directories) when `flags` has O_CREAT.
fn open_path(fs: &Fs, path: &str, flags: i32) -> Result<gfapi::File, gfapi::Error> {
    if flags & libc::O_CREAT == 0 {
        return fs.open(path, flags);
    }
    match fs.create(path, flags, 0o644) {
        Err(e) if gfapi_errno(&e) == libc::ENOENT && make_parents(fs, path).is_ok() => {
            fs.create(path, flags, 0o644)
        }
        r => r,
    }
}

/// Lays out a file the job needs but that is missing or too short, with the
/// semantics of fio's extend_file() for local files: read jobs (and
/// overwrite=1 writers) get the file written in full, other writers get it
/// recreated; `fallocate=` preallocates, `create_fsync` syncs.
fn ensure_layout(
    td: &mut Td,
    fs: &Fs,
    spec: &ConnSpec,
    s: &JobSettings,
    f: &FioFile,
    path: &str,
    log: &mut dyn FnMut(String),
) -> Result<(), EngineError> {
    if s.create_on_open || s.fill_device || fio::read_only() {
        return Ok(());
    }
    let needed = f.file_offset().saturating_add(f.io_size());
    if needed == 0 || needed == u64::MAX {
        return Ok(());
    }
    let _serial = lock(&LAYOUT);
    let key = (spec.volume_key(), path.to_string());
    {
        let mut g = lock(&REGISTRY);
        if registry(&mut g).laid_out.contains(&key) {
            return Ok(());
        }
    }
    if stat_size(fs, path)?.is_some_and(|size| size >= needed) {
        return Ok(());
    }
    if let Some(p) = spec.posix.as_ref().filter(|p| p.read_only) {
        return Err(crate::rpc_bypass::layout_refused(p, path, needed));
    }
    let new_layout = s.dirs.read || (s.dirs.write && s.overwrite && !s.file_append);
    let unlink_first = s.dirs.write && !s.overwrite && !s.file_append;
    if new_layout || unlink_first {
        match fs.unlink(path) {
            Ok(()) => {}
            Err(e) if gfapi_errno(&e) == libc::ENOENT => {}
            Err(e) => return Err(EngineError::gfapi(&e, format!("unlink {path}"))),
        }
    }
    let mut flags = libc::O_WRONLY;
    if s.allow_create {
        flags |= libc::O_CREAT;
    }
    if new_layout {
        flags |= libc::O_TRUNC;
    }
    let file = match open_path(fs, path, flags) {
        Ok(file) => file,
        Err(e) if gfapi_errno(&e) == libc::ENOENT && !s.allow_create => {
            return Err(EngineError::new(
                libc::ENOENT,
                format!("{path}: file creation disallowed by allow_file_create=0"),
            ))
        }
        Err(e) => return Err(EngineError::gfapi(&e, format!("create {path}"))),
    };
    match s.fallocate {
        Fallocate::None => {}
        Fallocate::Native => {
            // Best effort, like fio's native mode.
            let _ = file.fallocate(0, 0, needed);
        }
        Fallocate::Posix => {
            if let Err(e) = file.fallocate(0, 0, needed) {
                fio::log_err(&format!("fio: posix_fallocate fails: {e}\n"));
            }
        }
        Fallocate::KeepSize => file
            .fallocate(libc::FALLOC_FL_KEEP_SIZE, 0, needed)
            .map_err(|e| EngineError::gfapi(&e, format!("fallocate {path}")))?,
        Fallocate::Truncate => file
            .truncate(needed)
            .map_err(|e| EngineError::gfapi(&e, format!("ftruncate {path}")))?,
    }
    if new_layout {
        if fio::normal_output() {
            log(format!(
                "{}: Laying out IO file {path} ({}MiB)\n",
                s.name,
                needed >> 20
            ));
        }
        file.truncate(needed)
            .map_err(|e| EngineError::gfapi(&e, format!("ftruncate {path}")))?;
        let bs = s.max_bs_write.clamp(1 << 20, 16 << 20).min(needed) as usize;
        let mut buf = vec![0u8; bs.max(1)];
        let mut off = 0u64;
        while off < needed && !td.terminating() {
            let n = ((needed - off) as usize).min(buf.len());
            td.fill_buffer(&mut buf[..n]);
            match file.write_at(&buf[..n], off) {
                Ok(0) => {
                    return Err(EngineError::new(
                        libc::EIO,
                        format!("laying out {path}: short write"),
                    ))
                }
                Ok(w) => off += w as u64,
                Err(e) => {
                    let errno = gfapi_errno(&e);
                    if errno == libc::ENOSPC || errno == libc::EDQUOT {
                        log("fio: ENOSPC on laying out file, stopping\n".to_string());
                    }
                    return Err(EngineError::gfapi(&e, format!("laying out {path}")));
                }
            }
        }
        if td.terminating() {
            drop(file);
            let _ = fs.unlink(path);
            return Ok(());
        }
        if s.create_fsync {
            file.fsync()
                .map_err(|e| EngineError::gfapi(&e, format!("fsync {path}")))?;
        }
    }
    file.close()
        .map_err(|e| EngineError::gfapi(&e, format!("close {path}")))?;
    let mut g = lock(&REGISTRY);
    registry(&mut g).laid_out.insert(key);
    Ok(())
}

/// `prepopulate_file`: called by fio's setup_files() for every file once the
/// io sizes are known, before any job starts (in fio's parent by default).
/// The first call lays out every file of the job that needs it, the way
/// fio lays out local files at that point (see [`ensure_layout`]).
pub fn prepopulate_file(td: &mut Td, f: FioFile) -> Result<(), EngineError> {
    if f.index() != 0 {
        return Ok(());
    }
    let settings = td.settings();
    let (opts, paths) = job_options(td)?;
    let files: Vec<FioFile> = (0..td.nr_files()).filter_map(|i| td.file(i)).collect();
    let in_process = match td.job() {
        Some(job) => Some(job.fs.clone()),
        None if settings.use_thread || has_connections() => Some(connection(&opts.conn, true)?),
        None => None,
    };
    let check_space = opts.write_aggregation == WriteAggregation::Auto && settings.dirs.write;
    let space = match in_process {
        Some(fs) => {
            for (f, path) in files.iter().zip(&paths) {
                ensure_layout(td, &fs, &opts.conn, &settings, f, path, &mut |m| {
                    fio::log_info(&m)
                })?;
            }
            check_space.then(|| write_space(&fs, &files, &paths))
        }
        None => layout_in_child(td, &opts.conn, &settings, &files, &paths, check_space)?,
    };
    for mut f in files {
        f.set_layout_done();
    }
    if let Some(space) = space {
        decide_write_aggregation(td, &opts, &settings, space);
    }
    Ok(())
}

/// What a writing job may still allocate on the volume, and the volume's
/// free space, once its files are laid out (`write_aggregation=auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WriteSpace {
    /// Bytes past the current end of the job's files, up to where it writes.
    needed: u64,
    /// Free bytes; `None` if statvfs failed.
    avail: Option<u64>,
}

fn write_space(fs: &Fs, files: &[FioFile], paths: &[String]) -> WriteSpace {
    let needed = files
        .iter()
        .zip(paths)
        .map(|(f, path)| {
            let end = f.file_offset().saturating_add(f.io_size());
            let have = stat_size(fs, path).ok().flatten().unwrap_or(0);
            end.saturating_sub(have)
        })
        .fold(0u64, u64::saturating_add);
    let avail = fs.statvfs("/").ok().map(|s| s.avail_bytes());
    WriteSpace { needed, avail }
}

/// Could writes of `needed` bytes (on top of `earlier` from other jobs of
/// this run) fill a volume with `avail` free? 10 % of the free space is
/// kept for writers outside fio.
fn could_fill(earlier: u64, needed: u64, avail: Option<u64>) -> bool {
    needed > 0
        && avail.map_or(true, |avail| {
            earlier.saturating_add(needed) >= avail / 10 * 9
        })
}

/// `write_aggregation=auto`: turns write-behind's aggregation off for a job
/// whose writes could fill the volume (see `connect`), and says so.
fn decide_write_aggregation(td: &mut Td, opts: &EngineOptions, s: &JobSettings, space: WriteSpace) {
    let key = opts.conn.volume_key();
    let earlier = {
        let mut g = lock(&REGISTRY);
        let planned = registry(&mut g).planned_writes.entry(key).or_insert(0);
        let earlier = *planned;
        *planned = planned.saturating_add(space.needed);
        earlier
    };
    if !could_fill(earlier, space.needed, space.avail) {
        return;
    }
    let free = match space.avail {
        Some(a) => format!("{} MiB free", a >> 20),
        None => "free space unknown".to_string(),
    };
    let others = if earlier > 0 {
        format!(" (with {} MiB of earlier jobs)", earlier >> 20)
    } else {
        String::new()
    };
    let risk = format!(
        "glusterrs: {}: writes of {} MiB{others} could fill {} ({free})",
        s.name,
        space.needed >> 20,
        opts.conn
    );
    if td.job().is_some() {
        // create_serialize=0: this job is connected already.
        fio::log_info(&format!(
            "{risk}; with create_serialize=0 write_aggregation=auto decides too late: set \
             write_aggregation=off to keep GlusterFS 10.3's write-behind from crashing on a \
             full brick\n"
        ));
        return;
    }
    td.set_write_aggregation_off();
    fio::log_info(&format!(
        "{risk}: write-behind aggregation off (write_aggregation=auto; GlusterFS 10.3 \
         overruns its buffer on a short write at a full brick)\n"
    ));
}

/// Lays the files out from a forked helper (fio's parent keeps no gfapi
/// state); the helper's messages are printed by the parent.
fn layout_in_child(
    td: &mut Td,
    spec: &ConnSpec,
    settings: &JobSettings,
    files: &[FioFile],
    paths: &[String],
    check_space: bool,
) -> Result<Option<WriteSpace>, EngineError> {
    let out = fio::run_in_child(
        || {
            let mut out = String::new();
            let fs = match connect(spec) {
                Ok(fs) => fs,
                Err(e) => return format!("ERR {} {}\n", e.errno(), e).into_bytes(),
            };
            for (f, path) in files.iter().zip(paths) {
                let mut log = |m: String| {
                    for l in m.lines() {
                        out.push_str("MSG ");
                        out.push_str(l);
                        out.push('\n');
                    }
                };
                if let Err(e) = ensure_layout(td, &fs, spec, settings, f, path, &mut log) {
                    out.push_str(&format!("ERR {} {}\n", e.errno(), e));
                    break;
                }
            }
            if check_space {
                let space = write_space(&fs, files, paths);
                let avail = space.avail.map_or("-".to_string(), |a| a.to_string());
                out.push_str(&format!("SPACE {} {avail}\n", space.needed));
            }
            out.push_str("DONE\n");
            std::mem::forget(fs);
            out.into_bytes()
        },
        Duration::from_secs(24 * 3600),
    )
    .map_err(|e| {
        EngineError::new(
            e.raw_os_error().unwrap_or(libc::EIO),
            format!("laying out files from a helper process failed: {e}"),
        )
    })?;
    let text = String::from_utf8_lossy(&out);
    let mut done = false;
    let mut space = None;
    for l in text.lines() {
        if let Some(m) = l.strip_prefix("MSG ") {
            fio::log_info(&format!("{m}\n"));
        } else if let Some(rest) = l.strip_prefix("SPACE ") {
            let mut it = rest.split(' ');
            let needed = it.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            let avail = it.next().and_then(|n| n.parse().ok());
            space = Some(WriteSpace { needed, avail });
        } else if let Some(rest) = l.strip_prefix("ERR ") {
            let (errno, msg) = rest.split_once(' ').unwrap_or((rest, "unknown error"));
            return Err(EngineError::new(errno.parse().unwrap_or(libc::EIO), msg));
        } else if l == "DONE" {
            done = true;
        }
    }
    if !done {
        return Err(EngineError::new(
            libc::EIO,
            "the helper process laying out the files died without an answer",
        ));
    }
    Ok(space)
}

/// Open flags following fio's generic_open_file().
fn open_flags(s: &JobSettings) -> i32 {
    let mut flags = 0;
    if !(s.dirs.trim && !s.dirs.read && !s.dirs.write) {
        if s.odirect {
            flags |= libc::O_DIRECT;
        }
        flags |= s.sync_io;
        if s.create_on_open && s.allow_create {
            flags |= libc::O_CREAT;
        }
    }
    let ro = fio::read_only();
    if s.dirs.write {
        flags |= if ro { libc::O_RDONLY } else { libc::O_RDWR };
        if s.allow_create {
            flags |= libc::O_CREAT;
        }
    } else if s.dirs.read {
        flags |= libc::O_RDONLY;
    } else if !ro {
        flags |= libc::O_RDWR;
    }
    flags
}

fn no_job() -> EngineError {
    EngineError::invalid("engine not initialised for this job (init failed?)")
}

pub fn open_file(td: &mut Td, mut f: FioFile) -> Result<(), EngineError> {
    td.end_sizing();
    let job = td.job().ok_or_else(no_job)?;
    let (fs, settings, spec) = (job.fs.clone(), job.settings.clone(), job.opts.conn.clone());
    let path = file_path(&f, &job.opts)?;
    let idx = f.index();
    if !f.layout_done() && !job.checked.contains(&idx) {
        // Only when prepopulate_file did not run for this file.
        ensure_layout(td, &fs, &spec, &settings, &f, &path, &mut |m| {
            fio::log_info(&m)
        })?;
        if let Some(job) = td.job() {
            job.checked.insert(idx);
        }
    }
    if let Some(old) = f.take_state() {
        let _ = old.file.close();
    }
    let flags = open_flags(&settings);
    let file = open_path(&fs, &path, flags).map_err(|e| {
        let what = if flags & libc::O_DIRECT != 0 && gfapi_errno(&e) == libc::EINVAL {
            " (O_DIRECT not supported?)"
        } else {
            ""
        };
        EngineError::gfapi(&e, format!("open {path}{what}"))
    })?;
    f.set_state(Box::new(FileState { file, path }));
    Ok(())
}

pub fn close_file(_td: &mut Td, mut f: FioFile) -> Result<(), EngineError> {
    match f.take_state() {
        Some(st) => {
            let path = st.path;
            st.file
                .close()
                .map_err(|e| EngineError::gfapi(&e, format!("close {path}")))
        }
        None => Ok(()),
    }
}

pub fn unlink_file(td: &mut Td, f: FioFile) -> Result<(), EngineError> {
    let job = td.job().ok_or_else(no_job)?;
    let path = file_path(&f, &job.opts)?;
    let key = (job.opts.conn.volume_key(), path.clone());
    let r = job.fs.unlink(&path);
    {
        let mut g = lock(&REGISTRY);
        registry(&mut g).laid_out.remove(&key);
    }
    if let Some(job) = td.job() {
        job.checked.remove(&f.index());
    }
    r.map_err(|e| EngineError::gfapi(&e, format!("unlink {path}")))
}

pub fn get_file_size(td: &mut Td, mut f: FioFile) -> Result<(), EngineError> {
    if f.size_known() {
        return Ok(());
    }
    let Some(job) = td.job() else {
        // Sizes are set by setup(); nothing to add outside a job.
        return Ok(());
    };
    let path = file_path(&f, &job.opts)?;
    if let Some(size) = stat_size(&job.fs, &path)? {
        f.set_real_file_size(size);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// I/O
// ---------------------------------------------------------------------------

/// Bytes an operation "transferred" when it succeeded: reads and writes
/// report their count, the others complete fully.
fn done_bytes(ddir: Ddir, len: u64, n: usize) -> u64 {
    match ddir {
        Ddir::Read | Ddir::Write => n as u64,
        _ => len,
    }
}

fn finish(u: &mut IoU, result: io::Result<usize>) {
    let ddir = u.ddir();
    let len = u.xfer_len();
    u.complete(match result {
        Ok(n) => Ok(done_bytes(ddir, len, n)),
        Err(e) => Err(e.raw_os_error().unwrap_or(libc::EIO)),
    });
}

fn sync_io(file: &gfapi::File, u: &mut IoU) -> io::Result<usize> {
    let off = u.offset();
    let r = match u.ddir() {
        Ddir::Read => file.read_at(u.buffer_mut(), off),
        Ddir::Write => file.write_at(u.buffer_mut(), off),
        Ddir::Trim => file.discard(off, u.xfer_len()).map(|()| 0),
        Ddir::Sync => file.fsync().map(|()| 0),
        Ddir::Datasync => file.fdatasync().map(|()| 0),
        Ddir::Other(_) => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
    };
    r.map_err(io::Error::from)
}

pub fn queue(td: &mut Td, u: &mut IoU) -> Result<Queued, EngineError> {
    let job = td.job().ok_or_else(no_job)?;
    let f = u
        .file()
        .ok_or_else(|| EngineError::invalid("io_u without a file"))?;
    let st = f
        .state()
        .ok_or_else(|| EngineError::new(libc::EBADF, format!("{}: file not open", f.name())))?;
    // fio ignores the error of a sync io_u that completes through
    // getevents (io_completed returns early for sync directions): a failed
    // fsync would pass as done and fio exit 0 over lost writes. Sync
    // directions therefore complete here, as in fio's libaio engine.
    let sync_dir = matches!(u.ddir(), Ddir::Sync | Ddir::Datasync);
    if job.opts.io_mode == IoMode::Sync || sync_dir {
        let r = sync_io(&st.file, u);
        if let (true, Err(e)) = (sync_dir, &r) {
            // fio names no file for a failed sync; say which one.
            let op = if u.ddir() == Ddir::Sync {
                "fsync"
            } else {
                "fdatasync"
            };
            fio::log_err(&format!("glusterrs: {op} {}: {e}\n", st.path));
        }
        finish(u, r);
        return Ok(Queued::Completed);
    }
    let q = &job.queue;
    let r = match u.ddir() {
        Ddir::Read => u.submit_rw(&st.file, q, job.pool.as_ref(), false),
        Ddir::Write => u.submit_rw(&st.file, q, job.pool.as_ref(), true),
        Ddir::Trim => st
            .file
            .discard_async(u.offset(), u.xfer_len(), q, u.token()),
        Ddir::Sync => st.file.fsync_async(q, u.token()),
        Ddir::Datasync => st.file.fdatasync_async(q, u.token()),
        Ddir::Other(d) => {
            return Err(EngineError::invalid(format!(
                "unsupported I/O direction {d}"
            )))
        }
    };
    match r {
        Ok(()) => Ok(Queued::Queued),
        Err(e) => Err(EngineError::gfapi(&e, format!("submit to {}", st.path))),
    }
}

pub fn getevents(
    td: &mut Td,
    min: usize,
    max: usize,
    timeout: Option<Duration>,
) -> Result<usize, EngineError> {
    let job = td.job().ok_or_else(no_job)?;
    job.completions.clear();
    job.events.clear();
    // Never wait for more than is outstanding (ready first: an operation
    // moving from in-flight to ready in between is then not counted twice).
    let outstanding = job.queue.ready() + job.queue.in_flight();
    let min = min.min(outstanding);
    let max = max.max(min);
    job.queue.wait(&mut job.completions, min, max, timeout);
    for c in job.completions.drain(..) {
        finish(&mut c.token.io_u(), c.result);
        job.events.push(c.token);
    }
    Ok(job.events.len())
}

pub fn event(td: &mut Td, i: usize) -> Result<IoUToken, EngineError> {
    let job = td.job().ok_or_else(no_job)?;
    job.events
        .get(i)
        .copied()
        .ok_or_else(|| EngineError::invalid(format!("event {i} out of range")))
}

#[cfg(test)]
mod tests {
    use super::could_fill;

    const MIB: u64 = 1 << 20;

    #[test]
    fn a_job_that_fits_keeps_aggregation() {
        assert!(!could_fill(0, 100 * MIB, Some(1000 * MIB)));
        assert!(!could_fill(0, 0, Some(0)), "nothing to allocate");
        assert!(!could_fill(0, 0, None), "nothing to allocate");
    }

    #[test]
    fn a_job_that_could_fill_the_volume_turns_it_off() {
        assert!(could_fill(0, 32 * MIB, Some(8 * MIB)));
        // 10 % of the free space is kept for other writers.
        assert!(could_fill(0, 900 * MIB, Some(1000 * MIB)));
        assert!(!could_fill(0, 899 * MIB, Some(1000 * MIB)));
        assert!(could_fill(0, 1, None), "free space unknown");
    }

    #[test]
    fn earlier_jobs_of_the_run_count() {
        assert!(!could_fill(0, 500 * MIB, Some(1000 * MIB)));
        assert!(could_fill(500 * MIB, 500 * MIB, Some(1000 * MIB)));
        assert!(could_fill(u64::MAX, 1, Some(u64::MAX)), "saturates");
    }
}
