// SPDX-License-Identifier: GPL-2.0-or-later
//! Opening a volume through gfapi's own volfile handling: from volfile
//! servers (glusterd) or from a custom client volfile. `glfs_new`, the
//! setters, `glfs_init` on a helper thread with a deadline, and turning its
//! errno into a specific [`Error`].

use std::ffi::CString;
use std::io::{self, Read};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{errno_error, Error, Result};
use crate::fs::Fs;
use crate::raw;
use crate::teardown::{background_begin, background_end, RawGlfs};
use crate::volfile;
use crate::volume::{c_string, c_xlator_options, Server, Transport, Volume};

impl Volume {
    /// [`Volume::init`] for volfile servers and custom volfiles.
    pub(crate) fn connect(self) -> Result<Fs> {
        let cfg = self.validate()?;
        if let Some(p) = &self.volfile {
            check_volfile(p)?;
        }
        let via = self.describe_source();
        let init_err = |detail: String, source: io::Error| Error::Init {
            volume: self.name.clone(),
            via: via.clone(),
            detail,
            source,
        };

        // SAFETY: cfg.name is a valid NUL-terminated string.
        let raw = unsafe { raw::glfs_new(cfg.name.as_ptr()) };
        let Some(raw) = NonNull::new(raw) else {
            return Err(init_err(
                "glfs_new failed".into(),
                crate::error::last_errno_error(),
            ));
        };
        // From here on the instance must be finalised on every error path.
        let guard = FailGuard(Some(RawGlfs::new(raw)));

        // The setters below all operate on `raw`, a fresh, not yet
        // initialised glfs_t owned by this function, with C strings from
        // `cfg` that outlive the calls.
        if let Some(vf) = &cfg.volfile {
            // SAFETY: see above.
            if unsafe { raw::glfs_set_volfile(raw.as_ptr(), vf.as_ptr()) } != 0 {
                return Err(init_err(
                    "glfs_set_volfile failed".into(),
                    crate::error::last_errno_error(),
                ));
            }
        } else {
            for (t, host, port) in &cfg.servers {
                // SAFETY: see above.
                let rc = unsafe {
                    raw::glfs_set_volfile_server(raw.as_ptr(), t.as_ptr(), host.as_ptr(), *port)
                };
                if rc != 0 {
                    return Err(init_err(
                        format!("glfs_set_volfile_server({host:?}) failed"),
                        crate::error::last_errno_error(),
                    ));
                }
            }
        }
        // SAFETY: see above.
        if unsafe { raw::glfs_set_logging(raw.as_ptr(), cfg.log_file.as_ptr(), self.log_level) }
            != 0
        {
            return Err(init_err(
                format!("cannot set up logging to {}", self.log_file.display()),
                crate::error::last_errno_error(),
            ));
        }
        for (x, k, v) in &cfg.xlator_options {
            // SAFETY: see above.
            let rc = unsafe {
                raw::glfs_set_xlator_option(raw.as_ptr(), x.as_ptr(), k.as_ptr(), v.as_ptr())
            };
            if rc != 0 {
                return Err(init_err(
                    format!("glfs_set_xlator_option({x:?}, {k:?}, {v:?}) failed"),
                    crate::error::last_errno_error(),
                ));
            }
        }

        let guard = match run_init(guard, self.init_timeout) {
            InitOutcome::Ok(guard) => guard,
            InitOutcome::Failed(guard, errno) => {
                // Classify first (cheap), then the guard finalises the
                // instance in the background as it drops.
                let e = self.classify(errno, &via);
                drop(guard);
                return Err(e);
            }
            InitOutcome::TimedOut => {
                return Err(Error::InitTimeout {
                    volume: self.name.clone(),
                    via,
                    timeout: self.init_timeout,
                })
            }
        };
        Ok(Fs::from_raw(guard.disarm(), self.name))
    }

    /// Turn a `glfs_init` errno into the most specific error we can justify.
    fn classify(&self, errno: i32, via: &str) -> Error {
        let init = |detail: &str, source: io::Error| Error::Init {
            volume: self.name.clone(),
            via: via.to_string(),
            detail: detail.to_string(),
            source,
        };
        if self.volfile.is_some() {
            return if errno == 0 {
                init(
                    "gfapi could not build a client graph from the volfile; set log_file() \
                     for details",
                    io::Error::from(io::ErrorKind::InvalidData),
                )
            } else {
                init("", errno_error(errno))
            };
        }
        match errno {
            libc::ENOENT => Error::VolumeNotFound {
                volume: self.name.clone(),
                servers: via.to_string(),
            },
            libc::ENOTCONN
            | libc::ECONNREFUSED
            | libc::EHOSTUNREACH
            | libc::ENETUNREACH
            | libc::ETIMEDOUT => match probe_servers(&self.effective_servers()) {
                Err(source) => Error::ServerUnreachable {
                    volume: self.name.clone(),
                    servers: via.to_string(),
                    source,
                },
                Ok(()) => init(
                    "the volfile server is reachable but the volume's bricks are not; are \
                     the brick processes running?",
                    errno_error(errno),
                ),
            },
            libc::EIO => init(
                "no brick of the volume could be reached; is the volume started?",
                errno_error(errno),
            ),
            0 => init(
                "gfapi reported no errno; set log_file() for details",
                errno_error(0),
            ),
            _ => init("", errno_error(errno)),
        }
    }

    fn validate(&self) -> Result<CConfig> {
        if self.name.is_empty() {
            return Err(Error::InvalidConfig("empty volume name".into()));
        }
        if self.volfile.is_some() && !self.servers.is_empty() {
            return Err(Error::InvalidConfig(
                "a custom volfile cannot be combined with volfile servers".into(),
            ));
        }
        let servers = self
            .effective_servers()
            .iter()
            .map(|s| {
                Ok((
                    c_string("transport", s.transport.as_str().as_bytes())?,
                    c_string("server host", s.host.as_bytes())?,
                    i32::from(s.port),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let volfile = match &self.volfile {
            Some(p) => Some(c_string("volfile path", p.as_os_str().as_bytes())?),
            None => None,
        };
        let xlator_options = c_xlator_options(&self.xlator_options)?;
        Ok(CConfig {
            name: c_string("volume name", self.name.as_bytes())?,
            servers,
            volfile,
            log_file: c_string("log file path", self.log_file.as_os_str().as_bytes())?,
            xlator_options,
        })
    }
}

struct CConfig {
    name: CString,
    servers: Vec<(CString, CString, i32)>,
    volfile: Option<CString>,
    log_file: CString,
    xlator_options: Vec<(CString, CString, CString)>,
}

/// The volfile must be a readable regular file (gfapi's own error for a
/// missing one is a bare `ENOENT`) with valid syntax (see `volfile.rs` for
/// why gfapi must never see a broken one).
fn check_volfile(p: &Path) -> Result<()> {
    let err = |source| Error::Volfile {
        path: p.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(p).map_err(err)?;
    let md = f.metadata().map_err(err)?;
    if md.is_dir() {
        return Err(err(io::Error::from_raw_os_error(libc::EISDIR)));
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(err)?;
    let text = String::from_utf8_lossy(&bytes);
    volfile::check(&text, volfile::xlator_dir()).map_err(|pb| Error::InvalidVolfile {
        path: p.to_path_buf(),
        line: pb.line,
        reason: pb.msg,
    })
}

/// Finalises an instance on drop (in the background), unless disarmed.
struct FailGuard(Option<RawGlfs>);

impl FailGuard {
    fn disarm(mut self) -> RawGlfs {
        self.0.take().expect("FailGuard already disarmed")
    }
}

impl Drop for FailGuard {
    fn drop(&mut self) {
        if let Some(raw) = self.0.take() {
            raw.fini_in_background();
        }
    }
}

enum InitOutcome {
    Ok(FailGuard),
    Failed(FailGuard, i32),
    TimedOut,
}

enum Handoff {
    Pending,
    Done(i32, i32),
    Abandoned,
}

/// Run `glfs_init` on a helper thread and wait at most `timeout` for it.
///
/// If the wait times out, ownership of the instance passes to the helper
/// thread, which finalises it when (if ever) `glfs_init` returns; it is
/// counted as a background teardown meanwhile.
fn run_init(guard: FailGuard, timeout: Duration) -> InitOutcome {
    let raw = guard.0.as_ref().expect("armed guard").as_non_null();
    let shared = Arc::new((Mutex::new(Handoff::Pending), Condvar::new()));
    let thread_shared = Arc::clone(&shared);
    let thread_raw = RawGlfs::new(raw);
    let spawned = std::thread::Builder::new()
        .name("gfapi-init".into())
        .spawn(move || {
            let raw = thread_raw;
            // SAFETY: raw is a configured, not yet initialised glfs_t. The
            // waiting thread does not touch it until we report back, and
            // if it has given up (Abandoned) we own it.
            let rc = unsafe { raw::glfs_init(raw.as_non_null().as_ptr()) };
            let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
            let (lock, cond) = &*thread_shared;
            let mut st = lock.lock().unwrap_or_else(PoisonError::into_inner);
            if matches!(*st, Handoff::Abandoned) {
                drop(st);
                raw.fini();
                background_end();
            } else {
                *st = Handoff::Done(rc, errno);
                cond.notify_one();
            }
        });
    let handle = match spawned {
        Ok(h) => h,
        Err(_) => {
            // No thread available: run init inline, without a timeout.
            // SAFETY: as above, on this thread.
            let rc = unsafe { raw::glfs_init(raw.as_ptr()) };
            let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
            return if rc == 0 {
                InitOutcome::Ok(guard)
            } else {
                InitOutcome::Failed(guard, errno)
            };
        }
    };
    let deadline = Instant::now().checked_add(timeout);
    let (lock, cond) = &*shared;
    let mut st = lock.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if let Handoff::Done(rc, errno) = *st {
            drop(st);
            // The helper is about to exit; join it so it is gone for good.
            let _ = handle.join();
            return if rc == 0 {
                InitOutcome::Ok(guard)
            } else {
                InitOutcome::Failed(guard, errno)
            };
        }
        let left = match deadline {
            None => None,
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    // Give up: the helper now owns the instance.
                    *st = Handoff::Abandoned;
                    background_begin();
                    drop(st);
                    let mut guard = guard;
                    guard.0 = None; // do not finalise it here
                    return InitOutcome::TimedOut;
                }
                Some(d - now)
            }
        };
        st = match left {
            None => cond.wait(st).unwrap_or_else(PoisonError::into_inner),
            Some(d) => {
                cond.wait_timeout(st, d)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        };
    }
}

/// After a connection-type failure: can we reach any volfile server at all?
/// `Ok(())` if one accepts a connection; otherwise the last error. Bounded to
/// about 3 s in total.
fn probe_servers(servers: &[Server]) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut last = io::Error::new(io::ErrorKind::NotConnected, "no volfile server to try");
    for s in servers {
        let r = match s.transport {
            Transport::Unix => UnixStream::connect(&s.host).map(drop),
            Transport::Tcp | Transport::Rdma => probe_tcp(&s.host, s.port, deadline),
        };
        match r {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn probe_tcp(host: &str, port: u16, deadline: Instant) -> io::Result<()> {
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot resolve host '{host}': {e}")))?;
    let mut last = io::Error::new(
        io::ErrorKind::NotFound,
        format!("host '{host}' has no addresses"),
    );
    for a in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connect probe timed out",
            ));
        }
        match TcpStream::connect_timeout(&a, left.min(Duration::from_secs(1))) {
            Ok(_) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_configs_are_rejected_before_gfapi() {
        let e = Volume::new("a\0b").init().unwrap_err();
        assert!(matches!(e, Error::InvalidConfig(_)), "{e}");
        let e = Volume::volfile("v", "/x.vol")
            .server("h", 1)
            .init()
            .unwrap_err();
        assert!(e.to_string().contains("cannot be combined"), "{e}");
        let e = Volume::new("").init().unwrap_err();
        assert!(matches!(e, Error::InvalidConfig(_)), "{e}");
    }

    #[test]
    fn missing_volfile_is_reported_without_gfapi() {
        let t = Instant::now();
        let e = Volume::volfile("v", "/nonexistent/grs.vol")
            .init()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot read volfile /nonexistent/grs.vol: No such file or directory (os error 2)"
        );
        let e = Volume::volfile("v", "/").init().unwrap_err();
        assert!(e.to_string().starts_with("cannot read volfile /: "), "{e}");
        assert!(t.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn probe_reports_refused_and_unresolvable() {
        // Bind then drop to find a port with nothing listening.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let s = Server {
            transport: Transport::Tcp,
            host: "127.0.0.1".into(),
            port,
        };
        let e = probe_servers(&[s]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        let s = Server {
            transport: Transport::Unix,
            host: "/nonexistent/grs.socket".into(),
            port: 0,
        };
        assert_eq!(
            probe_servers(&[s]).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let s = Server {
            transport: Transport::Tcp,
            host: "127.0.0.1".into(),
            port: l.local_addr().unwrap().port(),
        };
        probe_servers(&[s]).unwrap();
    }
}
