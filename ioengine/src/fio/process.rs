//! Process helpers fio's process model needs: the pid (fork detection),
//! keeping this library loaded, SIGPIPE, and running a closure in a forked
//! helper (fio's parent must never hold gfapi state).

use std::ffi::{c_int, c_void};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;
use std::time::Duration;

/// The calling process id.
pub fn getpid() -> u32 {
    std::process::id()
}

/// Keeps this library (and so libgfapi, whose threads outlive the jobs when
/// a connection is kept for the process) loaded until exit, whatever
/// dlclose() fio does.
pub fn pin_library() {
    static PINNED: OnceLock<()> = OnceLock::new();
    PINNED.get_or_init(|| {
        // SAFETY: dladdr fills `info` for an address inside this library;
        // dlopen with RTLD_NOLOAD only bumps the reference count of the
        // already loaded object and marks it NODELETE.
        unsafe {
            let mut info: libc::Dl_info = std::mem::zeroed();
            let addr = pin_library as *const c_void;
            if libc::dladdr(addr, &mut info) != 0 && !info.dli_fname.is_null() {
                libc::dlopen(
                    info.dli_fname,
                    libc::RTLD_LAZY | libc::RTLD_NOLOAD | libc::RTLD_NODELETE,
                );
            }
        }
    });
}

/// Ignores SIGPIPE in this process unless someone installed a handler.
/// gluster's socket transport writes to its sockets without MSG_NOSIGNAL;
/// a brick that dies mid-write would otherwise kill the fio job with
/// SIGPIPE (and fio's parent then crashed reaping it). fio itself only
/// handles SIGPIPE in its server mode. Writes then fail with EPIPE, which
/// gluster turns into ENOTCONN for the I/O.
pub fn ignore_sigpipe() {
    // SAFETY: sigaction with a NULL new action only reads the current one
    // into `old`; SIG_IGN is installed only over the default action, with a
    // zeroed (valid, empty-mask) sigaction.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_DFL
        {
            let mut ign: libc::sigaction = std::mem::zeroed();
            ign.sa_sigaction = libc::SIG_IGN;
            libc::sigemptyset(&mut ign.sa_mask);
            libc::sigaction(libc::SIGPIPE, &ign, std::ptr::null_mut());
        }
    }
}

/// Runs `child` in a forked process and returns what it produced. Used to talk
/// to the volume from fio's parent process without ever creating gfapi state
/// (threads) there: the child connects, answers, and `_exit`s without fini.
pub fn run_in_child(child: impl FnOnce() -> Vec<u8>, timeout: Duration) -> io::Result<Vec<u8>> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: pipe2 writes two descriptors into fds.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (rd, wr) = (fds[0], fds[1]);
    // SAFETY: fork in a (possibly multithreaded) fio parent; the child only
    // runs the closure (fresh gfapi instance, plain Rust) and leaves with
    // _exit, never returning into fio.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = io::Error::last_os_error();
        // SAFETY: closing the descriptors just created.
        unsafe {
            libc::close(rd);
            libc::close(wr);
        }
        return Err(e);
    }
    if pid == 0 {
        // SAFETY: child side: die with the parent, write the answer, _exit
        // (no atexit handlers, no glfs_fini).
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            libc::close(rd);
            let out = catch_unwind(AssertUnwindSafe(child)).unwrap_or_else(|_| b"PANIC\n".to_vec());
            let mut off = 0;
            while off < out.len() {
                let n = libc::write(wr, out[off..].as_ptr().cast(), out.len() - off);
                if n <= 0 {
                    break;
                }
                off += n as usize;
            }
            libc::_exit(0);
        }
    }
    // SAFETY: parent side: close the write end, read until EOF or timeout,
    // then reap (or kill and reap) the child.
    unsafe {
        libc::close(wr);
        let deadline = std::time::Instant::now() + timeout;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        let mut timed_out = false;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                timed_out = true;
                break;
            }
            let mut pfd = libc::pollfd {
                fd: rd,
                events: libc::POLLIN,
                revents: 0,
            };
            let r = libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as c_int);
            if r < 0 {
                if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                break;
            }
            if r == 0 {
                continue;
            }
            let n = libc::read(rd, buf.as_mut_ptr().cast(), buf.len());
            if n < 0 {
                if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                break;
            }
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n as usize]);
        }
        libc::close(rd);
        if timed_out {
            libc::kill(pid, libc::SIGKILL);
        }
        let mut status = 0;
        while libc::waitpid(pid, &mut status, 0) < 0
            && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
        {}
        if timed_out {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer within {} s", timeout.as_secs()),
            ));
        }
        Ok(out)
    }
}
